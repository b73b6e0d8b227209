// Evaluation figures of a classifier, computed here (no ML library): the ROC curve and its area,
// signal efficiency at a given background efficiency, score histograms, and a cut-based baseline
// (the best single-feature threshold chosen on the training split) to compare a model against.
#pragma once

#include <cstdint>
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

// The cut-based baseline: per feature, histograms of the (normalised, [0,1]) values of signal and
// background rows of the training split; the chosen cut is the feature, direction and threshold
// maximising signal efficiency minus background efficiency (Youden's J) on those histograms.
class CutBaseline {
 public:
  static constexpr int kBins = 1000;
  // `flush_every`: rows counted in 32 bits before they are added to the 64-bit totals (at most
  // 2^32 - 1, what cannot overflow; smaller in tests).
  explicit CutBaseline(int64_t width, int64_t flush_every = std::numeric_limits<uint32_t>::max());

  // Adds training rows (x: rows x width, row-major; positive: per row).
  void add(const float* x, const uint8_t* positive, int64_t rows);

  struct Cut {
    int64_t feature = -1;
    bool above = true;     // signal is x >= threshold (else x < threshold)
    double threshold = 0;  // in normalised units
    double train_tpr = 0, train_fpr = 0;
  };
  // Everything add() counted, as one array (signal histograms, background histograms, the two
  // row counts), and the counts replaced by such an array: for summing over processes.
  std::vector<int64_t> counts() const;
  void set_counts(std::span<const int64_t> counts);

  // The best cut; throws kInvalidArgument when the rows held one class only.
  Cut choose() const;
  // The cut's 0/1 decision per row of x as a score (1 = selected as signal).
  static void apply(const Cut& cut, const float* x, int64_t rows, int64_t width,
                    std::vector<float>& scores);
  // The feature itself as a score (sign flipped when signal lies below), for a ROC of the cut scan.
  static void feature_score(const Cut& cut, const float* x, int64_t rows, int64_t width,
                            std::vector<float>& scores);

 private:
  // Adds the 32-bit counts into the 64-bit ones.
  void flush();

  int64_t width_;
  std::vector<int64_t> sig_, bkg_;  // width x kBins
  // add() counts into 32-bit histograms, half the cache footprint of 64-bit ones (1.5 MB
  // against 0.75 MB for 94 features: within a core's L2), flushed before they could overflow.
  std::vector<uint32_t> recent_sig_, recent_bkg_;
  int64_t recent_rows_ = 0, flush_every_;
  int64_t n_sig_ = 0, n_bkg_ = 0;
};

}  // namespace m4h::train
