#include "data/features.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace m4h::data {

namespace {

// Rows assembled together: every feature's pass over a block touches the same few hundred rows,
// which stay in cache while the block's columns are written.
constexpr int64_t kRowBlock = 64;

struct Norm {
  double shift, scale;  // (x - shift) * scale; shift 0 and scale 1 keep the raw value
};

Norm norm_of(double minv, double maxv) {
  if (maxv == minv) return {0.0, 1.0};
  return {minv, 1.0 / (maxv - minv)};
}

template <typename T>
inline bool finite(T x) {
  if constexpr (std::is_floating_point_v<T>) return (x - x) == 0;
  else return true;
}

// Values a float holds exactly (float, 8- and 16-bit integers) are normalised in float, the rest
// (32- and 64-bit integers, doubles) in double: float loses nothing there and runs twice as wide.
template <typename T>
struct Normaliser {
  using M = std::conditional_t<std::is_same_v<T, float> || (std::is_integral_v<T> && sizeof(T) <= 2),
                               float, double>;
  M shift, scale;
  explicit Normaliser(Norm n) : shift(static_cast<M>(n.shift)), scale(static_cast<M>(n.scale)) {}
  float operator()(T x) const { return static_cast<float>((static_cast<M>(x) - shift) * scale); }
};

// The rows of one block, staged row-major: row i's features start at features + i * width.
struct Rows {
  float* features;
  uint8_t* mask;
  int64_t width;
  int64_t n;
  float pad;
  uint8_t valid, missing;
};

// One flat feature of a block's rows. Branch-free: a non-finite value selects the padding and
// the missing mark, and is counted.
template <typename T>
int64_t flat_kernel(const T* p, const Rows& r, int64_t col, Norm nm) {
  const Normaliser<T> norm(nm);
  const int64_t n = r.n, width = r.width;
  float* const features = r.features + col;
  uint8_t* const mask = r.mask + col;
  const float pad = r.pad;
  const uint8_t valid = r.valid, missing = r.missing;
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T x = p[i];
    const bool good = finite(x);
    features[i * width] = good ? norm(x) : pad;
    mask[i * width] = good ? valid : missing;
    bad += !good;
  }
  return bad;
}

// One jagged feature (jdim slots) of a block's rows: each row's first min(len, jdim) values
// normalised, the rest padded. Lists of a few values (jets, leptons) take one scalar loop per
// row; longer ones loops the compiler vectorises, whose set-up costs more than short lists save.
template <typename T>
void jagged_kernel(const T* p, const int64_t* off, const Rows& r, int64_t col, int64_t jdim, Norm nm,
                   int64_t& bad_out, int64_t& truncated_out) {
  constexpr int64_t kShortList = 16;
  const Normaliser<T> norm(nm);
  // Locals: mask stores are uint8_t, which may alias anything, so fields read through `r` would
  // be reloaded after every store.
  const int64_t n = r.n, width = r.width;
  float* const features = r.features + col;
  uint8_t* const mask = r.mask + col;
  const float pad = r.pad;
  const uint8_t valid = r.valid, missing = r.missing;
  int64_t bad = 0, truncated = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t s = off[i], len = off[i + 1] - s;
    const int64_t m = std::min(len, jdim);
    truncated += len > jdim;
    float* __restrict f = features + i * width;
    uint8_t* __restrict k = mask + i * width;
    const T* __restrict v = p + s;
    if (jdim <= kShortList) {
      int64_t j = 0;
      for (; j < m; ++j) {
        const T x = v[j];
        const bool good = finite(x);
        f[j] = good ? norm(x) : pad;
        k[j] = good ? valid : missing;
        bad += !good;
      }
      for (; j < jdim; ++j) {
        f[j] = pad;
        k[j] = missing;
      }
      continue;
    }
    for (int64_t j = 0; j < m; ++j) f[j] = norm(v[j]);
    for (int64_t j = 0; j < m; ++j) k[j] = valid;
    for (int64_t j = m; j < jdim; ++j) f[j] = pad;
    for (int64_t j = m; j < jdim; ++j) k[j] = missing;
    if constexpr (std::is_floating_point_v<T>) {
      for (int64_t j = 0; j < m; ++j)
        if (!finite(v[j])) [[unlikely]] {
          f[j] = pad;
          k[j] = missing;
          ++bad;
        }
    }
  }
  bad_out += bad;
  truncated_out += truncated;
}

}  // namespace

FeatureLayout FeatureLayout::from_specs(const Specs& specs, const Params& params) {
  FeatureLayout l;
  l.fkeys = specs.fkeys;
  l.jkeys = specs.jkeys;
  l.jdim = specs.jdim;
  l.minv = specs.minv;
  l.maxv = specs.maxv;
  if (l.jdim.size() != l.jkeys.size() || l.minv.size() != l.features() || l.maxv.size() != l.features())
    throw Error(ErrorCode::kInternal, "specs: inconsistent key and value counts");
  // Forced specs may have been computed without a cap; jdim_max applies to them too.
  if (params.jdim_max >= 0)
    for (int64_t& d : l.jdim) d = std::min(d, params.jdim_max);
  int64_t c = 0;
  for (size_t k = 0; k < l.fkeys.size(); ++k) l.column.push_back(c++);
  for (size_t k = 0; k < l.jkeys.size(); ++k) {
    l.column.push_back(c);
    c += l.jdim[k];
  }
  l.width = c;
  l.padding = params.padding_value;
  l.mask = params.mask;
  return l;
}

