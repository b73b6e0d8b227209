#include "data/features.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/error.h"

// The AVX2 kernels (x86-64 with GCC or clang); other targets assemble with the portable ones.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define M4H_ASSEMBLY_AVX2 1
#include <immintrin.h>
#else
#define M4H_ASSEMBLY_AVX2 0
#endif

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

// The rows of one block, staged row-major: row i's features start at features + i * stride.
// The stride leaves kStageSlack cells after the row's width: the vector kernels store whole
// registers, and a store that runs past a feature's columns lands on columns of a feature
// written after it, or in that slack.
constexpr int64_t kStageSlack = 32;

struct Rows {
  float* features;
  uint8_t* mask;
  int64_t stride;
  int64_t n;
  float pad;
  uint8_t valid, missing;
};

// One flat feature of a block's rows, normalised into a contiguous column (a loop the compiler
// vectorises). Branch-free: a non-finite value selects the padding, and is counted.
template <typename T>
int64_t normalise_column(const T* p, int64_t n, Norm nm, float pad, float* __restrict out) {
  const Normaliser<T> norm(nm);
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T x = p[i];
    const bool good = finite(x);
    out[i] = good ? norm(x) : pad;
    bad += !good;
  }
  return bad;
}

// The missing marks of one flat feature that had non-finite values in this block.
template <typename T>
void mark_nonfinite(const T* p, const Rows& r, int64_t col) {
  if constexpr (std::is_floating_point_v<T>) {
    for (int64_t i = 0; i < r.n; ++i)
      if (!finite(p[i])) r.mask[i * r.stride + col] = r.missing;
  }
}

