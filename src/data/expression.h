// The expression language of pre-processing (preproc.json "def" and "cut" strings): Python-like
// syntax as uproot's expressions use it, parsed once into a tree and evaluated column at a time
// over a chunk's Table: every node loops over whole arrays, never one event at a time through
// the tree. Temporaries come from a small per-thread pool of buffers (at most 8, each the size
// of the largest column seen), so steady-state evaluation allocates only its result.
//
// Grammar (lowest precedence first):
//   or      := and (("or" | "|") and)*
//   and     := not (("and" | "&") not)*
//   not     := ("not" | "~") not | compare
//   compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)*   chained as in Python:
//              1 <= x < 16 means (1 <= x) and (x < 16), x evaluated once
//   sum     := term (("+" | "-") term)*
//   term    := unary (("*" | "/" | "//" | "%") unary)*
//   unary   := ("-" | "+") unary | power
//   power   := postfix ("**" unary)?          right-associative; -x**2 is -(x**2)
//   postfix := primary ("[" ["-"] INTEGER "]")*
//   primary := NUMBER | NAME | NAME "(" args ")" | "(" or ")" | True | False | nan | inf
//              | get("any branch name")
// NAME: letters, digits, '_' and inner dots (AK4Puppi.pt). Functions may be written with a
// "np." or "numpy." prefix. '&', '|', '~' are logical (as on numpy booleans) but bind like
// and/or/not, so `x > 1 & y < 2` means what it reads as. '^' is refused (XOR in Python, not
// a power). Booleans are 0/1; a value is true when it is not 0 (NaN is true, as numpy has it).
//
// Values are per event (flat) or per element of each event's list (jagged). Element-wise
// operations broadcast numbers and flat values to every element of an event's list; two
// jagged operands must have lists of the same lengths (else kInvalidArgument naming both).
// Functions (numpy semantics, NaN/inf as IEEE gives them):
//   one argument: abs absolute fabs sqrt cbrt exp exp2 expm1 log log10 log2 log1p sin cos tan
//     arcsin asin arccos acos arctan atan sinh cosh tanh arcsinh asinh arccosh acosh arctanh
//     atanh ceil floor round rint (halves to even) trunc isnan isinf isfinite signbit neg
//     negative logical_not erf erfc lgamma tgamma gamma factorial
//   two arguments: arctan2 atan2 hypot copysign fmin fmax nextafter logical_and logical_or
//     power minimum maximum
//   min(a, b, ...), max(a, b, ...): element-wise (NaN propagates, numpy.minimum/maximum)
//   where(cond, a, b)
//   reductions over each event's list (argument must be jagged; result flat):
//     sum (empty: 0), mean (empty: NaN), min/max with one argument (empty: NaN; NaN inside
//     propagates), count and len (list length), count_nonzero, any (empty: 0), all (empty: 1)
//   x[i], at(x, i), at(x, i, default): element i of each event's list (i < 0 counts from the
//     end); the default (NaN unless given, a number) where the list is too short. i and the
//     default are numbers in the text.
// Limits: 200 levels of parentheses and prefix operators, trees 1000 nodes deep.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/table.h"

namespace m4h::data {

class Expression {
 public:
  // An empty expression: evaluate() throws kInvalidArgument.
  Expression() = default;

  // Parses `text`. Throws m4h::Error kInvalidArgument "at column N of 'text': what is wrong"
  // (N counts bytes from 1).
  static Expression parse(std::string_view text);

  const std::string& text() const { return text_; }
  // Branch names the expression reads, each once, in order of first appearance.
  const std::vector<std::string>& branches() const { return branches_; }
  // Fully parenthesised text that does not depend on spacing (for provenance hashes).
  std::string canonical() const;

  // Whether evaluate() on `table` gives a list per event. Checks names and shapes as evaluate()
  // does, without computing.
  bool jagged_result(const Table& table) const;

  // Computes the expression over every entry of `table`: flat (one value per entry) or jagged
  // (offsets of the lists it came from). Thread-safe (const). Throws m4h::Error: kNotFound for
  // an unknown branch (named, with its column); kInvalidArgument for shape errors (lists of
  // different lengths, a reduction or an index on a flat value).
  Array evaluate(const Table& table) const;

  // How an entry passes a cut: kValue, its value is not 0 (a jagged result is an error);
  // kAll / kAny, every / some element of its list is not 0 (ak.all / ak.any: an empty list
  // passes kAll and fails kAny; a flat value counts as a list of one).
  enum class Pass { kValue, kAll, kAny };

  // For cuts, without materialising the result: clears keep[i] (one byte per entry of `table`)
  // for the entries that fail, and returns how many it cleared (those already 0 not counted).
  // Throws as evaluate() does, and kInvalidArgument for a jagged result under kValue.
  int64_t select(const Table& table, Pass pass, std::vector<uint8_t>& keep) const;

  struct Node;

 private:
  std::shared_ptr<const Node> root_;  // immutable once parsed, so copies share it
  std::string text_;
  std::vector<std::string> branches_;
};

}  // namespace m4h::data