std::vector<std::string> FeatureLayout::names() const {
  std::vector<std::string> out = fkeys;
  for (size_t k = 0; k < jkeys.size(); ++k)
    for (int64_t i = 0; i < jdim[k]; ++i) out.push_back(jkeys[k] + "_" + std::to_string(i));
  return out;
}

double FeatureLayout::normalise(size_t k, double x) const {
  const Norm nm = norm_of(minv[k], maxv[k]);
  return (x - nm.shift) * nm.scale;
}

void AssemblyReport::resize(const FeatureLayout& layout) {
  truncated.assign(layout.jkeys.size(), 0);
  nonfinite.assign(layout.features(), 0);
}

void AssemblyReport::add(const AssemblyReport& o) {
  if (truncated.size() < o.truncated.size()) truncated.resize(o.truncated.size(), 0);
  if (nonfinite.size() < o.nonfinite.size()) nonfinite.resize(o.nonfinite.size(), 0);
  for (size_t k = 0; k < o.truncated.size(); ++k) truncated[k] += o.truncated[k];
  for (size_t k = 0; k < o.nonfinite.size(); ++k) nonfinite[k] += o.nonfinite[k];
}

void assemble(const FeatureLayout& layout, std::span<const ColumnView> views, int64_t begin,
              int64_t end, const int64_t* dest_rows, float* features, uint8_t* mask,
              AssemblyReport& report) {
  const size_t nf = layout.fkeys.size(), n = layout.features();
  if (views.size() != n) throw Error(ErrorCode::kInternal, "assemble: one view per feature needed");
  const int64_t width = layout.width;
  const int64_t row_bytes = width * static_cast<int64_t>(sizeof(float));
  // Shuffled rows land anywhere in the chunk: ask for the next block's rows while this one is
  // written, or every first store to a row waits for memory.
  auto prefetch_rows = [&](int64_t from, int64_t to) {
    for (int64_t i = from; i < to; ++i) {
      const char* f = reinterpret_cast<const char*>(features + dest_rows[i - begin] * width);
      for (int64_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(f + b, 1);
      const char* m = reinterpret_cast<const char*>(mask + dest_rows[i - begin] * width);
      for (int64_t b = 0; b < width; b += 64) __builtin_prefetch(m + b, 1);
    }
  };
  // A block's rows are assembled in a small row-major buffer that stays in the first-level
  // cache, then each row is copied whole to its place in the chunk. Written in place, feature by
  // feature, every value was a store to a line of a chunk several MB large (shuffled rows): the
  // block's lines were fetched from memory one value at a time.
  Rows rows;
  rows.pad = layout.padding;
  rows.valid = layout.valid_mark();
  rows.missing = layout.missing_mark();
  std::vector<float> stage_features(static_cast<size_t>(kRowBlock * width));
  std::vector<uint8_t> stage_mask(static_cast<size_t>(kRowBlock * width));
  rows.features = stage_features.data();
  rows.mask = stage_mask.data();
  rows.width = width;
  prefetch_rows(begin, std::min(end, begin + kRowBlock));
  for (int64_t b0 = begin; b0 < end; b0 += kRowBlock) {
    const int64_t b1 = std::min(end, b0 + kRowBlock);
    const int64_t* dest = dest_rows + (b0 - begin);
    prefetch_rows(b1, std::min(end, b1 + kRowBlock));
    rows.n = b1 - b0;
    for (size_t k = 0; k < nf; ++k)
      report.nonfinite[k] += visit_values(views[k], [&](const auto* p) {
        return flat_kernel(p + b0, rows, layout.column[k], norm_of(layout.minv[k], layout.maxv[k]));
      });
    for (size_t k = nf; k < n; ++k) {
      const ColumnView& v = views[k];
      const Norm nm = norm_of(layout.minv[k], layout.maxv[k]);
      const size_t j = k - nf;
      visit_values(v, [&](const auto* p) {
        jagged_kernel(p, v.offsets + b0, rows, layout.column[k], layout.jdim[j], nm,
                      report.nonfinite[k], report.truncated[j]);
      });
    }
    // The layout's columns cover [0, width): every staged row was written whole.
    for (int64_t i = 0; i < rows.n; ++i) {
      std::memcpy(features + dest[i] * width, rows.features + i * width, static_cast<size_t>(row_bytes));
      std::memcpy(mask + dest[i] * width, rows.mask + i * width, static_cast<size_t>(width));
    }
  }
}

}  // namespace m4h::data
