// The common all-JSON inference request read in one pass without a JSON document: building
// nlohmann's DOM (a node per number) cost more than a small model's prediction. Anything
// outside the narrow grammar below returns nullopt, and the full parser reads the body instead,
// so every error message and every unusual request keeps one implementation.
#include <algorithm>

#include "core/error.h"
#include "serve/json_scan.h"
#include "serve/oip.h"

namespace m4h::serve::oip {
namespace {

enum class Kind { kSigned, kUnsigned, kFloat };

// data: a number or nested arrays of numbers, at most kMaxRank deep and `limit` values.
bool data(JsonScanner& s, Kind kind, std::size_t limit, int depth, std::vector<double>& out) {
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

bool shape(JsonScanner& s, std::vector<int64_t>& dims, int64_t& elements) {
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

bool tensor(JsonScanner& s, Tensor& t) {
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
  JsonScanner s{body.data(), body.data() + body.size()};
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
  if (!s.eat('}') || !has_inputs || !s.at_end()) return std::nullopt;
  return req;
}

}  // namespace m4h::serve::oip
