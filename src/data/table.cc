#include "data/table.h"

#include <algorithm>

#include "core/error.h"
#include "root/column.h"

namespace m4h::data {

bool operator==(const Array& a, const Array& b) {
  return a.values == b.values && a.offsets == b.offsets;
}

int Table::index_of(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return static_cast<int>(i);
  return -1;
}

const Array& Table::at(std::string_view name) const {
  int i = index_of(name);
  if (i < 0) throw Error(ErrorCode::kNotFound, "unknown branch '" + std::string(name) + "'");
  return arrays_[i];
}

Array& Table::at(std::string_view name) {
  return const_cast<Array&>(static_cast<const Table&>(*this).at(name));
}

void Table::set(std::string name, Array array) {
  if (entries_ < 0) entries_ = array.entries();
  if (array.entries() != entries_)
    throw Error(ErrorCode::kInvalidArgument, "branch '" + name + "' has " +
                                                 std::to_string(array.entries()) +
                                                 " entries, the chunk has " +
                                                 std::to_string(entries_));
  int i = index_of(name);
  if (i >= 0) {
    arrays_[i] = std::move(array);
    return;
  }
  names_.push_back(std::move(name));
  arrays_.push_back(std::move(array));
}

void Table::remove(std::string_view name) {
  int i = index_of(name);
  if (i < 0) return;
  names_.erase(names_.begin() + i);
  arrays_.erase(arrays_.begin() + i);
}

void Table::filter(const std::vector<bool>& keep) {
  if (static_cast<int64_t>(keep.size()) != std::max<int64_t>(entries_, 0))
    throw Error(ErrorCode::kInternal, "filter mask size differs from the chunk's entries");
  int64_t kept = std::count(keep.begin(), keep.end(), true);
  for (Array& a : arrays_) {
    if (!a.jagged()) {
      size_t w = 0;
      for (size_t i = 0; i < keep.size(); ++i)
        if (keep[i]) a.values[w++] = a.values[i];
      a.values.resize(w);
      continue;
    }
    std::vector<double> values;
    std::vector<int64_t> offsets{0};
    offsets.reserve(kept + 1);
    for (size_t i = 0; i < keep.size(); ++i) {
      if (!keep[i]) continue;
      values.insert(values.end(), a.values.begin() + a.offsets[i],
                    a.values.begin() + a.offsets[i + 1]);
      offsets.push_back(static_cast<int64_t>(values.size()));
    }
    a.values = std::move(values);
    a.offsets = std::move(offsets);
  }
  entries_ = kept;
}

namespace {

template <typename T>
void convert(const root::Column& c, std::vector<double>& out) {
  const T* p = c.data<T>();
  int64_t n = c.value_count();
  out.resize(n);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<double>(p[i]);
}

}  // namespace

Array to_array(const root::Column& column, std::string_view name) {
  using root::DType;
  auto unsupported = [&](const char* what) {
    return Error(ErrorCode::kUnsupported,
                 "branch '" + std::string(name) + "': " + what + " cannot be a feature");
  };
  if (!column.fields.empty()) throw unsupported("a record (leaf list)");
  if (column.dtype == DType::kChar) throw unsupported("a string");
  if (column.offsets.size() > 1) throw unsupported("a nested list");

  Array out;
  switch (column.dtype) {
    case DType::kBool: convert<bool>(column, out.values); break;
    case DType::kInt8: convert<int8_t>(column, out.values); break;
    case DType::kUInt8: convert<uint8_t>(column, out.values); break;
    case DType::kInt16: convert<int16_t>(column, out.values); break;
    case DType::kUInt16: convert<uint16_t>(column, out.values); break;
    case DType::kInt32: convert<int32_t>(column, out.values); break;
    case DType::kUInt32: convert<uint32_t>(column, out.values); break;
    case DType::kInt64: convert<int64_t>(column, out.values); break;
    case DType::kUInt64: convert<uint64_t>(column, out.values); break;
    case DType::kFloat32: convert<float>(column, out.values); break;
    case DType::kFloat64: convert<double>(column, out.values); break;
    case DType::kChar: break;
  }
  const int64_t per = column.items_per_value();
  if (column.offsets.size() == 1) {
    out.offsets = column.offsets[0];
    if (per != 1)
      for (int64_t& o : out.offsets) o *= per;
  } else if (per != 1 || !column.shape.empty()) {
    out.offsets.resize(column.entries + 1);
    for (int64_t i = 0; i <= column.entries; ++i) out.offsets[i] = i * per;
  }
  return out;
}

}  // namespace m4h::data
