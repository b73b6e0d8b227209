#include "data/table.h"

#include <algorithm>
#include <cstring>
#include <utility>

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
  if (i < 0) throw Error(ErrorCode::kNotFound, "unknown branch '" + printable(name) + "'");
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
  // Runs of kept entries, found once; every array then moves whole runs down in place (a write
  // never passes the read position), so filtering allocates nothing per array.
  std::vector<std::pair<int64_t, int64_t>> runs;
  const int64_t n = static_cast<int64_t>(keep.size());
  int64_t kept = 0;
  for (int64_t i = 0; i < n;) {
    if (!keep[i]) {
      ++i;
      continue;
    }
    int64_t j = i + 1;
    while (j < n && keep[j]) ++j;
    runs.emplace_back(i, j);
    kept += j - i;
    i = j;
  }
  if (kept == n) return;
  for (Array& a : arrays_) {
    double* v = a.values.data();
    if (!a.jagged()) {
      int64_t w = 0;
      for (const auto& [lo, hi] : runs) {
        if (w != lo) std::memmove(v + w, v + lo, (hi - lo) * sizeof(double));
        w += hi - lo;
      }
      a.values.resize(w);
      continue;
    }
    int64_t* off = a.offsets.data();
    int64_t w = 0;   // next value slot
    int64_t we = 0;  // next entry slot; off[we] == w holds at each step
    for (const auto& [lo, hi] : runs) {
      const int64_t first = off[lo], last = off[hi];
      if (w != first) std::memmove(v + w, v + first, (last - first) * sizeof(double));
      // off[lo + k] - first + w, written at we + 1 + k: reads stay at or ahead of writes.
      for (int64_t k = 1; k <= hi - lo; ++k) off[we + k] = off[lo + k] - first + w;
      w += last - first;
      we += hi - lo;
    }
    a.values.resize(w);
    a.offsets.resize(we + 1);
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
