// Fixtures of the serving tests: generated signal/background files and four small bundles
// trained on them (an MLP, XGBoost, an MLP with preproc.json's new branches and cuts, deep sets
// with forward(x, mask)). ctest runs each test in its own process, so they are made once per
// build in BUILD/serve-fixtures (under a file lock) and reused; a rebuilt data or training
// library makes them again.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "data/data_test_util.h"
#include "serve/model.h"
#include "train/train.h"

namespace m4h::test {

struct ServeFixtures {
  std::string dir;  // signal.root, background.root, files.txt, labels.txt
  std::string mlp, xgb, pre, deepsets;  // bundle folders
};

inline const char* kServeParams =
    R"({"chunk_size": 4000, "epochs": 2, "batch_size": 64, "seed": 7, "threads": 1, "learning_rate": 0.003})";

// New branches (flat from flat, flat from a jagged reduction, jagged), a flat cut on a branch
// that is not a feature (removed), so the model reads a branch only the pre-processing uses.
inline const char* kServePreproc = R"j({
  "new_branch": {
    "log_met": {"def": "log(MET_pt)", "type": "flat", "remove": "False"},
    "lead_jet_pt": {"def": "max(Jet_pt)", "type": "flat", "remove": "False"},
    "jet_pt_over_ht": {"def": "Jet_pt / HT", "type": "jagged", "remove": "False"}
  },
  "flat_cut": {
    "MET_phi": {"cut": "MET_phi > -1.5", "remove": "True"}
  }
})j";

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline int64_t mtime_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}

inline void train_fixture(const std::string& dir, const std::string& model_json, const std::string& out,
                          bool preproc) {
  train::TrainRequest r;
  r.data.files = dir + "/files.txt";
  r.data.labels = dir + "/labels.txt";
  r.data.params = dir + "/params.json";
  if (preproc) r.data.preproc = dir + "/preproc.json";
  r.model = dir + "/" + out + "-model.json";
  std::ofstream(r.model) << model_json;
  r.output = dir + "/" + out;
  r.device = "cpu";
  train::train_model(r);
}

inline const ServeFixtures& serve_fixtures() {
  static const ServeFixtures f = [] {
    namespace fs = std::filesystem;
    const std::string lib = std::string(M4H_BINARY_DIR) + "/src/";
    const int64_t stamp = std::max({mtime_of(lib + "libm4h_train.a"), mtime_of(lib + "libm4h_data.a"),
                                    mtime_of(lib + "libm4h_gen.a")});
    const fs::path base = fs::path(M4H_BINARY_DIR) / "serve-fixtures";
    fs::create_directories(base);
    const int lock = ::open((base / "lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    ::flock(lock, LOCK_EX);
    ServeFixtures f;
    const std::string name = "v1-" + std::to_string(stamp);
    f.dir = (base / name).string();
    f.mlp = f.dir + "/mlp";
    f.xgb = f.dir + "/xgb";
    f.pre = f.dir + "/pre";
    f.deepsets = f.dir + "/deepsets";
    if (!fs::exists(f.dir + "/done")) {
      for (const auto& e : fs::directory_iterator(base))
        if (e.is_directory()) fs::remove_all(e.path());
      fs::create_directories(f.dir);
      gen::GeneratorOptions o;
      o.threads = 1;
      o.basket_size = 8000;
      for (int s = 0; s < 2; ++s) {
        o.process = s == 0 ? gen::Process::kSignal : gen::Process::kBackground;
        o.events = 3000;
        o.seed = 11 + static_cast<uint64_t>(s);
        o.output = f.dir + (s == 0 ? "/signal.root" : "/background.root");
        gen::generate_events(o);
      }
      std::ofstream(f.dir + "/files.txt") << f.dir << "/signal.root\n" << f.dir << "/background.root\n";
      std::ofstream(f.dir + "/labels.txt") << "1\n0\n";
      std::ofstream(f.dir + "/params.json") << kServeParams;
      std::ofstream(f.dir + "/preproc.json") << kServePreproc;
      const char* mlp = R"({"type": "mlp", "hidden": [16, 8], "activation": "relu", "dropout": 0.1, "batch_norm": true})";
      train_fixture(f.dir, mlp, "mlp", false);
      train_fixture(f.dir, R"({"type": "xgboost", "rounds": 20, "params": {"max_depth": 3, "eta": 0.3}})", "xgb", false);
      train_fixture(f.dir, mlp, "pre", true);
      train_fixture(f.dir, R"({"type": "deepsets", "phi": [8], "rho": [8], "activation": "relu", "pool": "sum", "dropout": 0})",
                    "deepsets", false);
      std::ofstream(f.dir + "/done") << "ok\n";
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
    return f;
  }();
  return f;
}

// Raw events (branch -> values as in the file) of `entries` of one file, read with the reader.
inline std::vector<serve::RawEvent> raw_events(const std::string& file, const std::vector<std::string>& branches,
                                               const std::vector<int64_t>& entries) {
  std::vector<serve::RawEvent> out(entries.size());
  for (const std::string& b : branches) {
    const Raw raw = read_raw(file, "Events", b);
    for (size_t i = 0; i < entries.size(); ++i) {
      const int64_t e = entries[i];
      auto& v = out[i][b];
      for (int64_t j = 0; j < raw.length(e); ++j) v.push_back(raw.at(e, j));
    }
  }
  return out;
}

}  // namespace m4h::test
