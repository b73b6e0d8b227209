// The data layer's view of one chunk of events: every branch as float64 values, flat or jagged
// (one list per event: offsets + values, the layout of Arrow lists). Pre-processing expressions,
// cuts, specs and feature assembly all work on this, column at a time; there are no per-event
// objects. Conversion from the reader's typed columns happens once per chunk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace m4h::root {
struct Column;
}

namespace m4h::data {

struct Array {
  // Flat: one value per entry. Jagged: values of every event's list back to back.
  std::vector<double> values;
  // Empty for flat arrays; otherwise entries + 1 offsets into `values`, offsets[0] == 0.
  std::vector<int64_t> offsets;

  bool jagged() const { return !offsets.empty(); }
  int64_t entries() const {
    return jagged() ? static_cast<int64_t>(offsets.size()) - 1 : static_cast<int64_t>(values.size());
  }
  // Length of event i's list (1 for flat arrays).
  int64_t length(int64_t i) const { return jagged() ? offsets[i + 1] - offsets[i] : 1; }

  static Array flat(std::vector<double> v) { return Array{std::move(v), {}}; }
  static Array lists(std::vector<double> v, std::vector<int64_t> off) {
    return Array{std::move(v), std::move(off)};
  }
};

bool operator==(const Array& a, const Array& b);

// Named arrays of one chunk, all with the same number of entries. Names keep insertion order.
class Table {
 public:
  Table() = default;
  explicit Table(int64_t entries) : entries_(entries) {}

  int64_t entries() const { return entries_; }
  const std::vector<std::string>& names() const { return names_; }
  bool has(std::string_view name) const { return index_of(name) >= 0; }
  // Throws m4h::Error (kNotFound) naming the branch when absent.
  const Array& at(std::string_view name) const;
  Array& at(std::string_view name);
  // Adds or replaces; throws kInvalidArgument if its entry count differs from the table's (the
  // first array added to an empty default-constructed table sets it).
  void set(std::string name, Array array);
  void remove(std::string_view name);
  // Keeps entries whose keep[i] is true, in order, in every array.
  void filter(const std::vector<bool>& keep);

 private:
  int index_of(std::string_view name) const;

  int64_t entries_ = -1;
  std::vector<std::string> names_;
  std::vector<Array> arrays_;
};

// Converts a reader column of numbers to an Array: scalars -> flat; one level of offsets (x[n],
// std::vector<T>) -> jagged; fixed arrays x[k] -> jagged with k items per event (x[k][m] -> k*m).
// Booleans become 0/1. Throws kUnsupported naming `name` for strings, nested lists and records.
Array to_array(const root::Column& column, std::string_view name);

}  // namespace m4h::data
