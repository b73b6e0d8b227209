#include "data/expression.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

#include "core/error.h"

namespace m4h::data {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Bound the parser's recursion (parentheses, prefix operators) and the tree's depth, which the
// evaluator recurses over, so that no input can exhaust the stack.
constexpr int kMaxNesting = 200;
constexpr int kMaxDepth = 1000;

enum class Kind : uint8_t { kNumber, kBranch, kUnary, kBinary, kCompare, kWhere, kReduce, kIndex };

// clang-format off
enum class Un : uint8_t {
  kNeg, kNot, kAbs, kSqrt, kCbrt, kExp, kExp2, kExpm1, kLog, kLog10, kLog2, kLog1p, kSin, kCos,
  kTan, kAsin, kAcos, kAtan, kSinh, kCosh, kTanh, kAsinh, kAcosh, kAtanh, kCeil, kFloor, kRound,
  kTrunc, kIsnan, kIsinf, kIsfinite, kSignbit, kErf, kErfc, kLgamma, kTgamma, kFactorial
};
// clang-format on

// clang-format off
enum class Bin : uint8_t {
  kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow, kAnd, kOr, kLt, kLe, kGt, kGe, kEq, kNe, kAtan2,
  kHypot, kCopysign, kFmin, kFmax, kMinimum, kMaximum, kNextafter
};
// clang-format on

enum class Red : uint8_t { kSum, kMean, kMin, kMax, kCount, kCountNonzero, kAny, kAll };

enum class Shape : uint8_t { kScalar, kFlat, kJagged };

}  // namespace

struct Expression::Node {
  Kind kind = Kind::kNumber;
  int column = 1;    // 1-based byte column of the node's first token
  std::string text;  // the node's source text, for error messages
  int depth = 1;
  double number = 0;  // kNumber; kIndex: the default
  int64_t index = 0;  // kIndex
  std::string name;   // kBranch; the function name as written for calls
  Un un = Un::kNeg;
  Bin bin = Bin::kAdd;
  Red red = Red::kSum;
  std::vector<Bin> cmps;  // kCompare: cmps[i] compares args[i] with args[i + 1]
  std::vector<std::unique_ptr<Node>> args;
};

