// Columnar results: a column is contiguous typed values plus, for jagged data, one offsets array
// per nesting level (the layout of Arrow lists / awkward arrays). No per-event objects.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace m4h::root {

enum class DType {
  kBool,
  kInt8,
  kUInt8,
  kInt16,
  kUInt16,
  kInt32,
  kUInt32,
  kInt64,
  kUInt64,
  kFloat32,
  kFloat64,
  kChar,  // bytes of strings: the innermost offsets level delimits each string
};

constexpr int dtype_size(DType t) {
  switch (t) {
    case DType::kBool:
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kChar: return 1;
    case DType::kInt16:
    case DType::kUInt16: return 2;
    case DType::kInt32:
    case DType::kUInt32:
    case DType::kFloat32: return 4;
    case DType::kInt64:
    case DType::kUInt64:
    case DType::kFloat64: return 8;
  }
  return 1;
}
std::string_view dtype_name(DType t);      // "float32", ...
std::string_view dtype_cpp_name(DType t);  // "float", "int32_t", ...

struct Column {
  DType dtype = DType::kFloat64;
  // Fixed dimensions of each innermost item (empty for scalars), e.g. {3} for x[3].
  std::vector<int> shape;
  // offsets[0] has entries+1 elements; offsets[k+1] indexes into the items of level k. Empty for
  // flat columns. Strings add a level whose items are kChar bytes.
  std::vector<std::vector<int64_t>> offsets;
  Bytes values;  // native-endian (not zero-filled on resize), item count * product(shape) * dtype_size
  int64_t entries = 0;
  // Records (leaf lists): one column per field, each with `entries` entries; values unused.
  std::vector<std::string> field_names;
  std::vector<Column> fields;

  int64_t items_per_value() const;  // product of shape (1 for scalars)
  int64_t value_count() const { return static_cast<int64_t>(values.size()) / dtype_size(dtype); }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(values.data());
  }
  template <typename T>
  T value(int64_t i) const {
    T v;
    std::memcpy(&v, values.data() + i * sizeof(T), sizeof(T));
    return v;
  }

  // Appends `other` (same type and nesting) after this column's entries.
  void append(const Column& other);
  // Entries [start, stop) of this column as a new column.
  Column slice(int64_t start, int64_t stop) const;
};

bool operator==(const Column& a, const Column& b);

}  // namespace m4h::root
