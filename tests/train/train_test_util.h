// Helpers for the training tests: one pair of generated signal/background files per test binary,
// the reference-style inputs (files.txt, labels.txt, params.json) and a request for train_model.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "data/data_test_util.h"
#include "train/train.h"

namespace m4h::test {

// Generated once per process: 6000 signal and 6000 background events. (The split depends on the
// files' names, which hold the process id: each run tests another split.)
inline const Scratch& train_data() {
  static Scratch s;
  static bool made = false;
  if (!made) {
    generate(s, "signal.root", true, 6000, 11);
    generate(s, "background.root", false, 6000, 12);
    s.write("files.txt", s.path("signal.root") + "\n" + s.path("background.root") + "\n");
    s.write("labels.txt", "1\n0\n");
    made = true;
  }
  return s;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A request on the shared files with params.json text `params` written into `work`.
inline train::TrainRequest train_request(const Scratch& work, const std::string& params,
                                         const std::string& model, const std::string& out) {
  const Scratch& d = train_data();
  train::TrainRequest r;
  r.data.files = d.path("files.txt");
  r.data.labels = d.path("labels.txt");
  r.data.params = work.write("params-" + out + ".json", params);
  r.data.specs_cache = work.path("specs.json");  // shared by the runs of one test
  r.model = model;
  r.output = work.path(out);
  r.device = "cpu";
  return r;
}

inline const char* kSmallParams =
    R"({"chunk_size": 4000, "epochs": 4, "batch_size": 64, "seed": 7, "threads": 1,
        "learning_rate": 0.003, "patience": 3})";

inline const char* kMlp =
    R"({"type": "mlp", "hidden": [32, 16], "activation": "relu", "dropout": 0.1, "batch_norm": true})";

}  // namespace m4h::test