namespace {

using Node = Expression::Node;

Error syntax_error(std::string_view text, int column, const std::string& what) {
  return Error(ErrorCode::kInvalidArgument,
               "at column " + std::to_string(column) + " of '" + printable(text) + "': " + what);
}

std::string where_of(const Node& n) { return "at column " + std::to_string(n.column); }

// ---------------------------------------------------------------------------------------------
// Functions by name.

struct FnInfo {
  const char* name;
  enum { kUnary, kBinary, kMinMax, kWhere, kReduce, kAt, kGet } kind;
  uint8_t op;
};

constexpr FnInfo kFunctions[] = {
    {"abs", FnInfo::kUnary, uint8_t(Un::kAbs)},
    {"absolute", FnInfo::kUnary, uint8_t(Un::kAbs)},
    {"fabs", FnInfo::kUnary, uint8_t(Un::kAbs)},
    {"sqrt", FnInfo::kUnary, uint8_t(Un::kSqrt)},
    {"cbrt", FnInfo::kUnary, uint8_t(Un::kCbrt)},
    {"exp", FnInfo::kUnary, uint8_t(Un::kExp)},
    {"exp2", FnInfo::kUnary, uint8_t(Un::kExp2)},
    {"expm1", FnInfo::kUnary, uint8_t(Un::kExpm1)},
    {"log", FnInfo::kUnary, uint8_t(Un::kLog)},
    {"log10", FnInfo::kUnary, uint8_t(Un::kLog10)},
    {"log2", FnInfo::kUnary, uint8_t(Un::kLog2)},
    {"log1p", FnInfo::kUnary, uint8_t(Un::kLog1p)},
    {"sin", FnInfo::kUnary, uint8_t(Un::kSin)},
    {"cos", FnInfo::kUnary, uint8_t(Un::kCos)},
    {"tan", FnInfo::kUnary, uint8_t(Un::kTan)},
    {"arcsin", FnInfo::kUnary, uint8_t(Un::kAsin)},
    {"asin", FnInfo::kUnary, uint8_t(Un::kAsin)},
    {"arccos", FnInfo::kUnary, uint8_t(Un::kAcos)},
    {"acos", FnInfo::kUnary, uint8_t(Un::kAcos)},
    {"arctan", FnInfo::kUnary, uint8_t(Un::kAtan)},
    {"atan", FnInfo::kUnary, uint8_t(Un::kAtan)},
    {"sinh", FnInfo::kUnary, uint8_t(Un::kSinh)},
    {"cosh", FnInfo::kUnary, uint8_t(Un::kCosh)},
    {"tanh", FnInfo::kUnary, uint8_t(Un::kTanh)},
    {"arcsinh", FnInfo::kUnary, uint8_t(Un::kAsinh)},
    {"asinh", FnInfo::kUnary, uint8_t(Un::kAsinh)},
    {"arccosh", FnInfo::kUnary, uint8_t(Un::kAcosh)},
    {"acosh", FnInfo::kUnary, uint8_t(Un::kAcosh)},
    {"arctanh", FnInfo::kUnary, uint8_t(Un::kAtanh)},
    {"atanh", FnInfo::kUnary, uint8_t(Un::kAtanh)},
    {"ceil", FnInfo::kUnary, uint8_t(Un::kCeil)},
    {"floor", FnInfo::kUnary, uint8_t(Un::kFloor)},
    {"round", FnInfo::kUnary, uint8_t(Un::kRound)},
    {"rint", FnInfo::kUnary, uint8_t(Un::kRound)},
    {"trunc", FnInfo::kUnary, uint8_t(Un::kTrunc)},
    {"isnan", FnInfo::kUnary, uint8_t(Un::kIsnan)},
    {"isinf", FnInfo::kUnary, uint8_t(Un::kIsinf)},
    {"isfinite", FnInfo::kUnary, uint8_t(Un::kIsfinite)},
    {"signbit", FnInfo::kUnary, uint8_t(Un::kSignbit)},
    {"neg", FnInfo::kUnary, uint8_t(Un::kNeg)},
    {"negative", FnInfo::kUnary, uint8_t(Un::kNeg)},
    {"logical_not", FnInfo::kUnary, uint8_t(Un::kNot)},
    {"erf", FnInfo::kUnary, uint8_t(Un::kErf)},
    {"erfc", FnInfo::kUnary, uint8_t(Un::kErfc)},
    {"lgamma", FnInfo::kUnary, uint8_t(Un::kLgamma)},
    {"tgamma", FnInfo::kUnary, uint8_t(Un::kTgamma)},
    {"gamma", FnInfo::kUnary, uint8_t(Un::kTgamma)},
    {"factorial", FnInfo::kUnary, uint8_t(Un::kFactorial)},
    {"arctan2", FnInfo::kBinary, uint8_t(Bin::kAtan2)},
    {"atan2", FnInfo::kBinary, uint8_t(Bin::kAtan2)},
    {"hypot", FnInfo::kBinary, uint8_t(Bin::kHypot)},
    {"copysign", FnInfo::kBinary, uint8_t(Bin::kCopysign)},
    {"fmin", FnInfo::kBinary, uint8_t(Bin::kFmin)},
    {"fmax", FnInfo::kBinary, uint8_t(Bin::kFmax)},
    {"nextafter", FnInfo::kBinary, uint8_t(Bin::kNextafter)},
    {"logical_and", FnInfo::kBinary, uint8_t(Bin::kAnd)},
    {"logical_or", FnInfo::kBinary, uint8_t(Bin::kOr)},
    {"power", FnInfo::kBinary, uint8_t(Bin::kPow)},
    {"minimum", FnInfo::kBinary, uint8_t(Bin::kMinimum)},
    {"maximum", FnInfo::kBinary, uint8_t(Bin::kMaximum)},
    {"min", FnInfo::kMinMax, uint8_t(Bin::kMinimum)},
    {"max", FnInfo::kMinMax, uint8_t(Bin::kMaximum)},
    {"where", FnInfo::kWhere, 0},
    {"sum", FnInfo::kReduce, uint8_t(Red::kSum)},
    {"mean", FnInfo::kReduce, uint8_t(Red::kMean)},
    {"count", FnInfo::kReduce, uint8_t(Red::kCount)},
    {"len", FnInfo::kReduce, uint8_t(Red::kCount)},
    {"count_nonzero", FnInfo::kReduce, uint8_t(Red::kCountNonzero)},
    {"any", FnInfo::kReduce, uint8_t(Red::kAny)},
    {"all", FnInfo::kReduce, uint8_t(Red::kAll)},
    {"at", FnInfo::kAt, 0},
    {"get", FnInfo::kGet, 0},
};

const FnInfo* find_function(std::string_view name) {
  for (std::string_view prefix : {"np.", "numpy."})
    if (name.substr(0, prefix.size()) == prefix) {
      name.remove_prefix(prefix.size());
      break;
    }
  for (const FnInfo& f : kFunctions)
    if (name == f.name) return &f;
  return nullptr;
}

const char* unary_name(Un u) {
  for (const FnInfo& f : kFunctions)
    if (f.kind == FnInfo::kUnary && f.op == uint8_t(u)) return f.name;
  return "?";
}

const char* binary_symbol(Bin b) {
  switch (b) {
    case Bin::kAdd:
      return "+";
    case Bin::kSub:
      return "-";
    case Bin::kMul:
      return "*";
    case Bin::kDiv:
      return "/";
    case Bin::kFloorDiv:
      return "//";
    case Bin::kMod:
      return "%";
    case Bin::kPow:
      return "**";
    case Bin::kAnd:
      return "and";
    case Bin::kOr:
      return "or";
    case Bin::kLt:
      return "<";
    case Bin::kLe:
      return "<=";
    case Bin::kGt:
      return ">";
    case Bin::kGe:
      return ">=";
    case Bin::kEq:
      return "==";
    case Bin::kNe:
      return "!=";
    case Bin::kAtan2:
      return "arctan2";
    case Bin::kHypot:
      return "hypot";
    case Bin::kCopysign:
      return "copysign";
    case Bin::kFmin:
      return "fmin";
    case Bin::kFmax:
      return "fmax";
    case Bin::kMinimum:
      return "min";
    case Bin::kMaximum:
      return "max";
    case Bin::kNextafter:
      return "nextafter";
  }
  return "?";
}

bool is_infix(Bin b) { return b <= Bin::kNe; }

const char* reduce_name(Red r) {
  switch (r) {
    case Red::kSum:
      return "sum";
    case Red::kMean:
      return "mean";
    case Red::kMin:
      return "min";
    case Red::kMax:
      return "max";
    case Red::kCount:
      return "count";
    case Red::kCountNonzero:
      return "count_nonzero";
    case Red::kAny:
      return "any";
    case Red::kAll:
      return "all";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Lexer.

struct Token {
  enum Type { kEnd, kNumber, kName, kString, kOp } type = kEnd;
  std::string_view text;  // the op, name or string contents
  int column = 1;
  int end_column = 1;  // one past the token
  double number = 0;
};

bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::vector<Token> lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto col = [](size_t at) { return static_cast<int>(at) + 1; };
  while (true) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    Token t;
    t.column = col(i);
    if (i == s.size()) {
      t.end_column = t.column;
      out.push_back(t);
      return out;
    }
    const size_t start = i;
    const char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
          i = j;
          while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        } else {
          throw syntax_error(s, col(i), "an exponent needs digits after 'e'");
        }
      }
      if (i < s.size() && (name_char(s[i]) || s[i] == '.'))
        throw syntax_error(s, col(i), "unexpected '" + std::string(1, s[i]) + "' after a number");
      t.type = Token::kNumber;
      t.text = s.substr(start, i - start);
      // strtod needs a terminated buffer; numbers are short.
      std::string digits(t.text);
      t.number = std::strtod(digits.c_str(), nullptr);
    } else if (name_start(c)) {
      while (i < s.size() &&
             (name_char(s[i]) || (s[i] == '.' && i + 1 < s.size() && name_start(s[i + 1]))))
        ++i;
      t.type = Token::kName;
      t.text = s.substr(start, i - start);
    } else if (c == '"' || c == '\'') {
      size_t j = s.find(c, i + 1);
      if (j == std::string_view::npos) throw syntax_error(s, col(i), "unterminated string");
      // A quoted branch name never holds control bytes; refusing them keeps every later message
      // that names the branch readable.
      for (size_t k = i + 1; k < j; ++k)
        if (const auto b = static_cast<unsigned char>(s[k]); b < 0x20 || b == 0x7f)
          throw syntax_error(s, col(k), "a quoted name cannot hold byte " + std::to_string(b));
      t.type = Token::kString;
      t.text = s.substr(i + 1, j - i - 1);
      i = j + 1;
    } else {
      static constexpr std::string_view kTwo[] = {"**", "//", "<=", ">=", "==", "!="};
      static constexpr std::string_view kOne = "+-*/%<>&|~()[],";
      t.type = Token::kOp;
      for (std::string_view op : kTwo)
        if (s.substr(i, 2) == op) t.text = s.substr(i, 2);
      if (t.text.empty()) {
        if (kOne.find(c) == std::string_view::npos) {
          if (c == '^') throw syntax_error(s, col(i), "'^' is not a power: use '**'");
          if (c == '!') throw syntax_error(s, col(i), "'!' is not an operator: use 'not' or '~'");
          if (c == '=') throw syntax_error(s, col(i), "'=' does not compare: use '=='");
          throw syntax_error(s, col(i),
                             std::isprint(static_cast<unsigned char>(c))
                                 ? "unexpected character '" + std::string(1, c) + "'"
                                 : "unexpected byte " + std::to_string(uint8_t(c)));
        }
        t.text = s.substr(i, 1);
      }
      i += t.text.size();
    }
    t.end_column = col(i);
    out.push_back(t);
  }
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent over the token list, one function per precedence level.

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), tokens_(lex(text)) {}

  std::unique_ptr<Node> parse() {
    auto n = parse_or();
    if (peek().type != Token::kEnd) throw error(peek(), "unexpected " + describe(peek()));
    return n;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& next() {
    const Token& t = tokens_[pos_];
    if (t.type != Token::kEnd) ++pos_;
    last_end_ = t.end_column;
    return t;
  }
  bool is_op(std::string_view op) const { return peek().type == Token::kOp && peek().text == op; }
  bool is_name(std::string_view name) const {
    return peek().type == Token::kName && peek().text == name;
  }
  Error error(const Token& t, const std::string& what) const {
    return syntax_error(text_, t.column, what);
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case Token::kEnd:
        return "end of the expression";
      case Token::kString:
        return "string '" + std::string(t.text) + "'";
      default:
        return "'" + std::string(t.text) + "'";
    }
  }
  void expect(std::string_view op, const std::string& what) {
    if (!is_op(op))
      throw error(peek(),
                  "expected '" + std::string(op) + "' " + what + ", found " + describe(peek()));
    next();
  }

  // A node spanning from `column` to the end of the last token consumed.
  std::unique_ptr<Node> make(Kind kind, int column, std::vector<std::unique_ptr<Node>> args = {}) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->column = column;
    const size_t from = std::min<size_t>(column - 1, text_.size());
    const size_t to = std::min<size_t>(std::max(last_end_, column) - 1, text_.size());
    n->text = std::string(text_.substr(from, to - from));
    for (const auto& a : args) n->depth = std::max(n->depth, a->depth + 1);
    if (n->depth > kMaxDepth)
      throw syntax_error(text_, column, "the expression is nested too deeply");
    n->args = std::move(args);
    return n;
  }
  std::unique_ptr<Node> binary(Bin op, int column, std::unique_ptr<Node> a,
                               std::unique_ptr<Node> b) {
    std::vector<std::unique_ptr<Node>> args;
    args.push_back(std::move(a));
    args.push_back(std::move(b));
    auto n = make(Kind::kBinary, column, std::move(args));
    n->bin = op;
    return n;
  }

  struct Nest {
    explicit Nest(Parser& p) : p_(p) {
      if (++p_.nesting_ > kMaxNesting)
        throw p_.error(p_.peek(), "the expression is nested too deeply");
    }
    ~Nest() { --p_.nesting_; }
    Parser& p_;
  };

  std::unique_ptr<Node> parse_or() {
    const int column = peek().column;
    auto n = parse_and();
    while (is_name("or") || is_op("|")) {
      next();
      n = binary(Bin::kOr, column, std::move(n), parse_and());
    }
    return n;
  }

  std::unique_ptr<Node> parse_and() {
    const int column = peek().column;
    auto n = parse_not();
    while (is_name("and") || is_op("&")) {
      next();
      n = binary(Bin::kAnd, column, std::move(n), parse_not());
    }
    return n;
  }

  std::unique_ptr<Node> parse_not() {
    if (is_name("not") || is_op("~")) {
      Nest nest(*this);
      const int column = next().column;
      std::vector<std::unique_ptr<Node>> args;
      args.push_back(parse_not());
      auto n = make(Kind::kUnary, column, std::move(args));
      n->un = Un::kNot;
      return n;
    }
    return parse_compare();
  }

  static bool compare_op(const Token& t, Bin& op) {
    if (t.type != Token::kOp) return false;
    static constexpr std::pair<std::string_view, Bin> kOps[] = {{"<", Bin::kLt},  {"<=", Bin::kLe},
                                                                {">", Bin::kGt},  {">=", Bin::kGe},
                                                                {"==", Bin::kEq}, {"!=", Bin::kNe}};
    for (const auto& [s, b] : kOps)
      if (t.text == s) {
        op = b;
        return true;
      }
    return false;
  }

  std::unique_ptr<Node> parse_compare() {
    const int column = peek().column;
    auto first = parse_sum();
    Bin op;
    if (!compare_op(peek(), op)) return first;
    std::vector<std::unique_ptr<Node>> args;
    std::vector<Bin> cmps;
    args.push_back(std::move(first));
    while (compare_op(peek(), op)) {
      next();
      cmps.push_back(op);
      args.push_back(parse_sum());
    }
    auto n = make(Kind::kCompare, column, std::move(args));
    n->cmps = std::move(cmps);
    return n;
  }

  std::unique_ptr<Node> parse_sum() {
    const int column = peek().column;
    auto n = parse_term();
    while (is_op("+") || is_op("-")) {
      Bin op = next().text == "+" ? Bin::kAdd : Bin::kSub;
      n = binary(op, column, std::move(n), parse_term());
    }
    return n;
  }

  std::unique_ptr<Node> parse_term() {
    const int column = peek().column;
    auto n = parse_unary();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string_view t = next().text;
      Bin op = t == "*" ? Bin::kMul : t == "/" ? Bin::kDiv : t == "//" ? Bin::kFloorDiv : Bin::kMod;
      n = binary(op, column, std::move(n), parse_unary());
    }
    return n;
  }

  std::unique_ptr<Node> parse_unary() {
    if (is_op("-") || is_op("+")) {
      Nest nest(*this);
      const Token& t = next();
      const bool minus = t.text == "-";
      const int column = t.column;
      auto operand = parse_unary();
      if (!minus) return operand;
      // Fold -NUMBER so that x[-1] and at(x, 0, -999) see a literal.
      if (operand->kind == Kind::kNumber && operand->args.empty()) {
        operand->number = -operand->number;
        operand->column = column;
        operand->text = "-" + operand->text;
        return operand;
      }
      std::vector<std::unique_ptr<Node>> args;
      args.push_back(std::move(operand));
      auto n = make(Kind::kUnary, column, std::move(args));
      n->un = Un::kNeg;
      return n;
    }
    return parse_power();
  }

  std::unique_ptr<Node> parse_power() {
    const int column = peek().column;
    auto base = parse_postfix();
    if (!is_op("**")) return base;
    next();
    Nest nest(*this);
    return binary(Bin::kPow, column, std::move(base), parse_unary());
  }

  std::unique_ptr<Node> parse_postfix() {
    const int column = peek().column;
    auto n = parse_primary();
    while (is_op("[")) {
      next();
      const Token& at = peek();
      auto index = parse_unary();
      int64_t i = integer_literal(*index, at, "an index");
      expect("]", "after the index");
      std::vector<std::unique_ptr<Node>> args;
      args.push_back(std::move(n));
      n = make(Kind::kIndex, column, std::move(args));
      n->index = i;
      n->number = kNaN;
    }
    return n;
  }

  int64_t integer_literal(const Node& n, const Token& at, const char* what) const {
    if (n.kind != Kind::kNumber || n.number != std::trunc(n.number) || std::abs(n.number) > 9e15)
      throw error(at, std::string(what) + " must be an integer number, found '" + n.text + "'");
    return static_cast<int64_t>(n.number);
  }

  std::vector<std::unique_ptr<Node>> parse_args(std::vector<const Token*>* starts) {
    std::vector<std::unique_ptr<Node>> args;
    if (is_op(")")) {
      next();
      return args;
    }
    while (true) {
      if (starts) starts->push_back(&peek());
      args.push_back(parse_or());
      if (is_op(",")) {
        next();
        continue;
      }
      expect(")", "after the arguments");
      return args;
    }
  }

  std::unique_ptr<Node> parse_call(const Token& fn_token) {
    Nest nest(*this);
    const int column = fn_token.column;
    const FnInfo* fn = find_function(fn_token.text);
    if (!fn) throw error(fn_token, "unknown function '" + std::string(fn_token.text) + "'");
    next();  // (
    if (fn->kind == FnInfo::kGet) {
      if (peek().type != Token::kString)
        throw error(peek(), "get() takes a branch name in quotes, found " + describe(peek()));
      auto n = make(Kind::kBranch, column);
      n->name = std::string(next().text);
      expect(")", "after the branch name");
      n->text = std::string(text_.substr(column - 1, last_end_ - column));
      return n;
    }
    std::vector<const Token*> starts;
    auto args = parse_args(&starts);
    const std::string name(fn_token.text);
    auto arity = [&](size_t lo, size_t hi) {
      if (args.size() < lo || args.size() > hi) {
        std::string want =
            lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
        if (hi == SIZE_MAX) want = std::to_string(lo) + " or more";
        throw error(fn_token, name + "() takes " + want + " argument" + (hi == 1 ? "" : "s") +
                                  ", found " + std::to_string(args.size()));
      }
    };
    std::unique_ptr<Node> n;
    switch (fn->kind) {
      case FnInfo::kUnary:
        arity(1, 1);
        n = make(Kind::kUnary, column, std::move(args));
        n->un = Un(fn->op);
        break;
      case FnInfo::kBinary:
        arity(2, 2);
        n = make(Kind::kBinary, column, std::move(args));
        n->bin = Bin(fn->op);
        break;
      case FnInfo::kMinMax:
        arity(1, SIZE_MAX);
        if (args.size() == 1) {
          n = make(Kind::kReduce, column, std::move(args));
          n->red = Bin(fn->op) == Bin::kMinimum ? Red::kMin : Red::kMax;
        } else {
          // min(a, b, c) folds left: min(min(a, b), c).
          auto acc = std::move(args[0]);
          for (size_t i = 1; i < args.size(); ++i) {
            std::vector<std::unique_ptr<Node>> two;
            two.push_back(std::move(acc));
            two.push_back(std::move(args[i]));
            acc = make(Kind::kBinary, column, std::move(two));
            acc->bin = Bin(fn->op);
          }
          n = std::move(acc);
        }
        break;
      case FnInfo::kWhere:
        arity(3, 3);
        n = make(Kind::kWhere, column, std::move(args));
        break;
      case FnInfo::kReduce:
        arity(1, 1);
        n = make(Kind::kReduce, column, std::move(args));
        n->red = Red(fn->op);
        break;
      case FnInfo::kAt: {
        arity(2, 3);
        const int64_t i = integer_literal(*args[1], *starts[1], "at()'s index");
        double fallback = kNaN;
        if (args.size() == 3) {
          if (args[2]->kind != Kind::kNumber)
            throw error(*starts[2],
                        "at()'s default must be a number, found '" + args[2]->text + "'");
          fallback = args[2]->number;
        }
        args.resize(1);
        n = make(Kind::kIndex, column, std::move(args));
        n->index = i;
        n->number = fallback;
        break;
      }
      case FnInfo::kGet:
        break;  // handled above
    }
    n->name = name;
    return n;
  }

  std::unique_ptr<Node> parse_primary() {
    const Token& t = peek();
    switch (t.type) {
      case Token::kNumber: {
        next();
        auto n = make(Kind::kNumber, t.column);
        n->number = t.number;
        return n;
      }
      case Token::kName: {
        if (t.text == "and" || t.text == "or" || t.text == "not")
          throw error(t, "expected a value, found '" + std::string(t.text) + "'");
        const size_t at = pos_;
        if (tokens_[at + 1].type == Token::kOp && tokens_[at + 1].text == "(") {
          next();
          return parse_call(t);
        }
        next();
        if (t.text == "True" || t.text == "False" || t.text == "nan" || t.text == "inf") {
          auto n = make(Kind::kNumber, t.column);
          n->number = t.text == "True"    ? 1
                      : t.text == "False" ? 0
                      : t.text == "nan"   ? kNaN
                                          : std::numeric_limits<double>::infinity();
          return n;
        }
        auto n = make(Kind::kBranch, t.column);
        n->name = std::string(t.text);
        return n;
      }
      case Token::kOp:
        if (t.text == "(") {
          Nest nest(*this);
          next();
          auto n = parse_or();
          expect(")", "to close the '(' at column " + std::to_string(t.column));
          return n;
        }
        break;
      default:
        break;
    }
    throw error(t, "expected a value, found " + describe(t));
  }

  // A string (not a view) so that error messages can be built on it.
  std::string text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int last_end_ = 1;
  int nesting_ = 0;
};

