#include "serve/oip.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace m4h::serve::oip {
namespace {

using nlohmann::json;

static_assert(std::endian::native == std::endian::little,
              "the binary tensor extension is little-endian; add byte swaps for this host");

constexpr int64_t kMaxRawRows = int64_t{1} << 20;  // events are maps: bound them even when empty

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::kInvalidArgument, what); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool is_integer_type(std::string_view t) { return t.starts_with("INT") || t.starts_with("UINT"); }

const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// How the elements of a JSON tensor are read, from its datatype (looked up once per tensor).
enum class ElementKind { kBytes, kBool, kUnsigned, kSigned, kFloat };

ElementKind element_kind(std::string_view type) {
  if (type == "BYTES") return ElementKind::kBytes;
  if (type == "BOOL") return ElementKind::kBool;
  if (type.starts_with("UINT")) return ElementKind::kUnsigned;
  if (is_integer_type(type)) return ElementKind::kSigned;
  return ElementKind::kFloat;
}

// Flat or nested JSON data -> values, checking each element against the datatype. Runs once
// per element: error messages are built only on an error.
void flatten(const json& data, const Tensor& t, ElementKind kind, size_t limit, int depth,
             std::vector<double>& values, std::vector<std::string>& strings) {
  auto where = [&t] { return "input '" + t.name + "': data"; };
  if (data.is_array()) {
    if (depth >= kMaxRank) bad(where() + " nested deeper than " + std::to_string(kMaxRank));
    for (const json& e : data) {
      flatten(e, t, kind, limit, depth + 1, values, strings);
      if (values.size() + strings.size() > limit) {
        bad(where() + " has more than the " + std::to_string(t.elements()) + " elements of shape " +
            shape_text(t.shape));
      }
    }
    return;
  }
  switch (kind) {
    case ElementKind::kBytes:
      if (!data.is_string()) bad(where() + ": BYTES elements must be strings");
      strings.push_back(data.get<std::string>());
      return;
    case ElementKind::kBool:
      if (!data.is_boolean()) bad(where() + ": BOOL elements must be true or false");
      values.push_back(data.get<bool>() ? 1.0 : 0.0);
      return;
    case ElementKind::kUnsigned:
    case ElementKind::kSigned:
      if (data.is_number_unsigned()) {
        values.push_back(static_cast<double>(data.get<uint64_t>()));
      } else if (data.is_number_integer()) {
        if (kind == ElementKind::kUnsigned && data.get<int64_t>() < 0)
          bad(where() + ": " + t.datatype + " element below 0");
        values.push_back(static_cast<double>(data.get<int64_t>()));
      } else {
        bad(where() + ": " + t.datatype + " elements must be integers");
      }
      return;
    case ElementKind::kFloat:
      if (data.is_number_float()) {
        values.push_back(data.get<double>());
      } else if (data.is_null()) {
        values.push_back(std::numeric_limits<double>::quiet_NaN());  // JSON has no NaN
      } else if (data.is_number()) {
        values.push_back(data.get<double>());
      } else {
        bad(where() + ": " + t.datatype + " elements must be numbers (or null for NaN)");
      }
      return;
  }
}

template <typename T>
void append_le(std::string_view bytes, std::vector<double>& out) {
  const size_t n = bytes.size() / sizeof(T);
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<double>(v);
  }
}

