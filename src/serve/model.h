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
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <utility>
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
  // The same from raw pointers into `out` (rows x outputs() floats), allocating nothing of its
  // own: the batcher's path. x: rows x width(); mask: the same shape, or null (every value is
  // real). The default copies into a batch and calls infer().
  virtual void infer_into(const float* x, const uint8_t* mask, int64_t rows, float* out) const;
  // Raw events -> the model's inputs (normalised, padded, masked as in training, with the
  // bundle's preproc.json: new branches computed, cuts applied). An event that a cut of the
  // pre-processing rejects: with `kept` null, kInvalidArgument naming the event and the cut;
  // with `kept`, the event has no row and kept[r] is the event index of row r. kInvalidArgument
  // for a missing branch, a list for a flat branch or a non-integer for an integer branch.
  virtual InputBatch normalise(const std::vector<RawEvent>& events,
                               std::vector<int64_t>* kept = nullptr) const = 0;
};

// Loads one bundle folder (TorchScript or XGBoost). Throws m4h::Error kNotFound, kCorrupt,
// kInvalidArgument naming the folder and the file.
std::shared_ptr<const Model> load_bundle(const std::string& folder, const std::string& name,
                                         const std::string& version);

// A version folder's serve.json may override these: {"max_batch_rows": N, "max_queue_delay_us": N}.
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

// Per-model counters for /metrics (Triton's names: nv_inference_request_success, ...), summed over
// the model's versions since the repository started.
struct ModelCounters {
  int64_t request_success = 0, request_failure = 0;
  int64_t inference_count = 0;   // rows inferred
  int64_t execution_count = 0;   // model executions (a batch of requests counts once)
  int64_t queue_us = 0;          // per request: submit to the start of its execution, summed
  int64_t compute_us = 0;        // per execution: the model's run, summed
};

// Called exactly once per request with its scores (rows x outputs) or its error (scores then
// empty), on a batcher's worker or on the submitting thread. Must neither block nor throw: the
// worker runs the next batch only after it returns.
using ScoresDone = std::function<void(std::vector<float>& scores, std::exception_ptr error)>;

// A completion that fulfils the returned future: for callers that wait rather than call back.
std::pair<ScoresDone, std::future<std::vector<float>>> completion_with_future();

// The repository: thread-safe. Versions swap in by an atomic shared_ptr exchange: requests
// holding the old version finish on it, new ones get the new one; none fails in between.
class Repository {
 public:
  virtual ~Repository() = default;
  virtual std::vector<ModelStatus> index() = 0;  // every model on disk or loaded, by name
  virtual void load(const std::string& name) = 0;    // (re)loads the latest version; kNotFound, kCorrupt
  virtual void unload(const std::string& name) = 0;  // frees it; kNotFound when not loaded
  // The loaded version `version` ("" = the default) of `name`; kNotFound when not loaded. Only
  // the latest version of a model is loaded; with max_loaded, a model the cap evicted (not one
  // unload() took out) is loaded again here and by submit().
  virtual std::shared_ptr<const Model> get(const std::string& name, const std::string& version = "") = 0;
  // Infers through the model's dynamic batcher; the future holds rows x outputs probabilities
  // or the error. kNotFound (no such model or version loaded), kInvalidArgument (bad batch),
  // kCancelled (the model was unloaded before the request could run). Requests submitted while
  // a new version swaps in run on the old or the new version, never fail for the swap.
  // submit_then() answers through `done` instead; the lookup errors (kNotFound, kCancelled)
  // are thrown by the call itself, and `done` is then not called.
  virtual void submit_then(const std::string& name, const std::string& version, InputBatch batch,
                           ScoresDone done) = 0;
  std::future<std::vector<float>> submit(const std::string& name, const std::string& version, InputBatch batch);
  // Adds a bundle (a folder, or a .tar.gz of one: bundle.json at its top or in its one top folder)
  // as the next version of `name`, checks that it loads, and swaps it in; returns the version.
  // kInvalidArgument (a bad name, or an archive with absolute paths, `..`, links or devices),
  // kNotFound, kCorrupt (the bundle does not load: nothing is added).
  virtual std::string add_bundle(const std::string& name, const std::string& path) = 0;
  virtual void remove(const std::string& name) = 0;  // unloads and deletes it from disk
  virtual std::map<std::string, ModelCounters> counters() = 0;
};

// Creates options.root when it does not exist and loads every model in it (the first max_loaded
// by name when capped); a model that fails to load is listed kUnavailable with the reason, not
// thrown. The destructor stops the polling thread and drains every batcher.
std::unique_ptr<Repository> make_repository(const RepositoryOptions& options);

}  // namespace m4h::serve