void collect_branches(const Node& n, std::vector<std::string>& out) {
  if (n.kind == Kind::kBranch && std::find(out.begin(), out.end(), n.name) == out.end())
    out.push_back(n.name);
  for (const auto& a : n.args) collect_branches(*a, out);
}

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

bool plain_name(const std::string& s) {
  if (s.empty() || !name_start(s[0])) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (!name_char(s[i]) && !(s[i] == '.' && i + 1 < s.size() && name_start(s[i + 1])))
      return false;
  // Words the parser reads as constants or operators need get('...').
  for (const char* word : {"and", "or", "not", "True", "False", "nan", "inf"})
    if (s == word) return false;
  return true;
}

void print(const Node& n, std::string& out) {
  switch (n.kind) {
    case Kind::kNumber:
      // (-1) ** 2 must not print as -1 ** 2, which reads back as -(1 ** 2).
      if (std::signbit(n.number) && !std::isnan(n.number))
        out += "(" + format_number(n.number) + ")";
      else
        out += format_number(n.number);
      return;
    case Kind::kBranch:
      if (plain_name(n.name)) {
        out += n.name;
      } else {
        const char q = n.name.find('\'') == std::string::npos ? '\'' : '"';
        out += std::string("get(") + q + n.name + q + ")";
      }
      return;
    case Kind::kUnary:
      // "not(x) ** 2" would read back as not (x ** 2): not is an operator, not a call.
      out += n.un == Un::kNeg ? "neg(" : n.un == Un::kNot ? "(not " : unary_name(n.un);
      if (n.un != Un::kNeg && n.un != Un::kNot) out += "(";
      print(*n.args[0], out);
      out += ")";
      return;
    case Kind::kBinary:
      if (is_infix(n.bin)) {
        out += "(";
        print(*n.args[0], out);
        out += std::string(" ") + binary_symbol(n.bin) + " ";
        print(*n.args[1], out);
        out += ")";
      } else {
        out += std::string(binary_symbol(n.bin)) + "(";
        print(*n.args[0], out);
        out += ", ";
        print(*n.args[1], out);
        out += ")";
      }
      return;
    case Kind::kCompare:
      out += "(";
      for (size_t i = 0; i < n.args.size(); ++i) {
        if (i) out += std::string(" ") + binary_symbol(n.cmps[i - 1]) + " ";
        print(*n.args[i], out);
      }
      out += ")";
      return;
    case Kind::kWhere:
      out += "where(";
      for (size_t i = 0; i < 3; ++i) {
        if (i) out += ", ";
        print(*n.args[i], out);
      }
      out += ")";
      return;
    case Kind::kReduce:
      out += std::string(reduce_name(n.red)) + "(";
      print(*n.args[0], out);
      out += ")";
      return;
    case Kind::kIndex:
      out += "at(";
      print(*n.args[0], out);
      out += ", " + std::to_string(n.index) + ", " + format_number(n.number) + ")";
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation: each node computes a whole column.

// Buffers of temporaries kept per thread between evaluations, so that the next chunk reuses
// this chunk's memory instead of faulting in fresh pages (which cost more than the arithmetic).
// At most kPoolSize buffers, each as large as the largest column seen.
constexpr size_t kPoolSize = 8;

std::vector<std::vector<double>>& buffer_pool() {
  thread_local std::vector<std::vector<double>> pool;
  return pool;
}

std::vector<double> take_buffer(size_t n) {
  auto& pool = buffer_pool();
  for (size_t i = pool.size(); i-- > 0;)
    if (pool[i].capacity() >= n) {
      std::vector<double> v = std::move(pool[i]);
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(i));
      v.resize(n);
      return v;
    }
  return std::vector<double>(n);
}

void give_buffer(std::vector<double>&& v) {
  auto& pool = buffer_pool();
  if (v.capacity() == 0 || pool.size() >= kPoolSize) return;
  pool.push_back(std::move(v));
}

// A node's result: a number (broadcast on use), or a column that either views a table's array
// or owns its buffer. Jagged columns point at the offsets of the table array they came from
// (element-wise operations never change list lengths, so no node makes offsets of its own).
struct Value {
  Shape shape = Shape::kScalar;
  double scalar = 0;
  const double* view = nullptr;
  size_t size = 0;
  bool owned = false;
  std::vector<double> own;
  const std::vector<int64_t>* offsets = nullptr;
  const Node* origin = nullptr;  // the node whose lists these are, for error messages

  Value() = default;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  Value(Value&& o) noexcept { *this = std::move(o); }
  Value& operator=(Value&& o) noexcept {
    if (this == &o) return *this;
    release();
    shape = o.shape;
    scalar = o.scalar;
    view = o.view;
    size = o.size;
    owned = o.owned;
    own = std::move(o.own);
    offsets = o.offsets;
    origin = o.origin;
    o.owned = false;
    return *this;
  }
  ~Value() { release(); }

  void release() {
    if (owned) give_buffer(std::move(own));
    own = {};
    owned = false;
  }
  const double* data() const { return owned ? own.data() : view; }
  bool jagged() const { return shape == Shape::kJagged; }

  static Value number(double v) {
    Value r;
    r.scalar = v;
    return r;
  }
  // A non-owning view of `v`; `v` must outlive it.
  static Value borrow(const Value& v) {
    Value r;
    r.shape = v.shape;
    r.scalar = v.scalar;
    r.view = v.data();
    r.size = v.size;
    r.offsets = v.offsets;
    r.origin = v.origin;
    return r;
  }
};

// Output buffer of `n` values for a result of shape `s`: a temporary operand's buffer when it
// has that shape already (computing in place is safe for element-wise loops), else a new one.
Value result_like(Shape s, size_t n, std::initializer_list<Value*> operands) {
  Value r;
  r.shape = s;
  r.size = n;
  r.owned = true;
  for (Value* v : operands)
    if (v->owned && v->shape == s && v->size == n) {
      r.own = std::move(v->own);
      // The operand still reads its values from the same heap block, now r's.
      v->owned = false;
      v->view = r.own.data();
      return r;
    }
  r.own = take_buffer(n);
  return r;
}

template <typename F>
void unary_loop(const double* in, double* out, size_t n, F f) {
  for (size_t i = 0; i < n; ++i) out[i] = f(in[i]);
}

template <typename K>
void with_unary(Un op, K&& k) {
  switch (op) {
    case Un::kNeg:
      return k([](double x) { return -x; });
    case Un::kNot:
      return k([](double x) { return x == 0 ? 1.0 : 0.0; });
    case Un::kAbs:
      return k([](double x) { return std::fabs(x); });
    case Un::kSqrt:
      return k([](double x) { return std::sqrt(x); });
    case Un::kCbrt:
      return k([](double x) { return std::cbrt(x); });
    case Un::kExp:
      return k([](double x) { return std::exp(x); });
    case Un::kExp2:
      return k([](double x) { return std::exp2(x); });
    case Un::kExpm1:
      return k([](double x) { return std::expm1(x); });
    case Un::kLog:
      return k([](double x) { return std::log(x); });
    case Un::kLog10:
      return k([](double x) { return std::log10(x); });
    case Un::kLog2:
      return k([](double x) { return std::log2(x); });
    case Un::kLog1p:
      return k([](double x) { return std::log1p(x); });
    case Un::kSin:
      return k([](double x) { return std::sin(x); });
    case Un::kCos:
      return k([](double x) { return std::cos(x); });
    case Un::kTan:
      return k([](double x) { return std::tan(x); });
    case Un::kAsin:
      return k([](double x) { return std::asin(x); });
    case Un::kAcos:
      return k([](double x) { return std::acos(x); });
    case Un::kAtan:
      return k([](double x) { return std::atan(x); });
    case Un::kSinh:
      return k([](double x) { return std::sinh(x); });
    case Un::kCosh:
      return k([](double x) { return std::cosh(x); });
    case Un::kTanh:
      return k([](double x) { return std::tanh(x); });
    case Un::kAsinh:
      return k([](double x) { return std::asinh(x); });
    case Un::kAcosh:
      return k([](double x) { return std::acosh(x); });
    case Un::kAtanh:
      return k([](double x) { return std::atanh(x); });
    case Un::kCeil:
      return k([](double x) { return std::ceil(x); });
    case Un::kFloor:
      return k([](double x) { return std::floor(x); });
    // numpy rounds halves to even, as nearbyint does in the default rounding mode.
    case Un::kRound:
      return k([](double x) { return std::nearbyint(x); });
    case Un::kTrunc:
      return k([](double x) { return std::trunc(x); });
    case Un::kIsnan:
      return k([](double x) { return std::isnan(x) ? 1.0 : 0.0; });
    case Un::kIsinf:
      return k([](double x) { return std::isinf(x) ? 1.0 : 0.0; });
    case Un::kIsfinite:
      return k([](double x) { return std::isfinite(x) ? 1.0 : 0.0; });
    case Un::kSignbit:
      return k([](double x) { return std::signbit(x) ? 1.0 : 0.0; });
    case Un::kErf:
      return k([](double x) { return std::erf(x); });
    case Un::kErfc:
      return k([](double x) { return std::erfc(x); });
    case Un::kLgamma:
      return k([](double x) { return std::lgamma(x); });
    case Un::kTgamma:
      return k([](double x) { return std::tgamma(x); });
    case Un::kFactorial:
      return k([](double x) { return std::nearbyint(std::tgamma(std::nearbyint(x) + 1)); });
  }
}

inline double py_mod(double x, double y) {
  // numpy.mod: the result takes the divisor's sign.
  double r = std::fmod(x, y);
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}

inline double nan_min(double x, double y) {
  return (std::isnan(x) || std::isnan(y)) ? kNaN : (y < x ? y : x);
}
inline double nan_max(double x, double y) {
  return (std::isnan(x) || std::isnan(y)) ? kNaN : (y > x ? y : x);
}

template <typename K>
void with_binary(Bin op, K&& k) {
  switch (op) {
    case Bin::kAdd:
      return k([](double x, double y) { return x + y; });
    case Bin::kSub:
      return k([](double x, double y) { return x - y; });
    case Bin::kMul:
      return k([](double x, double y) { return x * y; });
    case Bin::kDiv:
      return k([](double x, double y) { return x / y; });
    case Bin::kFloorDiv:
      return k([](double x, double y) { return std::floor(x / y); });
    case Bin::kMod:
      return k([](double x, double y) { return py_mod(x, y); });
    case Bin::kPow:
      return k([](double x, double y) { return std::pow(x, y); });
    case Bin::kAnd:
      return k([](double x, double y) { return (x != 0 && y != 0) ? 1.0 : 0.0; });
    case Bin::kOr:
      return k([](double x, double y) { return (x != 0 || y != 0) ? 1.0 : 0.0; });
    case Bin::kLt:
      return k([](double x, double y) { return x < y ? 1.0 : 0.0; });
    case Bin::kLe:
      return k([](double x, double y) { return x <= y ? 1.0 : 0.0; });
    case Bin::kGt:
      return k([](double x, double y) { return x > y ? 1.0 : 0.0; });
    case Bin::kGe:
      return k([](double x, double y) { return x >= y ? 1.0 : 0.0; });
    case Bin::kEq:
      return k([](double x, double y) { return x == y ? 1.0 : 0.0; });
    case Bin::kNe:
      return k([](double x, double y) { return x != y ? 1.0 : 0.0; });
    case Bin::kAtan2:
      return k([](double x, double y) { return std::atan2(x, y); });
    case Bin::kHypot:
      return k([](double x, double y) { return std::hypot(x, y); });
    case Bin::kCopysign:
      return k([](double x, double y) { return std::copysign(x, y); });
    case Bin::kFmin:
      return k([](double x, double y) { return std::fmin(x, y); });
    case Bin::kFmax:
      return k([](double x, double y) { return std::fmax(x, y); });
    case Bin::kMinimum:
      return k([](double x, double y) { return nan_min(x, y); });
    case Bin::kMaximum:
      return k([](double x, double y) { return nan_max(x, y); });
    case Bin::kNextafter:
      return k([](double x, double y) { return std::nextafter(x, y); });
  }
}

// out = f(a, b) over `n` values. Same-shape operands and numbers go element by element; a flat
// operand against a jagged one is repeated over each event's list.
template <typename F>
void binary_loop(const Value& a, const Value& b, const int64_t* off, int64_t events, size_t n,
                 double* out, F f) {
  const double* pa = a.data();
  const double* pb = b.data();
  if (a.shape == Shape::kScalar) {
    const double x = a.scalar;
    for (size_t i = 0; i < n; ++i) out[i] = f(x, pb[i]);
  } else if (b.shape == Shape::kScalar) {
    const double y = b.scalar;
    for (size_t i = 0; i < n; ++i) out[i] = f(pa[i], y);
  } else if (a.shape == b.shape) {
    for (size_t i = 0; i < n; ++i) out[i] = f(pa[i], pb[i]);
  } else if (a.shape == Shape::kFlat) {
    for (int64_t e = 0; e < events; ++e) {
      const double x = pa[e];
      for (int64_t j = off[e]; j < off[e + 1]; ++j) out[j] = f(x, pb[j]);
    }
  } else {
    for (int64_t e = 0; e < events; ++e) {
      const double y = pb[e];
      for (int64_t j = off[e]; j < off[e + 1]; ++j) out[j] = f(pa[j], y);
    }
  }
}

class Evaluator {
 public:
  explicit Evaluator(const Table& table)
      : table_(table), entries_(std::max<int64_t>(table.entries(), 0)) {}

  Value eval(const Node& n) {
    switch (n.kind) {
      case Kind::kNumber:
        return Value::number(n.number);
      case Kind::kBranch:
        return branch(n);
      case Kind::kUnary:
        return unary(n, eval(*n.args[0]));
      case Kind::kBinary:
        return binary(n, n.bin, eval(*n.args[0]), eval(*n.args[1]));
      case Kind::kCompare:
        return compare(n);
      case Kind::kWhere:
        return where(n);
      case Kind::kReduce:
        return reduce(n, eval(*n.args[0]));
      case Kind::kIndex:
        return index(n, eval(*n.args[0]));
    }
    throw Error(ErrorCode::kInternal, "bad expression node");
  }

  // Shapes only, as eval() would find them.
  Shape shape(const Node& n) {
    switch (n.kind) {
      case Kind::kNumber:
        return Shape::kScalar;
      case Kind::kBranch:
        return array(n).jagged() ? Shape::kJagged : Shape::kFlat;
      case Kind::kUnary:
        return shape(*n.args[0]);
      case Kind::kBinary:
      case Kind::kCompare:
      case Kind::kWhere: {
        Shape s = Shape::kScalar;
        for (const auto& a : n.args) s = std::max(s, shape(*a));
        return s;
      }
      case Kind::kReduce:
      case Kind::kIndex:
        need_lists(n, shape(*n.args[0]));
        return Shape::kFlat;
    }
    return Shape::kScalar;
  }

 private:
  const Array& array(const Node& n) {
    if (!table_.has(n.name))
      throw Error(ErrorCode::kNotFound,
                  "unknown branch '" + n.name + "' at column " + std::to_string(n.column));
    return table_.at(n.name);
  }

  Value branch(const Node& n) {
    const Array& a = array(n);
    Value v;
    v.shape = a.jagged() ? Shape::kJagged : Shape::kFlat;
    v.view = a.values.data();
    v.size = a.values.size();
    if (a.jagged()) {
      if (a.offsets.front() != 0 || a.offsets.back() != static_cast<int64_t>(a.values.size()))
        throw Error(ErrorCode::kInternal, "branch '" + n.name + "': offsets do not match values");
      v.offsets = &a.offsets;
      v.origin = &n;
    }
    return v;
  }

  void need_lists(const Node& n, Shape s) {
    if (s != Shape::kJagged)
      throw Error(ErrorCode::kInvalidArgument,
                  (n.name.empty() ? std::string("indexing") : n.name + "()") + " " + where_of(n) +
                      " needs a list per event, but '" + n.args[0]->text + "' has " +
                      (s == Shape::kScalar ? "a single number" : "one value per event"));
  }

  // Jagged operands must have lists of the same lengths, event by event.
  void same_lists(const Node& n, const Value& a, const Value& b) {
    if (a.offsets == b.offsets || *a.offsets == *b.offsets) return;
    const auto& x = *a.offsets;
    const auto& y = *b.offsets;
    int64_t e = 0;
    while (e + 1 < static_cast<int64_t>(std::min(x.size(), y.size())) &&
           x[e + 1] - x[e] == y[e + 1] - y[e])
      ++e;
    throw Error(ErrorCode::kInvalidArgument,
                "'" + a.origin->text + "' and '" + b.origin->text +
                    "' have lists of different lengths (event " + std::to_string(e) + ": " +
                    std::to_string(x[e + 1] - x[e]) + " and " + std::to_string(y[e + 1] - y[e]) +
                    ") at column " + std::to_string(n.column));
  }

  size_t count_of(Shape s, const std::vector<int64_t>* off) const {
    return s == Shape::kJagged ? static_cast<size_t>(off->back()) : static_cast<size_t>(entries_);
  }

  Value unary(const Node& n, Value a) {
    if (a.shape == Shape::kScalar) {
      double r = 0;
      with_unary(n.un, [&](auto f) { r = f(a.scalar); });
      return Value::number(r);
    }
    const double* in = a.data();
    Value r = result_like(a.shape, a.size, {&a});
    r.offsets = a.offsets;
    r.origin = a.origin;
    double* out = r.own.data();
    with_unary(n.un, [&](auto f) { unary_loop(in, out, r.size, f); });
    return r;
  }

  Value binary(const Node& n, Bin op, Value a, Value b) {
    if (a.shape == Shape::kScalar && b.shape == Shape::kScalar) {
      double r = 0;
      with_binary(op, [&](auto f) { r = f(a.scalar, b.scalar); });
      return Value::number(r);
    }
    const Shape s = std::max(a.shape, b.shape);
    const Value& lists = a.jagged() ? a : b;
    if (a.jagged() && b.jagged()) same_lists(n, a, b);
    const std::vector<int64_t>* off = s == Shape::kJagged ? lists.offsets : nullptr;
    const Node* origin = s == Shape::kJagged ? lists.origin : nullptr;
    const size_t count = count_of(s, off);
    Value r = result_like(s, count, {&a, &b});
    r.offsets = off;
    r.origin = origin;
    double* out = r.own.data();
    const int64_t* o = off ? off->data() : nullptr;
    with_binary(op, [&](auto f) { binary_loop(a, b, o, entries_, count, out, f); });
    return r;
  }

  Value compare(const Node& n) {
    std::vector<Value> v;
    v.reserve(n.args.size());
    for (const auto& a : n.args) v.push_back(eval(*a));
    Value r = binary(n, n.cmps[0], Value::borrow(v[0]), Value::borrow(v[1]));
    for (size_t i = 1; i < n.cmps.size(); ++i)
      r = binary(n, Bin::kAnd, std::move(r),
                 binary(n, n.cmps[i], Value::borrow(v[i]), Value::borrow(v[i + 1])));
    return r;
  }

  Value where(const Node& n) {
    Value c = eval(*n.args[0]), a = eval(*n.args[1]), b = eval(*n.args[2]);
    const Shape s = std::max({c.shape, a.shape, b.shape});
    if (s == Shape::kScalar) return Value::number(c.scalar != 0 ? a.scalar : b.scalar);
    const Value* lists = nullptr;
    for (const Value* v : {&c, &a, &b}) {
      if (!v->jagged()) continue;
      if (lists)
        same_lists(n, *lists, *v);
      else
        lists = v;
    }
    const std::vector<int64_t>* off = lists ? lists->offsets : nullptr;
    const Node* origin = lists ? lists->origin : nullptr;
    const size_t count = count_of(s, off);
    const double *pc = c.data(), *pa = a.data(), *pb = b.data();
    Value r = result_like(s, count, {&c, &a, &b});
    r.offsets = off;
    r.origin = origin;
    double* out = r.own.data();
    // Value of operand v for element j of event e: rare enough to go through one switch.
    auto at = [](const Value& v, const double* p, int64_t e, int64_t j) {
      return v.shape == Shape::kScalar ? v.scalar : v.shape == Shape::kFlat ? p[e] : p[j];
    };
    if (s == Shape::kFlat) {
      for (int64_t e = 0; e < entries_; ++e)
        out[e] = at(c, pc, e, e) != 0 ? at(a, pa, e, e) : at(b, pb, e, e);
    } else {
      const int64_t* o = off->data();
      for (int64_t e = 0; e < entries_; ++e)
        for (int64_t j = o[e]; j < o[e + 1]; ++j)
          out[j] = at(c, pc, e, j) != 0 ? at(a, pa, e, j) : at(b, pb, e, j);
    }
    return r;
  }

  Value reduce(const Node& n, Value a) {
    need_lists(n, a.shape);
    const int64_t* o = a.offsets->data();
    const double* p = a.data();
    Value r = result_like(Shape::kFlat, static_cast<size_t>(entries_), {});
    double* out = r.own.data();
    switch (n.red) {
      case Red::kSum:
        for (int64_t e = 0; e < entries_; ++e) {
          double s = 0;
          for (int64_t j = o[e]; j < o[e + 1]; ++j) s += p[j];
          out[e] = s;
        }
        break;
      case Red::kMean:
        for (int64_t e = 0; e < entries_; ++e) {
          double s = 0;
          for (int64_t j = o[e]; j < o[e + 1]; ++j) s += p[j];
          out[e] = o[e + 1] > o[e] ? s / static_cast<double>(o[e + 1] - o[e]) : kNaN;
        }
        break;
      case Red::kMin:
      case Red::kMax: {
        const bool is_min = n.red == Red::kMin;
        for (int64_t e = 0; e < entries_; ++e) {
          double m = kNaN;
          if (o[e + 1] > o[e]) {
            m = p[o[e]];
            for (int64_t j = o[e] + 1; j < o[e + 1]; ++j)
              m = is_min ? nan_min(m, p[j]) : nan_max(m, p[j]);
          }
          out[e] = m;
        }
        break;
      }
      case Red::kCount:
        for (int64_t e = 0; e < entries_; ++e) out[e] = static_cast<double>(o[e + 1] - o[e]);
        break;
      case Red::kCountNonzero:
        for (int64_t e = 0; e < entries_; ++e) {
          int64_t k = 0;
          for (int64_t j = o[e]; j < o[e + 1]; ++j) k += p[j] != 0;
          out[e] = static_cast<double>(k);
        }
        break;
      case Red::kAny:
        for (int64_t e = 0; e < entries_; ++e) {
          bool any = false;
          for (int64_t j = o[e]; j < o[e + 1] && !any; ++j) any = p[j] != 0;
          out[e] = any ? 1.0 : 0.0;
        }
        break;
      case Red::kAll:
        for (int64_t e = 0; e < entries_; ++e) {
          bool all = true;
          for (int64_t j = o[e]; j < o[e + 1] && all; ++j) all = p[j] != 0;
          out[e] = all ? 1.0 : 0.0;
        }
        break;
    }
    return r;
  }

  Value index(const Node& n, Value a) {
    need_lists(n, a.shape);
    const int64_t* o = a.offsets->data();
    const double* p = a.data();
    Value r = result_like(Shape::kFlat, static_cast<size_t>(entries_), {});
    double* out = r.own.data();
    const int64_t i = n.index;
    const double fallback = n.number;
    for (int64_t e = 0; e < entries_; ++e) {
      const int64_t len = o[e + 1] - o[e];
      const int64_t k = i < 0 ? len + i : i;
      out[e] = (k >= 0 && k < len) ? p[o[e] + k] : fallback;
    }
    return r;
  }

  const Table& table_;
  int64_t entries_;
};

}  // namespace

