// ROC, AUC, efficiencies and the cut baseline against examples worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <thread>
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

// Rows of `width` features whose labels come from `label(row)`.
struct Sample {
  int64_t width = 0;
  std::vector<float> x;
  std::vector<int64_t> y;
  int64_t rows() const { return static_cast<int64_t>(y.size()); }
};

// Adds rows [0, n) of x and y to b, in order (as a chunk's rows come).
void add_rows(CutBaseline& b, const float* x, const int64_t* y, int64_t n) {
  std::vector<int64_t> which(static_cast<size_t>(n));
  std::iota(which.begin(), which.end(), int64_t{0});
  b.add(x, y, which);
}

// The bin of a normalised value, written out here: NaN and <= 0 first, >= 1 last.
int bin_of(float v) {
  if (!(v > 0)) return 0;
  if (v >= 1) return CutBaseline::kBins - 1;
  return static_cast<int>(v * static_cast<float>(CutBaseline::kBins));
}

// Signal and background efficiency of `box` on `s`, counted row by row.
std::pair<double, double> efficiencies(const CutBaseline::Box& box, const std::vector<int64_t>& columns,
                                       const Sample& s) {
  double sel[2] = {0, 0}, all[2] = {0, 0};
  for (int64_t r = 0; r < s.rows(); ++r) {
    bool in = true;
    for (size_t v = 0; v < columns.size(); ++v) {
      const int b = bin_of(s.x[static_cast<size_t>(r * s.width + columns[v])]);
      in = in && b >= box.lo[v] && b <= box.hi[v];
    }
    const int k = s.y[static_cast<size_t>(r)] == 1 ? 0 : 1;
    all[k] += 1;
    sel[k] += in;
  }
  return {sel[0] / all[0], sel[1] / all[1]};
}

// Signal inside [0.3, 0.6) x [0.2, 0.5) of features 0 and 1, background everywhere else; feature
// 2 is noise for both. No single feature separates them; the box does.
Sample box_sample() {
  Sample s;
  s.width = 3;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  while (s.rows() < 20000) {
    const float a = u(rng), b = u(rng), c = u(rng);
    const bool inside = a >= 0.3f && a < 0.6f && b >= 0.2f && b < 0.5f;
    if (!inside && s.rows() % 2 == 0) continue;  // alternate: signal, background, ...
    if (inside && s.rows() % 2 == 1) continue;
    s.x.insert(s.x.end(), {a, b, c});
    s.y.push_back(inside ? 1 : 0);
  }
  return s;
}

TEST(CutBaseline, FindsABoxThatNeedsTwoVariables) {
  const Sample s = box_sample();
  const std::vector<int64_t> columns{0, 1, 2};
  CutBaseline b(columns, s.width);
  add_rows(b, s.x.data(), s.y.data(), 7000);
  add_rows(b, s.x.data() + 7000 * s.width, s.y.data() + 7000, s.rows() - 7000);
  EXPECT_EQ(b.rows(), s.rows());
  const double lambda = 1;
  const auto boxes = b.optimise(std::span<const double>(&lambda, 1));
  ASSERT_EQ(boxes.size(), 1u);
  const CutBaseline::Box& box = boxes[0];
  EXPECT_DOUBLE_EQ(box.train_tpr, 1.0);
  EXPECT_DOUBLE_EQ(box.train_fpr, 0.0);
  EXPECT_EQ(efficiencies(box, columns, s), std::make_pair(1.0, 0.0));
  EXPECT_TRUE(box.cuts(0));
  EXPECT_TRUE(box.cuts(1));
  EXPECT_FALSE(box.cuts(2));  // noise: any cut only loses signal
  // The edges lie between the last background bin outside and the first signal bin inside.
  EXPECT_GE(box.lo[0], 290);
  EXPECT_LE(box.lo[0], 300);
  EXPECT_GE(box.hi[0], 599);
  EXPECT_LE(box.hi[0], 609);
  EXPECT_GE(box.lo[1], 190);
  EXPECT_LE(box.lo[1], 200);
  std::vector<float> scores;
  b.apply(box, s.x.data(), s.rows(), s.width, scores);
  std::vector<uint8_t> positive(s.y.begin(), s.y.end());
  EXPECT_DOUBLE_EQ(roc_auc(scores, positive), 1.0);
}

