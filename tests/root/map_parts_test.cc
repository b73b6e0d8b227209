// std::maps whose keys or values vary in size (map<string,short>, map<int,vector<string>>),
// streamed member-wise, read as two branches: "m.first" (the keys) and "m.second" (the values),
// one list per entry in the map's (sorted) order. Expected values: uproot's documented reading of
// uproot-stl_containers.root (entry i holds the keys 1..i+1 or "one".."five", each mapped to
// 1..k, "ONE".., or a container of the first k numbers or words), rendered as `dump` prints them.
// jsroot cannot read these branches, so the oracle has no values for them.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "root/basket.h"
#include "root/branch_reader.h"
#include "root/file.h"
#include "root/interpretation.h"
#include "root/tree.h"
#include "support/testdata.h"

namespace m4h::root {
namespace {

std::shared_ptr<Tree> stl() {
  return Tree::load(File::open(test::testdata_file("uproot-stl_containers.root")), "tree");
}

// The column as nested JSON lists, as `mlaas4hep dump` prints it.
std::string render(const Column& c) {
  const bool strings = c.dtype == DType::kChar;
  const std::size_t levels = c.offsets.size();
  std::string out;
  auto value = [&](int64_t j) {
    switch (c.dtype) {
      case DType::kInt16: out += std::to_string(c.value<int16_t>(j)); break;
      case DType::kInt32: out += std::to_string(c.value<int32_t>(j)); break;
      default: out += "?";
    }
  };
  auto item = [&](auto&& self, std::size_t level, int64_t i) -> void {
    const int64_t lo = c.offsets[level][i], hi = c.offsets[level][i + 1];
    if (strings && level + 1 == levels) {
      out += '"';
      for (int64_t k = lo; k < hi; ++k) out += static_cast<char>(c.values[k]);
      out += '"';
      return;
    }
    out += '[';
    for (int64_t j = lo; j < hi; ++j) {
      if (j > lo) out += ',';
      if (level + 1 == levels) value(j);
      else self(self, level + 1, j);
    }
    out += ']';
  };
  out += '[';
  for (int64_t e = 0; e < c.entries; ++e) {
    if (e) out += ", ";
    item(item, 0, e);
  }
  out += ']';
  return out;
}

std::string read(const Tree& t, const std::string& name, int64_t stop = -1) {
  const BranchInfo* b = t.find(name);
  if (!b) return "no branch " + name;
  return render(read_branch(t, *b, 0, stop < 0 ? t.entries() : stop));
}

TEST(MapParts, KeysAndValuesOfEveryMapOfTheFile) {
  M4H_REQUIRE_TESTDATA();
  auto t = stl();
  const std::string words3 = R"([["one"], ["one","two"], ["one","three","two"]])";
  EXPECT_EQ(read(*t, "map_string_int16.first", 3), words3);
  EXPECT_EQ(read(*t, "map_string_int16.second"), "[[1], [1,2], [1,3,2], [4,1,3,2], [5,4,1,3,2]]");
  EXPECT_EQ(read(*t, "map_string_string.first", 3), words3);
  EXPECT_EQ(read(*t, "map_string_string.second", 3), R"([["ONE"], ["ONE","TWO"], ["ONE","THREE","TWO"]])");
  EXPECT_EQ(read(*t, "map_string_tstring.second", 3), R"([["ONE"], ["ONE","TWO"], ["ONE","THREE","TWO"]])");
  EXPECT_EQ(read(*t, "map_int32_vector_int16.first"), "[[1], [1,2], [1,2,3], [1,2,3,4], [1,2,3,4,5]]");
  EXPECT_EQ(read(*t, "map_int32_vector_int16.second", 3), "[[[1]], [[1],[1,2]], [[1],[1,2],[1,2,3]]]");
  EXPECT_EQ(read(*t, "map_int32_set_string.second", 3),
            R"([[["one"]], [["one"],["one","two"]], [["one"],["one","two"],["one","three","two"]]])");
  EXPECT_EQ(read(*t, "map_string_vector_int16.second", 3), "[[[1]], [[1],[1,2]], [[1],[1,2,3],[1,2]]]");
  EXPECT_EQ(read(*t, "map_string_set_string.first", 3), words3);
  EXPECT_EQ(read(*t, "map_int32_vector_vector_int16.second", 2), "[[[[1]]], [[[1]],[[1],[1,2]]]]");
  EXPECT_EQ(read(*t, "map_int32_vector_set_int16.second", 2), "[[[[1]]], [[[1]],[[1],[1,2]]]]");
  // Every map branch of the file is read now: nothing in it is unsupported.
  for (const BranchInfo* b : t->all_branches()) {
    const Interpretation in = interpret(*t, *b);
    EXPECT_NE(in.layout, Layout::kUnsupported) << b->path << ": " << in.reason;
  }
}

TEST(MapParts, PartsAreBranchesOfTheirTypeInAList) {
  M4H_REQUIRE_TESTDATA();
  auto t = stl();
  const Interpretation keys = interpret(*t, *t->find("map_string_int16.first"));
  EXPECT_EQ(keys.layout, Layout::kNested);
  EXPECT_EQ(keys.kind_name(), "jagged string");
  EXPECT_EQ(keys.cpp_type, "std::string[]");
  const Interpretation values = interpret(*t, *t->find("map_string_int16.second"));
  EXPECT_EQ(values.kind_name(), "jagged");
  EXPECT_EQ(values.dtype, DType::kInt16);
  const Interpretation vectors = interpret(*t, *t->find("map_string_vector_string.second"));
  EXPECT_EQ(vectors.kind_name(), "nested jagged");
  EXPECT_EQ(vectors.cpp_type, "std::vector<std::string>[]");
}

TEST(MapParts, ReadTogetherInPiecesOrWithoutEntryOffsetsAsAlone) {
  M4H_REQUIRE_TESTDATA();
  auto t = stl();
  std::vector<BranchRequest> both;
  for (const char* name : {"map_string_vector_int16.first", "map_string_vector_int16.second"})
    both.push_back({t->find(name), interpret(*t, *t->find(name))});
  const auto together = read_branches(*t, both, 0, t->entries(), nullptr);
  for (std::size_t i = 0; i < both.size(); ++i) {
    SCOPED_TRACE(both[i].branch->name);
    const Column whole = read_branch(*t, *both[i].branch, 0, t->entries());
    EXPECT_TRUE(together[i] == whole);
    Column pieces = read_branch(*t, *both[i].branch, 0, 2);
    pieces.append(read_branch(*t, *both[i].branch, 2, 3));
    pieces.append(read_branch(*t, *both[i].branch, 3, t->entries()));
    EXPECT_TRUE(pieces == whole);
    // Without entry offsets each map's byte count finds the next one.
    const BasketData with = load_basket(t->file(), *both[i].branch, 0);
    BasketData without = with;
    without.offsets.clear();
    Column a = read_branch(*t, *both[i].branch, 0, 0), c = read_branch(*t, *both[i].branch, 0, 0);
    decode_basket(both[i].interpretation, with, 1, with.entries, a, nullptr);
    decode_basket(both[i].interpretation, without, 1, with.entries, c, nullptr);
    EXPECT_TRUE(a == c);
  }
}

// Damaged maps are errors, never a misread or a read past the entry.
TEST(MapParts, DamagedMapsAreErrors) {
  M4H_REQUIRE_TESTDATA();
  auto t = stl();
  // Each branch, and where in entry 1 (two pairs) the byte count of a block it reads or skips
  // starts: the string keys' at 16, or the values' after two int keys at 24.
  for (auto [name, block] : {std::pair<const char*, int64_t>{"map_string_int16.first", 16},
                             {"map_string_int16.second", 16}, {"map_int32_vector_string.second", 24},
                             {"map_string_tstring.second", 16}}) {
    SCOPED_TRACE(name);
    const BranchInfo& b = *t->find(name);
    const Interpretation in = interpret(*t, b);
    const BasketData good = load_basket(t->file(), b, 0);
    const int64_t first = good.offsets[1];  // entry 1 starts here
    // Its byte count, its member-wise flag, its pair count, and a block's byte count.
    for (auto [at, value] : {std::pair<int64_t, uint8_t>{first + 2, 0x7f}, {first + 4, 0x00}, {first + 12, 0x7f},
                             {first + block, 0x00}}) {
      BasketData bad = good;
      bad.bytes[at] = value;
      Column out = read_branch(*t, b, 0, 0);
      try {
        decode_basket(in, bad, 0, bad.entries, out, nullptr);
        ADD_FAILURE() << "no error for byte " << at - first << " of entry 1";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
      }
    }
  }
}

}  // namespace
}  // namespace m4h::root
