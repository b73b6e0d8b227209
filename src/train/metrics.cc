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

namespace {

// Rounds of coordinate ascent per box at most (each change raises the objective, so it ends
// anyway; this bounds the time).
constexpr int kMaxRounds = 50;

struct Interval {
  int32_t lo = 0, hi = 0;
  double sum = 0;
};

// The run of bins with the largest sum of weights (the first of equal ones), widened over the
// neighbouring bins that hold no events at all, so that a cut stays open where nothing was seen.
Interval best_interval(const std::vector<double>& w, const int64_t* sig, const int64_t* bkg) {
  const int32_t n = static_cast<int32_t>(w.size());
  Interval best{0, 0, -std::numeric_limits<double>::infinity()};
  double run = 0;
  int32_t start = 0;
  for (int32_t i = 0; i < n; ++i) {
    if (i == 0 || run <= 0) {
      run = w[i];
      start = i;
    } else {
      run += w[i];
    }
    if (run > best.sum) best = Interval{start, i, run};
  }
  auto empty = [&](int32_t b) { return sig[b] == 0 && bkg[b] == 0; };
  while (best.lo > 0 && empty(best.lo - 1)) --best.lo;
  while (best.hi + 1 < n && empty(best.hi + 1)) ++best.hi;
  return best;
}

}  // namespace

CutBaseline::CutBaseline(std::vector<int64_t> columns, int64_t width, int64_t max_rows)
    : columns_(std::move(columns)),
      width_(width),
      max_rows_(std::clamp<int64_t>(max_rows, 0,
                                    kMaxKeptBytes / static_cast<int64_t>(2 * columns_.size() + 1))),
      bins_(columns_.size()) {
  if (columns_.empty()) throw Error(ErrorCode::kInvalidArgument, "cut baseline: no variables to cut on");
  if (columns_.size() > std::numeric_limits<uint16_t>::max())
    throw Error(ErrorCode::kInvalidArgument, "cut baseline: too many variables");
  for (int64_t c : columns_)
    if (c < 0 || c >= width)
      throw Error(ErrorCode::kInvalidArgument, "cut baseline: column " + std::to_string(c) +
                                                   " is outside rows of " + std::to_string(width) + " features");
}

void CutBaseline::add(const float* x, const int64_t* labels, std::span<const int64_t> which) {
  const auto n = static_cast<size_t>(std::clamp<int64_t>(max_rows_ - rows(), 0, static_cast<int64_t>(which.size())));
  for (size_t v = 0; v < columns_.size(); ++v) {
    std::vector<uint16_t>& b = bins_[v];
    const size_t first = b.size();
    b.resize(first + n);
    const float* col = x + columns_[v];
    for (size_t i = 0; i < n; ++i) b[first + i] = static_cast<uint16_t>(bin(col[which[i] * width_]));
  }
  for (size_t i = 0; i < n; ++i) positive_.push_back(labels[which[i]] == 1);
}

std::vector<CutBaseline::Box> CutBaseline::optimise(std::span<const double> lambdas, const SumOverRanks& sum) const {
  auto total = [&](std::span<int64_t> v) {
    if (sum) sum(v);
  };
  const size_t k = columns_.size();
  const size_t n = positive_.size();
  int64_t classes[2] = {0, 0};  // signal, background
  for (uint8_t p : positive_) ++classes[p ? 0 : 1];
  total(classes);
  if (classes[0] == 0 || classes[1] == 0)
    throw Error(ErrorCode::kInvalidArgument,
                "cut baseline: the training split needs events of both classes (" +
                    std::to_string(classes[0]) + " signal, " + std::to_string(classes[1]) + " background)");
  const double n_sig = static_cast<double>(classes[0]), n_bkg = static_cast<double>(classes[1]);

  Box box;
  box.lo.assign(k, 0);
  box.hi.assign(k, kBins - 1);
  // Per kept row, how many intervals of the box leave it out.
  std::vector<uint16_t> fails(n, 0);
  std::vector<int64_t> hist(2 * kBins);  // signal bins, then background bins
  std::vector<double> w(kBins);
  std::vector<Box> out;
  for (double lambda : lambdas) {
    box.lambda = lambda;
    for (int round = 0; round < kMaxRounds; ++round) {
      bool changed = false;
      for (size_t v = 0; v < k; ++v) {
        // Variable v's bins over the rows that every other interval selects.
        const uint16_t* bv = bins_[v].data();
        const int32_t lo = box.lo[v], hi = box.hi[v];
        std::fill(hist.begin(), hist.end(), 0);
        for (size_t i = 0; i < n; ++i) {
          const unsigned outside = static_cast<unsigned>(bv[i] - lo) > static_cast<unsigned>(hi - lo);
          hist[static_cast<size_t>(positive_[i] ? 0 : kBins) + bv[i]] += fails[i] == outside;
        }
        total(hist);
        for (int b = 0; b < kBins; ++b)
          w[static_cast<size_t>(b)] = static_cast<double>(hist[static_cast<size_t>(b)]) / n_sig -
                                      lambda * static_cast<double>(hist[static_cast<size_t>(kBins + b)]) / n_bkg;
        const Interval best = best_interval(w, hist.data(), hist.data() + kBins);
        const double current = std::accumulate(w.begin() + lo, w.begin() + hi + 1, 0.0);
        if (best.sum <= current + 1e-12 || (best.lo == lo && best.hi == hi)) continue;
        for (size_t i = 0; i < n; ++i) {
          const int was_out = static_cast<unsigned>(bv[i] - lo) > static_cast<unsigned>(hi - lo);
          const int is_out = static_cast<unsigned>(bv[i] - best.lo) > static_cast<unsigned>(best.hi - best.lo);
          fails[i] = static_cast<uint16_t>(fails[i] + is_out - was_out);
        }
        box.lo[v] = best.lo;
        box.hi[v] = best.hi;
        changed = true;
      }
      if (!changed) break;
    }
    int64_t selected[2] = {0, 0};
    for (size_t i = 0; i < n; ++i)
      if (fails[i] == 0) ++selected[positive_[i] ? 0 : 1];
    total(selected);
    box.train_tpr = static_cast<double>(selected[0]) / n_sig;
    box.train_fpr = static_cast<double>(selected[1]) / n_bkg;
    out.push_back(box);
  }
  return out;
}

bool CutBaseline::selects(const Box& box, const float* row) const {
  for (size_t v = 0; v < columns_.size(); ++v) {
    const int b = bin(row[columns_[v]]);
    if (b < box.lo[v] || b > box.hi[v]) return false;
  }
  return true;
}

void CutBaseline::apply(const Box& box, const float* x, int64_t rows, int64_t width,
                        std::vector<float>& scores) const {
  scores.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) scores[static_cast<size_t>(r)] = selects(box, x + r * width) ? 1.0f : 0.0f;
}

void CutBaseline::score(std::span<const Box> boxes, const float* x, int64_t rows, int64_t width,
                        std::vector<float>& scores) const {
  scores.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    size_t s = boxes.size();
    while (s > 0 && !selects(boxes[s - 1], x + r * width)) --s;
    scores[static_cast<size_t>(r)] = static_cast<float>(s);
  }
}

}  // namespace m4h::train
