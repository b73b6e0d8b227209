// Feature assembly: the reference's layout (flat keys, then jagged keys padded to jdim), min-max
// normalisation with the raw value when max == min, padding, both mask conventions, non-finite
// values, truncation, and names. Expected values are written out by hand.
#include "data/features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

namespace m4h::data {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

Specs small_specs() {
  Specs s;
  s.fkeys = {"a", "b"};
  s.jkeys = {"j"};
  s.jdim = {3};
  s.minv = {1, 2, 0};
  s.maxv = {5, 2, 10};  // b: max == min, so its values stay raw
  return s;
}

struct Data {
  std::vector<float> a{1, 3, kNaN, 5};
  std::vector<int32_t> b{2, 7, 2, 2};
  std::vector<float> j{5, 10, 1, 2, 3, 4, kInf};
  std::vector<int64_t> off{0, 2, 2, 6, 7};
  std::vector<ColumnView> views() const {
    return {ColumnView{ValueType::kF32, a.data(), nullptr, 4},
            ColumnView{ValueType::kI32, b.data(), nullptr, 4},
            ColumnView{ValueType::kF32, j.data(), off.data(), 4}};
  }
};

TEST(FeatureLayout, ReferenceColumnsAndNames) {
  Params p;
  FeatureLayout l = FeatureLayout::from_specs(small_specs(), p);
  EXPECT_EQ(l.width, 2 + 3);
  EXPECT_EQ(l.column, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(l.names(), (std::vector<std::string>{"a", "b", "j_0", "j_1", "j_2"}));
  p.jdim_max = 2;
  EXPECT_EQ(FeatureLayout::from_specs(small_specs(), p).width, 4);
}

TEST(Assemble, NormalisesPadsAndMasks) {
  Params p;
  p.padding_value = -1;
  FeatureLayout l = FeatureLayout::from_specs(small_specs(), p);
  Data d;
  auto views = d.views();
  std::vector<float> f(4 * 5, 99);
  std::vector<uint8_t> m(4 * 5, 99);
  std::vector<int64_t> dest{0, 1, 2, 3};
  AssemblyReport r;
  r.resize(l);
  assemble(l, views, 0, 4, dest.data(), f.data(), m.data(), r);
  const float P = -1;
  // a: (x - 1) / 4; b: raw; j: x / 10, padded to 3, the 4th value of event 2 cut.
  const std::vector<float> want{
      0.0f, 2, 0.5f, 1.0f, P,   //
      0.5f, 7, P,    P,    P,   //
      P,    2, 0.1f, 0.2f, 0.3f,  // a is NaN: padding value, masked
      1.0f, 2, P,    P,    P};  // j's only value is +inf: masked
  const std::vector<uint8_t> mask{1, 1, 1, 1, 0,  //
                                  1, 1, 0, 0, 0,  //
                                  0, 1, 1, 1, 1,  //
                                  1, 1, 0, 0, 0};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_FLOAT_EQ(f[i], want[i]) << "cell " << i;
    EXPECT_EQ(m[i], mask[i]) << "cell " << i;
  }
  EXPECT_EQ(r.truncated, (std::vector<int64_t>{1}));
  EXPECT_EQ(r.nonfinite, (std::vector<int64_t>{1, 0, 1}));
}

TEST(Assemble, ReferenceMaskConventionAndDestinationRows) {
  Params p;
  p.mask = MaskConvention::kPadded;  // the reference's np.isnan(x) * 1
  FeatureLayout l = FeatureLayout::from_specs(small_specs(), p);
  Data d;
  auto views = d.views();
  std::vector<float> f(4 * 5);
  std::vector<uint8_t> m(4 * 5);
  std::vector<int64_t> dest{3, 0, 2, 1};  // event i goes to row dest[i]
  AssemblyReport r;
  r.resize(l);
  // Two calls over parts of the range, as the producer's pieces do.
  assemble(l, views, 0, 1, dest.data(), f.data(), m.data(), r);
  assemble(l, views, 1, 4, dest.data() + 1, f.data(), m.data(), r);
  // Event 0 -> row 3, event 1 -> row 0.
  EXPECT_FLOAT_EQ(f[3 * 5 + 2], 0.5f);
  EXPECT_FLOAT_EQ(f[0 * 5 + 1], 7.0f);
  EXPECT_EQ(m[3 * 5 + 4], 1);  // padding is 1 in the reference's convention
  EXPECT_EQ(m[3 * 5 + 0], 0);
  EXPECT_EQ(m[0 * 5 + 2], 1);
  EXPECT_FLOAT_EQ(f[0 * 5 + 2], 0.0f);  // default padding value 0
  EXPECT_EQ(m[2 * 5 + 0], 1);           // event 2's NaN
}

TEST(Assemble, EveryValueTypeNormalisesTheSame) {
  Specs s;
  s.fkeys = {"x"};
  s.minv = {-2};
  s.maxv = {6};
  FeatureLayout l = FeatureLayout::from_specs(s, Params{});
  std::vector<int64_t> dest{0, 1};
  auto check = [&](ColumnView v) {
    std::vector<float> f(2);
    std::vector<uint8_t> m(2);
    AssemblyReport r;
    r.resize(l);
    assemble(l, std::span<const ColumnView>(&v, 1), 0, 2, dest.data(), f.data(), m.data(), r);
    EXPECT_FLOAT_EQ(f[0], 0.25f);  // (0 + 2) / 8
    EXPECT_FLOAT_EQ(f[1], 0.75f);  // (4 + 2) / 8
  };
  double d64[] = {0, 4};
  int8_t i8[] = {0, 4};
  uint16_t u16[] = {0, 4};
  int64_t i64[] = {0, 4};
  uint64_t u64[] = {0, 4};
  check({ValueType::kF64, d64, nullptr, 2});
  check({ValueType::kI8, i8, nullptr, 2});
  check({ValueType::kU16, u16, nullptr, 2});
  check({ValueType::kI64, i64, nullptr, 2});
  check({ValueType::kU64, u64, nullptr, 2});
  EXPECT_DOUBLE_EQ(l.normalise(0, 4), 0.75);
}

// Random blocks against a plain per-value loop written from the definition: 1-19 flat float
// features (with NaN and infinities; several of them exercise the 8 x 8 transposes and their
// remainders), a float64 one among them (normalised in double) and an int32 one, and jagged
// float features with short (one register), middle (two registers) and long (portable loops)
// jdim, an int16 jagged one, lists from empty to longer than jdim, rows shuffled, both mask
// conventions, event ranges not aligned to the kernels' row blocks. Bit-for-bit equal, with the
// AVX2 kernels (when the CPU has them) and with the portable ones.
void random_blocks_equal_a_plain_loop(bool simd) {
  set_simd_assembly(simd);
  // Restored however the checks end (a failed ASSERT returns early).
  struct Restore {
    ~Restore() { set_simd_assembly(true); }
  } restore;
  std::mt19937_64 rng(simd ? 7 : 8);
  for (int trial = 0; trial < 60; ++trial) {
    const size_t nfloat = 1 + rng() % 19;
    // The flat features: nfloat float32 ones with a float64 one among them at `dpos` (a lane of
    // any of the AVX2 kernel's groups of 8), then an int32 one.
    const size_t dpos = rng() % (nfloat + 1), nflat = nfloat + 1;
    Specs s;
    for (size_t k = 0; k < nflat; ++k) s.fkeys.push_back(k == dpos ? "d" : "f" + std::to_string(k));
    s.fkeys.push_back("i");
    s.jkeys = {"short", "middle", "long", "ints"};
    s.jdim = {int64_t(rng() % 8), int64_t(8 + rng() % 9), int64_t(17 + rng() % 20), int64_t(rng() % 12)};
    for (size_t k = 0; k < nflat; ++k) {
      s.minv.push_back(-3.0 - static_cast<double>(k));
      s.maxv.push_back(trial % 5 == 0 && k == 0 ? s.minv.back() : 5.0 + static_cast<double>(k));  // max == min: raw
    }
    s.minv.insert(s.minv.end(), {-100, 0, -2, -1, -50});
    s.maxv.insert(s.maxv.end(), {300, 50, 9, trial % 5 == 0 ? -1.0 : 7.0, 50});
    Params p;
    p.padding_value = trial % 2 ? -9.0f : 0.0f;
    p.mask = trial % 3 ? MaskConvention::kValid : MaskConvention::kPadded;
    const FeatureLayout l = FeatureLayout::from_specs(s, p);
    const int64_t events = 1 + static_cast<int64_t>(rng() % 300);
    const bool clean = trial % 4 == 3;  // no non-finite value at all
    auto value = [&]() -> float {
      const auto r = rng() % 40;
      if (!clean && r == 0) return kNaN;
      if (!clean && r == 1) return (rng() & 1) ? kInf : -kInf;
      return static_cast<float>(std::uniform_real_distribution<double>(-10, 60)(rng));
    };
    std::vector<std::vector<float>> f(nfloat, std::vector<float>(events));
    std::vector<double> doubles(events);
    std::vector<int32_t> ints(events);
    std::vector<std::vector<float>> jv(3);
    std::vector<int16_t> ji;
    std::vector<std::vector<int64_t>> jo(4, std::vector<int64_t>{0});
    const uint64_t longest[3] = {10, 20, 45};
    for (int64_t e = 0; e < events; ++e) {
      for (auto& col : f) col[e] = value();
      doubles[e] = static_cast<double>(value()) * (1.0 + 1e-12);  // not a float's value
      ints[e] = static_cast<int32_t>(rng() % 1000) - 500;
      for (size_t j = 0; j < 3; ++j) {
        for (auto n = rng() % longest[j]; n > 0; --n) jv[j].push_back(value());
        jo[j].push_back(static_cast<int64_t>(jv[j].size()));
      }
      for (auto n = rng() % 15; n > 0; --n) ji.push_back(static_cast<int16_t>(rng() % 200) - 100);
      jo[3].push_back(static_cast<int64_t>(ji.size()));
    }
    std::vector<ColumnView> views;
    for (size_t k = 0, c = 0; k < nflat; ++k)
      views.push_back(k == dpos ? ColumnView{ValueType::kF64, doubles.data(), nullptr, events}
                                : ColumnView{ValueType::kF32, f[c++].data(), nullptr, events});
    views.push_back(ColumnView{ValueType::kI32, ints.data(), nullptr, events});
    for (size_t j = 0; j < 3; ++j) views.push_back(ColumnView{ValueType::kF32, jv[j].data(), jo[j].data(), events});
    views.push_back(ColumnView{ValueType::kI16, ji.data(), jo[3].data(), events});
    const int64_t begin = static_cast<int64_t>(rng() % static_cast<uint64_t>(events));
    const int64_t end = begin + static_cast<int64_t>(rng() % static_cast<uint64_t>(events - begin + 1));
    std::vector<int64_t> dest(static_cast<size_t>(end - begin));
    std::iota(dest.begin(), dest.end(), int64_t{0});
    std::shuffle(dest.begin(), dest.end(), rng);

    const auto w = static_cast<size_t>(l.width);
    std::vector<float> got(dest.size() * w, 123), want(dest.size() * w, 123);
    std::vector<uint8_t> got_m(dest.size() * w, 7), want_m(dest.size() * w, 7);
    AssemblyReport r;
    r.resize(l);
    assemble(l, views, begin, end, dest.data(), got.data(), got_m.data(), r);

    // The definition: (x - min) / (max - min) in float for float and int16 values, in double
    // for float64 and int32 (the raw value when max == min); non-finite and missing slots padded.
    const size_t nf = nflat + 1;
    std::vector<int64_t> nonfinite(l.features(), 0), truncated(4, 0);
    auto put = [&](size_t row, size_t col, double x, bool in_float, size_t k) {
      const bool ok = std::isfinite(x);
      float v = p.padding_value;
      if (ok) {
        const bool same = s.maxv[k] == s.minv[k];
        const double shift = same ? 0.0 : s.minv[k], scale = same ? 1.0 : 1.0 / (s.maxv[k] - s.minv[k]);
        v = in_float ? (static_cast<float>(x) - static_cast<float>(shift)) * static_cast<float>(scale)
                     : static_cast<float>((x - shift) * scale);
      }
      want[row * w + col] = v;
      want_m[row * w + col] = ok ? l.valid_mark() : l.missing_mark();
      nonfinite[k] += !ok;
    };
    for (int64_t e = begin; e < end; ++e) {
      const auto row = static_cast<size_t>(dest[static_cast<size_t>(e - begin)]);
      for (size_t k = 0, c = 0; k < nflat; ++k)
        if (k == dpos) put(row, k, doubles[e], false, k);
        else put(row, k, f[c++][e], true, k);
      put(row, nflat, ints[e], false, nflat);
      for (size_t j = 0; j < 4; ++j) {
        const int64_t a = jo[j][e], len = jo[j][e + 1] - a, jdim = l.jdim[j];
        truncated[j] += len > jdim;
        const auto col = static_cast<size_t>(l.column[nf + j]);
        for (int64_t k = 0; k < jdim; ++k) {
          if (k < len) {
            put(row, col + k, j < 3 ? double(jv[j][a + k]) : double(ji[a + k]), true, nf + j);
          } else {
            want[row * w + col + k] = p.padding_value;
            want_m[row * w + col + k] = l.missing_mark();
          }
        }
      }
    }
    SCOPED_TRACE("trial " + std::to_string(trial) + (simd ? " (AVX2 kernels)" : " (portable kernels)"));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0) << "value " << i << ": " << got[i] << " vs " << want[i];
    EXPECT_EQ(got_m, want_m);
    EXPECT_EQ(r.nonfinite, nonfinite);
    EXPECT_EQ(r.truncated, truncated);
  }
}

TEST(Assemble, RandomBlocksEqualAPlainLoop) {
  if (!simd_assembly_active()) GTEST_LOG_(INFO) << "this CPU has no AVX2: the portable kernels are checked twice";
  random_blocks_equal_a_plain_loop(true);
}

TEST(Assemble, RandomBlocksEqualAPlainLoopWithPortableKernels) { random_blocks_equal_a_plain_loop(false); }

}  // namespace
}  // namespace m4h::data
