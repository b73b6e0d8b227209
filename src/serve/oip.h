// The Open Inference Protocol v2 (KServe/Triton) inference codec as pure functions: request
// bodies (JSON tensors, or JSON + the binary tensor data extension) -> tensors -> the model's
// inputs, and scores -> response bodies. No I/O, no model calls: fuzzed by fuzz/oip_fuzz.cc.
//
// Inputs a request may carry (to_model_inputs):
//  - features: one tensor named "x" (or the model's first input name), [rows, width], any
//    numeric datatype, already normalised as the model's specs say; optional "mask" of the same
//    shape (nonzero = a real value).
//  - raw branches: one tensor per branch the model reads (ModelMetadata::branches), named after
//    it, rows first. [rows] or [rows, 1]: one value per event. [rows, n]: a jagged branch padded
//    on the right with NaN (null in JSON data): trailing NaNs are dropped per event. Or BYTES
//    [rows], each element the JSON text of that event's list ("[1.5, 2]").
// Every error is m4h::Error kInvalidArgument (or kUnsupported) naming the tensor and field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serve/model.h"

namespace m4h::serve::oip {

struct Tensor {
  std::string name;
  std::string datatype;  // "FP32", "INT64", "BOOL", "BYTES", ...
  std::vector<int64_t> shape;
  std::vector<double> values;        // numeric datatypes (BOOL as 0/1; JSON null as NaN)
  std::vector<std::string> strings;  // BYTES
  int64_t elements() const;          // product of shape
};

struct RequestedOutput {
  std::string name;
  std::optional<bool> binary;  // parameters.binary_data
};

struct InferRequest {
  std::string id;
  std::vector<Tensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty: all
  bool binary_output = false;            // parameters.binary_data_output
  // parameters.rejected_events = "nan" (our extension, for raw branches): an event the bundle's
  // pre-processing cuts reject scores NaN instead of failing the request ("error", the default).
  bool rejected_as_nan = false;
};

// Bounds on a request's tensors: rank, and elements of one tensor.
inline constexpr int kMaxRank = 8;
inline constexpr int64_t kMaxElements = int64_t{1} << 32;

// Parses a request body. header_length: the Inference-Header-Content-Length header (the JSON
// part's size; the binary tensors follow it in input order, one per input whose parameters
// carry binary_data_size), or nullopt for an all-JSON body.
InferRequest parse_infer_request(std::string_view body, std::optional<uint64_t> header_length);

// The common all-JSON request ("id" and "inputs" of numeric tensors with name, shape, datatype
// and data: nothing else, no escapes) read without building a JSON document; nullopt for any
// other body, which parse_infer_request then reads in full (and rejects when it is wrong). For
// every body this accepts, the full parser gives the same request.
std::optional<InferRequest> parse_simple_infer_request(std::string_view body);
// The full parser alone (what parse_infer_request falls back to).
InferRequest parse_infer_request_document(std::string_view body, std::optional<uint64_t> header_length);

// What the model gets: features, or raw events for Model::normalise().
struct ModelInputs {
  bool raw = false;
  InputBatch batch;             // !raw
  std::vector<RawEvent> events;  // raw
  int64_t rows() const { return raw ? static_cast<int64_t>(events.size()) : batch.rows; }
};
ModelInputs to_model_inputs(const InferRequest& request, const ModelMetadata& metadata);

struct InferResponse {
  std::string model_name, model_version, id;
  std::string output_name = "scores";
  std::vector<int64_t> shape;  // [rows, outputs]
  std::vector<float> scores;
};

struct EncodedResponse {
  std::string body;
  std::optional<uint64_t> header_length;  // set: send Inference-Header-Content-Length
  std::string content_type;               // application/json or application/octet-stream
};

// Encodes the response, in binary when the request asked for it (per output, or by default).
// Throws kInvalidArgument when the request names an output the model does not have.
EncodedResponse encode_infer_response(const InferResponse& response, const InferRequest& request);
// The same check alone, before the model runs: kInvalidArgument for an output it does not have.
void check_requested_outputs(const std::string& output_name, const InferRequest& request);

// Bytes per element of an OIP datatype (0 for BYTES); throws kUnsupported for unknown ones.
int datatype_size(std::string_view datatype);

}  // namespace m4h::serve::oip
