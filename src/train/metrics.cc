#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "core/error.h"

namespace m4h::train {

namespace {

void check_inputs(std::span<const float> scores, std::span<const uint8_t> positive) {
  if (scores.size() != positive.size())
    throw Error(ErrorCode::kInvalidArgument, "ROC: " + std::to_string(scores.size()) +
                                                 " scores for " + std::to_string(positive.size()) +
                                                 " labels");
}

}  // namespace

std::vector<RocPoint> roc_curve(std::span<const float> scores, std::span<const uint8_t> positive) {
  check_inputs(scores, positive);
  const size_t n = scores.size();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  // NaN scores would break the ordering: they rank lowest.
  auto key = [&](uint32_t i) {
    const float s = scores[i];
    return std::isnan(s) ? -INFINITY : s;
  };
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return key(a) > key(b); });
  int64_t pos = 0;
  for (uint8_t p : positive) pos += p != 0;
  const int64_t neg = static_cast<int64_t>(n) - pos;
  if (pos == 0 || neg == 0)
    throw Error(ErrorCode::kInvalidArgument,
                "ROC: needs rows of both classes (" + std::to_string(pos) + " signal, " +
                    std::to_string(neg) + " background)");
  std::vector<RocPoint> curve;
  curve.push_back({0, 0, INFINITY});
  int64_t tp = 0, fp = 0;
  for (size_t k = 0; k < n;) {
    const float s = key(order[k]);
    while (k < n && key(order[k]) == s) {
      if (positive[order[k]]) ++tp; else ++fp;
      ++k;
    }
    curve.push_back({static_cast<double>(fp) / static_cast<double>(neg),
                     static_cast<double>(tp) / static_cast<double>(pos), s});
  }
  return curve;
}

double roc_auc(std::span<const float> scores, std::span<const uint8_t> positive) {
  const auto curve = roc_curve(scores, positive);
  double area = 0;
  for (size_t k = 1; k < curve.size(); ++k)
    area += (curve[k].fpr - curve[k - 1].fpr) * (curve[k].tpr + curve[k - 1].tpr) / 2;
  return area;
}

double tpr_at_fpr(std::span<const RocPoint> curve, double fpr) {
  if (curve.empty()) return 0;
  // The last point at or below `fpr` has the best signal efficiency there (the curve only rises);
  // between it and the next point the working points mix linearly.
  size_t k = 0;
  while (k + 1 < curve.size() && curve[k + 1].fpr <= fpr) ++k;
  if (k + 1 == curve.size()) return curve[k].tpr;
  const RocPoint& a = curve[k];
  const RocPoint& b = curve[k + 1];
  return a.tpr + (b.tpr - a.tpr) * (fpr - a.fpr) / (b.fpr - a.fpr);
}

std::vector<RocPoint> thin_curve(std::span<const RocPoint> curve, size_t max_points) {
  if (curve.size() <= max_points || max_points < 2) return {curve.begin(), curve.end()};
  std::vector<RocPoint> out;
  out.reserve(max_points);
  const double step = static_cast<double>(curve.size() - 1) / static_cast<double>(max_points - 1);
  for (size_t k = 0; k < max_points; ++k)
    out.push_back(curve[std::min(curve.size() - 1, static_cast<size_t>(std::llround(k * step)))]);
  return out;
}

std::vector<int64_t> histogram(std::span<const float> values, int bins, double lo, double hi) {
  std::vector<int64_t> h(static_cast<size_t>(std::max(bins, 1)), 0);
  const double scale = hi > lo ? bins / (hi - lo) : 0;
  for (float v : values) {
    if (std::isnan(v)) continue;
    const double b = std::floor((v - lo) * scale);
    const int64_t i = b < 0 ? 0 : b >= bins ? bins - 1 : static_cast<int64_t>(b);
    ++h[static_cast<size_t>(i)];
  }
  return h;
}

CutBaseline::CutBaseline(int64_t width, int64_t flush_every)
    : width_(width),
      sig_(static_cast<size_t>(width * kBins)),
      bkg_(static_cast<size_t>(width * kBins)),
      recent_sig_(static_cast<size_t>(width * kBins)),
      recent_bkg_(static_cast<size_t>(width * kBins)),
      flush_every_(std::clamp<int64_t>(flush_every, 1, std::numeric_limits<uint32_t>::max())) {}