Expression Expression::parse(std::string_view text) {
  Expression e;
  e.text_ = std::string(text);
  Parser p(e.text_);
  e.root_ = p.parse();
  collect_branches(*e.root_, e.branches_);
  return e;
}

std::string Expression::canonical() const {
  std::string out;
  if (root_) print(*root_, out);
  return out;
}

namespace {
Error empty_expression() {
  return Error(ErrorCode::kInvalidArgument, "empty expression (never parsed)");
}
}  // namespace

bool Expression::jagged_result(const Table& table) const {
  if (!root_) throw empty_expression();
  try {
    return Evaluator(table).shape(*root_) == Shape::kJagged;
  } catch (Error& e) {
    throw e.add_context("'" + printable(text_) + "'");
  }
}

Array Expression::evaluate(const Table& table) const {
  if (!root_) throw empty_expression();
  Value v;
  try {
    v = Evaluator(table).eval(*root_);
  } catch (Error& e) {
    throw e.add_context("'" + printable(text_) + "'");
  }
  Array out;
  switch (v.shape) {
    case Shape::kScalar:
      out.values.assign(static_cast<size_t>(std::max<int64_t>(table.entries(), 0)), v.scalar);
      break;
    case Shape::kFlat:
    case Shape::kJagged:
      if (v.owned)
        out.values = std::move(v.own);
      else
        out.values.assign(v.view, v.view + v.size);
      if (v.jagged()) out.offsets = *v.offsets;
      break;
  }
  return out;
}

