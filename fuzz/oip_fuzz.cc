// Fuzzes the OIP v2 codec (serve/oip.h): any body, with or without a binary part, either fails
// with m4h::Error or parses into tensors whose element counts match their shapes; turning them
// into a model's inputs and encoding a response may only throw m4h::Error, and what comes out is
// consistent (rows x width features, one raw event per row). Anything else is a bug.
// The request fast path is checked against the full parser: whatever it accepts, the full parser
// accepts too, with the same request to the bit.
// Input: a leading 'B' and two bytes of JSON header length select the binary extension;
// otherwise the whole input is the JSON body.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "serve/oip.h"

namespace {

using namespace m4h::serve;

[[noreturn]] void bug() { std::abort(); }

ModelMetadata make_metadata() {
  ModelMetadata md;
  md.name = "m";
  md.version = "1";
  md.inputs = {{"x", "FP32", {-1, 3}}, {"mask", "FP32", {-1, 3}}};
  md.outputs = {{"scores", "FP32", {-1, 1}}};
  md.feature_names = {"f0", "f1", "f2"};
  md.branches = {"a", "b"};
  return md;
}

bool same(const oip::InferRequest& a, const oip::InferRequest& b) {
  if (a.id != b.id || a.inputs.size() != b.inputs.size() || !b.outputs.empty() ||
      a.binary_output != b.binary_output || a.rejected_as_nan != b.rejected_as_nan)
    return false;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const oip::Tensor& x = a.inputs[i];
    const oip::Tensor& y = b.inputs[i];
    if (x.name != y.name || x.datatype != y.datatype || x.shape != y.shape || !y.strings.empty() ||
        x.values.size() != y.values.size() ||
        (!x.values.empty() && std::memcmp(x.values.data(), y.values.data(), x.values.size() * sizeof(double)) != 0))
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 16) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::optional<uint64_t> header;
  if (in.size() >= 3 && in[0] == 'B') {
    header = static_cast<uint8_t>(in[1]) | (static_cast<uint64_t>(static_cast<uint8_t>(in[2])) << 8);
    in.remove_prefix(3);
  }
  static const ModelMetadata md = make_metadata();
  if (!header) {
    if (auto fast = oip::parse_simple_infer_request(in)) {
      try {
        if (!same(*fast, oip::parse_infer_request_document(in, std::nullopt))) bug();
      } catch (const m4h::Error&) {
        bug();  // the fast path took a body the full parser rejects
      }
    }
  }
  oip::InferRequest req;
  try {
    req = oip::parse_infer_request(in, header);
  } catch (const m4h::Error&) {
    return 0;
  }
  for (const oip::Tensor& t : req.inputs) {
    const size_t n = t.values.size() + t.strings.size();
    if (static_cast<int64_t>(n) != t.elements()) bug();
  }
  try {
    oip::ModelInputs mi = oip::to_model_inputs(req, md);
    if (!mi.raw) {
      if (static_cast<int64_t>(mi.batch.x.size()) != mi.batch.rows * mi.batch.width) bug();
      if (!mi.batch.mask.empty() && mi.batch.mask.size() != mi.batch.x.size()) bug();
    } else {
      for (const RawEvent& e : mi.events) {
        if (e.size() != req.inputs.size()) bug();
      }
    }
    oip::InferResponse resp;
    resp.model_name = md.name;
    resp.model_version = md.version;
    resp.id = req.id;
    resp.shape = {mi.rows(), 1};
    resp.scores.assign(static_cast<size_t>(std::min<int64_t>(mi.rows(), 1024)), 0.5f);
    oip::EncodedResponse enc = oip::encode_infer_response(resp, req);
    if (enc.header_length && *enc.header_length + resp.scores.size() * 4 != enc.body.size()) bug();
  } catch (const m4h::Error&) {
  }
  return 0;
}