std::vector<int64_t> CutBaseline::counts() const {
  std::vector<int64_t> c(sig_.size() + bkg_.size() + 2);
  for (size_t i = 0; i < sig_.size(); ++i) c[i] = sig_[i] + recent_sig_[i];
  for (size_t i = 0; i < bkg_.size(); ++i) c[sig_.size() + i] = bkg_[i] + recent_bkg_[i];
  c[c.size() - 2] = n_sig_;
  c[c.size() - 1] = n_bkg_;
  return c;
}

void CutBaseline::flush() {
  for (size_t i = 0; i < sig_.size(); ++i) sig_[i] += std::exchange(recent_sig_[i], 0);
  for (size_t i = 0; i < bkg_.size(); ++i) bkg_[i] += std::exchange(recent_bkg_[i], 0);
  recent_rows_ = 0;
}

void CutBaseline::set_counts(std::span<const int64_t> c) {
  if (c.size() != sig_.size() + bkg_.size() + 2)
    throw Error(ErrorCode::kInvalidArgument, "cut baseline: counts of another width");
  std::copy_n(c.begin(), sig_.size(), sig_.begin());
  std::copy_n(c.begin() + static_cast<std::ptrdiff_t>(sig_.size()), bkg_.size(), bkg_.begin());
  std::fill(recent_sig_.begin(), recent_sig_.end(), 0);
  std::fill(recent_bkg_.begin(), recent_bkg_.end(), 0);
  recent_rows_ = 0;
  n_sig_ = c[c.size() - 2];
  n_bkg_ = c[c.size() - 1];
}

void CutBaseline::add(const float* x, const uint8_t* positive, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r) {
    if (recent_rows_ == flush_every_) flush();  // a bin gains at most one count per row
    ++recent_rows_;
    uint32_t* h = positive[r] ? recent_sig_.data() : recent_bkg_.data();
    (positive[r] ? n_sig_ : n_bkg_) += 1;
    const float* row = x + r * width_;
    for (int64_t f = 0; f < width_; ++f) {
      const float v = row[f];
      const int64_t b = !(v > 0) ? 0 : v >= 1 ? kBins - 1 : static_cast<int64_t>(v * kBins);
      ++h[f * kBins + b];
    }
  }
}

CutBaseline::Cut CutBaseline::choose() const {
  const std::vector<int64_t> all = counts();
  const int64_t* sig = all.data();
  const int64_t* bkg = all.data() + sig_.size();
  if (n_sig_ == 0 || n_bkg_ == 0)
    throw Error(ErrorCode::kInvalidArgument,
                "cut baseline: the training split needs events of both classes (" +
                    std::to_string(n_sig_) + " signal, " + std::to_string(n_bkg_) + " background)");
  Cut best;
  double best_j = -1;
  for (int64_t f = 0; f < width_; ++f) {
    // Counts at or above bin t, from the top down; thresholds at bin edges t / kBins, t >= 1.
    int64_t s_above = 0, b_above = 0;
    for (int64_t t = kBins - 1; t >= 1; --t) {
      s_above += sig[f * kBins + t];
      b_above += bkg[f * kBins + t];
      const double tpr = static_cast<double>(s_above) / static_cast<double>(n_sig_);
      const double fpr = static_cast<double>(b_above) / static_cast<double>(n_bkg_);
      const double j = std::abs(tpr - fpr);
      if (j > best_j + 1e-12) {
        best_j = j;
        best.feature = f;
        best.above = tpr >= fpr;
        best.threshold = static_cast<double>(t) / kBins;
        best.train_tpr = best.above ? tpr : 1 - tpr;
        best.train_fpr = best.above ? fpr : 1 - fpr;
      }
    }
  }
  return best;
}

void CutBaseline::apply(const Cut& cut, const float* x, int64_t rows, int64_t width,
                        std::vector<float>& scores) {
  scores.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const bool at_or_above = x[r * width + cut.feature] >= cut.threshold;
    scores[r] = at_or_above == cut.above ? 1.0f : 0.0f;
  }
}

void CutBaseline::feature_score(const Cut& cut, const float* x, int64_t rows, int64_t width,
                                std::vector<float>& scores) {
  scores.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float v = x[r * width + cut.feature];
    scores[r] = cut.above ? v : -v;
  }
}

}  // namespace m4h::train
