// Nested baskets built byte by byte: vector<vector<int>> and vector<string> entries decoded whole
// and in pieces, and damaged lengths or entry offsets that must fail with m4h::Error (under ASan:
// without a write past the buffer the decoder sized from the entries' bytes).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <utility>
#include <string>
#include <vector>

#include "core/error.h"
#include "root/branch_reader.h"

namespace m4h::test {
namespace {

void put_i32(std::vector<uint8_t>& b, int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(u >> shift));
}

root::Interpretation vector_vector_int() {
  root::Interpretation in;
  in.layout = root::Layout::kVectorVector;
  in.dtype = in.disk = root::DType::kInt32;
  in.containers = 2;
  return in;
}

root::Interpretation vector_string() {
  root::Interpretation in;
  in.layout = root::Layout::kVectorString;
  in.dtype = in.disk = root::DType::kChar;
  in.containers = 1;
  in.strings = true;
  return in;
}

// Entries back to back, with their entry offsets.
root::BasketData basket(const std::vector<std::vector<uint8_t>>& entries) {
  root::BasketData d;
  d.offsets.push_back(0);
  for (const auto& e : entries) {
    d.bytes.insert(d.bytes.end(), e.begin(), e.end());
    d.offsets.push_back(static_cast<int32_t>(d.bytes.size()));
  }
  d.border = static_cast<int64_t>(d.bytes.size());
  d.entries = static_cast<int64_t>(entries.size());
  return d;
}

std::vector<uint8_t> vv_entry(const std::vector<std::vector<int32_t>>& v) {
  std::vector<uint8_t> b;
  put_i32(b, static_cast<int32_t>(v.size()));
  for (const auto& inner : v) {
    put_i32(b, static_cast<int32_t>(inner.size()));
    for (int32_t x : inner) put_i32(b, x);
  }
  return b;
}

std::vector<uint8_t> strings_entry(const std::vector<std::string>& v) {
  std::vector<uint8_t> b;
  put_i32(b, static_cast<int32_t>(v.size()));
  for (const auto& s : v) {
    b.push_back(static_cast<uint8_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
  }
  return b;
}

// One entry holding all the items, then one entry per item (the last ends the basket), decoded
// whole.
template <typename Item, typename MakeEntry>
root::Column decode_together_then_apart(const root::Interpretation& in, const std::vector<Item>& items,
                                        MakeEntry make_entry) {
  std::vector<std::vector<uint8_t>> entries = {make_entry(items)};
  for (const auto& x : items) entries.push_back(make_entry(std::vector<Item>{x}));
  const auto d = basket(entries);
  root::Column c = root::make_column(in);
  root::decode_basket(in, d, 0, d.entries, c, nullptr);
  return c;
}

std::vector<int32_t> ints(const root::Column& c) {
  return std::vector<int32_t>(c.data<int32_t>(), c.data<int32_t>() + c.value_count());
}

TEST(NestedDecode, VectorOfVectorsWholeAndInPieces) {
  const auto in = vector_vector_int();
  // 20 values make one inner vector long enough for the bulk byte swap.
  std::vector<int32_t> long_run;
  for (int32_t i = 0; i < 20; ++i) long_run.push_back(100 + i);
  const auto d = basket({vv_entry({{1, 2}, {3}}), vv_entry({}), vv_entry({{}, {4, 5, 6}}), vv_entry({long_run})});

  root::Column whole = root::make_column(in);
  root::decode_basket(in, d, 0, 4, whole, nullptr);
  ASSERT_EQ(whole.offsets.size(), 2u);
  EXPECT_EQ(whole.offsets[0], (std::vector<int64_t>{0, 2, 2, 4, 5}));
  EXPECT_EQ(whole.offsets[1], (std::vector<int64_t>{0, 2, 3, 3, 6, 26}));
  std::vector<int32_t> want = {1, 2, 3, 4, 5, 6};
  want.insert(want.end(), long_run.begin(), long_run.end());
  EXPECT_EQ(ints(whole), want);

  for (int64_t cut = 0; cut <= 4; ++cut) {
    root::Column pieces = root::make_column(in);
    root::decode_basket(in, d, 0, cut, pieces, nullptr);
    root::decode_basket(in, d, cut, 4, pieces, nullptr);
    EXPECT_EQ(pieces.offsets, whole.offsets) << "cut at " << cut;
    EXPECT_EQ(ints(pieces), want) << "cut at " << cut;
  }
}

TEST(NestedDecode, VectorOfStringsWholeAndInPieces) {
  const auto in = vector_string();
  const auto d = basket({strings_entry({"mu", "", "electron"}), strings_entry({}), strings_entry({"jet"})});
  root::Column whole = root::make_column(in);
  root::decode_basket(in, d, 0, 3, whole, nullptr);
  ASSERT_EQ(whole.offsets.size(), 2u);
  EXPECT_EQ(whole.offsets[0], (std::vector<int64_t>{0, 3, 3, 4}));
  EXPECT_EQ(whole.offsets[1], (std::vector<int64_t>{0, 2, 2, 10, 13}));
  EXPECT_EQ(std::string(whole.values.begin(), whole.values.end()), "muelectronjet");

  root::Column tail = root::make_column(in);
  root::decode_basket(in, d, 2, 3, tail, nullptr);
  EXPECT_EQ(tail.offsets[1], (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(std::string(tail.values.begin(), tail.values.end()), "jet");
}

// Strings of up to 16 bytes are copied as one 16-byte block; within 16 bytes of the basket's
// end inline by length class (0, 1-3, 4-7, 8-16, longer). Every
// length from 0 to 40 and one past the 1-byte length prefix, each with its own bytes, in one
// entry and one string per entry.
TEST(NestedDecode, StringsOfEveryShortLengthKeepTheirBytes) {
  const auto in = vector_string();
  std::vector<std::string> strings;
  for (int n = 0; n <= 40; ++n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>('a' + (7 * n + 3 * i) % 26);
    strings.push_back(s);
  }
  std::string all;
  for (const auto& s : strings) all += s;
  const root::Column c = decode_together_then_apart(in, strings, strings_entry);
  ASSERT_EQ(c.offsets.size(), 2u);
  ASSERT_EQ(c.offsets[1].size(), 2 * strings.size() + 1);
  EXPECT_EQ(std::string(c.values.begin(), c.values.end()), all + all);
  for (std::size_t i = 0; i < strings.size(); ++i) {
    EXPECT_EQ(c.offsets[1][i + 1] - c.offsets[1][i], static_cast<int64_t>(strings[i].size()));
    EXPECT_EQ(c.offsets[1][strings.size() + i + 1] - c.offsets[1][strings.size() + i],
              static_cast<int64_t>(strings[i].size()));
  }

  // A string of 300 bytes: its length takes the 255 marker and 4 more bytes.
  std::vector<uint8_t> long_entry;
  put_i32(long_entry, 2);
  const std::string long_string(300, 'L');
  long_entry.push_back(255);
  put_i32(long_entry, 300);
  long_entry.insert(long_entry.end(), long_string.begin(), long_string.end());
  long_entry.push_back(3);
  long_entry.insert(long_entry.end(), {'e', 'n', 'd'});
  root::Column l = root::make_column(in);
  root::decode_basket(in, basket({long_entry}), 0, 1, l, nullptr);
  EXPECT_EQ(std::string(l.values.begin(), l.values.end()), long_string + "end");
  EXPECT_EQ(l.offsets[1], (std::vector<int64_t>{0, 300, 303}));
}

// Vectors of up to 16 bytes are byte-swapped as one whole 16-byte block, past their own values;
// longer ones, and those within 16 bytes of the basket's end, value by value. For each value
// size, inner vectors of every length 0-20 in one entry and one per entry (the last ones end
// the basket), and the same as std::vector<T> entries, keep their values and lengths.
TEST(NestedDecode, InnerVectorsOfEveryShortLengthKeepTheirValues) {
  for (const auto& [dtype, width] : {std::pair{root::DType::kUInt8, 1}, std::pair{root::DType::kInt16, 2},
                                    std::pair{root::DType::kUInt32, 4}, std::pair{root::DType::kInt64, 8}}) {
    root::Interpretation in = vector_vector_int();
    in.dtype = in.disk = dtype;
    std::vector<std::vector<uint64_t>> inner;  // values with every byte distinct per position
    for (int n = 0; n <= 20; ++n) {
      std::vector<uint64_t> v;
      for (int i = 0; i < n; ++i) v.push_back(0x0102030405060708ull * static_cast<uint64_t>(n + 1) + 0x1111u * i);
      inner.push_back(v);
    }
    auto entry = [&](const std::vector<std::vector<uint64_t>>& vs) {
      std::vector<uint8_t> b;
      put_i32(b, static_cast<int32_t>(vs.size()));
      for (const auto& v : vs) {
        put_i32(b, static_cast<int32_t>(v.size()));
        for (uint64_t x : v)
          for (int shift = 8 * (width - 1); shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(x >> shift));
      }
      return b;
    };
    const root::Column c = decode_together_then_apart(in, inner, entry);
    ASSERT_EQ(c.offsets.size(), 2u);
    ASSERT_EQ(c.offsets[1].size(), 2 * inner.size() + 1) << "width " << width;
    const uint8_t* p = c.values.data();
    std::size_t at = 0;
    for (int pass = 0; pass < 2; ++pass)
      for (std::size_t k = 0; k < inner.size(); ++k) {
        const std::size_t row = pass * inner.size() + k;
        ASSERT_EQ(c.offsets[1][row + 1] - c.offsets[1][row], static_cast<int64_t>(inner[k].size()));
        for (uint64_t x : inner[k]) {
          uint64_t got = 0;
          std::memcpy(&got, p + at * width, width);  // little-endian host
          const uint64_t want = width == 8 ? x : x & ((uint64_t{1} << (8 * width)) - 1);
          ASSERT_EQ(got, want) << "width " << width << ", inner vector of " << inner[k].size();
          ++at;
        }
      }
    EXPECT_EQ(c.value_count(), static_cast<int64_t>(at));

    // The same vectors as std::vector<T> entries, one per entry: short ones take the same block.
    root::Interpretation single = in;
    single.layout = root::Layout::kVector;
    single.containers = 1;
    std::vector<std::vector<uint8_t>> vectors;
    for (const auto& v : inner) {
      const std::vector<uint8_t> e = entry({v});
      vectors.emplace_back(e.begin() + 4, e.end());  // without the outer count
    }
    const auto dv = basket(vectors);
    root::Column cv = root::make_column(single);
    root::decode_basket(single, dv, 0, dv.entries, cv, nullptr);
    ASSERT_EQ(cv.offsets.size(), 1u);
    at = 0;
    for (std::size_t k = 0; k < inner.size(); ++k) {
      ASSERT_EQ(cv.offsets[0][k + 1] - cv.offsets[0][k], static_cast<int64_t>(inner[k].size()));
      for (uint64_t x : inner[k]) {
        uint64_t got = 0;
        std::memcpy(&got, cv.values.data() + at * width, width);
        const uint64_t want = width == 8 ? x : x & ((uint64_t{1} << (8 * width)) - 1);
        ASSERT_EQ(got, want) << "width " << width << ", vector of " << inner[k].size();
        ++at;
      }
    }
    EXPECT_EQ(cv.value_count(), static_cast<int64_t>(at));
  }
}

TEST(NestedDecode, AStringLongerThanItsEntryIsAnError) {
  const auto in = vector_string();
  auto first = strings_entry({"ab"});
  first.back() = 'b';
  first[4] = 40;  // the length byte: 40 bytes, inside the basket but past the entry
  const auto d = basket({first, strings_entry({std::string(60, 'x')})});
  root::Column out = root::make_column(in);
  EXPECT_THROW(root::decode_basket(in, d, 0, 1, out, nullptr), Error);
}

TEST(NestedDecode, AnInnerVectorLongerThanItsEntryIsAnError) {
  const auto in = vector_vector_int();
  auto first = vv_entry({{1}});
  first[7] = 9;  // the inner count: 9 values, inside the basket but past the entry
  const auto d = basket({first, vv_entry({{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}})});
  root::Column out = root::make_column(in);
  EXPECT_THROW(root::decode_basket(in, d, 0, 1, out, nullptr), Error);
}

TEST(NestedDecode, EntryOffsetsThatGoBackAreAnError) {
  const auto in = vector_string();
  auto d = basket({strings_entry({"a"}), strings_entry({std::string(30, 'y')}), strings_entry({"b"})});
  d.offsets[2] = 2;  // entry 1 would end before it starts, entry 2 would start inside entry 0
  root::Column out = root::make_column(in);
  EXPECT_THROW(root::decode_basket(in, d, 0, 3, out, nullptr), Error);
  root::Column last = root::make_column(in);
  EXPECT_THROW(root::decode_basket(in, d, 2, 3, last, nullptr), Error);
}

}  // namespace
}  // namespace m4h::test
