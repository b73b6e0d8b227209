// The expression language: every grammar element, every function, broadcasting, reductions,
// indexing with defaults, precedence and error columns. Expected values come from plain loops
// and the C++ math library in the test, never from the evaluator.
#include "data/expression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/data_test_util.h"

namespace m4h::data {
namespace {

using test::error_of;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// x, y: flat; j, k: jagged with the same list lengths; m: jagged with other lengths.
Table sample() {
  Table t;
  t.set("x", Array::flat({1, -2.5, 0, 4}));
  t.set("y", Array::flat({2, 3, -1, 0.5}));
  t.set("j", Array::lists({1, 2, 3, 4, -5, 6}, {0, 2, 2, 5, 6}));  // [1 2] [] [3 4 -5] [6]
  t.set("k", Array::lists({10, 20, 30, 40, 50, 60}, {0, 2, 2, 5, 6}));
  t.set("m", Array::lists({7, 8, 9}, {0, 1, 1, 2, 3}));  // [7] [] [8] [9]
  t.set("AK4Puppi.pt", Array::flat({5, 6, 7, 8}));
  t.set("odd/name", Array::flat({9, 9, 9, 9}));
  return t;
}

Array eval(const std::string& text, const Table& t = sample()) {
  return Expression::parse(text).evaluate(t);
}

void expect_values(const std::vector<double>& got, const std::vector<double>& want,
                   const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i]))
      EXPECT_TRUE(std::isnan(got[i])) << what << " [" << i << "]";
    else
      EXPECT_DOUBLE_EQ(got[i], want[i]) << what << " [" << i << "]";
  }
}

void expect_flat(const std::string& text, const std::vector<double>& want,
                 const Table& t = sample()) {
  Array a = eval(text, t);
  EXPECT_FALSE(a.jagged()) << text;
  expect_values(a.values, want, text);
}

// A flat column computed by a loop over the sample's x and y.
std::vector<double> flat_of(const std::function<double(double, double)>& f) {
  const std::vector<double> x{1, -2.5, 0, 4}, y{2, 3, -1, 0.5};
  std::vector<double> out;
  for (size_t i = 0; i < x.size(); ++i) out.push_back(f(x[i], y[i]));
  return out;
}

std::string parse_error(const std::string& text) {
  return error_of([&] { Expression::parse(text); }, ErrorCode::kInvalidArgument);
}

TEST(Expression, NumbersInEveryForm) {
  expect_flat("1", {1, 1, 1, 1});
  expect_flat("2.5", {2.5, 2.5, 2.5, 2.5});
  expect_flat("1e-3", {1e-3, 1e-3, 1e-3, 1e-3});
  expect_flat("1.5E+2", {150, 150, 150, 150});
  expect_flat(".5", {0.5, 0.5, 0.5, 0.5});
  expect_flat("5.", {5, 5, 5, 5});
  expect_flat("True + False", {1, 1, 1, 1});
  expect_flat("nan", {kNaN, kNaN, kNaN, kNaN});
  expect_flat("-inf < 0", {1, 1, 1, 1});
}

TEST(Expression, BranchNamesDottedAndQuoted) {
  expect_flat("AK4Puppi.pt * 2", {10, 12, 14, 16});
  expect_flat("get('odd/name') + get(\"x\")", {10, 6.5, 9, 13});
  Expression e = Expression::parse("x + AK4Puppi.pt * x + np.log(y) + get('odd/name')");
  EXPECT_EQ(e.branches(), (std::vector<std::string>{"x", "AK4Puppi.pt", "y", "odd/name"}));
}

TEST(Expression, Arithmetic) {
  expect_flat("x + y", flat_of([](double x, double y) { return x + y; }));
  expect_flat("x - y", flat_of([](double x, double y) { return x - y; }));
  expect_flat("x * y", flat_of([](double x, double y) { return x * y; }));
  expect_flat("x / y", flat_of([](double x, double y) { return x / y; }));
  expect_flat("x ** 2", flat_of([](double x, double) { return x * x; }));
  expect_flat("y ** x", flat_of([](double x, double y) { return std::pow(y, x); }));
  expect_flat("-x", {-1, 2.5, 0, -4});
  expect_flat("+x", {1, -2.5, 0, 4});
  expect_flat("--x", {1, -2.5, 0, 4});
  expect_flat("x / 0", {INFINITY, -INFINITY, kNaN, INFINITY});
  // Python's floor division and modulo: results take the divisor's sign.
  expect_flat("-7 // 2", {-4, -4, -4, -4});
  expect_flat("7 // -2", {-4, -4, -4, -4});
  expect_flat("-7 % 3", {2, 2, 2, 2});
  expect_flat("7 % -3", {-2, -2, -2, -2});
  expect_flat("7.5 % 2", {1.5, 1.5, 1.5, 1.5});
}

