// The writer's per-entry kernels (root/entry_offsets.h) against one-entry-at-a-time references:
// random offsets and counts of every length around the vector widths, with one fault placed at
// every position (a length off by one, a decrease, a negative count or offset, extremes that
// overflow a naive difference), counts at odd alignments, both signednesses.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "root/entry_offsets.h"

namespace {

using namespace m4h::root;

bool ascend_reference(const std::vector<int64_t>& off) {
  for (std::size_t i = 0; i < off.size(); ++i)
    if (off[i] < 0 || (i > 0 && off[i] < off[i - 1])) return false;
  return true;
}

bool equal_reference(const std::vector<int64_t>& off, const std::vector<int64_t>& counts) {
  if (!ascend_reference(off)) return false;
  for (std::size_t i = 0; i + 1 < off.size(); ++i)
    if (off[i + 1] - off[i] != counts[i]) return false;
  return true;
}

// What a count reads back as from its 32 bits (not `s ? int32_t : uint32_t`: that is uint32_t).
int64_t as_count(int64_t v, bool is_signed) {
  return is_signed ? int64_t{static_cast<int32_t>(v)} : int64_t{static_cast<uint32_t>(v)};
}

// n counts stored as int32 or uint32 at byte offset `misalign` of a buffer.
std::vector<uint8_t> store_counts(const std::vector<int64_t>& counts, bool is_signed, int misalign) {
  std::vector<uint8_t> buf(misalign + 4 * counts.size() + 1);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (is_signed) {
      const int32_t v = static_cast<int32_t>(counts[i]);
      std::memcpy(buf.data() + misalign + 4 * i, &v, 4);
    } else {
      const uint32_t v = static_cast<uint32_t>(counts[i]);
      std::memcpy(buf.data() + misalign + 4 * i, &v, 4);
    }
  }
  return buf;
}

TEST(EntryOffsets, ChecksAgreeWithTheReferenceForEveryFaultPosition) {
  std::mt19937_64 rng(7);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  int checked = 0;
  for (int64_t n = 0; n <= 19; ++n) {
    std::vector<int64_t> counts(n);
    std::vector<int64_t> off(n + 1, 0);
    for (int64_t i = 0; i < n; ++i) {
      counts[i] = static_cast<int64_t>(rng() % 9);
      off[i + 1] = off[i] + counts[i];
    }
    // The valid layout, then one fault at each position.
    std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases{{off, counts}};
    for (int64_t at = 0; at <= n; ++at) {
      for (int64_t fault : {int64_t{-1}, int64_t{1}, kMin, kMax, kMin + 1}) {
        auto o = off;
        o[at] = fault == 1 ? o[at] + 1 : fault;
        cases.push_back({o, counts});
      }
      if (at < n) {
        auto c = counts;
        c[at] += 1;
        cases.push_back({off, c});
        c[at] = -1;  // as uint32: 4294967295
        cases.push_back({off, c});
        // A negative count matched by a decrease.
        auto o = off;
        for (int64_t k = at + 1; k <= n; ++k) o[k] -= counts[at] + 1;
        cases.push_back({o, c});
      }
    }
    // Extremes whose naive difference wraps back to a small positive length.
    if (n >= 2) {
      auto o = off;
      o[1] = int64_t{1} << 62;
      o[2] = kMin + 1;
      cases.push_back({o, counts});
    }
    for (const auto& [o, c] : cases) {
      EXPECT_EQ(offsets_ascend(o.data(), n), ascend_reference(o)) << "n " << n;
      for (bool is_signed : {true, false})
        for (int misalign : {0, 1, 3}) {
          auto buf = store_counts(c, is_signed, misalign);
          std::vector<int64_t> as_stored = c;
          for (auto& v : as_stored) v = as_count(v, is_signed);
          EXPECT_EQ(lengths_equal_counts(o.data(), buf.data() + misalign, is_signed, n), equal_reference(o, as_stored))
              << "n " << n << " signed " << is_signed;
          ++checked;
        }
    }
  }
  EXPECT_GT(checked, 3000);
}

TEST(EntryOffsets, LargestCountReadsEitherSignedness) {
  for (int64_t n = 0; n <= 21; ++n) {
    std::vector<int64_t> counts(n);
    for (int64_t i = 0; i < n; ++i) counts[i] = (i * 7919) % 23;
    if (n > 3) counts[n / 2] = -5;  // signed: ignored by the max; unsigned: 4294967291
    for (bool is_signed : {true, false}) {
      auto buf = store_counts(counts, is_signed, 1);
      int64_t want = 0;
      for (int64_t v : counts) want = std::max(want, as_count(v, is_signed));
      EXPECT_EQ(largest_count(buf.data() + 1, is_signed, n), want) << n;
    }
  }
}

TEST(EntryOffsets, ScaledPositionsMatchOneByOne) {
  std::mt19937_64 rng(3);
  for (int64_t n = 0; n <= 37; ++n)
    for (int shift = 0; shift <= 3; ++shift) {
      std::vector<int64_t> off(n);
      int64_t x = 1000 + static_cast<int64_t>(rng() % 100);
      for (auto& v : off) v = x += static_cast<int64_t>(rng() % 50);
      const int64_t base = 77 - (1000 << shift);
      std::vector<int32_t> got(n + 1, -7);
      scaled_positions(got.data(), off.data(), n, base, shift);
      for (int64_t k = 0; k < n; ++k) EXPECT_EQ(got[k], base + off[k] * (int64_t{1} << shift));
      EXPECT_EQ(got[n], -7) << "wrote past the end";
    }
}

}  // namespace
