// A stand-in for the model side (serve/model.h) so the HTTP layer is tested alone: FakeModel's
// scores are sums, and FakeRepository completes futures on its own "batcher" thread, as the real
// dynamic batcher does. A gate can hold every submission until N are queued (proves that io
// threads do not wait on futures).
#pragma once

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "serve/model.h"

namespace m4h::test {

using namespace m4h::serve;

// Features: [a, sum(b), count(b)] from branches a (flat) and b (jagged). Scores per row:
// outputs copies of sum(x * mask) + k (k = 0..outputs-1).
class FakeModel : public Model {
 public:
  FakeModel(std::string name, std::string version, int64_t outputs = 1) {
    md_.name = std::move(name);
    md_.version = std::move(version);
    md_.platform = "fake";
    md_.inputs = {{"x", "FP32", {-1, 3}}, {"mask", "FP32", {-1, 3}}};
    md_.outputs = {{"scores", "FP32", {-1, outputs}}};
    md_.feature_names = {"f_a", "f_bsum", "f_bn"};
    md_.branches = {"a", "b"};
  }
  const ModelMetadata& metadata() const override { return md_; }
  std::vector<float> infer(const InputBatch& batch) const override {
    if (batch.width != width()) {
      throw Error(ErrorCode::kInvalidArgument, "fake: width " + std::to_string(batch.width));
    }
    std::vector<float> out;
    for (int64_t r = 0; r < batch.rows; ++r) {
      float s = 0;
      for (int64_t c = 0; c < batch.width; ++c) {
        const size_t i = static_cast<size_t>(r * batch.width + c);
        if (batch.mask.empty() || batch.mask[i]) s += batch.x[i];
      }
      for (int64_t k = 0; k < outputs(); ++k) out.push_back(s + static_cast<float>(k));
    }
    return out;
  }
  // A fake cut: events with a < 0 are rejected (an error without `kept`, as the real models do).
  InputBatch normalise(const std::vector<RawEvent>& events, std::vector<int64_t>* kept = nullptr) const override {
    InputBatch b;
    b.width = 3;
    for (size_t i = 0; i < events.size(); ++i) {
      const RawEvent& e = events[i];
      auto a = e.find("a");
      auto bb = e.find("b");
      if (a == e.end()) throw Error(ErrorCode::kInvalidArgument, "fake: branch 'a' missing");
      if (bb == e.end()) throw Error(ErrorCode::kInvalidArgument, "fake: branch 'b' missing");
      if (a->second.size() != 1) throw Error(ErrorCode::kInvalidArgument, "fake: branch 'a' is flat");
      if (a->second[0] < 0) {
        if (!kept) throw Error(ErrorCode::kInvalidArgument, "fake: event " + std::to_string(i) + " fails the cut a >= 0");
        continue;
      }
      if (kept) kept->push_back(static_cast<int64_t>(i));
      ++b.rows;
      double sum = 0;
      for (double v : bb->second) sum += v;
      b.x.push_back(static_cast<float>(a->second[0]));
      b.x.push_back(static_cast<float>(sum));
      b.x.push_back(static_cast<float>(bb->second.size()));
    }
    return b;
  }

