// Fuzzes the expression language: any text either fails to parse with m4h::Error or parses into
// a tree whose canonical text parses back to the same canonical text; evaluating it (and using
// it as a cut) over a small chunk of flat and jagged branches may only throw m4h::Error, and
// gives one value per entry (or lists with the chunk's entry count) with the shape that
// jagged_result() predicts. Anything else (crash, sanitizer report, other exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/expression.h"
#include "data/table.h"

namespace {

using m4h::data::Array;
using m4h::data::Expression;
using m4h::data::Table;

Table make_table() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Table t;
  t.set("a", Array::flat({1, -2.5, 0, 4, nan}));
  t.set("b", Array::flat({2, 3, -1, 0.5, inf}));
  t.set("j", Array::lists({1, 2, 3, 4, -5, 6, 0}, {0, 2, 2, 5, 6, 7}));
  t.set("k", Array::lists({10, 20, 30, nan, 50, 60, -inf}, {0, 2, 2, 5, 6, 7}));
  t.set("m", Array::lists({7, 8, 9}, {0, 1, 1, 2, 3, 3}));
  t.set("Jet.pt", Array::flat({5, 6, 7, 8, 9}));
  return t;
}

[[noreturn]] void bug() { std::abort(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // long inputs only cost time
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const Table table = make_table();

  Expression e;
  try {
    e = Expression::parse(text);
  } catch (const m4h::Error&) {
    return 0;
  }
  const std::string canonical = e.canonical();
  try {
    if (Expression::parse(canonical).canonical() != canonical) bug();
  } catch (const m4h::Error& err) {
    // The canonical text adds parentheses, which may pass the nesting limit.
    if (std::string(err.what()).find("nested too deeply") == std::string::npos) bug();
  }
  bool jagged = false;
  try {
    jagged = e.jagged_result(table);
  } catch (const m4h::Error&) {
    return 0;
  }
  try {
    const Array a = e.evaluate(table);
    if (a.entries() != table.entries() || a.jagged() != jagged) bug();
    if (a.jagged() && a.offsets.back() != static_cast<int64_t>(a.values.size())) bug();
  } catch (const m4h::Error&) {
  }
  for (auto pass : {Expression::Pass::kValue, Expression::Pass::kAll, Expression::Pass::kAny}) {
    std::vector<uint8_t> keep(static_cast<size_t>(table.entries()), 1);
    try {
      const int64_t cleared = e.select(table, pass, keep);
      int64_t zeros = 0;
      for (uint8_t k : keep) zeros += k == 0;
      if (cleared != zeros) bug();
    } catch (const m4h::Error&) {
    }
  }
  return 0;
}