TEST(Expression, PrecedenceAndAssociativity) {
  expect_flat("2 + 3 * 4", {14, 14, 14, 14});
  expect_flat("(2 + 3) * 4", {20, 20, 20, 20});
  expect_flat("10 - 4 - 3", {3, 3, 3, 3});
  expect_flat("2 * 3 % 4", {2, 2, 2, 2});
  expect_flat("-2 ** 2", {-4, -4, -4, -4});  // -(2**2) as in Python
  expect_flat("2 ** -1", {0.5, 0.5, 0.5, 0.5});
  expect_flat("2 ** 3 ** 2", {512, 512, 512, 512});  // right-associative
  expect_flat("1 + 2 < 4 and 0", {0, 0, 0, 0});
  expect_flat("1 or 0 and 0", {1, 1, 1, 1});  // and binds tighter than or
  expect_flat("not 1 == 2", {1, 1, 1, 1});    // not (1 == 2)
  // '&' and '|' bind like and/or, below comparisons (numpy users always parenthesise).
  expect_flat("x > 0 & y > 0", {1, 0, 0, 1});
  expect_flat("x > 0 | y > 0", {1, 1, 0, 1});
  expect_flat("(x > 0) & (y > 0)", {1, 0, 0, 1});
  expect_flat("~x > 0", {0, 1, 1, 0});
}

TEST(Expression, ComparisonsAndChainedRanges) {
  expect_flat("x < y", flat_of([](double x, double y) { return x < y; }));
  expect_flat("x <= 0", flat_of([](double x, double) { return x <= 0; }));
  expect_flat("x > y", flat_of([](double x, double y) { return x > y; }));
  expect_flat("x >= 1", flat_of([](double x, double) { return x >= 1; }));
  expect_flat("x == 0", flat_of([](double x, double) { return x == 0; }));
  expect_flat("x != 0", flat_of([](double x, double) { return x != 0; }));
  // 1 <= x <= 16 means (1 <= x) and (x <= 16); the reference writes its ranges that way.
  Table t;
  t.set("n", Array::flat({0, 1, 4, 16, 17, -3}));
  expect_flat("1<=n<=16", {0, 1, 1, 1, 0, 0}, t);
  expect_flat("16 >= n >= 1", {0, 1, 1, 1, 0, 0}, t);
  expect_flat("0 < n < 5 != 4", {0, 1, 1, 0, 0, 0}, t);
  expect_flat("-5 < n < 2 < 3", {1, 1, 0, 0, 0, 1}, t);
}

TEST(Expression, LogicAndTruthOfNaN) {
  Table t;
  t.set("a", Array::flat({0, 1, 0, 1, kNaN}));
  t.set("b", Array::flat({0, 0, 1, 1, 0}));
  expect_flat("a and b", {0, 0, 0, 1, 0}, t);
  expect_flat("a & b", {0, 0, 0, 1, 0}, t);
  expect_flat("a or b", {0, 1, 1, 1, 1}, t);  // NaN is true (numpy: nan != 0)
  expect_flat("a | b", {0, 1, 1, 1, 1}, t);
  expect_flat("not a", {1, 0, 1, 0, 0}, t);
  expect_flat("~b", {1, 1, 0, 0, 1}, t);
  expect_flat("logical_and(a, b) + logical_or(a, b) * 10", {0, 10, 10, 11, 10}, t);
  expect_flat("logical_not(b)", {1, 1, 0, 0, 1}, t);
}