// With one variable, coordinate ascent is exact: for every lambda, the box reaches the largest
// signal efficiency - lambda x background efficiency of any interval of bins (found here by
// trying them all), and the efficiencies it reports are those counted row by row.
TEST(CutBaseline, OneVariableBoxesAreTheBestIntervals) {
  Sample s;
  s.width = 2;
  std::mt19937 rng(11);
  std::normal_distribution<float> sig(0.55f, 0.08f), bkg(0.45f, 0.15f);
  for (int i = 0; i < 6000; ++i) {
    const bool is_sig = i % 3 == 0;
    s.x.push_back(std::numeric_limits<float>::quiet_NaN());  // column 0: not chosen
    s.x.push_back(is_sig ? sig(rng) : bkg(rng));
    s.y.push_back(is_sig ? 1 : 0);
  }
  CutBaseline b({1}, s.width);
  add_rows(b, s.x.data(), s.y.data(), s.rows());
  std::vector<double> lambdas{0.5, 1, 2, 4, 8};
  const auto boxes = b.optimise(lambdas);
  ASSERT_EQ(boxes.size(), lambdas.size());
  std::vector<double> hs(CutBaseline::kBins + 1, 0), hb(CutBaseline::kBins + 1, 0);  // prefix sums
  double ns = 0, nb = 0;
  {
    std::vector<double> cs(CutBaseline::kBins, 0), cb(CutBaseline::kBins, 0);
    for (int64_t r = 0; r < s.rows(); ++r) {
      const int k = bin_of(s.x[static_cast<size_t>(2 * r + 1)]);
      (s.y[static_cast<size_t>(r)] ? cs : cb)[static_cast<size_t>(k)] += 1;
      (s.y[static_cast<size_t>(r)] ? ns : nb) += 1;
    }
    for (int k = 0; k < CutBaseline::kBins; ++k) {
      hs[k + 1] = hs[k] + cs[k];
      hb[k + 1] = hb[k] + cb[k];
    }
  }
  for (size_t j = 0; j < lambdas.size(); ++j) {
    double best = -1e300;
    for (int lo = 0; lo < CutBaseline::kBins; ++lo)
      for (int hi = lo; hi < CutBaseline::kBins; ++hi)
        best = std::max(best, (hs[hi + 1] - hs[lo]) / ns - lambdas[j] * (hb[hi + 1] - hb[lo]) / nb);
    const auto [tpr, fpr] = efficiencies(boxes[j], {1}, s);
    EXPECT_NEAR(tpr - lambdas[j] * fpr, best, 1e-9) << "lambda " << lambdas[j];
    EXPECT_DOUBLE_EQ(boxes[j].train_tpr, tpr);
    EXPECT_DOUBLE_EQ(boxes[j].train_fpr, fpr);
    EXPECT_EQ(boxes[j].lambda, lambdas[j]);
    if (j > 0) {
      EXPECT_LE(boxes[j].train_fpr, boxes[j - 1].train_fpr);  // tighter as lambda grows
    }
  }
  // The ROC score: a row's score is 1 + the last box that selects it.
  std::vector<float> scores;
  b.score(boxes, s.x.data(), s.rows(), s.width, scores);
  for (int64_t r = 0; r < s.rows(); ++r) {
    size_t want = 0;
    for (size_t j = 0; j < boxes.size(); ++j)
      if (b.selects(boxes[j], s.x.data() + r * s.width)) want = j + 1;
    ASSERT_EQ(scores[static_cast<size_t>(r)], static_cast<float>(want)) << "row " << r;
  }
}

