// The common all-JSON inference request read in one pass without a JSON document: building
// nlohmann's DOM (a node per number) cost more than a small model's prediction. Anything
// outside the narrow grammar below returns nullopt, and the full parser reads the body instead,
// so every error message and every unusual request keeps one implementation.
#include <algorithm>
#include <charconv>

#include "core/error.h"
#include "serve/oip.h"

namespace m4h::serve::oip {
namespace {

enum class Kind { kSigned, kUnsigned, kFloat };

struct Scanner {
  const char* p;
  const char* end;

  void ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  bool eat(char c) {
    ws();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  // A string of printable ASCII without escapes (anything else: the full parser decodes it).
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const char* begin = p;
    while (p < end && *p != '"') {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++p;
    }
    if (p == end) return false;
    out = std::string_view(begin, static_cast<std::size_t>(p - begin));
    ++p;
    return true;
  }
  // A JSON number, converted as nlohmann does: integers exactly (then to double), other numbers
  // by correctly rounded decimal conversion. `integral`: no fraction or exponent.
  bool number(double& v, bool& integral, bool& negative) {
    ws();
    const char* begin = p;
    const char* q = p;
    negative = q < end && *q == '-';
    if (negative) ++q;
    if (q == end || *q < '0' || *q > '9') return false;
    if (*q == '0') {
      ++q;
    } else {
      while (q < end && *q >= '0' && *q <= '9') ++q;
    }
    integral = true;
    if (q < end && *q == '.') {
      integral = false;
      ++q;
      if (q == end || *q < '0' || *q > '9') return false;
      while (q < end && *q >= '0' && *q <= '9') ++q;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
      integral = false;
      ++q;
      if (q < end && (*q == '+' || *q == '-')) ++q;
      if (q == end || *q < '0' || *q > '9') return false;
      while (q < end && *q >= '0' && *q <= '9') ++q;
    }
    p = q;
    if (integral) {  // nlohmann keeps these as int64 (negative) or uint64: "-0" is 0
      if (negative) {
        int64_t i = 0;
        if (std::from_chars(begin, q, i).ec == std::errc()) {
          v = static_cast<double>(i);
          return true;
        }
      } else {
        uint64_t u = 0;
        if (std::from_chars(begin, q, u).ec == std::errc()) {
          v = static_cast<double>(u);
          return true;
        }
      }
      integral = false;  // out of range: nlohmann reads it as a floating-point number
    }
    const auto r = std::from_chars(begin, q, v);
    return r.ec == std::errc() && r.ptr == q;  // overflow: the full parser reports it
  }
};

// data: a number or nested arrays of numbers, at most kMaxRank deep and `limit` values.
bool data(Scanner& s, Kind kind, std::size_t limit, int depth, std::vector<double>& out) {
  if (s.eat('[')) {
    if (depth >= kMaxRank) return false;
    if (s.eat(']')) return true;
    do {
      if (!data(s, kind, limit, depth + 1, out)) return false;
    } while (s.eat(','));
    return s.eat(']');
  }
  double v = 0;
  bool integral = false, negative = false;
  if (!s.number(v, integral, negative)) return false;
  if (kind != Kind::kFloat && (!integral || (kind == Kind::kUnsigned && negative && v != 0))) return false;
  if (out.size() >= limit) return false;
  out.push_back(v);
  return true;
}

bool shape(Scanner& s, std::vector<int64_t>& dims, int64_t& elements) {
  if (!s.eat('[')) return false;
  elements = 1;
  if (s.eat(']')) return true;
  do {
    double v = 0;
    bool integral = false, negative = false;
    if (!s.number(v, integral, negative) || !integral || negative) return false;
    if (dims.size() >= static_cast<std::size_t>(kMaxRank) || v > static_cast<double>(kMaxElements)) return false;
    const auto d = static_cast<int64_t>(v);
    if (d > 0 && elements > kMaxElements / d) return false;
    elements *= d;
    dims.push_back(d);
  } while (s.eat(','));
  return s.eat(']') && elements <= kMaxElements;
}

bool tensor(Scanner& s, Tensor& t) {
  if (!s.eat('{')) return false;
  bool has_name = false, has_type = false, has_shape = false, has_data = false;
  int64_t elements = 0;
  do {
    std::string_view key;
    if (!s.string(key) || !s.eat(':')) return false;
    if (key == "name" && !has_name) {
      std::string_view v;
      if (!s.string(v)) return false;
      t.name.assign(v);
      has_name = true;
    } else if (key == "datatype" && !has_type) {
      std::string_view v;
      if (!s.string(v)) return false;
      if (v != "FP32" && v != "FP64" && v != "FP16" && !v.starts_with("INT") && !v.starts_with("UINT")) return false;
      try {
        datatype_size(v);
      } catch (const Error&) {
        return false;
      }
      t.datatype.assign(v);
      has_type = true;
    } else if (key == "shape" && !has_shape) {
      if (!shape(s, t.shape, elements)) return false;
      has_shape = true;
    } else if (key == "data" && !has_data && has_type && has_shape) {
      const Kind kind = t.datatype.starts_with("UINT") ? Kind::kUnsigned
                        : t.datatype.starts_with("INT") ? Kind::kSigned
                                                        : Kind::kFloat;
      const auto limit = static_cast<std::size_t>(elements);
      t.values.reserve(std::min<std::size_t>(limit, 1 << 16));
      if (!data(s, kind, limit, 0, t.values) || t.values.size() != limit) return false;
      has_data = true;
    } else {
      return false;  // parameters, BYTES, data before its shape, repeated keys: the full parser
    }
  } while (s.eat(','));
  return s.eat('}') && has_name && has_data;
}

}  // namespace

std::optional<InferRequest> parse_simple_infer_request(std::string_view body) {
  Scanner s{body.data(), body.data() + body.size()};
  InferRequest req;
  bool has_id = false, has_inputs = false;
  if (!s.eat('{')) return std::nullopt;
  do {
    std::string_view key;
    if (!s.string(key) || !s.eat(':')) return std::nullopt;
    if (key == "id" && !has_id) {
      std::string_view v;
      if (!s.string(v)) return std::nullopt;
      req.id.assign(v);
      has_id = true;
    } else if (key == "inputs" && !has_inputs) {
      if (!s.eat('[')) return std::nullopt;
      do {
        Tensor t;
        if (!tensor(s, t)) return std::nullopt;
        for (const Tensor& other : req.inputs)
          if (other.name == t.name) return std::nullopt;
        req.inputs.push_back(std::move(t));
      } while (s.eat(','));
      if (!s.eat(']')) return std::nullopt;
      has_inputs = true;
    } else {
      return std::nullopt;
    }
  } while (s.eat(','));
  if (!s.eat('}') || !has_inputs) return std::nullopt;
  s.ws();
  if (s.p != s.end) return std::nullopt;
  return req;
}

}  // namespace m4h::serve::oip
