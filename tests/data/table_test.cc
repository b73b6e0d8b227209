#include "data/table.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "root/column.h"

namespace m4h::data {
namespace {

root::Column make_column(root::DType t, const void* data, size_t bytes, int64_t entries) {
  root::Column c;
  c.dtype = t;
  c.entries = entries;
  c.values.resize(bytes);
  std::memcpy(c.values.data(), data, bytes);
  return c;
}

TEST(ToArray, FlatIntegersAndBools) {
  int32_t v[] = {1, -2, 3};
  Array a = to_array(make_column(root::DType::kInt32, v, sizeof v, 3), "x");
  EXPECT_FALSE(a.jagged());
  EXPECT_EQ(a.values, (std::vector<double>{1, -2, 3}));
  bool b[] = {true, false};
  EXPECT_EQ(to_array(make_column(root::DType::kBool, b, sizeof b, 2), "b").values,
            (std::vector<double>{1, 0}));
}

TEST(ToArray, JaggedKeepsOffsets) {
  float v[] = {1.5f, 2.5f, 3.5f};
  root::Column c = make_column(root::DType::kFloat32, v, sizeof v, 2);
  c.offsets = {{0, 2, 3}};
  Array a = to_array(c, "Jet_pt");
  EXPECT_TRUE(a.jagged());
  EXPECT_EQ(a.offsets, (std::vector<int64_t>{0, 2, 3}));
  EXPECT_EQ(a.length(0), 2);
  EXPECT_EQ(a.values, (std::vector<double>{1.5, 2.5, 3.5}));
}

TEST(ToArray, FixedArrayBecomesListsOfItsSize) {
  double v[] = {1, 2, 3, 4, 5, 6};
  root::Column c = make_column(root::DType::kFloat64, v, sizeof v, 2);
  c.shape = {3};
  Array a = to_array(c, "p3");
  EXPECT_EQ(a.offsets, (std::vector<int64_t>{0, 3, 6}));
}

TEST(ToArray, StringsAreRejectedByName) {
  root::Column c;
  c.dtype = root::DType::kChar;
  try {
    to_array(c, "name");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("'name'"), std::string::npos);
  }
}

TEST(Table, SetFilterRemove) {
  Table t;
  t.set("x", Array::flat({1, 2, 3}));
  t.set("j", Array::lists({10, 11, 20, 30, 31, 32}, {0, 2, 3, 6}));
  EXPECT_EQ(t.entries(), 3);
  EXPECT_THROW(t.set("bad", Array::flat({1})), Error);
  t.filter({true, false, true});
  EXPECT_EQ(t.entries(), 2);
  EXPECT_EQ(t.at("x").values, (std::vector<double>{1, 3}));
  EXPECT_EQ(t.at("j").values, (std::vector<double>{10, 11, 30, 31, 32}));
  EXPECT_EQ(t.at("j").offsets, (std::vector<int64_t>{0, 2, 5}));
  t.remove("x");
  EXPECT_FALSE(t.has("x"));
  EXPECT_THROW(t.at("x"), Error);
  EXPECT_EQ(t.names(), (std::vector<std::string>{"j"}));
}

}  // namespace
}  // namespace m4h::data
