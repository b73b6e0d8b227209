// Gradient-boosted trees with XGBoost's C API. The rows of the first pass over the stream are kept
// (in stream order, so a resumed run sees the same matrix) and each epoch adds a share of the
// boosting rounds; early stopping then works on the validation loss between epochs as for the
// neural networks. Larger-than-memory data (XGBoost's external-memory iterator) is not done yet.
#include <xgboost/c_api.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/backends.h"

namespace m4h::train {

namespace {

using Json = nlohmann::json;

void check(int rc, const std::string& what) {
  if (rc == 0) return;
  std::string why = XGBGetLastError();  // "[time] file:line: message\nStack trace: ..."
  why = why.substr(0, why.find('\n'));
  if (auto at = why.find(": "); why.rfind("[", 0) == 0 && at != std::string::npos) why = why.substr(at + 2);
  throw Error(ErrorCode::kInvalidArgument, "XGBoost: " + what + ": " + why);
}

class XgboostTrainer final : public Trainer {
 public:
  XgboostTrainer(const TrainerOptions& o, const std::string& text) : opt_(o) {
    const std::string& origin = o.model_path;
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      throw Error(ErrorCode::kInvalidArgument, origin + ": malformed JSON");
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (k == "type" || k == "comment" || k == "name") continue;
      if (k == "rounds") {
        if (!it->is_number_integer() || it->get<int64_t>() < 1)
          throw Error(ErrorCode::kInvalidArgument, origin + ": \"rounds\" must be an integer >= 1");
        rounds_ = it->get<int64_t>();
      } else if (k == "params") {
        if (!it->is_object())
          throw Error(ErrorCode::kInvalidArgument, origin + ": \"params\" must be an object of XGBoost parameters");
        for (auto p = it->begin(); p != it->end(); ++p) {
          std::string v;
          if (p->is_string()) v = p->get<std::string>();
          else if (p->is_boolean()) v = p->get<bool>() ? "1" : "0";
          else if (p->is_number()) v = p->dump();
          else throw Error(ErrorCode::kInvalidArgument, origin + ": parameter \"" + p.key() + "\" must be a string, number or bool");
          params_.emplace_back(p.key(), v);
        }
      } else {
        throw Error(ErrorCode::kInvalidArgument,
                    origin + ": unknown key \"" + k + "\" in an xgboost description (rounds, params)");
      }
    }
    std::string objective = o.classes > 2 ? "multi:softprob" : "binary:logistic";
    int64_t num_class = o.classes;
    for (const auto& [k, v] : params_) {
      if (k == "objective") objective = v;
      if (k == "num_class") num_class = std::stoll(v);
    }
    if (objective == "binary:logistic" && o.classes > 2)
      throw Error(ErrorCode::kInvalidArgument,
                  origin + ": the labels have " + std::to_string(o.classes) +
                      " classes but objective binary:logistic has two");
    if (objective == "multi:softprob" && num_class < o.classes)
      throw Error(ErrorCode::kInvalidArgument,
                  origin + ": the labels have " + std::to_string(o.classes) + " classes but num_class is " +
                      std::to_string(num_class));
    if (objective != "binary:logistic" && objective != "multi:softprob")
      throw Error(ErrorCode::kUnsupported, origin + ": objective " + objective +
                                               " is not supported (binary:logistic, multi:softprob)");
    if (o.device == "cuda")
      throw Error(ErrorCode::kUnsupported, "--device cuda: XGBoost trains on the CPU here");
    multi_ = objective == "multi:softprob";
    info_.kind = "xgboost";
    info_.format = "xgboost-json";
    info_.file = "model.xgb.json";
    info_.shuffle = false;
    info_.device = "cpu";
    info_.outputs = multi_ ? num_class : 1;
    info_.description = j.dump();
    check(XGBoosterCreate(nullptr, 0, &booster_), "create");
    set("objective", objective);
    if (multi_) set("num_class", std::to_string(num_class));
    set("tree_method", "hist");
    set("num_feature", std::to_string(o.width));  // the booster is made before its training matrix
    set("nthread", std::to_string(std::max<int64_t>(1, o.threads)));
    set("seed", std::to_string(o.seed));
    for (const auto& [k, v] : params_)
      if (k != "objective" && k != "num_class") set(k, v);
    weights_.assign(static_cast<size_t>(std::max<int64_t>(o.classes, info_.outputs)), 1.0);
    for (size_t c = 0; c < o.class_weights.size() && c < weights_.size(); ++c) weights_[c] = o.class_weights[c];
    per_epoch_ = (rounds_ + std::max<int64_t>(1, o.epochs) - 1) / std::max<int64_t>(1, o.epochs);
  }

  ~XgboostTrainer() override {
    if (train_) XGDMatrixFree(train_);
    if (booster_) XGBoosterFree(booster_);
  }

  const ModelInfo& info() const override { return info_; }

  LossSum train_rows(const Rows& r, int64_t) override {
    if (collected_) return {};
    x_.insert(x_.end(), r.x, r.x + r.rows * r.width);
    y_.insert(y_.end(), r.labels, r.labels + r.rows);
    return {};
  }

  LossSum end_epoch() override {
    if (!collected_) {
      collected_ = true;
      if (y_.empty()) throw Error(ErrorCode::kInvalidArgument, "XGBoost: the training split is empty");
      check(XGDMatrixCreateFromMat_omp(x_.data(), y_.size(), static_cast<bst_ulong>(opt_.width), NAN, &train_, 1),
            "training matrix");
      std::vector<float> label(y_.begin(), y_.end()), w(y_.size());
      for (size_t i = 0; i < y_.size(); ++i) w[i] = static_cast<float>(weights_[static_cast<size_t>(y_[i])]);
      check(XGDMatrixSetFloatInfo(train_, "label", label.data(), label.size()), "labels");
      check(XGDMatrixSetFloatInfo(train_, "weight", w.data(), w.size()), "weights");
    }
    const int64_t until = std::min(rounds_, iter_ + per_epoch_);
    for (; iter_ < until; ++iter_) check(XGBoosterUpdateOneIter(booster_, static_cast<int>(iter_), train_), "boost");
    Rows all{x_.data(), nullptr, y_.data(), static_cast<int64_t>(y_.size()), opt_.width};
    std::vector<float> scores;
    return predict(all, scores);
  }