void decode_binary(std::string_view bytes, Tensor& t) {
  const std::string where = "input '" + t.name + "': binary data";
  const std::string& type = t.datatype;
  if (type == "BYTES") {
    size_t pos = 0;
    while (pos < bytes.size()) {
      if (bytes.size() - pos < 4) bad(where + ": truncated BYTES length prefix");
      uint32_t len;
      std::memcpy(&len, bytes.data() + pos, 4);
      pos += 4;
      if (bytes.size() - pos < len) bad(where + ": BYTES element runs past binary_data_size");
      t.strings.emplace_back(bytes.substr(pos, len));
      pos += len;
    }
    if (static_cast<int64_t>(t.strings.size()) != t.elements()) {
      bad(where + " holds " + std::to_string(t.strings.size()) + " BYTES elements, shape " +
          shape_text(t.shape) + " needs " + std::to_string(t.elements()));
    }
    return;
  }
  const int size = datatype_size(type);
  if (static_cast<int64_t>(bytes.size()) != t.elements() * size) {
    bad(where + ": binary_data_size " + std::to_string(bytes.size()) + " but shape " +
        shape_text(t.shape) + " of " + type + " needs " + std::to_string(t.elements() * size));
  }
  if (type == "BOOL" || type == "UINT8") append_le<uint8_t>(bytes, t.values);
  else if (type == "INT8") append_le<int8_t>(bytes, t.values);
  else if (type == "INT16") append_le<int16_t>(bytes, t.values);
  else if (type == "UINT16") append_le<uint16_t>(bytes, t.values);
  else if (type == "INT32") append_le<int32_t>(bytes, t.values);
  else if (type == "UINT32") append_le<uint32_t>(bytes, t.values);
  else if (type == "INT64") append_le<int64_t>(bytes, t.values);
  else if (type == "UINT64") append_le<uint64_t>(bytes, t.values);
  else if (type == "FP32") append_le<float>(bytes, t.values);
  else if (type == "FP64") append_le<double>(bytes, t.values);
  else throw Error(ErrorCode::kUnsupported, where + ": datatype " + type + " in binary form");
  if (type == "BOOL") {
    for (double& v : t.values) v = v != 0;
  }
}

Tensor parse_tensor(const json& in, size_t index, std::string_view& binary) {
  if (!in.is_object()) bad("inputs[" + std::to_string(index) + "]: not an object");
  Tensor t;
  const json* name = member(in, "name");
  if (!name || !name->is_string()) bad("inputs[" + std::to_string(index) + "]: 'name' missing or not a string");
  t.name = name->get<std::string>();
  const std::string where = "input '" + t.name + "'";
  const json* type = member(in, "datatype");
  if (!type || !type->is_string()) bad(where + ": 'datatype' missing or not a string");
  t.datatype = type->get<std::string>();
  datatype_size(t.datatype);  // known?
  const json* shape = member(in, "shape");
  if (!shape || !shape->is_array()) bad(where + ": 'shape' missing or not an array");
  if (shape->size() > kMaxRank) bad(where + ": shape of rank over " + std::to_string(kMaxRank));
  int64_t elements = 1;
  for (const json& d : *shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) bad(where + ": shape dimensions must be integers >= 0");
    const int64_t v = d.get<int64_t>();
    if (v > 0 && elements > kMaxElements / v) bad(where + ": shape " + d.dump() + "... too large");
    elements *= v;
    t.shape.push_back(v);
  }
  if (elements > kMaxElements) bad(where + ": shape too large");

  std::optional<int64_t> binary_size;
  if (const json* params = member(in, "parameters")) {
    if (!params->is_object()) bad(where + ": 'parameters' not an object");
    if (const json* b = member(*params, "binary_data_size")) {
      if (!b->is_number_integer() || b->get<int64_t>() < 0) bad(where + ": binary_data_size must be an integer >= 0");
      binary_size = b->get<int64_t>();
    }
  }
  const json* data = member(in, "data");
  if (binary_size) {
    if (data) bad(where + ": both 'data' and binary_data_size");
    if (static_cast<uint64_t>(*binary_size) > binary.size()) {
      bad(where + ": binary_data_size " + std::to_string(*binary_size) + " but only " +
          std::to_string(binary.size()) + " binary bytes left in the body");
    }
    decode_binary(binary.substr(0, static_cast<size_t>(*binary_size)), t);
    binary.remove_prefix(static_cast<size_t>(*binary_size));
    return t;
  }
  if (!data) bad(where + ": 'data' missing (and no binary_data_size)");
  const auto limit = static_cast<size_t>(t.elements());
  const ElementKind kind = element_kind(t.datatype);
  const size_t expect = std::min<size_t>(limit, 1 << 16);  // a shape alone must not reserve gigabytes
  if (kind == ElementKind::kBytes) t.strings.reserve(expect);
  else t.values.reserve(expect);
  flatten(*data, t, kind, limit, 0, t.values, t.strings);
  const size_t got = t.values.size() + t.strings.size();
  if (static_cast<int64_t>(got) != t.elements()) {
    bad(where + ": shape " + shape_text(t.shape) + " needs " + std::to_string(t.elements()) +
        " elements, data has " + std::to_string(got));
  }
  return t;
}

