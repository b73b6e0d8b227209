// Batch scoring of ROOT trees with a trained bundle, for `mlaas4hep predict`: every entry is read
// chunk by chunk with our reader, scored locally (the bundle's own normalisation and model) or by
// a server over OIP v2, and the scores are written as a friend tree (same entries, same order).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "data/table.h"
#include "root/tree.h"
#include "serve/client.h"

namespace m4h::serve {

struct PredictInput {
  std::string file;  // for messages
  std::shared_ptr<root::Tree> tree;
};

struct PredictOptions {
  std::string model;   // a bundle folder, or http(s)://host:port/v2/models/NAME[/versions/V]
  std::string output;  // the friend tree's file (written under a temporary name, then renamed)
  std::string branch_name = "score";  // "score", or score_0 .. score_{K-1} for K outputs
  int threads = 0;                    // reading threads, the caller's included (0: all cores)
  int64_t chunk_size = 10000;         // entries read, scored and written at a time
  double timeout_s = 60;              // per request to a server
};

struct PredictResult {
  std::string tree;      // the output tree's name (the first input's)
  int64_t entries = 0;   // written (every input entry)
  int64_t rejected = 0;  // entries the bundle's cuts rejected (score NaN)
  int64_t outputs = 1;   // score branches
};

// Scores every entry of the inputs, in order, into one tree named like the first input's tree
// (a friend of the chain of inputs). Events the bundle's pre-processing cuts reject get NaN.
// Throws m4h::Error: kNotFound (a bundle or a branch the model reads is missing), kInvalidArgument,
// kIo/kTimeout (the server), kCorrupt (a bad input file). Nothing is left under `output` on error.
PredictResult predict(const std::vector<PredictInput>& inputs, const PredictOptions& options);

// Entries [start, stop) of `branches` as float64 arrays (flat, or jagged per event).
// Throws kNotFound for a branch the tree lacks.
std::vector<data::Array> read_arrays(const root::Tree& tree, const std::vector<std::string>& branches,
                                     int64_t start, int64_t stop, ThreadPool* pool = nullptr);

// The first `entries` entries of a tree (all when < 0) scored by a served model: its raw
// branches, or (features) the tree's branches named like the model's feature columns.
Scores score_remote(Client& client, const std::string& model_path, const root::Tree& tree, int64_t entries,
                    bool features);

}  // namespace m4h::serve
