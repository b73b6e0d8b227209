// The training layer's model interface: one Trainer per model kind (libtorch for TorchScript files
// and JSON model descriptions; XGBoost later), behind plain C++ so that no torch header reaches
// the rest of the project. The training loop (train.h) streams rows into a Trainer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "train/input_layout.h"

namespace m4h::train {

class Collective;  // train/distributed.h

// Rows of model inputs, contiguous and row-major, as the data layer's chunks hold them.
struct Rows {
  const float* x = nullptr;          // rows x width
  const uint8_t* mask = nullptr;     // rows x width, 1 = a real value (kValid convention)
  const int64_t* labels = nullptr;   // rows, classes 0 .. classes-1
  int64_t rows = 0;
  int64_t width = 0;
};

// A sum of per-row losses and of their weights (mean = loss / weight), and correct decisions.
struct LossSum {
  double loss = 0;
  double weight = 0;
  int64_t rows = 0;
  int64_t correct = 0;
  LossSum& operator+=(const LossSum& o) {
    loss += o.loss;
    weight += o.weight;
    rows += o.rows;
    correct += o.correct;
    return *this;
  }
  double mean() const { return weight > 0 ? loss / weight : 0; }
  double accuracy() const { return rows > 0 ? static_cast<double>(correct) / rows : 0; }
};

struct TrainerOptions {
  std::string model_path;   // a TorchScript file (.pt) or a JSON model description
  int64_t width = 0;        // features per row (the specs' width)
  int64_t classes = 2;      // 1 + the largest label of the dataset
  std::string optimizer = "adam";  // adam | sgd | adamw
  double learning_rate = 1e-3;
  double weight_decay = 0;
  std::vector<double> class_weights;  // per class; empty = all 1
  uint64_t seed = 21;
  std::string device = "auto";  // auto | cpu | cuda
  int64_t threads = 1;          // intra-op threads (1 keeps CPU results reproducible)
  int64_t epochs = 1;           // passes planned (XGBoost spreads its rounds over them)
  std::string scratch_dir;      // where XGBoost's external-memory pages go (empty: the temp folder)
  InputLayout inputs;           // flat columns and object collections (what deep sets pool over)
  // Data-parallel training (torch trainers only): the same initial weights as rank 0, gradients
  // averaged over the ranks at every step. Null or a world of one: a single process.
  Collective* collective = nullptr;
};

// What a model is, as the bundle manifest records it.
struct ModelInfo {
  std::string kind;         // "torchscript" (a user's file), "mlp", "deepsets" (from JSON) or "xgboost"
  std::string format = "torchscript";  // of the saved model: "torchscript" or "xgboost-json"
  std::string file = "model.pt";       // its name in the bundle
  bool shuffle = true;      // wants a fresh row order every epoch (false: rows in stream order)
  std::string device;       // "cpu" or "cuda"
  bool takes_mask = false;  // forward(x, mask) rather than forward(x)
  int64_t outputs = 1;      // 1: one logit (binary); K: one logit per class
  int64_t parameters = 0;   // trainable scalars
  std::string description;  // the JSON description of "mlp" and "deepsets"; empty otherwise
};

// A model being trained. Not thread-safe: one thread drives it.
class Trainer {
 public:
  virtual ~Trainer() = default;
  virtual const ModelInfo& info() const = 0;

  // One optimiser step per `batch_size` rows, in row order. Returns the training loss summed.
  // (XGBoost keeps the rows of its first pass instead and fits them in end_epoch().)
  virtual LossSum train_rows(const Rows& rows, int64_t batch_size) = 0;
  // After the last train_rows() of a pass: in data-parallel training, takes part in the other
  // ranks' optimiser steps until every rank has run out of rows, then averages the ranks' buffers
  // (batch-norm statistics), so that every rank ends the pass with the same model.
  virtual void finish_pass() {}
  // After each pass over the stream; a trainer that fits per epoch returns its training loss
  // (rows == 0: nothing to report).
  virtual LossSum end_epoch() { return {}; }
  // Evaluation mode, no gradients: the loss summed and one score per row in `scores`
  // (binary: P(class 1); K classes: rows x K probabilities, row-major).
  virtual LossSum predict(const Rows& rows, std::vector<float>& scores) = 0;

  // The best weights so far: kept in memory (and in checkpoints), restored at the end.
  virtual void keep_best() = 0;
  virtual void restore_best() = 0;

  // The model in info().format: TorchScript (loadable with torch::jit::load, forward as the input
  // contract says) or XGBoost's JSON model.
  virtual void save_model(const std::string& path) = 0;
  // Weights, best weights, optimiser state and random state; throws kIo / kCorrupt.
  virtual void save_checkpoint(const std::string& path) = 0;
  virtual void load_checkpoint(const std::string& path) = 0;
};

// Makes the trainer for `options.model_path`: a JSON model description ({"type": "mlp", ...},
// {"type": "deepsets", ...}, which needs options.inputs, or {"type": "xgboost", "rounds": N,
// "params": {...}}) or a TorchScript file. Checks the model against the width (one forward pass) and the classes.
// Throws m4h::Error: kNotFound (no file), kInvalidArgument (not TorchScript, bad JSON, a width the
// model does not take, a class the model cannot output), kUnsupported (cuda without CUDA).
std::unique_ptr<Trainer> make_trainer(const TrainerOptions& options);

// Whether `model_path` is an XGBoost description ({"type": "xgboost", ...}); false for anything
// else, a missing file included.
bool describes_xgboost(const std::string& model_path);

}  // namespace m4h::train