// Per-event values of one raw-branch tensor.
void fill_events(const Tensor& t, std::vector<RawEvent>& events) {
  const std::string where = "input '" + t.name + "'";
  const size_t rows = events.size();
  if (t.datatype == "BYTES") {
    if (t.shape.size() != 1) bad(where + ": BYTES branch tensors are [rows], got " + shape_text(t.shape));
    for (size_t r = 0; r < rows; ++r) {
      json list = json::parse(t.strings[r], nullptr, false);
      if (list.is_discarded() || !list.is_array()) {
        bad(where + ": element " + std::to_string(r) + " is not the JSON text of a list of numbers");
      }
      auto& out = events[r][t.name];
      for (const json& v : list) {
        if (!v.is_number()) bad(where + ": element " + std::to_string(r) + " holds a non-number");
        out.push_back(v.get<double>());
      }
    }
    return;
  }
  if (t.shape.size() == 1) {
    for (size_t r = 0; r < rows; ++r) events[r][t.name] = {t.values[r]};
    return;
  }
  if (t.shape.size() != 2) bad(where + ": branch tensors are [rows] or [rows, n], got " + shape_text(t.shape));
  const size_t n = static_cast<size_t>(t.shape[1]);
  for (size_t r = 0; r < rows; ++r) {
    const double* row = t.values.data() + r * n;
    size_t len = n;
    while (len > 0 && std::isnan(row[len - 1])) --len;  // NaN padding on the right
    events[r][t.name].assign(row, row + len);
  }
}

}  // namespace

int64_t Tensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int datatype_size(std::string_view t) {
  if (t == "BOOL" || t == "UINT8" || t == "INT8") return 1;
  if (t == "UINT16" || t == "INT16" || t == "FP16") return 2;
  if (t == "UINT32" || t == "INT32" || t == "FP32") return 4;
  if (t == "UINT64" || t == "INT64" || t == "FP64") return 8;
  if (t == "BYTES") return 0;
  throw Error(ErrorCode::kUnsupported, "datatype '" + std::string(t) + "' (known: BOOL, INT8-64, UINT8-64, FP16-64, BYTES)");
}

InferRequest parse_infer_request(std::string_view body, std::optional<uint64_t> header_length) {
  if (!header_length)
    if (auto simple = parse_simple_infer_request(body)) return std::move(*simple);
  return parse_infer_request_document(body, header_length);
}

