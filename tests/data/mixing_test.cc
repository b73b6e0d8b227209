// The reference's mixing rule (generator.py RootDataGenerator: evts_toread, next_mix_files), the
// per-event split and the row shuffle. Expected numbers were worked out by hand or with Python's
// round() (noted beside each).
#include "data/mixing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

namespace m4h::data {
namespace {

std::vector<std::vector<Take>> all_chunks(ChunkPlanner& p) {
  std::vector<std::vector<Take>> out;
  std::vector<Take> t;
  while (p.next(t)) out.push_back(t);
  return out;
}

std::vector<int64_t> counts(const std::vector<Take>& takes, size_t files) {
  std::vector<int64_t> c(files, 0);
  for (const Take& t : takes) c[t.file] = t.count;
  return c;
}

TEST(RoundHalfEven, MatchesPythonRound) {
  // Python 3: round(2.5) == 2, round(3.5) == 4, round(0.5) == 0, round(-2.5) == -2.
  EXPECT_EQ(round_half_even(2.5), 2);
  EXPECT_EQ(round_half_even(3.5), 4);
  EXPECT_EQ(round_half_even(0.5), 0);
  EXPECT_EQ(round_half_even(-2.5), -2);
  EXPECT_EQ(round_half_even(4924.2), 4924);
}

// The reference's doc/workflow_recipe.md log: two files of 476963 and 491653 events, nevts 50000,
// chunk_size 10000: "label 1, file <GluGluToHToTauTau.root>, going to read 4924 events".
// Python: quotas [round(e/t*50000)] = [24621, 25379]; shares [round(q/50000*10000)] = [4924, 5076].
TEST(ChunkPlanner, ReferenceRecipeNumbers) {
  ChunkPlanner p({476963, 491653}, 50000, 10000);
  EXPECT_EQ(p.quota(), (std::vector<int64_t>{24621, 25379}));
  EXPECT_EQ(p.share(), (std::vector<int64_t>{4924, 5076}));
  auto chunks = all_chunks(p);
  ASSERT_FALSE(chunks.empty());
  // Full chunks have exactly chunk_size events.
  for (size_t c = 0; c + 1 < chunks.size(); ++c) {
    auto n = counts(chunks[c], 2);
    EXPECT_EQ(n[0] + n[1], 10000) << "chunk " << c;
    EXPECT_EQ(n[0], 4924);
  }
  int64_t total = 0;
  for (const auto& c : chunks)
    for (const Take& t : c) total += t.count;
  EXPECT_EQ(total, 24621 + 25379);  // nothing lost
}

TEST(ChunkPlanner, ProportionalSharesWithoutNevts) {
  // 5000 + 5000 events, chunks of 1000: 500 from each, ten chunks, consecutive ranges.
  ChunkPlanner p({5000, 5000}, -1, 1000);
  auto chunks = all_chunks(p);
  ASSERT_EQ(chunks.size(), 10u);
  for (size_t c = 0; c < chunks.size(); ++c) {
    ASSERT_EQ(chunks[c].size(), 2u);
    EXPECT_EQ(chunks[c][0].file, 0);
    EXPECT_EQ(chunks[c][0].begin, static_cast<int64_t>(500 * c));
    EXPECT_EQ(chunks[c][0].count, 500);
    EXPECT_EQ(chunks[c][1].begin, static_cast<int64_t>(500 * c));
    EXPECT_EQ(chunks[c][1].count, 500);
  }
}

TEST(ChunkPlanner, LastFileToppedUpToChunkSize) {
  // 7 + 7 + 7 events, chunks of 5: shares round(5/3) = 2 each; the last file gives 5 - 4 = 1.
  // After three chunks the files are at 6, 6, 3; the first cannot give 2 again (2 + 6 >= 7), so
  // the last chunk takes what is left: 1, 1, 4.
  ChunkPlanner p({7, 7, 7}, -1, 5);
  EXPECT_EQ(p.share(), (std::vector<int64_t>{2, 2, 2}));
  auto chunks = all_chunks(p);
  ASSERT_EQ(chunks.size(), 4u);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(counts(chunks[c], 3), (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(counts(chunks[3], 3), (std::vector<int64_t>{1, 1, 4}));
}

TEST(ChunkPlanner, LastChunkKeepsEveryFilesRemainder) {
  // 100 + 6 events, chunks of 11: shares round(10.377) = 10 and round(0.623) = 1. After five
  // chunks the second file is at 5 and 1 + 5 >= 6 ends the plan. The reference would then read
  // 10 more from the first file and drop its last 40; we take all 50.
  ChunkPlanner p({100, 6}, -1, 11);
  EXPECT_EQ(p.share(), (std::vector<int64_t>{10, 1}));
  auto chunks = all_chunks(p);
  ASSERT_EQ(chunks.size(), 6u);
  for (int c = 0; c < 5; ++c) EXPECT_EQ(counts(chunks[c], 2), (std::vector<int64_t>{10, 1}));
  EXPECT_EQ(counts(chunks[5], 2), (std::vector<int64_t>{50, 1}));
}

TEST(ChunkPlanner, NevtsQuotaAtLeastOneEvent) {
  // Python: round(1000/1001*100) = 100, round(1/1001*100) = 0 -> 1 (the reference's minimum);
  // shares round(100/100*50) = 50 and round(1/100*50) = 0. A share of 0 is skipped (as the
  // reference's `if evts == 0: continue`), so chunk 0 has 50 events; chunk 1 is the last.
  ChunkPlanner p({1000, 1}, 100, 50);
  EXPECT_EQ(p.quota(), (std::vector<int64_t>{100, 1}));
  EXPECT_EQ(p.share(), (std::vector<int64_t>{50, 0}));
  auto chunks = all_chunks(p);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(counts(chunks[0], 2), (std::vector<int64_t>{50, 0}));
  EXPECT_EQ(counts(chunks[1], 2), (std::vector<int64_t>{50, 1}));
}

TEST(ChunkPlanner, NevtsSplitInProportionToEventsAfterCuts) {
  // Python: [round(300/400*10), round(100/400*10)] = [8, 2].
  ChunkPlanner p({300, 100}, 10, 1000);
  EXPECT_EQ(p.quota(), (std::vector<int64_t>{8, 2}));
  EXPECT_EQ(p.total(), 10);
  // A budget larger than the files is capped at what they hold.
  ChunkPlanner big({3, 1}, 1000, 10);
  EXPECT_EQ(big.quota(), (std::vector<int64_t>{3, 1}));
}

TEST(ChunkPlanner, MinusOneIsOneChunk) {
  ChunkPlanner p({123, 45}, -1, -1);
  auto chunks = all_chunks(p);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(counts(chunks[0], 2), (std::vector<int64_t>{123, 45}));
  ChunkPlanner empty({0, 0}, -1, 10);
  EXPECT_TRUE(all_chunks(empty).empty());
}

TEST(ChunkPlanner, TinySharesStillEnd) {
  // Shares that all round to 0 must not loop forever: one chunk takes everything.
  ChunkPlanner p({1, 1, 1, 1, 1}, -1, 2);
  auto chunks = all_chunks(p);
  int64_t total = 0;
  for (const auto& c : chunks)
    for (const Take& t : c) total += t.count;
  EXPECT_EQ(total, 5);
}

TEST(Splitter, FractionsWithinAFewEventsForAnyRunOfEntries) {
  Splitter s(21, 0.16, 0.2);
  const uint64_t key = Splitter::file_key("sig.root");
  for (int64_t start : {int64_t{0}, int64_t{12345}}) {
    int64_t n[3] = {0, 0, 0};
    const int64_t N = 10000;
    for (int64_t e = start; e < start + N; ++e) ++n[static_cast<int>(s.of(key, e))];
    EXPECT_NEAR(n[2], 0.2 * N, 4) << start;
    EXPECT_NEAR(n[1], 0.16 * N, 4) << start;
    EXPECT_NEAR(n[0], 0.64 * N, 4) << start;
  }
}

TEST(Splitter, DeterministicAndSeeded) {
  Splitter a(21, 0.16, 0.2), b(21, 0.16, 0.2), c(22, 0.16, 0.2);
  const uint64_t key = Splitter::file_key("bkg.root");
  int same_seed = 0, other_seed = 0;
  for (int64_t e = 0; e < 1000; ++e) {
    same_seed += a.of(key, e) == b.of(key, e);
    other_seed += a.of(key, e) == c.of(key, e);
  }
  EXPECT_EQ(same_seed, 1000);
  EXPECT_LT(other_seed, 1000);
  EXPECT_NE(Splitter::file_key("a.root"), Splitter::file_key("b.root"));
  Splitter none(1, 0, 0);
  for (int64_t e = 0; e < 100; ++e) EXPECT_EQ(none.of(key, e), Split::kTrain);
  Splitter all_test(1, 0, 1);
  for (int64_t e = 0; e < 100; ++e) EXPECT_EQ(all_test.of(key, e), Split::kTest);
}

TEST(ShuffleRows, SeededPermutation) {
  std::vector<int64_t> p1, p2, p3, id;
  shuffle_rows(1000, 21, 3, true, p1);
  shuffle_rows(1000, 21, 3, true, p2);
  shuffle_rows(1000, 21, 4, true, p3);
  shuffle_rows(1000, 21, 3, false, id);
  EXPECT_EQ(p1, p2);
  EXPECT_NE(p1, p3);
  std::vector<int64_t> sorted = p1;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> expect(1000);
  std::iota(expect.begin(), expect.end(), 0);
  EXPECT_EQ(sorted, expect);
  EXPECT_EQ(id, expect);
  EXPECT_NE(p1, expect);
}

}  // namespace
}  // namespace m4h::data