 private:
  ModelMetadata md_;
};

class FakeRepository : public Repository {
 public:
  FakeRepository() : worker_([this] { run(); }) {
    models_["sum"] = std::make_shared<FakeModel>("sum", "1");
    models_["two"] = std::make_shared<FakeModel>("two", "3", 2);
    on_disk_ = {"sum", "two", "broken"};
  }
  ~FakeRepository() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      gate_ = 0;
    }
    cv_.notify_all();
    worker_.join();
  }

  // Holds submissions until n are queued (0: no gate).
  void set_gate(size_t n) {
    std::lock_guard lock(mu_);
    gate_ = n;
    cv_.notify_all();
  }
  size_t largest_gathering() {
    std::lock_guard lock(mu_);
    return largest_;
  }

  std::vector<ModelStatus> index() override {
    std::lock_guard lock(mu_);
    std::vector<ModelStatus> out;
    for (const auto& n : on_disk_) {
      auto it = models_.find(n);
      ModelStatus s{n, it == models_.end() ? "1" : it->second->metadata().version, ModelState::kUnavailable, ""};
      if (it != models_.end()) s.state = ModelState::kReady;
      if (n == "broken") s.reason = "bundle.json: corrupt";
      out.push_back(s);
    }
    return out;
  }
  void load(const std::string& name) override {
    std::lock_guard lock(mu_);
    if (name == "broken") throw Error(ErrorCode::kCorrupt, "broken/1/bundle.json: not JSON");
    if (std::find(on_disk_.begin(), on_disk_.end(), name) == on_disk_.end()) {
      throw Error(ErrorCode::kNotFound, "model '" + name + "' not in the repository");
    }
    models_[name] = std::make_shared<FakeModel>(name, "1", name == "two" ? 2 : 1);
  }
  void unload(const std::string& name) override {
    std::lock_guard lock(mu_);
    if (!models_.erase(name)) throw Error(ErrorCode::kNotFound, "model '" + name + "' is not loaded");
  }
  std::shared_ptr<const Model> get(const std::string& name, const std::string& version) override {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) throw Error(ErrorCode::kNotFound, "model '" + name + "' is not loaded");
    if (!version.empty() && version != it->second->metadata().version) {
      throw Error(ErrorCode::kNotFound, "model '" + name + "' version " + version + " is not loaded");
    }
    return it->second;
  }
  void submit_then(const std::string& name, const std::string& version, InputBatch batch,
                   ScoresDone done) override {
    auto model = get(name, version);
    {
      std::lock_guard lock(mu_);
      queue_.push_back({model, std::move(batch), std::move(done), name});
    }
    cv_.notify_all();
  }
  std::string add_bundle(const std::string& name, const std::string& path) override {
    std::ifstream in(path, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    if (data.size() < 2 || static_cast<unsigned char>(data[0]) != 0x1f) {
      throw Error(ErrorCode::kCorrupt, path + ": not gzip");
    }
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    const int v = it == models_.end() ? 1 : std::stoi(it->second->metadata().version) + 1;
    models_[name] = std::make_shared<FakeModel>(name, std::to_string(v));
    if (std::find(on_disk_.begin(), on_disk_.end(), name) == on_disk_.end()) on_disk_.push_back(name);
    uploaded_bytes_ = data.size();
    return std::to_string(v);
  }
  void remove(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = std::find(on_disk_.begin(), on_disk_.end(), name);
    if (it == on_disk_.end()) throw Error(ErrorCode::kNotFound, "model '" + name + "' not in the repository");
    on_disk_.erase(it);
    models_.erase(name);
  }
  std::map<std::string, ModelCounters> counters() override {
    std::lock_guard lock(mu_);
    return counters_;
  }
  size_t uploaded_bytes() {
    std::lock_guard lock(mu_);
    return uploaded_bytes_;
  }

 private:
  struct Job {
    std::shared_ptr<const Model> model;
    InputBatch batch;
    ScoresDone done;
    std::string name;
  };
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || (!queue_.empty() && queue_.size() >= gate_); });
      if (queue_.empty() && stop_) return;
      std::deque<Job> jobs;
      jobs.swap(queue_);
      largest_ = std::max(largest_, jobs.size());
      ModelCounters& c0 = counters_[jobs.front().name];
      c0.execution_count += 1;
      lock.unlock();
      std::vector<std::pair<std::string, bool>> outcomes;
      for (Job& j : jobs) {
        std::vector<float> scores;
        std::exception_ptr error;
        try {
          scores = j.model->infer(j.batch);
        } catch (...) {
          error = std::current_exception();
        }
        outcomes.emplace_back(j.name, !error);
        j.done(scores, error);
      }
      lock.lock();
      for (size_t i = 0; i < jobs.size(); ++i) {
        ModelCounters& c = counters_[outcomes[i].first];
        (outcomes[i].second ? c.request_success : c.request_failure) += 1;
        if (outcomes[i].second) c.inference_count += jobs[i].batch.rows;
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<const Model>> models_;
  std::vector<std::string> on_disk_;
  std::deque<Job> queue_;
  std::map<std::string, ModelCounters> counters_;
  size_t gate_ = 0, largest_ = 0, uploaded_bytes_ = 0;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace m4h::test
