// Evaluation figures of a classifier, computed here (no ML library): the ROC curve and its area,
// signal efficiency at a given background efficiency, score histograms, and a cut-based baseline
// (a rectangular cut optimised on the training split) to compare a model against.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <vector>

namespace m4h::train {

// One point of a ROC curve: background efficiency (false-positive rate) and signal efficiency
// (true-positive rate) when every score >= some threshold is called signal.
struct RocPoint {
  double fpr = 0;
  double tpr = 0;
  double threshold = 0;
};

// The ROC curve of `scores` (higher = more signal-like) for `positive` (true = signal), from
// (0,0) to (1,1), one point per distinct score (ties form one step, drawn diagonally).
// Throws kInvalidArgument when the sizes differ or one class is absent.
std::vector<RocPoint> roc_curve(std::span<const float> scores, std::span<const uint8_t> positive);

// Area under the ROC curve (trapezoids; ties count one half). Same preconditions as roc_curve.
double roc_auc(std::span<const float> scores, std::span<const uint8_t> positive);

// Signal efficiency at background efficiency `fpr`, linearly interpolated along the curve.
double tpr_at_fpr(std::span<const RocPoint> curve, double fpr);

// At most `max_points` points of `curve` (first and last kept), for metrics.json and plots.
std::vector<RocPoint> thin_curve(std::span<const RocPoint> curve, size_t max_points);

// Counts of `values` in `bins` equal bins over [lo, hi] (values outside go to the end bins).
std::vector<int64_t> histogram(std::span<const float> values, int bins, double lo, double hi);

// The cut-based baseline, as an analysis without machine learning would select events: a
// rectangular cut, one interval of values per chosen variable (an event is selected when every
// variable lies in its interval; an interval may be open at either end). The training rows'
// chosen variables are kept as bins of their normalised ([0, 1]) values; boxes are optimised on
// them by coordinate ascent: one variable at a time, the interval that maximises
// signal efficiency - lambda * background efficiency among the events that pass the other
// variables' intervals (the best sum of bin weights, a maximum subarray), until a round changes
// nothing. lambda = 1 maximises signal minus background efficiency (Youden's J); a range of
// lambdas traces the cut-based ROC curve, each box starting from the previous one.
class CutBaseline {
 public:
  static constexpr int kBins = 1000;
  static constexpr int64_t kDefaultMaxRows = 1'000'000;
  static constexpr int64_t kMaxKeptBytes = int64_t{64} << 20;  // whatever the number of variables
  // Sums counts over the processes of a distributed run, in place (every process calls it with
  // the same sizes in the same order); empty: one process.
  using SumOverRanks = std::function<void(std::span<int64_t>)>;

  // `columns`: the chosen variables' columns in rows of `width` features. The first `max_rows`
  // training rows given to add() are kept (they come mixed from every file), fewer when their
  // bins would take more than kMaxKeptBytes; later ones are not.
  CutBaseline(std::vector<int64_t> columns, int64_t width, int64_t max_rows = kDefaultMaxRows);

  // Adds training rows `which` of x (rows x width, row-major) and labels (1 = signal, anything
  // else background), in that order.
  void add(const float* x, const int64_t* labels, std::span<const int64_t> which);
  int64_t rows() const { return static_cast<int64_t>(positive_.size()); }
  const std::vector<int64_t>& columns() const { return columns_; }

  // The bin of a normalised value: NaN and values <= 0 in the first, values >= 1 in the last.
  static int bin(float v) {
    return !(v > 0) ? 0 : v >= 1 ? kBins - 1 : std::min(kBins - 1, static_cast<int>(v * kBins));
  }

  struct Box {
    std::vector<int32_t> lo, hi;  // per chosen variable: its first and last selected bin
    double lambda = 1;
    double train_tpr = 0, train_fpr = 0;  // on the kept rows (of every process)
    // Whether variable v is cut at all (else its interval holds every bin).
    bool cuts(size_t v) const { return lo[v] > 0 || hi[v] < kBins - 1; }
  };
  // The box optimised for each of `lambdas` (in that order, each starting from the previous
  // box; the first from the open box). Throws kInvalidArgument when the kept rows of every
  // process hold one class only.
  std::vector<Box> optimise(std::span<const double> lambdas, const SumOverRanks& sum = {}) const;

  // Whether `box` selects a row of `width` features.
  bool selects(const Box& box, const float* row) const;
  // Per row of x, 1 when `box` selects it, else 0.
  void apply(const Box& box, const float* x, int64_t rows, int64_t width, std::vector<float>& scores) const;
  // Per row of x, a score for the ROC curve of `boxes` (in order of growing lambda: tighter):
  // 1 + the index of the last box that selects the row, 0 when none does. A threshold on it
  // selects the union of the boxes from there on (the boxes themselves when they nest).
  void score(std::span<const Box> boxes, const float* x, int64_t rows, int64_t width,
             std::vector<float>& scores) const;

 private:
  std::vector<int64_t> columns_;
  int64_t width_, max_rows_;
  std::vector<std::vector<uint16_t>> bins_;  // per chosen variable, per kept row
  std::vector<uint8_t> positive_;            // per kept row
};

}  // namespace m4h::train