// Flat columns (column-major, kRowBlock values each) into the staged rows' first `nf` cells.
void transpose_flat(const float* cols, int64_t nf, const Rows& r) {
  for (int64_t i = 0; i < r.n; ++i)
    for (int64_t k = 0; k < nf; ++k) r.features[i * r.stride + k] = cols[k * kRowBlock + i];
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
  const int64_t n = r.n, stride = r.stride;
  float* const features = r.features + col;
  uint8_t* const mask = r.mask + col;
  const float pad = r.pad;
  const uint8_t valid = r.valid, missing = r.missing;
  int64_t bad = 0, truncated = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t s = off[i], len = off[i + 1] - s;
    const int64_t m = std::min(len, jdim);
    truncated += len > jdim;
    float* __restrict f = features + i * stride;
    uint8_t* __restrict k = mask + i * stride;
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

#if M4H_ASSEMBLY_AVX2
// AVX2 kernels, chosen at run time when the CPU has AVX2 (simd_assembly()). They compute what
// the kernels above compute, bit for bit: the same float operations in the same order, no FMA.
#define M4H_AVX2 __attribute__((target("avx2")))

// An 8 x 8 transpose in registers: a[l] holds 8 values of column l on entry, and 8 columns of
// row l on return.
M4H_AVX2 inline void transpose8x8(__m256 (&a)[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(a[0], a[1]), t1 = _mm256_unpackhi_ps(a[0], a[1]);
  const __m256 t2 = _mm256_unpacklo_ps(a[2], a[3]), t3 = _mm256_unpackhi_ps(a[2], a[3]);
  const __m256 t4 = _mm256_unpacklo_ps(a[4], a[5]), t5 = _mm256_unpackhi_ps(a[4], a[5]);
  const __m256 t6 = _mm256_unpacklo_ps(a[6], a[7]), t7 = _mm256_unpackhi_ps(a[6], a[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  a[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  a[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  a[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  a[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  a[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  a[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  a[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  a[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// 8 int16 lanes (-1 or 0, "this slot holds a finite real value") as 8 mask bytes.
M4H_AVX2 inline __m128i marks_of(__m128i good16, __m128i missing, __m128i flip) {
  return _mm_xor_si128(missing, _mm_and_si128(_mm_packs_epi16(good16, good16), flip));
}

M4H_AVX2 inline __m128i pack_lanes(__m256 lanes) {
  const __m256i g = _mm256_castps_si256(lanes);
  return _mm_packs_epi32(_mm256_castsi256_si128(g), _mm256_extracti128_si256(g, 1));
}

// Eight slots, given -1 in the lanes that hold real values: stores their normalised values,
// or the padding for the other lanes and non-finite values; counts the non-finite values;
// returns the lanes that hold a finite real value as 8 int16 (-1 or 0).
struct Half {
  __m256 shift, scale, pad, zero;
  M4H_AVX2 Half(Norm nm, float pad_value) {
    const Normaliser<float> norm(nm);
    shift = _mm256_set1_ps(norm.shift);
    scale = _mm256_set1_ps(norm.scale);
    pad = _mm256_set1_ps(pad_value);
    zero = _mm256_setzero_ps();
  }
  M4H_AVX2 __m128i operator()(const float* v, __m256i in_list, float* f, int64_t& bad) const {
    const __m256 x = _mm256_maskload_ps(v, in_list);
    const __m256 fin = _mm256_cmp_ps(_mm256_sub_ps(x, x), zero, _CMP_EQ_OQ);
    const __m256 in = _mm256_castsi256_ps(in_list);
    const __m256 good = _mm256_and_ps(in, fin);
    const __m256 y = _mm256_mul_ps(_mm256_sub_ps(x, shift), scale);
    _mm256_storeu_ps(f, _mm256_blendv_ps(pad, y, good));
    bad += __builtin_popcount(static_cast<unsigned>(_mm256_movemask_ps(_mm256_andnot_ps(fin, in))));
    return pack_lanes(good);
  }
};

// The flat features of a block's rows, eight features of eight rows at a time: the values are
// loaded column by column, transposed in registers, and normalised as rows (lane l with feature
// k0 + l's shift and scale), so each staged row gets one store of 8 values and one of 8 marks.
// Float features are read as they are. Others are first normalised into `columns` by the
// portable kernel (in double where their type needs it); their lanes are passed through
// unchanged ((x - 0) * 1 is x), and their missing marks are fixed afterwards.
M4H_AVX2 void flat_rows_avx2(std::span<const ColumnView> views, const FeatureLayout& layout, int64_t b0,
                             const Rows& r, float* columns, AssemblyReport& report) {
  alignas(32) static constexpr float kZeros[kRowBlock] = {};  // the lanes past the last feature
  const int64_t nf = static_cast<int64_t>(layout.fkeys.size()), n = r.n;
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 pad = _mm256_set1_ps(r.pad), zero = _mm256_setzero_ps();
  const __m128i missing = _mm_set1_epi8(static_cast<char>(r.missing));
  const __m128i flip = _mm_set1_epi8(static_cast<char>(r.valid ^ r.missing));
  for (int64_t k0 = 0; k0 < nf; k0 += 8) {
    const float* src[8];
    alignas(32) float shift[8], scale[8], check[8];
    int64_t converted_bad[8] = {};
    for (int64_t l = 0; l < 8; ++l) {
      const int64_t k = k0 + l;
      shift[l] = 0.0f;
      scale[l] = 1.0f;
      check[l] = 0.0f;
      if (k >= nf) {
        src[l] = kZeros;
        continue;
      }
      const ColumnView& v = views[k];
      const Norm nm = norm_of(layout.minv[k], layout.maxv[k]);
      if (v.type == ValueType::kF32) {
        const Normaliser<float> norm(nm);
        src[l] = static_cast<const float*>(v.values) + b0;
        shift[l] = norm.shift;
        scale[l] = norm.scale;
        std::memset(&check[l], 0xff, sizeof(float));
        continue;
      }
      float* col = columns + l * kRowBlock;
      converted_bad[l] = visit_values(v, [&](const auto* p) { return normalise_column(p + b0, n, nm, r.pad, col); });
      report.nonfinite[k] += converted_bad[l];
      src[l] = col;
    }
    const __m256 shift_v = _mm256_load_ps(shift), scale_v = _mm256_load_ps(scale), check_v = _mm256_load_ps(check);
    const __m256 unchecked = _mm256_andnot_ps(check_v, _mm256_castsi256_ps(_mm256_set1_epi32(-1)));
    __m256i bad = _mm256_setzero_si256();  // per lane: non-finite values of checked features
    for (int64_t i0 = 0; i0 < n; i0 += 8) {
      __m256 a[8];
      if (n - i0 >= 8) {
        for (int l = 0; l < 8; ++l) a[l] = _mm256_loadu_ps(src[l] + i0);
      } else {  // the block's last rows: nothing past them is loaded (their lanes read as 0)
        const __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i0)), lanes);
        for (int l = 0; l < 8; ++l) a[l] = _mm256_maskload_ps(src[l] + i0, in);
      }
      transpose8x8(a);
      for (int j = 0; j < 8; ++j) {  // staged rows past n exist (kRowBlock rows) and are not copied
        const __m256 x = a[j];
        const __m256 fin = _mm256_cmp_ps(_mm256_sub_ps(x, x), zero, _CMP_EQ_OQ);
        const __m256 good = _mm256_or_ps(fin, unchecked);
        const __m256 y = _mm256_mul_ps(_mm256_sub_ps(x, shift_v), scale_v);
        _mm256_storeu_ps(r.features + (i0 + j) * r.stride + k0, _mm256_blendv_ps(pad, y, good));
        bad = _mm256_sub_epi32(bad, _mm256_castps_si256(_mm256_andnot_ps(fin, check_v)));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(r.mask + (i0 + j) * r.stride + k0),
                         marks_of(pack_lanes(good), missing, flip));
      }
    }
    alignas(32) int32_t bad_lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(bad_lanes), bad);
    for (int64_t l = 0; l < 8 && k0 + l < nf; ++l) {
      const int64_t k = k0 + l;
      report.nonfinite[k] += bad_lanes[l];
      if (converted_bad[l] > 0)
        visit_values(views[k], [&](const auto* p) { mark_nonfinite(p + b0, r, layout.column[k]); });
    }
  }
}

// jagged_kernel for float values and jdim <= 16: a row's slots are one or two registers. Lanes
// past the list are neither loaded (masked loads do not touch them) nor counted.
M4H_AVX2 void jagged_f32_avx2(const float* p, const int64_t* off, const Rows& r, int64_t col, int64_t jdim,
                              Norm nm, int64_t& bad_out, int64_t& truncated_out) {
  const Half h(nm, r.pad);
  const __m256i lane_lo = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lane_hi = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
  const __m128i missing = _mm_set1_epi8(static_cast<char>(r.missing));
  const __m128i flip = _mm_set1_epi8(static_cast<char>(r.valid ^ r.missing));
  const bool two = jdim > 8;
  const int64_t n = r.n, stride = r.stride;
  int64_t bad = 0, truncated = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t s = off[i], len = off[i + 1] - s;
    const int64_t m = std::max<int64_t>(0, std::min(len, jdim));
    truncated += len > jdim;
    float* f = r.features + i * stride + col;
    uint8_t* k = r.mask + i * stride + col;
    const __m256i mv = _mm256_set1_epi32(static_cast<int>(m));
    const __m128i g_lo = h(p + s, _mm256_cmpgt_epi32(mv, lane_lo), f, bad);
    if (two) {
      // (No pointer past the list's end is formed: a short list's second half loads nothing.)
      const __m128i g_hi = h(m > 8 ? p + s + 8 : p + s, _mm256_cmpgt_epi32(mv, lane_hi), f + 8, bad);
      const __m128i marks = _mm_xor_si128(missing, _mm_and_si128(_mm_packs_epi16(g_lo, g_hi), flip));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(k), marks);
    } else {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(k), marks_of(g_lo, missing, flip));
    }
  }
  bad_out += bad;
  truncated_out += truncated;
}
#undef M4H_AVX2
#endif

std::atomic<bool> g_simd_allowed{true};

bool simd_assembly() {
#if M4H_ASSEMBLY_AVX2
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  return has_avx2 && g_simd_allowed.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

// Asks for the values (and offsets) of events [from, to) of a view. Every feature is its own
// stream, more than the hardware prefetchers follow: without this, each block's first touch
// of every column waits for memory.
void prefetch_values(const ColumnView& v, int64_t from, int64_t to) {
  if (from >= to) return;
  static constexpr uint8_t kSize[] = {8, 4, 1, 1, 2, 2, 4, 4, 8, 8};  // by ValueType
  const int64_t size = kSize[static_cast<int>(v.type)];
  int64_t a = from, b = to;
  if (v.jagged()) {
    const char* o = reinterpret_cast<const char*>(v.offsets + from);
    for (int64_t x = 0; x < (to - from + 1) * 8; x += 64) __builtin_prefetch(o + x);
    a = v.offsets[from];
    b = v.offsets[to];
  }
  const char* p = static_cast<const char*>(v.values) + a * size;
  for (int64_t x = 0; x < (b - a) * size; x += 64) __builtin_prefetch(p + x);
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

void set_simd_assembly(bool allowed) { g_simd_allowed.store(allowed, std::memory_order_relaxed); }

bool simd_assembly_active() { return simd_assembly(); }

void assemble(const FeatureLayout& layout, std::span<const ColumnView> views, int64_t begin,
              int64_t end, const int64_t* dest_rows, float* features, uint8_t* mask,
              AssemblyReport& report) {
  const size_t nf = layout.fkeys.size(), n = layout.features();
  if (views.size() != n) throw Error(ErrorCode::kInternal, "assemble: one view per feature needed");
  const bool simd = simd_assembly();
  const int64_t width = layout.width;
  const int64_t row_bytes = width * static_cast<int64_t>(sizeof(float));
  // Shuffled rows land anywhere in the chunk: ask for the next block's rows while this one is
  // written, or every first store to a row waits for memory. Every cache line a row touches is
  // asked for, the partial ones at either end included.
  auto prefetch_lines = [](const void* at, int64_t bytes) {
    const uintptr_t first = reinterpret_cast<uintptr_t>(at) & ~uintptr_t{63};
    const uintptr_t last = reinterpret_cast<uintptr_t>(at) + static_cast<uintptr_t>(bytes) - 1;
    for (uintptr_t line = first; line <= last; line += 64) __builtin_prefetch(reinterpret_cast<const void*>(line), 1);
  };
  auto prefetch_rows = [&](int64_t from, int64_t to) {
    for (int64_t i = from; i < to; ++i) {
      prefetch_lines(features + dest_rows[i - begin] * width, row_bytes);
      if (mask) prefetch_lines(mask + dest_rows[i - begin] * width, width);
    }
  };
  // A block's rows are assembled in a small row-major buffer that stays in the first-level
  // cache, then each row is copied whole to its place in the chunk. Written in place, feature by
  // feature, every value was a store to a line of a chunk several MB large (shuffled rows): the
  // block's lines were fetched from memory one value at a time.
  // Flat features: the AVX2 kernel transposes eight of them at a time and normalises them as
  // rows (flat_rows_avx2); the portable path normalises them column by column (a loop the
  // compiler vectorises), then transposes the columns into the rows.
  Rows rows;
  rows.pad = layout.padding;
  rows.valid = layout.valid_mark();
  rows.missing = layout.missing_mark();
  rows.stride = width + kStageSlack;
  const int64_t flat_cols = (static_cast<int64_t>(nf) + 7) / 8 * 8;
  std::vector<float> stage_features(static_cast<size_t>(kRowBlock * rows.stride));
  std::vector<uint8_t> stage_mask(static_cast<size_t>(kRowBlock * rows.stride));
  std::vector<float> columns(static_cast<size_t>(flat_cols * kRowBlock));
  std::vector<int64_t> flat_bad(nf);  // portable path, per flat feature: non-finite values in the block
  rows.features = stage_features.data();
  rows.mask = stage_mask.data();
  prefetch_rows(begin, std::min(end, begin + kRowBlock));
  for (int64_t b0 = begin; b0 < end; b0 += kRowBlock) {
    const int64_t b1 = std::min(end, b0 + kRowBlock);
    const int64_t* dest = dest_rows + (b0 - begin);
    prefetch_rows(b1, std::min(end, b1 + kRowBlock));
    for (const ColumnView& v : views) prefetch_values(v, b1, std::min(end, b1 + kRowBlock));
    rows.n = b1 - b0;
    if (nf > 0) {
#if M4H_ASSEMBLY_AVX2
      if (simd) flat_rows_avx2(views, layout, b0, rows, columns.data(), report);
      else
#endif
      {
        for (size_t k = 0; k < nf; ++k) {
          flat_bad[k] = visit_values(views[k], [&](const auto* p) {
            return normalise_column(p + b0, rows.n, norm_of(layout.minv[k], layout.maxv[k]), rows.pad,
                                    columns.data() + k * kRowBlock);
          });
          report.nonfinite[k] += flat_bad[k];
        }
        transpose_flat(columns.data(), static_cast<int64_t>(nf), rows);
        for (int64_t i = 0; i < rows.n; ++i) std::memset(rows.mask + i * rows.stride, rows.valid, nf);
        for (size_t k = 0; k < nf; ++k)
          if (flat_bad[k] > 0)
            visit_values(views[k], [&](const auto* p) { mark_nonfinite(p + b0, rows, layout.column[k]); });
      }
    }
    for (size_t k = nf; k < n; ++k) {
      const ColumnView& v = views[k];
      const Norm nm = norm_of(layout.minv[k], layout.maxv[k]);
      const size_t j = k - nf;
      const int64_t jdim = layout.jdim[j];
#if M4H_ASSEMBLY_AVX2
      if (simd && v.type == ValueType::kF32 && jdim > 0 && jdim <= 16) {
        jagged_f32_avx2(static_cast<const float*>(v.values), v.offsets + b0, rows, layout.column[k], jdim, nm,
                        report.nonfinite[k], report.truncated[j]);
        continue;
      }
#endif
      visit_values(v, [&](const auto* p) {
        jagged_kernel(p, v.offsets + b0, rows, layout.column[k], jdim, nm, report.nonfinite[k],
                      report.truncated[j]);
      });
    }
    // The layout's columns cover [0, width): every staged row was written whole.
    for (int64_t i = 0; i < rows.n; ++i) {
      std::memcpy(features + dest[i] * width, rows.features + i * rows.stride, static_cast<size_t>(row_bytes));
      if (mask) std::memcpy(mask + dest[i] * width, rows.mask + i * rows.stride, static_cast<size_t>(width));
    }
  }
}

}  // namespace m4h::data
