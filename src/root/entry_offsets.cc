#include "root/entry_offsets.h"

#include <algorithm>
#include <cstring>

// An AVX2 clone beside the baseline one, chosen at load time by an ifunc resolver (GCC; clang
// builds, the fuzzers, get the baseline only, and so does ThreadSanitizer, whose instrumented
// resolver would run before its runtime is set up).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define M4H_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define M4H_CLONES
#endif

namespace m4h::root {

namespace {

// Differences are taken in uint64 (wrapping, never UB); with every offset non-negative they
// are exact, so a "negative" difference is a decrease.
template <typename C>
bool lengths_equal(const int64_t* off, const uint8_t* counts, int64_t n) {
  uint64_t diff = 0, sign = 0;
  for (int64_t i = 0; i < n; ++i) {
    C c;
    std::memcpy(&c, counts + sizeof(C) * i, sizeof(C));
    const uint64_t d = static_cast<uint64_t>(off[i + 1]) - static_cast<uint64_t>(off[i]);
    diff |= d ^ static_cast<uint64_t>(static_cast<int64_t>(c));
    sign |= d | static_cast<uint64_t>(off[i + 1]);
  }
  return diff == 0 && static_cast<int64_t>(sign | static_cast<uint64_t>(off[0])) >= 0;
}

template <typename C>
int64_t largest(const uint8_t* counts, int64_t n) {
  int64_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    C c;
    std::memcpy(&c, counts + sizeof(C) * i, sizeof(C));
    m = std::max<int64_t>(m, c);
  }
  return m;
}

}  // namespace

M4H_CLONES bool offsets_ascend(const int64_t* off, int64_t n) {
  uint64_t sign = static_cast<uint64_t>(off[0]);
  for (int64_t i = 0; i < n; ++i)
    sign |= (static_cast<uint64_t>(off[i + 1]) - static_cast<uint64_t>(off[i])) | static_cast<uint64_t>(off[i + 1]);
  return static_cast<int64_t>(sign) >= 0;
}

M4H_CLONES bool lengths_equal_counts(const int64_t* off, const uint8_t* counts,
                                                                          bool counts_signed, int64_t n) {
  return counts_signed ? lengths_equal<int32_t>(off, counts, n) : lengths_equal<uint32_t>(off, counts, n);
}

M4H_CLONES int64_t largest_count(const uint8_t* counts, bool counts_signed,
                                                                       int64_t n) {
  return counts_signed ? largest<int32_t>(counts, n) : largest<uint32_t>(counts, n);
}

M4H_CLONES void scaled_positions(int32_t* out, const int64_t* off, int64_t n,
                                                                       int64_t base, int shift) {
  for (int64_t k = 0; k < n; ++k)
    out[k] = static_cast<int32_t>(static_cast<uint64_t>(base) + (static_cast<uint64_t>(off[k]) << shift));
}

}  // namespace m4h::root
