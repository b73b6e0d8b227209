// A column's values as a std::vector of their type, for comparing with expected lists in tests.
#pragma once

#include <cstdint>
#include <vector>

#include "root/column.h"

namespace m4h::test {

template <typename T>
std::vector<T> column_values(const root::Column& c) {
  std::vector<T> v;
  for (int64_t i = 0; i < c.value_count(); ++i) v.push_back(c.value<T>(i));
  return v;
}

}  // namespace m4h::test