// Two processes holding half the rows each, their counts summed at every step, choose the boxes
// that one process holding every row chooses.
TEST(CutBaseline, CountsSummedOverProcessesGiveTheSameBoxes) {
  const Sample s = box_sample();
  const std::vector<int64_t> columns{0, 1, 2};
  const std::vector<double> lambdas{0.5, 1, 3, 10};
  CutBaseline whole(columns, s.width);
  add_rows(whole, s.x.data(), s.y.data(), s.rows());
  const auto want = whole.optimise(lambdas);

  const int64_t half = s.rows() / 2 + 17;
  CutBaseline parts[2] = {CutBaseline(columns, s.width), CutBaseline(columns, s.width)};
  add_rows(parts[0], s.x.data(), s.y.data(), half);
  add_rows(parts[1], s.x.data() + half * s.width, s.y.data() + half, s.rows() - half);
  // An all-reduce of two threads: each posts its counts, both add them up, then both go on.
  std::mutex m;
  std::condition_variable cv;
  std::vector<int64_t> posted[2];
  int64_t round[2] = {0, 0};
  auto sum_for = [&](int me) {
    return [&, me](std::span<int64_t> v) {
      std::unique_lock<std::mutex> lock(m);
      posted[me].assign(v.begin(), v.end());
      const int64_t mine = ++round[me];
      cv.notify_all();
      cv.wait(lock, [&] { return round[1 - me] >= mine; });
      const std::vector<int64_t> other = posted[1 - me];
      ++round[me];  // read: the other may post its next counts once both have read these
      cv.notify_all();
      cv.wait(lock, [&] { return round[1 - me] >= mine + 1; });
      for (size_t i = 0; i < v.size(); ++i) v[i] += other[i];
    };
  };
  std::vector<CutBaseline::Box> got[2];
  std::thread t([&] { got[1] = parts[1].optimise(lambdas, sum_for(1)); });
  got[0] = parts[0].optimise(lambdas, sum_for(0));
  t.join();
  for (int p = 0; p < 2; ++p) {
    ASSERT_EQ(got[p].size(), want.size());
    for (size_t j = 0; j < want.size(); ++j) {
      EXPECT_EQ(got[p][j].lo, want[j].lo) << "process " << p << " box " << j;
      EXPECT_EQ(got[p][j].hi, want[j].hi) << "process " << p << " box " << j;
      EXPECT_DOUBLE_EQ(got[p][j].train_tpr, want[j].train_tpr);
      EXPECT_DOUBLE_EQ(got[p][j].train_fpr, want[j].train_fpr);
    }
  }
}

// Rows past max_rows are not kept: the boxes are those of the first max_rows rows.
TEST(CutBaseline, KeepsTheFirstMaxRows) {
  const Sample s = box_sample();
  const std::vector<int64_t> columns{0, 1};
  const std::vector<double> lambdas{1, 4};
  CutBaseline capped(columns, s.width, 5000);
  add_rows(capped, s.x.data(), s.y.data(), 3000);
  add_rows(capped, s.x.data() + 3000 * s.width, s.y.data() + 3000, s.rows() - 3000);
  EXPECT_EQ(capped.rows(), 5000);
  // Rows picked by index, in the order given, are kept alike.
  CutBaseline picked(columns, s.width, 5000);
  std::vector<int64_t> which(static_cast<size_t>(s.rows()));
  std::iota(which.begin(), which.end(), int64_t{0});
  picked.add(s.x.data(), s.y.data(), std::span<const int64_t>(which).first(1234));
  picked.add(s.x.data(), s.y.data(), std::span<const int64_t>(which).subspan(1234));
  EXPECT_EQ(picked.rows(), 5000);
  CutBaseline first(columns, s.width);
  add_rows(first, s.x.data(), s.y.data(), 5000);
  const auto a = capped.optimise(lambdas), b = first.optimise(lambdas);
  const auto c = picked.optimise(lambdas);
  for (size_t j = 0; j < lambdas.size(); ++j) {
    EXPECT_EQ(a[j].lo, b[j].lo);
    EXPECT_EQ(a[j].hi, b[j].hi);
    EXPECT_EQ(c[j].lo, b[j].lo);
    EXPECT_EQ(c[j].hi, b[j].hi);
  }
  // Many variables keep fewer rows: at most kMaxKeptBytes of 16-bit bins and a class byte each.
  const std::vector<int64_t> many(30000, 0);
  CutBaseline wide(many, 1);
  std::vector<float> x(2000, 0.5f);
  std::vector<int64_t> y(2000, 1);
  add_rows(wide, x.data(), y.data(), 2000);
  EXPECT_EQ(wide.rows(), CutBaseline::kMaxKeptBytes / (2 * 30000 + 1));
}

TEST(CutBaseline, BadInputIsAnError) {
  const double lambda = 1;
  CutBaseline b({0}, 1);
  std::vector<float> x{0.5f};
  std::vector<int64_t> y{1};
  add_rows(b, x.data(), y.data(), 1);
  EXPECT_THROW(b.optimise(std::span<const double>(&lambda, 1)), Error);  // one class
  EXPECT_THROW(CutBaseline({3}, 3), Error);  // no such column
  EXPECT_THROW(CutBaseline({}, 3), Error);
}

}  // namespace
}  // namespace m4h::train