InferRequest parse_infer_request_document(std::string_view body, std::optional<uint64_t> header_length) {
  std::string_view head = body, binary;
  if (header_length) {
    if (*header_length > body.size()) {
      bad("Inference-Header-Content-Length " + std::to_string(*header_length) +
          " is over the body's " + std::to_string(body.size()) + " bytes");
    }
    head = body.substr(0, static_cast<size_t>(*header_length));
    binary = body.substr(static_cast<size_t>(*header_length));
  }
  json j;
  try {
    j = json::parse(head);
  } catch (const json::exception& e) {
    bad(std::string("request body: malformed JSON: ") + e.what());
  }
  if (!j.is_object()) bad("request body: not a JSON object");
  InferRequest req;
  if (const json* id = member(j, "id")) {
    if (!id->is_string()) bad("'id' is not a string");
    req.id = id->get<std::string>();
  }
  if (const json* params = member(j, "parameters")) {
    if (!params->is_object()) bad("'parameters' is not an object");
    if (const json* b = member(*params, "binary_data_output")) {
      if (!b->is_boolean()) bad("parameters.binary_data_output is not a boolean");
      req.binary_output = b->get<bool>();
    }
    if (const json* r = member(*params, "rejected_events")) {
      if (!r->is_string() || (*r != "nan" && *r != "error"))
        bad("parameters.rejected_events is not \"nan\" or \"error\"");
      req.rejected_as_nan = *r == "nan";
    }
  }
  const json* inputs = member(j, "inputs");
  if (!inputs || !inputs->is_array() || inputs->empty()) bad("'inputs' missing, empty or not an array");
  for (size_t i = 0; i < inputs->size(); ++i) {
    Tensor t = parse_tensor((*inputs)[i], i, binary);
    for (const Tensor& other : req.inputs) {
      if (other.name == t.name) bad("input '" + t.name + "' given twice");
    }
    req.inputs.push_back(std::move(t));
  }
  if (!binary.empty()) {
    bad(std::to_string(binary.size()) + " binary bytes after the tensors' binary_data_size");
  }
  if (const json* outputs = member(j, "outputs")) {
    if (!outputs->is_array()) bad("'outputs' is not an array");
    for (const json& o : *outputs) {
      const json* name = o.is_object() ? member(o, "name") : nullptr;
      if (!name || !name->is_string()) bad("outputs[]: 'name' missing or not a string");
      RequestedOutput out{name->get<std::string>(), std::nullopt};
      if (const json* params = member(o, "parameters")) {
        const json* b = params->is_object() ? member(*params, "binary_data") : nullptr;
        if (b && !b->is_boolean()) bad("output '" + out.name + "': binary_data is not a boolean");
        if (b) out.binary = b->get<bool>();
      }
      req.outputs.push_back(std::move(out));
    }
  }
  return req;
}

ModelInputs to_model_inputs(const InferRequest& request, const ModelMetadata& metadata) {
  const std::string x_name = metadata.inputs.empty() ? "x" : metadata.inputs[0].name;
  const Tensor* x = nullptr;
  const Tensor* mask = nullptr;
  for (const Tensor& t : request.inputs) {
    if (t.name == x_name || t.name == "x") x = &t;
    if (t.name == "mask") mask = &t;
  }
  ModelInputs out;
  if (x) {
    for (const Tensor& t : request.inputs) {
      if (&t != x && &t != mask) bad("input '" + t.name + "': unexpected next to '" + x->name + "' (features and optionally mask)");
    }
    if (x->datatype == "BYTES") bad("input '" + x->name + "': features must be numeric, not BYTES");
    if (x->shape.size() != 2) bad("input '" + x->name + "': shape " + shape_text(x->shape) + ", expected [rows, width]");
    const int64_t width = metadata.inputs.empty() ? 0 : metadata.inputs[0].shape.back();
    if (width > 0 && x->shape[1] != width) {
      bad("input '" + x->name + "': shape " + shape_text(x->shape) + " but the model takes " +
          std::to_string(width) + " features per row");
    }
    out.batch.rows = x->shape[0];
    out.batch.width = x->shape[1];
    out.batch.x.assign(x->values.begin(), x->values.end());
    if (mask) {
      if (mask->shape != x->shape) bad("input 'mask': shape " + shape_text(mask->shape) + " differs from " + x->name + "'s " + shape_text(x->shape));
      if (mask->datatype == "BYTES") bad("input 'mask': must be BOOL or numeric, not BYTES");
      out.batch.mask.reserve(mask->values.size());
      for (double v : mask->values) out.batch.mask.push_back(v != 0);
    }
    return out;
  }
  if (mask) bad("input 'mask' without '" + x_name + "'");
  out.raw = true;
  const Tensor& first = request.inputs.at(0);
  if (first.shape.empty()) bad("input '" + first.name + "': shape [] has no rows dimension");
  const int64_t rows = first.shape[0];
  if (rows > kMaxRawRows) bad("input '" + first.name + "': over " + std::to_string(kMaxRawRows) + " raw events in one request");
  for (const Tensor& t : request.inputs) {
    if (t.shape.empty() || t.shape[0] != rows) {
      bad("input '" + t.name + "': shape " + shape_text(t.shape) + " but '" + first.name + "' has " +
          std::to_string(rows) + " rows");
    }
    if (!metadata.branches.empty() &&
        std::find(metadata.branches.begin(), metadata.branches.end(), t.name) == metadata.branches.end()) {
      std::string known;
      for (const auto& b : metadata.branches) known += (known.empty() ? "" : ", ") + b;
      bad("input '" + t.name + "': neither '" + x_name + "' nor a branch the model reads (" + known + ")");
    }
  }
  for (const std::string& b : metadata.branches) {
    bool found = false;
    for (const Tensor& t : request.inputs) found = found || t.name == b;
    if (!found) bad("no input for branch '" + b + "' (raw inputs need every branch the model reads)");
  }
  out.events.resize(static_cast<size_t>(rows));
  for (const Tensor& t : request.inputs) fill_events(t, out.events);
  return out;
}

