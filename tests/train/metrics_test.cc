// ROC, AUC, efficiencies and the cut baseline against examples worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "train/metrics.h"

namespace m4h::train {
namespace {

TEST(RocAuc, HandExample) {
  // Sorted by score: 0.8 S, 0.4 B, 0.35 S, 0.1 B. Pairs (S, B) ordered right: (0.8, 0.4),
  // (0.8, 0.1), (0.35, 0.1); wrong: (0.35, 0.4) -> 3/4.
  std::vector<float> s{0.1f, 0.4f, 0.35f, 0.8f};
  std::vector<uint8_t> y{0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(roc_auc(s, y), 0.75);
  auto c = roc_curve(s, y);
  ASSERT_EQ(c.size(), 5u);
  const double want[5][2] = {{0, 0}, {0, 0.5}, {0.5, 0.5}, {0.5, 1}, {1, 1}};
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_DOUBLE_EQ(c[k].fpr, want[k][0]) << k;
    EXPECT_DOUBLE_EQ(c[k].tpr, want[k][1]) << k;
  }
  EXPECT_FLOAT_EQ(static_cast<float>(c[1].threshold), 0.8f);
  // Best signal efficiency at a background efficiency: vertical steps count in full.
  EXPECT_DOUBLE_EQ(tpr_at_fpr(c, 0.0), 0.5);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(c, 0.25), 0.5);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(c, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(c, 1.0), 1.0);
}

TEST(RocAuc, TiesCountOneHalf) {
  // S 0.5 vs B 0.2: 1; S 0.5 vs B 0.5: 1/2; S 0.9 vs both: 2 -> 3.5 / 4.
  EXPECT_DOUBLE_EQ(roc_auc(std::vector<float>{0.2f, 0.5f, 0.5f, 0.9f}, std::vector<uint8_t>{0, 0, 1, 1}), 0.875);
  EXPECT_DOUBLE_EQ(roc_auc(std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f}, std::vector<uint8_t>{0, 1, 0, 1}), 0.5);
}

TEST(RocAuc, PerfectAndInverted) {
  std::vector<uint8_t> y{1, 1, 0, 0, 0};
  EXPECT_DOUBLE_EQ(roc_auc(std::vector<float>{0.9f, 0.8f, 0.2f, 0.1f, 0.3f}, y), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc(std::vector<float>{0.1f, 0.2f, 0.8f, 0.9f, 0.7f}, y), 0.0);
  // One working point (a 0/1 cut): the area is (1 + tpr - fpr) / 2 = (1 + 1/2 - 1/3) / 2.
  EXPECT_NEAR(roc_auc(std::vector<float>{1, 0, 1, 0, 0}, y), (1 + 0.5 - 1.0 / 3) / 2, 1e-12);
}

TEST(RocAuc, OneClassOrSizeMismatchIsAnError) {
  EXPECT_THROW(roc_auc(std::vector<float>{0.1f, 0.2f}, std::vector<uint8_t>{1, 1}), Error);
  EXPECT_THROW(roc_auc(std::vector<float>{0.1f}, std::vector<uint8_t>{1, 0}), Error);
}

TEST(Histogram, EdgesAndOverflowGoToEndBins) {
  auto h = histogram(std::vector<float>{-1.f, 0.f, 0.24f, 0.25f, 0.99f, 1.f, 7.f}, 4, 0, 1);
  EXPECT_EQ(h, (std::vector<int64_t>{3, 1, 0, 3}));
}

TEST(CutBaseline, FindsTheSeparatingFeatureAndDirection) {
  // Feature 0 is noise; feature 1 is < 0.3 for signal and > 0.6 for background.
  const int64_t w = 2;
  std::vector<float> x;
  std::vector<uint8_t> y;
  for (int i = 0; i < 100; ++i) {
    const bool sig = i % 2 == 0;
    x.push_back(static_cast<float>((i * 37) % 100) / 100.f);
    x.push_back(sig ? 0.1f + 0.002f * (i % 50) : 0.6f + 0.003f * (i % 50));
    y.push_back(sig);
  }
  CutBaseline b(w);
  b.add(x.data(), y.data(), 100);
  auto cut = b.choose();
  EXPECT_EQ(cut.feature, 1);
  EXPECT_FALSE(cut.above);
  EXPECT_GT(cut.threshold, 0.198);  // the largest signal value
  EXPECT_LE(cut.threshold, 0.603);  // the smallest background value
  EXPECT_DOUBLE_EQ(cut.train_tpr, 1.0);
  EXPECT_DOUBLE_EQ(cut.train_fpr, 0.0);
  std::vector<float> scores;
  CutBaseline::apply(cut, x.data(), 100, w, scores);
  EXPECT_DOUBLE_EQ(roc_auc(scores, y), 1.0);
  CutBaseline::feature_score(cut, x.data(), 100, w, scores);
  EXPECT_DOUBLE_EQ(roc_auc(scores, y), 1.0);
}

// The counts equal a plain row-by-row fill: values below 0, above 1, exactly on the edges and
// NaN, in two calls, with the 32-bit counts flushed or not.
TEST(CutBaseline, CountsEqualAPlainFill) {
  const int64_t w = 7, rows = 1000;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-0.2f, 1.2f);
  std::vector<float> x(static_cast<size_t>(rows * w));
  std::vector<uint8_t> y(static_cast<size_t>(rows));
  for (auto& v : x) {
    const auto k = rng() % 20;
    v = k == 0 ? std::numeric_limits<float>::quiet_NaN() : k == 1 ? 0.f : k == 2 ? 1.f : u(rng);
  }
  for (auto& v : y) v = rng() % 3 == 0;
  std::vector<int64_t> want(static_cast<size_t>(2 * w * CutBaseline::kBins + 2), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const size_t hist = y[r] ? 0 : static_cast<size_t>(w * CutBaseline::kBins);
    for (int64_t f = 0; f < w; ++f) {
      const float v = x[static_cast<size_t>(r * w + f)];
      int64_t b = 0;  // NaN and values <= 0: the first bin; >= 1: the last
      if (v >= 1) b = CutBaseline::kBins - 1;
      else if (v > 0) b = static_cast<int64_t>(v * static_cast<float>(CutBaseline::kBins));  // (a float product)
      ++want[hist + static_cast<size_t>(f * CutBaseline::kBins + b)];
    }
    ++want[want.size() - (y[r] ? 2 : 1)];
  }
  CutBaseline b(w);
  b.add(x.data(), y.data(), 300);
  b.add(x.data() + 300 * w, y.data() + 300, rows - 300);
  EXPECT_EQ(b.counts(), want);
  // The 32-bit counts moved into the 64-bit totals every 7 rows (the same at 2^32 - 1 rows), and
  // a choice made from either.
  CutBaseline flushed(w, 7);
  flushed.add(x.data(), y.data(), 300);
  flushed.add(x.data() + 300 * w, y.data() + 300, rows - 300);
  EXPECT_EQ(flushed.counts(), want);
  EXPECT_EQ(flushed.choose().threshold, b.choose().threshold);
  // Counts summed elsewhere (other ranks) replace both.
  flushed.set_counts(want);
  EXPECT_EQ(flushed.counts(), want);
}

TEST(CutBaseline, OneClassIsAnError) {
  CutBaseline b(1);
  std::vector<float> x{0.5f};
  std::vector<uint8_t> y{1};
  b.add(x.data(), y.data(), 1);
  EXPECT_THROW(b.choose(), Error);
}

}  // namespace
}  // namespace m4h::train
