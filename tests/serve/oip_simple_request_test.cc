// The request fast path against the full parser: on generated bodies (random key order, spacing,
// number spellings, nesting) it accepts the common form and gives exactly the request the full
// parser gives; on everything else it steps aside (nullopt), so the full parser's answer,
// request or 400, is the only one.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "serve/oip.h"

namespace m4h::serve::oip {
namespace {

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

void expect_same(const InferRequest& fast, const InferRequest& full, const std::string& body) {
  EXPECT_EQ(fast.id, full.id) << body;
  EXPECT_EQ(fast.binary_output, full.binary_output) << body;
  EXPECT_EQ(fast.rejected_as_nan, full.rejected_as_nan) << body;
  EXPECT_TRUE(fast.outputs.empty() && full.outputs.empty()) << body;
  ASSERT_EQ(fast.inputs.size(), full.inputs.size()) << body;
  for (std::size_t i = 0; i < fast.inputs.size(); ++i) {
    const Tensor& a = fast.inputs[i];
    const Tensor& b = full.inputs[i];
    EXPECT_EQ(a.name, b.name) << body;
    EXPECT_EQ(a.datatype, b.datatype) << body;
    EXPECT_EQ(a.shape, b.shape) << body;
    EXPECT_TRUE(same_bits(a.values, b.values)) << body;
    EXPECT_TRUE(a.strings.empty() && b.strings.empty()) << body;
  }
}

// The fast path either steps aside or agrees with the full parser (which may also reject).
void check(const std::string& body, bool fast_expected) {
  const auto fast = parse_simple_infer_request(body);
  EXPECT_EQ(fast.has_value(), fast_expected) << body;
  if (!fast) return;
  InferRequest full;
  try {
    full = parse_infer_request_document(body, std::nullopt);
  } catch (const Error& e) {
    ADD_FAILURE() << "fast path accepted what the full parser rejects (" << e.what() << "): " << body;
    return;
  }
  expect_same(*fast, full, body);
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  std::string body(bool& simple) {
    simple = true;
    std::vector<std::string> members;
    if (coin()) members.push_back(key("id") + ws() + ":" + ws() + "\"req-" + std::to_string(pick(1000)) + "\"");
    std::string inputs = "[";
    const int n = 1 + pick(3);
    for (int i = 0; i < n; ++i) inputs += (i ? "," + ws() : ws()) + tensor("t" + std::to_string(i), simple);
    members.push_back(key("inputs") + ws() + ":" + ws() + inputs + ws() + "]");
    std::shuffle(members.begin(), members.end(), rng_);
    std::string out = ws() + "{";
    for (std::size_t i = 0; i < members.size(); ++i) out += (i ? "," : "") + ws() + members[i] + ws();
    return out + "}" + ws();
  }

 private:
  std::string tensor(const std::string& name, bool& simple) {
    static const char* types[] = {"FP32", "FP64", "FP16", "INT32", "INT64", "INT8", "UINT8", "UINT64"};
    const std::string type = types[pick(8)];
    std::vector<int64_t> shape;
    const int rank = pick(4);
    for (int d = 0; d < rank; ++d) shape.push_back(pick(4));
    std::vector<std::string> members = {
        key("name") + ":" + ws() + "\"" + name + "\"",
        key("datatype") + ws() + ":\"" + type + "\"",
        key("shape") + ":" + ws() + shape_text(shape),
    };
    std::shuffle(members.begin(), members.end(), rng_);
    const std::string data = key("data") + ":" + ws() + data_text(type, shape, 0, coin());
    if (pick(10) == 0) {  // data before its shape or datatype: the full parser's case
      members.insert(members.begin(), data);
      simple = false;
    } else {
      members.push_back(data);
    }
    std::string out = "{";
    for (std::size_t i = 0; i < members.size(); ++i) out += (i ? "," : "") + ws() + members[i] + ws();
    return out + "}";
  }

  std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," + ws() : ws()) + std::to_string(shape[i]);
    return s + ws() + "]";
  }

