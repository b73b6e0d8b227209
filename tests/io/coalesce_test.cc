// Coalesced reads: the plan merges ranges closer than the gap, respects the per-range limit, and
// every range's bytes come back exact, in any order, overlapping or empty.
#include "io/coalesce.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/error.h"

namespace m4h::io {
namespace {

std::vector<uint8_t> pattern(std::size_t n) {
  std::vector<uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 131 + (i >> 8));
  return v;
}

// Counts the requests and ranges reaching the backend.
class CountingSource final : public Source {
 public:
  explicit CountingSource(std::vector<uint8_t> bytes) : inner_("mem", std::move(bytes)) {}
  const std::string& url() const override { return inner_.url(); }
  uint64_t size() override { return inner_.size(); }
  void read_at(uint64_t offset, std::span<uint8_t> out) override {
    ++reads;
    inner_.read_at(offset, out);
  }
  void read_v(std::span<const ByteRange> ranges, std::span<const std::span<uint8_t>> outs) override {
    ++vector_calls;
    Source::read_v(ranges, outs);
  }
  SourceLimits limits() const override { return limits_; }
  SourceLimits limits_;
  int reads = 0, vector_calls = 0;

 private:
  MemorySource inner_;
};

TEST(Coalesce, PlanMergesWithinTheGap) {
  std::vector<ByteRange> r = {{100, 10}, {0, 10}, {15, 5}, {200, 1}, {111, 0}};
  auto b = plan_blocks(r, 5, 1 << 20);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].offset, 0u);
  EXPECT_EQ(b[0].length, 20u);  // [0,10) and [15,20): gap 5
  EXPECT_EQ(b[1].offset, 100u);
  EXPECT_EQ(b[1].length, 10u);
  EXPECT_EQ(b[2].offset, 200u);
  EXPECT_EQ(plan_blocks(r, 0, 1 << 20).size(), 4u);
  EXPECT_EQ(plan_blocks(r, 1000, 1 << 20).size(), 1u);
  EXPECT_EQ(plan_blocks(r, 1000, 50).size(), 3u);  // blocks capped at 50 bytes
  EXPECT_TRUE(plan_blocks({}, 10, 10).empty());
}

TEST(Coalesce, OverlapsAndContainedRanges) {
  std::vector<ByteRange> r = {{10, 100}, {20, 5}, {50, 100}};
  auto b = plan_blocks(r, 0, 1 << 20);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].offset, 10u);
  EXPECT_EQ(b[0].length, 140u);
}

TEST(Coalesce, EveryRangeComesBackExactly) {
  const auto data = pattern(200'000);
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; ++round) {
    CountingSource src(data);
    src.limits_.max_ranges_per_request = 1 + rng() % 4;
    src.limits_.max_bytes_per_range = 1000 + rng() % 50'000;
    std::vector<ByteRange> ranges;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      uint64_t off = rng() % data.size();
      uint64_t len = std::min<uint64_t>(rng() % 5000, data.size() - off);
      ranges.push_back({off, len});
    }
    const uint64_t gap = rng() % 20'000;
    auto got = read_coalesced(src, ranges, gap);
    ASSERT_EQ(got.parts.size(), ranges.size());
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      ASSERT_EQ(got.parts[i].size(), ranges[i].length);
      EXPECT_TRUE(std::equal(got.parts[i].begin(), got.parts[i].end(), data.begin() + ranges[i].offset))
          << "round " << round << " range " << i;
    }
    // One backend request per block; one read_v call per max_ranges_per_request blocks.
    EXPECT_EQ(src.reads, static_cast<int>(got.blocks.size()));
    EXPECT_EQ(src.vector_calls, static_cast<int>((got.blocks.size() + src.limits_.max_ranges_per_request - 1) /
                                                 src.limits_.max_ranges_per_request));
  }
}

TEST(Coalesce, AdjacentBasketsAreOneRequest) {
  CountingSource src(pattern(10'000));
  std::vector<ByteRange> ranges = {{0, 100}, {100, 200}, {300, 50}, {5000, 10}};
  auto got = read_coalesced(src, ranges, 0);
  EXPECT_EQ(got.blocks.size(), 2u);
  EXPECT_EQ(src.reads, 2);
}

TEST(Coalesce, ReadPastTheEndIsTheSourcesError) {
  CountingSource src(pattern(1000));
  std::vector<ByteRange> ranges = {{900, 50}, {990, 20}};
  try {
    read_coalesced(src, ranges, 100);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorrupt) << e.what();
  }
}

}  // namespace
}  // namespace m4h::io