  LossSum predict(const Rows& r, std::vector<float>& scores) override {
    LossSum s;
    const int64_t k = info_.outputs;
    scores.assign(static_cast<size_t>(r.rows * k), 0.0f);
    if (r.rows == 0) return s;
    DMatrixHandle m = nullptr;
    check(XGDMatrixCreateFromMat_omp(r.x, static_cast<bst_ulong>(r.rows), static_cast<bst_ulong>(r.width), NAN, &m, 1),
          "matrix");
    const char* config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
    bst_ulong const* shape = nullptr;
    bst_ulong dim = 0;
    const float* out = nullptr;
    const int rc = XGBoosterPredictFromDMatrix(booster_, m, config, &shape, &dim, &out);
    if (rc == 0) std::memcpy(scores.data(), out, sizeof(float) * static_cast<size_t>(r.rows * k));
    XGDMatrixFree(m);
    check(rc, "predict");
    for (int64_t i = 0; i < r.rows; ++i) {
      const int64_t y = r.labels[i];
      const double w = weights_[static_cast<size_t>(y)];
      double p;
      bool right;
      if (!multi_) {
        const double p1 = std::clamp(static_cast<double>(scores[i]), 1e-7, 1 - 1e-7);
        p = y == 1 ? p1 : 1 - p1;
        right = (p1 > 0.5) == (y == 1);
      } else {
        const float* row = scores.data() + i * k;
        p = std::clamp(static_cast<double>(row[y]), 1e-7, 1.0);
        right = std::max_element(row, row + k) - row == y;
      }
      s.loss += -std::log(p) * w;
      s.weight += w;
      s.rows += 1;
      s.correct += right;
    }
    return s;
  }

  void keep_best() override {
    best_ = raw();
    best_iter_ = iter_;
  }

  void restore_best() override {
    if (best_.empty()) return;
    load_raw(best_);
  }

  void save_model(const std::string& path) override {
    bst_ulong len = 0;
    const char* data = nullptr;
    check(XGBoosterSaveModelToBuffer(booster_, R"({"format": "json"})", &len, &data), "save");
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data, static_cast<std::streamsize>(len));
    if (!out) throw Error(ErrorCode::kIo, path + ": cannot write the model");
  }

  void save_checkpoint(const std::string& path) override {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const std::string model = raw();
    auto put = [&](const std::string& s) {
      const uint64_t n = s.size();
      out.write(reinterpret_cast<const char*>(&n), sizeof n);
      out.write(s.data(), static_cast<std::streamsize>(n));
    };
    out.write("M4HXGB1\n", 8);
    const int64_t nums[2] = {iter_, best_iter_};
    out.write(reinterpret_cast<const char*>(nums), sizeof nums);
    put(model);
    put(best_);
    if (!out) throw Error(ErrorCode::kIo, path + ": cannot write the checkpoint");
  }

  void load_checkpoint(const std::string& path) override {
    std::ifstream in(path, std::ios::binary);
    char magic[8] = {};
    int64_t nums[2] = {};
    in.read(magic, 8);
    in.read(reinterpret_cast<char*>(nums), sizeof nums);
    auto get = [&] {
      uint64_t n = 0;
      in.read(reinterpret_cast<char*>(&n), sizeof n);
      if (!in || n > (uint64_t{1} << 34)) return std::string();
      std::string s(n, '\0');
      in.read(s.data(), static_cast<std::streamsize>(n));
      return s;
    };
    const std::string model = get();
    best_ = get();
    if (!in || std::memcmp(magic, "M4HXGB1\n", 8) != 0)
      throw Error(ErrorCode::kCorrupt, path + ": not an XGBoost checkpoint of mlaas4hep");
    iter_ = nums[0];
    best_iter_ = nums[1];
    if (!model.empty()) load_raw(model);
  }

 private:
  void set(const std::string& k, const std::string& v) {
    check(XGBoosterSetParam(booster_, k.c_str(), v.c_str()), "parameter " + k + "=" + v);
  }
  std::string raw() {
    bst_ulong len = 0;
    const char* data = nullptr;
    check(XGBoosterSaveModelToBuffer(booster_, R"({"format": "ubj"})", &len, &data), "save");
    return std::string(data, len);
  }
  void load_raw(const std::string& s) {
    check(XGBoosterLoadModelFromBuffer(booster_, s.data(), s.size()), "load");
  }

  TrainerOptions opt_;
  ModelInfo info_;
  std::vector<std::pair<std::string, std::string>> params_;
  int64_t rounds_ = 100;
  int64_t per_epoch_ = 10;
  int64_t iter_ = 0, best_iter_ = 0;
  bool multi_ = false;
  bool collected_ = false;
  std::vector<float> x_;
  std::vector<int64_t> y_;
  std::vector<double> weights_;
  BoosterHandle booster_ = nullptr;
  DMatrixHandle train_ = nullptr;
  std::string best_;
};

}  // namespace

std::unique_ptr<Trainer> make_xgboost_trainer(const TrainerOptions& options, const std::string& json_text) {
  return std::make_unique<XgboostTrainer>(options, json_text);
}

}  // namespace m4h::train
