// Text renderings of column values: JSON (the `dump` contract: shortest round-trip floats, exact
// integers, NaN/inf as strings, nested arrays for jagged and fixed-size data) and CSV cells.
#pragma once

#include <cstdint>
#include <string>

#include "root/column.h"

namespace m4h::root {

// Appends the JSON text of entry `entry` of `col` to `out`.
void append_json_entry(std::string& out, const Column& col, int64_t entry);

// Appends a JSON string literal for `bytes` (UTF-8 kept; bytes that are not valid UTF-8 are read
// as Latin-1 and escaped).
void append_json_string(std::string& out, std::string_view bytes);

// Appends one CSV cell: scalars as they are, anything else as its JSON text, quoted.
void append_csv_cell(std::string& out, const Column& col, int64_t entry);

}  // namespace m4h::root