TEST(Expression, EveryOneArgumentFunction) {
  const std::vector<double> v{0.3, -0.7, 2.5, 0.5};
  Table t;
  t.set("v", Array::flat(v));
  struct Case {
    const char* name;
    std::function<double(double)> f;
  };
  const std::vector<Case> cases = {
      {"abs", [](double x) { return std::fabs(x); }},
      {"absolute", [](double x) { return std::fabs(x); }},
      {"fabs", [](double x) { return std::fabs(x); }},
      {"sqrt", [](double x) { return std::sqrt(x); }},
      {"cbrt", [](double x) { return std::cbrt(x); }},
      {"exp", [](double x) { return std::exp(x); }},
      {"exp2", [](double x) { return std::exp2(x); }},
      {"expm1", [](double x) { return std::expm1(x); }},
      {"log", [](double x) { return std::log(x); }},
      {"log10", [](double x) { return std::log10(x); }},
      {"log2", [](double x) { return std::log2(x); }},
      {"log1p", [](double x) { return std::log1p(x); }},
      {"sin", [](double x) { return std::sin(x); }},
      {"cos", [](double x) { return std::cos(x); }},
      {"tan", [](double x) { return std::tan(x); }},
      {"arcsin", [](double x) { return std::asin(x); }},
      {"asin", [](double x) { return std::asin(x); }},
      {"arccos", [](double x) { return std::acos(x); }},
      {"acos", [](double x) { return std::acos(x); }},
      {"arctan", [](double x) { return std::atan(x); }},
      {"atan", [](double x) { return std::atan(x); }},
      {"sinh", [](double x) { return std::sinh(x); }},
      {"cosh", [](double x) { return std::cosh(x); }},
      {"tanh", [](double x) { return std::tanh(x); }},
      {"arcsinh", [](double x) { return std::asinh(x); }},
      {"asinh", [](double x) { return std::asinh(x); }},
      {"arccosh", [](double x) { return std::acosh(x); }},
      {"acosh", [](double x) { return std::acosh(x); }},
      {"arctanh", [](double x) { return std::atanh(x); }},
      {"atanh", [](double x) { return std::atanh(x); }},
      {"ceil", [](double x) { return std::ceil(x); }},
      {"floor", [](double x) { return std::floor(x); }},
      {"trunc", [](double x) { return std::trunc(x); }},
      {"neg", [](double x) { return -x; }},
      {"negative", [](double x) { return -x; }},
      {"isnan", [](double x) { return std::isnan(x) ? 1.0 : 0.0; }},
      {"isinf", [](double x) { return std::isinf(x) ? 1.0 : 0.0; }},
      {"isfinite", [](double x) { return std::isfinite(x) ? 1.0 : 0.0; }},
      {"signbit", [](double x) { return x < 0 ? 1.0 : 0.0; }},
      {"erf", [](double x) { return std::erf(x); }},
      {"erfc", [](double x) { return std::erfc(x); }},
      {"lgamma", [](double x) { return std::lgamma(x); }},
      {"tgamma", [](double x) { return std::tgamma(x); }},
      {"gamma", [](double x) { return std::tgamma(x); }},
  };
  for (const Case& c : cases) {
    std::vector<double> want;
    for (double x : v) want.push_back(c.f(x));
    expect_flat(std::string(c.name) + "(v)", want, t);
    expect_flat(std::string("np.") + c.name + "(v)", want, t);
  }
  // Halves round to even, as numpy does.
  Table h;
  h.set("h", Array::flat({0.5, 1.5, 2.5, -0.5, 2.4}));
  expect_flat("round(h)", {0, 2, 2, -0.0, 2}, h);
  expect_flat("rint(h)", {0, 2, 2, -0.0, 2}, h);
  // round(x) first: 1, 3, 5, -1, 5; (-1)! is gamma(0), a pole.
  expect_flat("factorial(h * 2)", {1, 6, 120, INFINITY, 120}, h);
  expect_flat("numpy.sqrt(4)", {2, 2, 2, 2});
}