namespace {

void append_json_string(std::string& out, const std::string& s) {
  out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// As nlohmann writes a double: the shortest text that reads back the same; NaN and inf as null.
void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;
  out.append(text, end);
}

}  // namespace

void check_requested_outputs(const std::string& output_name, const InferRequest& request) {
  for (const RequestedOutput& o : request.outputs) {
    if (o.name != output_name) bad("output '" + o.name + "': the model has only '" + output_name + "'");
  }
}

EncodedResponse encode_infer_response(const InferResponse& response, const InferRequest& request) {
  check_requested_outputs(response.output_name, request);
  bool binary = request.binary_output;
  for (const RequestedOutput& o : request.outputs) {
    if (o.binary) binary = *o.binary;
  }
  // Written by hand, keys in the order nlohmann's objects give them (sorted): a DOM and its
  // dump cost more than the model on one-row requests.
  EncodedResponse enc;
  std::string& body = enc.body;
  body.reserve(160 + (binary ? 0 : 24 * response.scores.size()));
  body += '{';
  if (!response.id.empty()) {
    body += "\"id\":";
    append_json_string(body, response.id);
    body += ',';
  }
  body += "\"model_name\":";
  append_json_string(body, response.model_name);
  body += ",\"model_version\":";
  append_json_string(body, response.model_version);
  body += ",\"outputs\":[{";
  if (!binary) {
    body += "\"data\":[";
    for (size_t i = 0; i < response.scores.size(); ++i) {
      if (i) body += ',';
      append_json_number(body, response.scores[i]);
    }
    body += "],";
  }
  body += "\"datatype\":\"FP32\",\"name\":";
  append_json_string(body, response.output_name);
  if (binary) body += ",\"parameters\":{\"binary_data_size\":" + std::to_string(response.scores.size() * sizeof(float)) + '}';
  body += ",\"shape\":[";
  for (size_t i = 0; i < response.shape.size(); ++i) {
    if (i) body += ',';
    body += std::to_string(response.shape[i]);
  }
  body += "]}]}";
  enc.content_type = "application/json";
  if (binary) {
    enc.header_length = enc.body.size();
    enc.body.append(reinterpret_cast<const char*>(response.scores.data()),
                    response.scores.size() * sizeof(float));
    enc.content_type = "application/octet-stream";
  }
  return enc;
}

}  // namespace m4h::serve::oip