  std::string data_text(const std::string& type, const std::vector<int64_t>& shape, std::size_t dim, bool nested) {
    int64_t count = 1;
    if (!nested) {
      for (int64_t d : shape) count *= d;
      std::string s = "[";
      for (int64_t i = 0; i < count; ++i) s += (i ? "," + ws() : "") + number(type);
      return s + "]";
    }
    if (dim == shape.size()) return number(type);
    std::string s = "[" + ws();
    for (int64_t i = 0; i < shape[dim]; ++i) s += (i ? "," + ws() : "") + data_text(type, shape, dim + 1, true);
    return s + ws() + "]";
  }

  std::string number(const std::string& type) {
    const bool is_unsigned = type.starts_with("UINT");
    const bool is_int = is_unsigned || type.starts_with("INT");
    static const char* ints[] = {"0", "-0", "7", "-12", "255", "9007199254740993", "18446744073709551615",
                                 "-9223372036854775808", "9223372036854775807"};
    static const char* floats[] = {"0.5", "-0.0", "1e5", "1E-3", "-2.5e+2", "3.141592653589793",
                                   "0.1", "123456789012345678901234", "1.7976931348623157e308",
                                   "4.9e-324", "-0", "100"};
    if (is_int) {
      std::string v = ints[pick(9)];
      if (is_unsigned && v[0] == '-' && v != "-0") v = v.substr(1);
      return v;
    }
    if (coin()) return floats[pick(12)];
    char text[40];
    std::snprintf(text, sizeof text, coin() ? "%.17g" : "%.6g",
                  std::uniform_real_distribution<double>(-1e6, 1e6)(rng_));
    return text;
  }

  std::string key(const char* k) { return "\"" + std::string(k) + "\""; }
  std::string ws() {
    static const char* spaces[] = {"", "", "", " ", "\n", "\t ", "\r\n  "};
    return spaces[pick(7)];
  }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool coin() { return pick(2) == 1; }

  std::mt19937 rng_;
};

TEST(OipSimpleRequest, GeneratedBodiesGiveTheFullParsersRequest) {
  int accepted = 0;
  for (uint32_t seed = 1; seed <= 3000; ++seed) {
    Generator g(seed);
    bool simple = true;
    const std::string body = g.body(simple);
    check(body, simple);
    accepted += simple;
  }
  EXPECT_GT(accepted, 2000);
}

TEST(OipSimpleRequest, TheCommonRequestIsAccepted) {
  check(R"({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [0.5, -1, 2e3]}]})", true);
  check(R"({"id":"a","inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[[1,2],[3,4]]},)"
        R"({"name":"mask","shape":[2,2],"datatype":"UINT8","data":[1,0,-0,1]}]})",
        true);
  check(R"({"inputs": [{"name": "s", "shape": [], "datatype": "INT64", "data": -5}]})", true);
}

TEST(OipSimpleRequest, EverythingElseIsLeftToTheFullParser) {
  const char* bodies[] = {
      // valid, but outside the fast grammar
      R"({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, null]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "data": [true]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}], "outputs": [{"name": "scores"}]})",
      R"({"parameters": {"binary_data_output": true}, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x\u0041", "shape": [1], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "é", "shape": [1], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1], "parameters": {}}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1e400]}]})",
      // wrong: the full parser names the problem
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [01]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [+1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [.5]}]})",
      R"({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1, 2]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1.5]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "UINT32", "data": [-1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP8", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1.0], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1,1,1,1,1,1,1,1,1], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [65536, 65536, 2], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [[[[[[[[[1]]]]]]]]]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}, {"name": "x", "shape": [1], "datatype": "FP32", "data": [2]}]})",
      R"({"inputs": [{"name": "x", "name": "y", "shape": [1], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]} trailing)",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1,]}]})",
      R"({"inputs": []})",
      R"({"id": 5, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]})",
      R"({})",
      R"([])",
      "",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]})",
  };
  for (const char* body : bodies) EXPECT_FALSE(parse_simple_infer_request(body).has_value()) << body;
}

}  // namespace
}  // namespace m4h::serve::oip