TEST(Expression, EveryTwoArgumentFunction) {
  expect_flat("arctan2(x, y)", flat_of([](double x, double y) { return std::atan2(x, y); }));
  expect_flat("atan2(x, y)", flat_of([](double x, double y) { return std::atan2(x, y); }));
  expect_flat("hypot(x, y)", flat_of([](double x, double y) { return std::hypot(x, y); }));
  expect_flat("copysign(x, y)", flat_of([](double x, double y) { return std::copysign(x, y); }));
  expect_flat("nextafter(x, y)", flat_of([](double x, double y) { return std::nextafter(x, y); }));
  expect_flat("power(x, 3)", flat_of([](double x, double) { return x * x * x; }));
  expect_flat("min(x, y)", flat_of([](double x, double y) { return x < y ? x : y; }));
  expect_flat("max(x, y)", flat_of([](double x, double y) { return x > y ? x : y; }));
  expect_flat("minimum(x, y)", flat_of([](double x, double y) { return x < y ? x : y; }));
  expect_flat("maximum(x, y)", flat_of([](double x, double y) { return x > y ? x : y; }));
  expect_flat("min(x, y, 0.5)", {0.5, -2.5, -1, 0.5});
  expect_flat("max(x, y, 0, 3.5)", {3.5, 3.5, 3.5, 4});
  // min/max propagate NaN like numpy.minimum; fmin/fmax skip it.
  Table t;
  t.set("a", Array::flat({kNaN, 1}));
  expect_flat("min(a, 0)", {kNaN, 0}, t);
  expect_flat("max(0, a)", {kNaN, 1}, t);
  expect_flat("fmin(a, 0)", {0, 0}, t);
  expect_flat("fmax(a, 0)", {0, 1}, t);
}

TEST(Expression, Where) {
  expect_flat("where(x > 0, x, y)", {1, 3, -1, 4});
  expect_flat("where(1, 2, 3)", {2, 2, 2, 2});
  Array a = eval("where(j > 2, j, x)");  // flat x repeated over each event's list
  EXPECT_EQ(a.offsets, (std::vector<int64_t>{0, 2, 2, 5, 6}));
  expect_values(a.values, {1, 1, 3, 4, 0, 6}, "where jagged");
  Array b = eval("where(x > 0, j, -1)");
  expect_values(b.values, {1, 2, -1, -1, -1, 6}, "where flat condition");
}

TEST(Expression, JaggedArithmeticAndBroadcasting) {
  const Table t = sample();
  const Array& j = t.at("j");
  const Array& k = t.at("k");
  const std::vector<double>& x = t.at("x").values;
  // Expected by looping over events and their lists.
  std::vector<double> want_jk, want_jx, want_log;
  for (int64_t e = 0; e < j.entries(); ++e)
    for (int64_t i = j.offsets[e]; i < j.offsets[e + 1]; ++i) {
      want_jk.push_back(j.values[i] * k.values[i] + 1);
      want_jx.push_back(j.values[i] - x[e]);
      want_log.push_back(std::log(k.values[i]) * 2);
    }
  Array a = eval("j * k + 1");
  EXPECT_EQ(a.offsets, j.offsets);
  expect_values(a.values, want_jk, "j * k + 1");
  Array b = eval("j - x");
  EXPECT_EQ(b.offsets, j.offsets);
  expect_values(b.values, want_jx, "j - x");
  expect_values(eval("-(x - j)").values, want_jx, "-(x - j)");
  expect_values(eval("2 * log(k)").values, want_log, "2 * log(k)");
  Array c = eval("j > 2");
  expect_values(c.values, {0, 0, 1, 1, 0, 1}, "j > 2");
  Array same = eval("j");
  EXPECT_EQ(same, j);
  EXPECT_TRUE(Expression::parse("j * x").jagged_result(t));
  EXPECT_FALSE(Expression::parse("sum(j) * x").jagged_result(t));
  EXPECT_FALSE(Expression::parse("3").jagged_result(t));
}

TEST(Expression, JaggedOperandsOfDifferentLengthsAreNamed) {
  const std::string msg = error_of([] { eval("j + m"); }, ErrorCode::kInvalidArgument);
  EXPECT_HAS(msg, "'j' and 'm' have lists of different lengths");
  EXPECT_HAS(msg, "event 0: 2 and 1");
  const std::string msg2 =
      error_of([] { eval("where(j > 0, 1, m * 2)"); }, ErrorCode::kInvalidArgument);
  EXPECT_HAS(msg2, "'j' and 'm' have lists of different lengths");
}

