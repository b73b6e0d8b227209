// `mlaas4hep train` as a library call: streams the data layer's chunks into a Trainer (train on
// split 0, validate on 1, test on 2), with the reference mode (`epochs` passes over each chunk as
// it arrives) or the standard mode (each epoch one pass over the whole stream), early stopping on
// the validation loss, a checkpoint after every epoch (or chunk) and --resume; then evaluates the
// best model and a cut-based baseline on the test split and writes the model bundle.
//
// Bundle layout in the output folder (bundle.json lists it; version 1):
//   model.pt            TorchScript; forward(x) or forward(x, mask), x float32 [rows x width]
//                       normalised as specs.json says, mask float32 (1 = a real value); returns
//                       [rows, 1] logits (binary: sigmoid = P(label 1)) or [rows, K] (softmax)
//   model.xgb.json      instead, for XGBoost: its JSON model (binary:logistic or multi:softprob)
//   specs.json, feature_names.json, params.json, preproc.json (when given), model.json (JSON
//   models), metrics.json, bundle.json; checkpoint.pt + checkpoint.json (for --resume).
//
// Distributed (data-parallel, `distributed`): each process is one rank (train/distributed.h);
// rank 0 computes the specs over every file and sends them to the others, each rank reads its
// share of the files, gradients are averaged over the ranks at every step, the validation loss and
// the test figures are over every rank's rows, and rank 0 alone writes into the output folder.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/pipeline.h"

namespace m4h::train {

// Training keys read from params.json beside the data layer's (which ignores them).
struct TrainSettings {
  std::string mode = "standard";   // "standard" (epochs over the stream) or "reference" (per chunk)
  std::string optimizer = "adam";  // adam | adamw | sgd
  double learning_rate = 1e-3;
  double weight_decay = 0;
  std::vector<double> class_weights;  // per class; empty = 1 each
  bool balanced = false;              // "class_weights": "balanced": inverse class frequencies
  int64_t patience = 3;               // epochs without a better validation loss before stopping; 0 = never
  double min_delta = 0;               // improvement needed to count as better
  int64_t torch_threads = 1;          // intra-op threads (1: reproducible on CPU)
  int64_t cache_mb = 2048;            // training rows kept after the first pass when they fit; 0 = never
  // The cut baseline's variables (feature names); empty: the flat features, else each jagged
  // key's first value.
  std::vector<std::string> baseline_features;
};

// Parses the training keys of params.json text (other keys are left alone). kInvalidArgument.
TrainSettings parse_train_settings(const std::string& json_text, const std::string& origin);

struct TrainRequest {
  data::PipelineRequest data;   // --files, --labels, --params, --preproc, --specs
  std::string model;            // --model: TorchScript file or JSON description
  std::string output;           // --fout
  std::string device = "auto";  // auto | cpu | cuda
  int64_t threads = -1;         // data threads in total; -1 = params.json's
  bool resume = false;
  bool distributed = false;      // --distributed: one rank of a data-parallel run
  std::string rendezvous;        // --rendezvous: "" (tcp: MASTER_ADDR, MASTER_PORT) or "file:PATH"
  double rendezvous_timeout = 300;  // seconds for the ranks to meet
};

struct TrainProgress {
  std::string phase;   // "specs", "train", "evaluate"
  int64_t epoch = 0;   // 1-based
  int64_t epochs = 0;
  int64_t events = 0;  // of this epoch (or pass)
  int64_t total = 0;   // events per epoch
  double loss = 0;     // running mean training loss of this epoch
  double seconds = 0;  // since the phase began
  double waited = 0;   // of those, seconds the training thread waited for data
  double eta = -1;     // seconds left for the whole training, -1 = unknown
};

struct EpochRecord {
  int64_t epoch = 0;
  double train_loss = 0, train_accuracy = 0;
  double validation_loss = 0, validation_accuracy = 0;
  int64_t train_rows = 0, validation_rows = 0;
};

struct Figures {
  double auc = 0, accuracy = 0, loss = 0;
  double tpr_at_fpr_1pct = 0, tpr_at_fpr_10pct = 0;
};

struct TrainResult {
  std::vector<EpochRecord> history;
  int64_t best_epoch = 0;
  bool stopped_early = false;
  bool resumed = false;
  int64_t classes = 2;
  int64_t train_rows = 0, validation_rows = 0, test_rows = 0;
  Figures test;                 // the model on the test split
  bool has_baseline = false;    // binary problems only
  std::string cut_rule;         // the chosen box, e.g. "HT >= 412.5 and nBJet >= 2.5"
  Figures cut;                  // the chosen box (one working point)
  Figures cut_curve;            // the boxes optimised for a range of background rejections
  std::string model_file;       // in the output folder: model.pt or model.xgb.json
  double seconds = 0;
  int64_t events_trained = 0;   // rows fed to the optimiser in this process
  int rank = 0, world_size = 1;  // distributed: this process's rank; only rank 0 wrote the bundle
  std::vector<std::string> files;  // the files this process read
};

// Runs everything; `progress` may be empty. Throws m4h::Error: kInvalidArgument (bad params,
// model, labels), kNotFound, kIo, kCorrupt, kUnsupported, as the data layer and make_trainer do;
// distributed: kTimeout (the ranks did not meet), kIo (a rank failed), kUnsupported (XGBoost,
// --resume).
TrainResult train_model(const TrainRequest& request,
                        const std::function<void(const TrainProgress&)>& progress = {});

}  // namespace m4h::train
