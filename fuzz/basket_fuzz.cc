// Fuzzes one stored basket (TKey + TBasket header + payload, compressed or not): parse_basket,
// then decode_basket under a handful of interpretations covering every layout the decoder knows.
// Only m4h::Error may escape; anything else (crash, sanitizer report, other exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.h"
#include "root/basket.h"
#include "root/branch_reader.h"
#include "root/interpretation.h"

namespace {

using m4h::root::DType;
using m4h::root::Interpretation;
using m4h::root::Layout;
using m4h::root::Packing;

// Baskets claiming more entries are skipped after parsing (decoding them only costs time).
constexpr int64_t kMaxEntries = 1 << 20;

Interpretation make(Layout layout, DType dtype, DType disk, std::vector<int> shape = {},
                    int header_bytes = 0, bool stl_header = false) {
  Interpretation in;
  in.layout = layout;
  in.dtype = dtype;
  in.disk = disk;
  in.shape = std::move(shape);
  in.header_bytes = header_bytes;
  in.stl_header = stl_header;
  return in;
}

std::vector<Interpretation> interpretations() {
  std::vector<Interpretation> v;
  v.push_back(make(Layout::kFlat, DType::kInt32, DType::kInt32));
  v.push_back(make(Layout::kFlat, DType::kFloat64, DType::kFloat64, {3}));
  v.push_back(make(Layout::kFlat, DType::kBool, DType::kBool, {2, 2}));
  v.push_back(make(Layout::kCounted, DType::kFloat32, DType::kFloat32));
  v.push_back(make(Layout::kCounted, DType::kInt16, DType::kInt16, {}, 1));
  v.push_back(make(Layout::kVector, DType::kFloat64, DType::kFloat64, {}, 0, true));
  v.push_back(make(Layout::kVector, DType::kUInt8, DType::kUInt8));
  v.push_back(make(Layout::kVectorVector, DType::kInt64, DType::kInt64, {}, 0, true));
  v.push_back(make(Layout::kString, DType::kChar, DType::kChar));
  v.push_back(make(Layout::kString, DType::kChar, DType::kChar, {}, 0, true));
  v.push_back(make(Layout::kVectorString, DType::kChar, DType::kChar, {}, 0, true));
  // Packed floats: Float16_t-like (nbits) and Double32_t with a range (factor).
  {
    auto in = make(Layout::kFlat, DType::kFloat32, DType::kFloat32);
    in.packing = Packing::kNbits;
    in.float_packing.nbits = 12;
    v.push_back(in);
  }
  {
    auto in = make(Layout::kVector, DType::kFloat64, DType::kFloat64, {}, 0, true);
    in.packing = Packing::kFactor;
    in.float_packing.xmin = -2.5;
    in.float_packing.xmax = 10;
    in.float_packing.factor = 4294967295.0 / 12.5;
    v.push_back(in);
  }
  {
    auto in = make(Layout::kFlat, DType::kFloat64, DType::kFloat64);
    in.packing = Packing::kFloatAsDouble;
    v.push_back(in);
  }
  // Members of objects stored whole: one TVector2-like object per entry (header, TObject, two
  // doubles); a vector of them, object-wise or member-wise; a split collection's run; bare
  // members; a vector of vectors of ElementLink-like objects written with checksums.
  auto object = [](int containers, bool stl_header, DType dtype, int64_t size, int64_t offset) {
    auto in = make(Layout::kObjectMember, dtype, dtype, {}, 0, stl_header);
    in.containers = containers;
    in.object_size = size;
    in.member_offset = offset;
    in.object_version = 3;
    in.object_class = "Fuzzed";
    return in;
  };
  v.push_back(object(0, false, DType::kFloat64, 32, 24));
  {
    auto in = object(1, true, DType::kInt32, 20, 12);
    in.memberwise_size = 8;
    in.memberwise_offset = 4;
    in.object_version = 1;
    in.foreign_size = 28;
    in.foreign_offset = 20;
    in.object_checksum = 0x3365bc9b;
    v.push_back(in);
    in.containers = 2;
    in.memberwise_size = 0;
    v.push_back(in);
  }
  v.push_back(object(1, false, DType::kFloat32, 18, 6));
  {
    auto in = object(0, false, DType::kUInt32, 8, 4);
    in.object_header = false;
    v.push_back(in);
  }
  // The keys and values of std::maps streamed member-wise: string keys (a block with a byte
  // count), int keys, TString keys; values of numbers, strings, vectors of numbers.
  auto map_part = [](int part, int key_bytes, bool block_header, DType dtype, int containers, bool strings) {
    auto in = make(Layout::kNested, dtype, dtype, {}, 0, true);
    in.containers = containers;
    in.strings = strings;
    in.map_part = part;
    in.map_key_bytes = key_bytes;
    in.map_block_header = block_header;
    in.object_class = "pair<Fuzzed>";
    return in;
  };
  v.push_back(map_part(0, 0, true, DType::kChar, 1, true));
  v.push_back(map_part(1, 0, false, DType::kInt16, 1, false));
  v.push_back(map_part(1, 4, true, DType::kInt16, 2, false));
  v.push_back(map_part(1, -1, false, DType::kChar, 1, true));
  v.push_back(map_part(1, 4, true, DType::kChar, 3, true));
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Interpretation> kInterpretations = interpretations();
  m4h::root::BasketData basket;
  try {
    basket = m4h::root::parse_basket(std::span<const uint8_t>(data, size), 0);
  } catch (const m4h::Error&) {
    return 0;
  }
  if (basket.entries > kMaxEntries) return 0;
  // Per-entry item counts for jagged layouts without entry offsets, derived from the input so
  // that they vary: in a real tree they come from the counter branch.
  std::vector<int64_t> counts(static_cast<std::size_t>(basket.entries));
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = size ? data[i % size] % 8 : 0;

  for (const auto& in : kInterpretations) {
    const int64_t n = basket.entries;
    // The whole basket, then a sub-range (what a read of [start, stop) does to edge baskets).
    const int64_t ranges[][2] = {{0, n}, {n / 3, n - n / 4}};
    for (const auto& r : ranges) {
      try {
        auto column = m4h::root::make_column(in);
        m4h::root::decode_basket(in, basket, r[0], r[1], column, &counts);
      } catch (const m4h::Error&) {
      }
    }
  }
  return 0;
}