TEST(Expression, ReductionsOverEachList) {
  // Lists: [1 2] [] [3 4 -5] [6]. Empty lists: sum 0, mean/min/max NaN, any 0, all 1.
  expect_flat("sum(j)", {3, 0, 2, 6});
  expect_flat("mean(j)", {1.5, kNaN, 2.0 / 3.0, 6});
  expect_flat("min(j)", {1, kNaN, -5, 6});
  expect_flat("max(j)", {2, kNaN, 4, 6});
  expect_flat("count(j)", {2, 0, 3, 1});
  expect_flat("len(j)", {2, 0, 3, 1});
  expect_flat("count_nonzero(j > 1)", {1, 0, 2, 1});
  expect_flat("any(j > 3)", {0, 0, 1, 1});
  expect_flat("all(j > 0)", {1, 1, 0, 1});
  expect_flat("sum(j * x)", {3, 0, 0, 24});
  expect_flat("sum(j > 1) / len(j)", {0.5, kNaN, 2.0 / 3.0, 1});
  Table t;
  t.set("n", Array::lists({1, kNaN, 2}, {0, 3}));
  expect_flat("max(n)", {kNaN}, t);
  const std::string msg = error_of([] { eval("sum(x)"); }, ErrorCode::kInvalidArgument);
  EXPECT_HAS(msg, "sum() at column 1");
  EXPECT_HAS(msg, "needs a list per event, but 'x' has one value per event");
  error_of([] { eval("mean(3)"); }, ErrorCode::kInvalidArgument);
  error_of([] { Expression::parse("sum(x)").jagged_result(sample()); },
           ErrorCode::kInvalidArgument);
}

TEST(Expression, IndexingWithDefaults) {
  expect_flat("j[0]", {1, kNaN, 3, 6});
  expect_flat("j[-1]", {2, kNaN, -5, 6});
  expect_flat("j[2]", {kNaN, kNaN, -5, kNaN});
  expect_flat("j[-3]", {kNaN, kNaN, 3, kNaN});
  expect_flat("at(j, 1)", {2, kNaN, 4, kNaN});
  expect_flat("at(j, 1, -999)", {2, -999, 4, -999});
  expect_flat("at(j * 2, -1, 0.5)", {4, 0.5, -10, 12});
  expect_flat("j[0] + x", {2, kNaN, 3, 10});
  expect_flat("(k / 10)[1]", {2, kNaN, 4, kNaN});
  const std::string msg = error_of([] { eval("x[0]"); }, ErrorCode::kInvalidArgument);
  EXPECT_HAS(msg, "indexing at column 1 needs a list per event, but 'x' has one value per event");
  EXPECT_HAS(error_of([] { Expression::parse("x[0]").jagged_result(sample()); },
                      ErrorCode::kInvalidArgument),
             "indexing at column 1 needs a list per event");
  EXPECT_HAS(error_of([] { eval("at(x, 0)"); }, ErrorCode::kInvalidArgument),
             "at() at column 1 needs a list per event");
}

TEST(Expression, ParseErrorsGiveTheColumn) {
  EXPECT_HAS(parse_error("x +"),
             "at column 4 of 'x +': expected a value, found end of the expression");
  EXPECT_HAS(parse_error("log(x"), "at column 6 of 'log(x': expected ')' after the arguments");
  EXPECT_HAS(parse_error("(x + 1"), "at column 7");
  EXPECT_HAS(parse_error("(x + 1"), "to close the '(' at column 1");
  EXPECT_HAS(parse_error("x ^ 2"), "at column 3");
  EXPECT_HAS(parse_error("x ^ 2"), "use '**'");
  EXPECT_HAS(parse_error("x = 2"), "use '=='");
  EXPECT_HAS(parse_error("!x"), "use 'not'");
  EXPECT_HAS(parse_error("2x"), "at column 2 of '2x': unexpected 'x' after a number");
  EXPECT_HAS(parse_error("1e+"), "at column 2");
  EXPECT_HAS(parse_error("foo(x)"), "at column 1 of 'foo(x)': unknown function 'foo'");
  EXPECT_HAS(parse_error("x + np.foo(1)"), "at column 5");
  EXPECT_HAS(parse_error("x y"), "at column 3 of 'x y': unexpected 'y'");
  EXPECT_HAS(parse_error("j[1.5]"), "at column 3 of 'j[1.5]': an index must be an integer");
  EXPECT_HAS(parse_error("j[x]"), "an index must be an integer number, found 'x'");
  EXPECT_HAS(parse_error("j[0"), "at column 4 of 'j[0': expected ']'");
  EXPECT_HAS(parse_error("at(j, 0, x)"), "at column 10");
  EXPECT_HAS(parse_error("at(j, 0, x)"), "default must be a number");
  EXPECT_HAS(parse_error("sum(j, k)"), "sum() takes 1 argument, found 2");
  EXPECT_HAS(parse_error("arctan2(x)"), "arctan2() takes 2 arguments, found 1");
  EXPECT_HAS(parse_error("where(x, y)"), "where() takes 3 arguments");
  EXPECT_HAS(parse_error("get(x)"), "get() takes a branch name in quotes");
  EXPECT_HAS(parse_error("x and"), "at column 6");
  EXPECT_HAS(parse_error("x < < 2"), "at column 5");
  EXPECT_HAS(parse_error("'abc"), "unterminated string");
  EXPECT_HAS(parse_error("x $ 1"), "at column 3 of 'x $ 1': unexpected character '$'");
  EXPECT_HAS(parse_error(""), "at column 1 of '': expected a value");
  EXPECT_HAS(parse_error("x,"), "unexpected ','");
  EXPECT_HAS(parse_error(std::string(300, '(') + "1" + std::string(300, ')')), "nested too deeply");
  std::string long_sum = "1";
  for (int i = 0; i < 1500; ++i) long_sum += "+1";
  EXPECT_HAS(parse_error(long_sum), "nested too deeply");
}

