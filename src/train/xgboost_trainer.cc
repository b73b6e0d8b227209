// Gradient-boosted trees with XGBoost's C API. The rows of the first pass over the stream are kept
// (in stream order, so a resumed run sees the same matrix) and each epoch adds a share of the
// boosting rounds; early stopping then works on the validation loss between epochs as for the
// neural networks. Rows larger than the memory budget are kept as page files on disk instead and
// handed to XGBoost's external-memory DMatrix through its data iterator, page by page.
#include <xgboost/c_api.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/backends.h"

namespace m4h::train {

namespace {

using Json = nlohmann::json;

namespace fs = std::filesystem;

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
      } else if (k == "external_memory") {
        if (it->is_boolean()) {
          external_ = it->get<bool>() ? External::kAlways : External::kNever;
        } else if (*it == "auto") {
          external_ = External::kAuto;
        } else {
          throw Error(ErrorCode::kInvalidArgument, origin + ": \"external_memory\" must be true, false or \"auto\"");
        }
      } else if (k == "memory_mb") {
        if (!it->is_number() || it->get<double>() <= 0)
          throw Error(ErrorCode::kInvalidArgument, origin + ": \"memory_mb\" must be a number > 0");
        memory_bytes_ = static_cast<int64_t>(it->get<double>() * 1024 * 1024);
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
                    origin + ": unknown key \"" + k +
                        "\" in an xgboost description (rounds, params, external_memory, memory_mb)");
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
    if (proxy_) XGDMatrixFree(proxy_);
    if (booster_) XGBoosterFree(booster_);
    if (!spill_dir_.empty()) {
      std::error_code ec;
      fs::remove_all(spill_dir_, ec);
    }
  }

  const ModelInfo& info() const override { return info_; }

  LossSum train_rows(const Rows& r, int64_t) override {
    if (collected_) return {};
    x_.insert(x_.end(), r.x, r.x + r.rows * r.width);
    y_.insert(y_.end(), r.labels, r.labels + r.rows);
    total_rows_ += r.rows;
    const int64_t bytes = static_cast<int64_t>(x_.size() * sizeof(float) + y_.size() * sizeof(int64_t));
    if (external_ == External::kAlways || (external_ == External::kAuto && (!pages_.empty() || bytes > memory_bytes_))) {
      // Pages of ~64 MiB (the budget's share when it is smaller): XGBoost reads one at a time.
      if (bytes >= std::min<int64_t>(memory_bytes_, int64_t{64} << 20)) spill();
    }
    return {};
  }

  LossSum end_epoch() override {
    if (!collected_) {
      collected_ = true;
      if (total_rows_ == 0) throw Error(ErrorCode::kInvalidArgument, "XGBoost: the training split is empty");
      if (external_ == External::kAlways || !pages_.empty()) {
        if (!y_.empty()) spill();
        make_external_matrix();
      } else {
        check(XGDMatrixCreateFromMat_omp(x_.data(), y_.size(), static_cast<bst_ulong>(opt_.width), NAN, &train_, 1),
              "training matrix");
        std::vector<float> label, w;
        labels_and_weights(y_, label, w);
        check(XGDMatrixSetFloatInfo(train_, "label", label.data(), label.size()), "labels");
        check(XGDMatrixSetFloatInfo(train_, "weight", w.data(), w.size()), "weights");
      }
    }
    const int64_t until = std::min(rounds_, iter_ + per_epoch_);
    for (; iter_ < until; ++iter_) check(XGBoosterUpdateOneIter(booster_, static_cast<int>(iter_), train_), "boost");
    // The training loss over every kept row, page by page when they are on disk.
    std::vector<float> scores;
    if (pages_.empty()) {
      Rows all{x_.data(), nullptr, y_.data(), static_cast<int64_t>(y_.size()), opt_.width};
      return predict(all, scores);
    }
    LossSum sum;
    for (size_t p = 0; p < pages_.size(); ++p) {
      load_page(p);
      Rows page{x_.data(), nullptr, y_.data(), static_cast<int64_t>(y_.size()), opt_.width};
      sum += predict(page, scores);
    }
    return sum;
  }

  // "external" when the training rows went to XGBoost's external memory, else "in-memory".
  const char* storage() const { return pages_.empty() ? "in-memory" : "external"; }

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
  enum class External { kAuto, kAlways, kNever };

  void labels_and_weights(const std::vector<int64_t>& y, std::vector<float>& label, std::vector<float>& w) const {
    label.assign(y.begin(), y.end());
    w.resize(y.size());
    for (size_t i = 0; i < y.size(); ++i) w[i] = static_cast<float>(weights_[static_cast<size_t>(y[i])]);
  }

  // Writes the rows held in memory as the next page file: [rows][x floats][labels int64].
  void spill() {
    if (spill_dir_.empty()) {
      const fs::path base = opt_.scratch_dir.empty() ? fs::temp_directory_path() : fs::path(opt_.scratch_dir);
      std::error_code ec;
      fs::create_directories(base, ec);
      char tmpl[] = "xgboost-pages-XXXXXX";
      const std::string pattern = (base / tmpl).string();
      std::vector<char> buf(pattern.begin(), pattern.end());
      buf.push_back('\0');
      if (!mkdtemp(buf.data()))
        throw Error(ErrorCode::kIo, base.string() + ": cannot make a folder for XGBoost's external memory");
      spill_dir_ = buf.data();
    }
    const std::string path = spill_dir_ + "/page-" + std::to_string(pages_.size()) + ".bin";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const int64_t rows = static_cast<int64_t>(y_.size());
    out.write(reinterpret_cast<const char*>(&rows), sizeof rows);
    out.write(reinterpret_cast<const char*>(x_.data()), static_cast<std::streamsize>(x_.size() * sizeof(float)));
    out.write(reinterpret_cast<const char*>(y_.data()), static_cast<std::streamsize>(y_.size() * sizeof(int64_t)));
    out.close();
    if (!out) throw Error(ErrorCode::kIo, path + ": cannot write a page of training rows (disk full?)");
    pages_.push_back(path);
    x_.clear();
    y_.clear();
  }

  void load_page(size_t p) {
    std::ifstream in(pages_[p], std::ios::binary);
    int64_t rows = 0;
    in.read(reinterpret_cast<char*>(&rows), sizeof rows);
    if (!in || rows < 0 || rows > (int64_t{1} << 40))
      throw Error(ErrorCode::kCorrupt, pages_[p] + ": a page of training rows is damaged");
    x_.resize(static_cast<size_t>(rows * opt_.width));
    y_.resize(static_cast<size_t>(rows));
    in.read(reinterpret_cast<char*>(x_.data()), static_cast<std::streamsize>(x_.size() * sizeof(float)));
    in.read(reinterpret_cast<char*>(y_.data()), static_cast<std::streamsize>(y_.size() * sizeof(int64_t)));
    if (!in) throw Error(ErrorCode::kCorrupt, pages_[p] + ": a page of training rows is truncated");
  }

  // XGBoost's iterator protocol: reset() rewinds, next() sets the proxy to one page (1) or ends (0).
  // Errors cannot cross its C frames: they are kept and thrown once the call returns.
  static void iterator_reset(DataIterHandle self) { static_cast<XgboostTrainer*>(self)->next_page_ = 0; }
  static int iterator_next(DataIterHandle self) {
    auto* t = static_cast<XgboostTrainer*>(self);
    if (t->next_page_ >= t->pages_.size() || !t->iterator_error_.empty()) return 0;
    try {
      t->load_page(t->next_page_++);
      t->labels_and_weights(t->y_, t->page_label_, t->page_weight_);
      const std::string array = "{\"data\": [" + std::to_string(reinterpret_cast<uintptr_t>(t->x_.data())) +
                                ", true], \"shape\": [" + std::to_string(t->y_.size()) + ", " +
                                std::to_string(t->opt_.width) + "], \"typestr\": \"<f4\", \"version\": 3}";
      check(XGProxyDMatrixSetDataDense(t->proxy_, array.c_str()), "external memory page");
      check(XGDMatrixSetFloatInfo(t->proxy_, "label", t->page_label_.data(), t->page_label_.size()), "labels");
      check(XGDMatrixSetFloatInfo(t->proxy_, "weight", t->page_weight_.data(), t->page_weight_.size()), "weights");
      return 1;
    } catch (const std::exception& e) {
      t->iterator_error_ = e.what();
      return 0;
    }
  }

  void make_external_matrix() {
    check(XGProxyDMatrixCreate(&proxy_), "proxy matrix");
    const std::string config = "{\"missing\": NaN, \"cache_prefix\": \"" + spill_dir_ + "/cache\", \"nthread\": " +
                               std::to_string(std::max<int64_t>(1, opt_.threads)) + "}";
    const int rc = XGDMatrixCreateFromCallback(this, proxy_, iterator_reset, iterator_next, config.c_str(), &train_);
    if (!iterator_error_.empty()) throw Error(ErrorCode::kIo, "XGBoost external memory: " + iterator_error_);
    check(rc, "external-memory training matrix");
  }

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
  std::vector<float> x_;        // the rows in memory (all, or the page being filled or read)
  std::vector<int64_t> y_;
  int64_t total_rows_ = 0;
  External external_ = External::kAuto;
  int64_t memory_bytes_ = int64_t{2048} << 20;  // "memory_mb": above it, rows go to disk
  std::string spill_dir_;
  std::vector<std::string> pages_;
  size_t next_page_ = 0;
  std::string iterator_error_;
  std::vector<float> page_label_, page_weight_;
  DMatrixHandle proxy_ = nullptr;
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
