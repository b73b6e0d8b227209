// The inference layer's model side, in plain C++ (no torch, XGBoost or Boost header): a loaded
// model version, the repository of training bundles that holds them, and the dynamic batcher in
// front of each. The HTTP routes (OIP v2, TFaaS) see only this header.
//
// Repository layout: ROOT/NAME/VERSION/bundle.json (VERSION a positive integer, the highest is
// the default), or ROOT/NAME/bundle.json (version 1). A bundle is `mlaas4hep train`'s --fout
// folder as it is (src/train/train.h gives its layout).
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace m4h::serve {

// A batch of model inputs as the model takes them: features normalised as the bundle's specs
// say, row-major rows x width; mask 1 = a real value (empty: every value is real).
struct InputBatch {
  std::vector<float> x;
  std::vector<uint8_t> mask;
  int64_t rows = 0;
  int64_t width = 0;
};

// Events as they are in the ROOT file, before the specs' normalisation and padding: per event,
// branch name -> values (one for a flat branch, any number for a jagged one). Branches the
// model does not use are ignored; a missing one is an error naming it.
using RawEvent = std::map<std::string, std::vector<double>>;

struct TensorInfo {
  std::string name;
  std::string datatype;        // OIP names: "FP32", "INT64", ...
  std::vector<int64_t> shape;  // -1 = any (the batch dimension)
};

struct ModelMetadata {
  std::string name;
  std::string version;          // "1", "2", ...
  std::string platform;         // "pytorch_torchscript" or "xgboost"
  std::vector<TensorInfo> inputs;   // "x" [-1, width] FP32, and "mask" [-1, width] when it takes one
  std::vector<TensorInfo> outputs;  // "scores" [-1, outputs] FP32 (probabilities)
  std::vector<std::string> feature_names;  // the columns of x, in order
  std::vector<std::string> branches;       // the raw branches normalise() needs
};

// One loaded model version. Immutable once loaded; infer() and normalise() are thread-safe.
class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelMetadata& metadata() const = 0;
  int64_t width() const { return metadata().inputs.empty() ? 0 : metadata().inputs[0].shape.back(); }
  int64_t outputs() const { return metadata().outputs.empty() ? 1 : metadata().outputs[0].shape.back(); }
  // Probabilities, rows x outputs() (binary: P(label 1)), as the bundle's metrics were made.
  // Throws m4h::Error kInvalidArgument for a batch of another width.
  virtual std::vector<float> infer(const InputBatch& batch) const = 0;
  // Raw events -> the model's inputs (normalised, padded, masked as in training).
  virtual InputBatch normalise(const std::vector<RawEvent>& events) const = 0;
};

// Loads one bundle folder (TorchScript or XGBoost). Throws m4h::Error kNotFound, kCorrupt,
// kInvalidArgument naming the folder and the file.
std::shared_ptr<const Model> load_bundle(const std::string& folder, const std::string& name,
                                         const std::string& version);

struct BatchingOptions {
  int64_t max_batch_rows = 64;  // rows executed together at most (0: no dynamic batching)
  std::chrono::microseconds max_queue_delay{500};  // longest wait for more requests
};

struct RepositoryOptions {
  std::string root;               // the repository folder
  int64_t max_loaded = 0;         // models loaded at once; 0 = no cap (else least recently used out)
  double poll_seconds = 0;        // rescan ROOT for new versions and models; 0 = only on API calls
  BatchingOptions batching;       // default for every model (a bundle's serve.json may override)
};

enum class ModelState { kReady, kUnavailable, kLoading };

struct ModelStatus {
  std::string name;
  std::string version;   // the version loaded (or the latest on disk when not loaded)
  ModelState state = ModelState::kUnavailable;
  std::string reason;    // why unavailable (a load error), empty otherwise
};

// Per-model counters for /metrics (Triton's names: nv_inference_request_success, ...).
struct ModelCounters {
  int64_t request_success = 0, request_failure = 0;
  int64_t inference_count = 0;   // rows inferred
  int64_t execution_count = 0;   // model executions (a batch of requests counts once)
  int64_t queue_us = 0, compute_us = 0;  // summed durations
};

// The repository: thread-safe. Versions swap in by an atomic shared_ptr exchange: requests
// holding the old version finish on it, new ones get the new one; none fails in between.
class Repository {
 public:
  virtual ~Repository() = default;
  virtual std::vector<ModelStatus> index() = 0;  // every model on disk or loaded
  virtual void load(const std::string& name) = 0;    // (re)loads the latest version; kNotFound, kCorrupt
  virtual void unload(const std::string& name) = 0;  // frees it; kNotFound when not loaded
  // The loaded version `version` ("" = the default) of `name`; kNotFound when not loaded.
  virtual std::shared_ptr<const Model> get(const std::string& name, const std::string& version = "") = 0;
  // Infers through the model's dynamic batcher; the future holds rows x outputs probabilities
  // or the error. kNotFound (no such model), kInvalidArgument (bad batch).
  virtual std::future<std::vector<float>> submit(const std::string& name, const std::string& version,
                                                 InputBatch batch) = 0;
  // Adds a bundle (a folder, or a .tar.gz of one) as the next version of `name` and loads it.
  virtual std::string add_bundle(const std::string& name, const std::string& path) = 0;
  virtual void remove(const std::string& name) = 0;  // unloads and deletes it from disk
  virtual std::map<std::string, ModelCounters> counters() = 0;
};

std::unique_ptr<Repository> make_repository(const RepositoryOptions& options);

}  // namespace m4h::serve
