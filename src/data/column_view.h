// A typed, non-owning view of one branch's values over a block of events, flat or jagged. Specs
// and feature assembly read through it, so a branch the pre-processing does not touch goes from
// the reader's column (float32, int32, ...) to features without a float64 copy in between.
#pragma once

#include <cstdint>
#include <string_view>

#include "data/table.h"
#include "root/column.h"

namespace m4h::data {

enum class ValueType : uint8_t { kF64, kF32, kI8, kU8, kI16, kU16, kI32, kU32, kI64, kU64 };

// "float64", "float32", "int8", ... (numpy's names); value_type_of returns false for others.
inline const char* value_type_name(ValueType t) {
  static constexpr const char* kNames[] = {"float64", "float32", "int8",   "uint8",  "int16",
                                           "uint16",  "int32",   "uint32", "int64",  "uint64"};
  return kNames[static_cast<int>(t)];
}
inline bool value_type_of(std::string_view name, ValueType& out) {
  for (int t = 0; t <= static_cast<int>(ValueType::kU64); ++t)
    if (name == value_type_name(static_cast<ValueType>(t))) {
      out = static_cast<ValueType>(t);
      return true;
    }
  return false;
}

struct ColumnView {
  ValueType type = ValueType::kF64;
  const void* values = nullptr;
  const int64_t* offsets = nullptr;  // entries + 1 offsets for jagged data, null for flat
  int64_t entries = 0;

  bool jagged() const { return offsets != nullptr; }
};

inline ColumnView view_of(const Array& a) {
  return ColumnView{ValueType::kF64, a.values.data(), a.jagged() ? a.offsets.data() : nullptr,
                    a.entries()};
}

// True when the reader's column can be viewed as it is: numbers (or bools), flat or one level of
// offsets, no fixed inner dimensions. Other columns go through to_array() first.
inline bool viewable(const root::Column& c) {
  return c.fields.empty() && c.dtype != root::DType::kChar && c.offsets.size() <= 1 &&
         c.shape.empty();
}

// Requires viewable(c).
inline ColumnView view_of(const root::Column& c) {
  using root::DType;
  ValueType t = ValueType::kF64;
  switch (c.dtype) {
    case DType::kBool:  // stored one byte per value, 0 or 1
    case DType::kUInt8: t = ValueType::kU8; break;
    case DType::kInt8: t = ValueType::kI8; break;
    case DType::kInt16: t = ValueType::kI16; break;
    case DType::kUInt16: t = ValueType::kU16; break;
    case DType::kInt32: t = ValueType::kI32; break;
    case DType::kUInt32: t = ValueType::kU32; break;
    case DType::kInt64: t = ValueType::kI64; break;
    case DType::kUInt64: t = ValueType::kU64; break;
    case DType::kFloat32: t = ValueType::kF32; break;
    case DType::kFloat64:
    case DType::kChar: t = ValueType::kF64; break;
  }
  return ColumnView{t, c.values.data(), c.offsets.empty() ? nullptr : c.offsets[0].data(),
                    c.entries};
}

// Calls fn(const T* values) with the view's values as their C++ type.
template <typename Fn>
decltype(auto) visit_values(const ColumnView& v, Fn&& fn) {
  switch (v.type) {
    case ValueType::kF32: return fn(static_cast<const float*>(v.values));
    case ValueType::kI8: return fn(static_cast<const int8_t*>(v.values));
    case ValueType::kU8: return fn(static_cast<const uint8_t*>(v.values));
    case ValueType::kI16: return fn(static_cast<const int16_t*>(v.values));
    case ValueType::kU16: return fn(static_cast<const uint16_t*>(v.values));
    case ValueType::kI32: return fn(static_cast<const int32_t*>(v.values));
    case ValueType::kU32: return fn(static_cast<const uint32_t*>(v.values));
    case ValueType::kI64: return fn(static_cast<const int64_t*>(v.values));
    case ValueType::kU64: return fn(static_cast<const uint64_t*>(v.values));
    case ValueType::kF64: break;
  }
  return fn(static_cast<const double*>(v.values));
}

}  // namespace m4h::data