// A message quotes the user's text; control bytes in it are escaped so that what() (a C string)
// is never cut at a NUL before the reason. The fuzzer found a deep expression followed by
// get('<NUL>'), whose "nested too deeply" fell after the NUL.
TEST(Expression, ErrorsQuoteControlBytesEscaped) {
  using namespace std::string_literals;
  const std::string deep = std::string(250, '-') + "b + x\0"s;
  const std::string msg = parse_error(deep);
  EXPECT_HAS(msg, "b + x\\x00': unexpected byte 0");
  EXPECT_HAS(parse_error("get('a\0b')"s),
             "at column 7 of 'get('a\\x00b')': a quoted name cannot hold byte 0");
  EXPECT_HAS(parse_error("get('a\nb')"), "a quoted name cannot hold byte 10");
  EXPECT_HAS(parse_error("x +\n"), "of 'x +\\x0a'");
  // Bytes of UTF-8 text are not control bytes: they reach the branch lookup unchanged.
  EXPECT_HAS(error_of([] { eval("get('p\xc3\xa9')"); }, ErrorCode::kNotFound),
             "unknown branch 'p\xc3\xa9'");
}

TEST(Expression, UnknownBranchesAreNamedWithTheirColumn) {
  const std::string msg = error_of([] { eval("x + nope * 2"); }, ErrorCode::kNotFound);
  EXPECT_HAS(msg, "'x + nope * 2': unknown branch 'nope' at column 5");
  error_of([] { Expression::parse("log(nope)").jagged_result(sample()); }, ErrorCode::kNotFound);
  error_of([] { Expression().evaluate(sample()); }, ErrorCode::kInvalidArgument);
}

TEST(Expression, CanonicalTextIgnoresSpacing) {
  EXPECT_EQ(Expression::parse("1<=x<=16").canonical(),
            Expression::parse(" 1 <= x  <= 16 ").canonical());
  EXPECT_EQ(Expression::parse("(a + b) * c").canonical(), Expression::parse("(a+b)*c").canonical());
  EXPECT_NE(Expression::parse("a + b * c").canonical(),
            Expression::parse("(a + b) * c").canonical());
  EXPECT_NE(Expression::parse("(-1) ** 2").canonical(), Expression::parse("-1 ** 2").canonical());
  EXPECT_EQ(Expression::parse("np.log(x) & y").canonical(),
            Expression::parse("log(x) and y").canonical());
  // The canonical text parses back to itself.
  for (const char* text :
       {"-x ** 2 + at(j, -1, -999) // 3", "where(j > 2, sum(j), not x)",
        "get('odd/name') % 2 != 1 < y", "min(x, y, 3) + max(j) + nan",
        "(-1) ** 2 + -x ** -2 - -inf", "(not x) ** y > 1", "get(\"it's\") + get('a\"b')"}) {
    const std::string c = Expression::parse(text).canonical();
    EXPECT_EQ(Expression::parse(c).canonical(), c) << text;
  }
}

