// Feature assembly: the reference's layout (flat keys, then jagged keys padded to jdim), min-max
// normalisation with the raw value when max == min, padding, both mask conventions, non-finite
// values, truncation, and names. Expected values are written out by hand.
#include "data/features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

}  // namespace
}  // namespace m4h::data