int64_t Expression::select(const Table& table, Pass pass, std::vector<uint8_t>& keep) const {
  if (!root_) throw empty_expression();
  const int64_t n = std::max<int64_t>(table.entries(), 0);
  if (static_cast<int64_t>(keep.size()) != n)
    throw Error(ErrorCode::kInternal, "cut mask size differs from the chunk's entries");
  Value v;
  try {
    v = Evaluator(table).eval(*root_);
    if (v.jagged() && pass == Pass::kValue)
      throw Error(ErrorCode::kInvalidArgument,
                  "gives a list per event where one value per event is needed");
  } catch (Error& e) {
    throw e.add_context("'" + printable(text_) + "'");
  }
  uint8_t* k = keep.data();
  int64_t cleared = 0;
  if (v.shape == Shape::kScalar) {
    if (v.scalar != 0) return 0;
    for (int64_t e = 0; e < n; ++e) {
      cleared += k[e];
      k[e] = 0;
    }
    return cleared;
  }
  const double* p = v.data();
  if (!v.jagged()) {
    for (int64_t e = 0; e < n; ++e) {
      const uint8_t ok = p[e] != 0;
      cleared += k[e] & !ok;
      k[e] &= ok;
    }
    return cleared;
  }
  const int64_t* o = v.offsets->data();
  const bool all = pass == Pass::kAll;
  for (int64_t e = 0; e < n; ++e) {
    // "all" fails at the first 0, "any" passes at the first non-0.
    bool ok = all;
    for (int64_t j = o[e]; j < o[e + 1]; ++j)
      if ((p[j] != 0) != all) {
        ok = !all;
        break;
      }
    cleared += k[e] & !ok;
    k[e] &= static_cast<uint8_t>(ok);
  }
  return cleared;
}

}  // namespace m4h::data