TEST(Expression, EvaluatesOverEmptyTablesAndLeavesTheTableAlone) {
  Table empty(0);
  empty.set("j", Array::lists({}, {0}));
  empty.set("x", Array::flat({}));
  EXPECT_TRUE(eval("sum(j) + x + 1", empty).values.empty());
  EXPECT_TRUE(eval("j * 2", empty).jagged());
  Table t = sample();
  const Table before = sample();
  eval("j * 2 + x", t);
  eval("log(x) + 1", t);
  for (const std::string& name : before.names()) EXPECT_EQ(t.at(name), before.at(name)) << name;
}

TEST(Expression, SelectClearsTheFailingEntriesAndCountsThem) {
  const Table t = sample();  // j: [1 2] [] [3 4 -5] [6]; x: 1 -2.5 0 4
  std::vector<uint8_t> keep{1, 1, 1, 1};
  EXPECT_EQ(Expression::parse("x >= 0").select(t, Expression::Pass::kValue, keep), 1);
  EXPECT_EQ(keep, (std::vector<uint8_t>{1, 0, 1, 1}));
  // Already-cleared entries are not counted again.
  EXPECT_EQ(Expression::parse("x > 0").select(t, Expression::Pass::kValue, keep), 1);
  EXPECT_EQ(keep, (std::vector<uint8_t>{1, 0, 0, 1}));
  keep = {1, 1, 1, 1};
  EXPECT_EQ(Expression::parse("j > 0").select(t, Expression::Pass::kAll, keep), 1);
  EXPECT_EQ(keep, (std::vector<uint8_t>{1, 1, 0, 1}));  // [] passes "all"
  keep = {1, 1, 1, 1};
  EXPECT_EQ(Expression::parse("j > 3").select(t, Expression::Pass::kAny, keep), 2);
  EXPECT_EQ(keep, (std::vector<uint8_t>{0, 0, 1, 1}));  // [] fails "any"
  keep = {1, 1, 1, 1};
  EXPECT_EQ(Expression::parse("x").select(t, Expression::Pass::kAny, keep), 1);  // flat: itself
  EXPECT_EQ(Expression::parse("1 > 2").select(t, Expression::Pass::kValue, keep), 3);
  EXPECT_EQ(keep, (std::vector<uint8_t>{0, 0, 0, 0}));
  const std::string msg =
      error_of([&] { Expression::parse("j > 0").select(t, Expression::Pass::kValue, keep); },
               ErrorCode::kInvalidArgument);
  EXPECT_HAS(msg, "'j > 0': gives a list per event");
}

TEST(Expression, LargeChunkMatchesAPlainLoop) {
  // Enough values for the buffer reuse between nodes to matter.
  const int64_t n = 20000;
  std::vector<double> pt, eta, met;
  std::vector<int64_t> off{0};
  for (int64_t e = 0; e < n; ++e) {
    met.push_back(static_cast<double>(e % 97));
    for (int64_t i = 0; i < e % 5; ++i) {
      pt.push_back(static_cast<double>((e * 7 + i * 13) % 200) + 0.5);
      eta.push_back(static_cast<double>((e + i) % 50) / 10.0 - 2.5);
    }
    off.push_back(static_cast<int64_t>(pt.size()));
  }
  Table t;
  t.set("pt", Array::lists(pt, off));
  t.set("eta", Array::lists(eta, off));
  t.set("met", Array::flat(met));
  // Twice, and around another expression, so that pooled buffers from earlier runs are reused.
  Array a = eval("sum(where(abs(eta) < 2.4, pt * cosh(eta), 0)) / (met + 1)", t);
  eval("pt * 2 + eta * met", t);
  a = eval("sum(where(abs(eta) < 2.4, pt * cosh(eta), 0)) / (met + 1)", t);
  std::vector<double> want;
  for (int64_t e = 0; e < n; ++e) {
    double s = 0;
    for (int64_t i = off[e]; i < off[e + 1]; ++i)
      s += std::fabs(eta[i]) < 2.4 ? pt[i] * std::cosh(eta[i]) : 0;
    want.push_back(s / (met[e] + 1));
  }
  expect_values(a.values, want, "large");
}

}  // namespace
}  // namespace m4h::data
