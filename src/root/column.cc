#include "root/column.h"

#include "core/error.h"

namespace m4h::root {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::kBool: return "bool";
    case DType::kInt8: return "int8";
    case DType::kUInt8: return "uint8";
    case DType::kInt16: return "int16";
    case DType::kUInt16: return "uint16";
    case DType::kInt32: return "int32";
    case DType::kUInt32: return "uint32";
    case DType::kInt64: return "int64";
    case DType::kUInt64: return "uint64";
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kChar: return "char";
  }
  return "?";
}

std::string_view dtype_cpp_name(DType t) {
  switch (t) {
    case DType::kBool: return "bool";
    case DType::kInt8: return "int8_t";
    case DType::kUInt8: return "uint8_t";
    case DType::kInt16: return "int16_t";
    case DType::kUInt16: return "uint16_t";
    case DType::kInt32: return "int32_t";
    case DType::kUInt32: return "uint32_t";
    case DType::kInt64: return "int64_t";
    case DType::kUInt64: return "uint64_t";
    case DType::kFloat32: return "float";
    case DType::kFloat64: return "double";
    case DType::kChar: return "char";
  }
  return "?";
}

int64_t Column::items_per_value() const {
  int64_t n = 1;
  for (int d : shape) n *= d;
  return n;
}

void Column::append(const Column& o) {
  if (o.fields.size() != fields.size())
    throw Error(ErrorCode::kInternal, "appending columns of different layouts");
  for (std::size_t f = 0; f < fields.size(); ++f) fields[f].append(o.fields[f]);
  if (o.dtype != dtype || o.offsets.size() != offsets.size() || o.shape != shape)
    throw Error(ErrorCode::kInternal, "appending columns of different layouts");
  for (std::size_t level = 0; level < offsets.size(); ++level) {
    auto& mine = offsets[level];
    const auto& theirs = o.offsets[level];
    if (mine.empty()) mine.push_back(0);
    const int64_t shift = mine.back() - (theirs.empty() ? 0 : theirs[0]);
    const std::size_t at = mine.size();
    if (theirs.size() > 1) mine.resize(at + theirs.size() - 1);
    for (std::size_t i = 1; i < theirs.size(); ++i) mine[at + i - 1] = theirs[i] + shift;
  }
  append_bytes(values, o.values.data(), o.values.size());
  entries += o.entries;
}

Column Column::slice(int64_t start, int64_t stop) const {
  Column out;
  out.dtype = dtype;
  out.shape = shape;
  out.entries = stop - start;
  out.field_names = field_names;
  for (const auto& f : fields) out.fields.push_back(f.slice(start, stop));
  int64_t lo = start, hi = stop;
  out.offsets.resize(offsets.size());
  for (std::size_t level = 0; level < offsets.size(); ++level) {
    const auto& off = offsets[level];
    auto& dst = out.offsets[level];
    dst.reserve(hi - lo + 1);
    for (int64_t i = lo; i <= hi; ++i) dst.push_back(off[i] - off[lo]);
    int64_t nlo = off[lo], nhi = off[hi];
    lo = nlo;
    hi = nhi;
  }
  if (!fields.empty()) return out;  // a record keeps its data in its fields
  int64_t item_bytes = items_per_value() * dtype_size(dtype);
  assign_bytes(out.values, values.data() + lo * item_bytes, static_cast<std::size_t>((hi - lo) * item_bytes));
  return out;
}

bool operator==(const Column& a, const Column& b) {
  return a.dtype == b.dtype && a.shape == b.shape && a.offsets == b.offsets &&
         a.values == b.values && a.entries == b.entries && a.field_names == b.field_names &&
         a.fields == b.fields;
}

}  // namespace m4h::root
