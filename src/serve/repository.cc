// The model repository: every model folder of ROOT, its latest version loaded behind a batcher.
// Versions swap by exchanging an atomic shared_ptr: a request that already holds the old version
// finishes on it, and the old batcher drains its queue before it stops, so a swap fails nothing.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "core/error.h"
#include "core/archive.h"
#include "serve/batcher.h"
#include "serve/model.h"

namespace m4h::serve {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

struct OnDisk {
  int64_t version = 0;
  std::string folder;
};

// ROOT/NAME/VERSION/bundle.json, or ROOT/NAME/bundle.json as version 1 (a folder "1" wins).
std::vector<OnDisk> versions_on_disk(const fs::path& dir) {
  std::vector<OnDisk> out;
  std::error_code ec;
  if (fs::exists(dir / "bundle.json", ec)) out.push_back({1, dir.string()});
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.empty() || n.size() > 9 || n[0] == '0' || !std::all_of(n.begin(), n.end(), ::isdigit)) continue;
    if (!fs::exists(it->path() / "bundle.json", ec)) continue;
    const int64_t v = std::stoll(n);
    out.erase(std::remove_if(out.begin(), out.end(), [&](const OnDisk& d) { return d.version == v; }), out.end());
    out.push_back({v, it->path().string()});
  }
  std::sort(out.begin(), out.end(), [](const OnDisk& a, const OnDisk& b) { return a.version < b.version; });
  return out;
}

std::vector<std::string> names_on_disk(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec) && it->path().filename().string()[0] != '.' && !versions_on_disk(it->path()).empty())
      out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void check_name(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 128 && std::isalnum(static_cast<unsigned char>(name[0])) &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                  });
  if (!ok)
    throw Error(ErrorCode::kInvalidArgument,
                "model name '" + name + "': letters, digits, '_', '-' and '.' only, starting with a letter or digit");
}

// serve.json of a version folder over the repository's defaults.
BatchingOptions batching_for(const std::string& folder, BatchingOptions o) {
  const std::string path = folder + "/serve.json";
  std::ifstream in(path);
  if (!in) return o;
  std::stringstream ss;
  ss << in.rdbuf();
  const Json j = Json::parse(ss.str(), nullptr, false);
  if (!j.is_object()) throw Error(ErrorCode::kCorrupt, path + ": not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0)
      throw Error(ErrorCode::kCorrupt, path + ": \"" + it.key() + "\" must be an integer >= 0");
    if (it.key() == "max_batch_rows") o.max_batch_rows = it->get<int64_t>();
    else if (it.key() == "max_queue_delay_us") o.max_queue_delay = std::chrono::microseconds(it->get<int64_t>());
    else throw Error(ErrorCode::kCorrupt, path + ": unknown key \"" + it.key() + "\" (max_batch_rows, max_queue_delay_us)");
  }
  return o;
}

// One loaded version and its batcher.
struct Served {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Batcher> batcher;
  int64_t version = 0;
};

struct Slot {
  std::mutex load_mu;  // one load, swap or unload of this model at a time
  std::atomic<std::shared_ptr<Served>> served;
  std::atomic<int64_t> last_used{0};
  std::shared_ptr<CounterCells> counters = std::make_shared<CounterCells>();
  std::mutex info_mu;  // guards the fields below
  ModelState state = ModelState::kUnavailable;
  std::string reason;
  bool unloaded = false;        // by unload(): not loaded again on demand
  int64_t failed_version = 0;   // the latest version that failed to load (polling skips it)
};

class RepositoryImpl final : public Repository {
 public:
  explicit RepositoryImpl(const RepositoryOptions& o) : opt_(o), root_(o.root) {
    std::error_code ec;
    fs::create_directories(root_, ec);
    if (!fs::is_directory(root_)) throw Error(ErrorCode::kNotFound, o.root + ": not a folder");
    for (const std::string& name : names_on_disk(root_)) {
      auto slot = slot_for(name, true);
      if (opt_.max_loaded > 0 && loaded_count() >= opt_.max_loaded) continue;
      try {
        load_slot(name, *slot);
      } catch (const Error&) {
        // Listed as unavailable with the reason: one broken bundle does not stop the others.
      }
    }
    if (opt_.poll_seconds > 0) poller_ = std::thread([this] { poll(); });
  }

  ~RepositoryImpl() override {
    {
      std::lock_guard<std::mutex> lk(poll_mu_);
      stopping_ = true;
    }
    poll_cv_.notify_all();
    if (poller_.joinable()) poller_.join();
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [name, slot] : slots_)
      if (auto s = slot->served.exchange(nullptr)) s->batcher->stop();
  }

  std::vector<ModelStatus> index() override {
    for (const std::string& name : names_on_disk(root_)) slot_for(name, true);
    std::vector<ModelStatus> out;
    for (const auto& [name, slot] : all_slots()) {
      ModelStatus st;
      st.name = name;
      if (auto s = slot->served.load()) {
        st.version = std::to_string(s->version);
      } else {
        const auto v = versions_on_disk(root_ / name);
        if (!v.empty()) st.version = std::to_string(v.back().version);
      }
      std::lock_guard<std::mutex> lk(slot->info_mu);
      st.state = slot->state;
      st.reason = slot->reason;
      out.push_back(std::move(st));
    }
    return out;
  }

  void load(const std::string& name) override {
    check_name(name);
    load_slot(name, *slot_for(name, true));
  }

  void unload(const std::string& name) override {
    auto slot = slot_for(name, false);
    std::shared_ptr<Served> old;
    {
      std::lock_guard<std::mutex> g(slot->load_mu);
      old = slot->served.exchange(nullptr);
      set_info(*slot, ModelState::kUnavailable, "unloaded", true);
    }
    if (!old) throw Error(ErrorCode::kNotFound, "model '" + name + "' is not loaded");
    retire(std::move(old));
  }

  std::shared_ptr<const Model> get(const std::string& name, const std::string& version) override {
    return served_for(name, version)->model;
  }

  void submit_then(const std::string& name, const std::string& version, InputBatch batch,
                   ScoresDone done) override {
    // A batcher refuses work once a swap or unload has stopped it: look the model up again
    // (a swap installs the new version before it stops the old one).
    for (int attempt = 0; attempt < 1000; ++attempt) {
      if (served_for(name, version)->batcher->try_submit(batch, done)) return;
      std::this_thread::yield();
    }
    throw Error(ErrorCode::kCancelled, "model '" + name + "' is being unloaded");
  }

  std::string add_bundle(const std::string& name, const std::string& path) override {
    check_name(name);
    std::lock_guard<std::mutex> adding(add_mu_);  // two adds must not pick the same version
    const fs::path dir = root_ / name;
    fs::create_directories(dir);
    const auto versions = versions_on_disk(dir);
    const int64_t version = versions.empty() ? 1 : versions.back().version + 1;
    static std::atomic<int> counter{0};
    const fs::path staging = dir / (".incoming-" + std::to_string(version) + "-" + std::to_string(::getpid()) + "-" +
                                    std::to_string(counter++));
    std::error_code ec;
    try {
      fs::remove_all(staging, ec);
      if (fs::is_directory(path)) {
        fs::copy(path, staging, fs::copy_options::recursive);
      } else if (fs::is_regular_file(path)) {
        extract_tar_gz(path, staging.string());
      } else {
        throw Error(ErrorCode::kNotFound, path + ": no such folder or file");
      }
      fs::path bundle = staging;
      if (!fs::exists(staging / "bundle.json")) {
        // An archive of the folder itself: its one top folder holds the bundle.
        std::vector<fs::path> tops;
        for (const auto& e : fs::directory_iterator(staging)) tops.push_back(e.path());
        if (tops.size() != 1 || !fs::exists(tops[0] / "bundle.json"))
          throw Error(ErrorCode::kInvalidArgument, path + ": no bundle.json at its top or in its one top folder");
        bundle = tops[0];
      }
      // Checked before it is added: a bundle that does not load never becomes a version.
      auto model = load_bundle(bundle.string(), name, std::to_string(version));
      const BatchingOptions batching = batching_for(bundle.string(), opt_.batching);
      const fs::path final_dir = dir / std::to_string(version);
      fs::rename(bundle, final_dir);
      fs::remove_all(staging, ec);
      auto slot = slot_for(name, true);
      {
        std::lock_guard<std::mutex> g(slot->load_mu);
        install(*slot, std::move(model), batching, version);
      }
      enforce_cap(name);
    } catch (const fs::filesystem_error& e) {
      fs::remove_all(staging, ec);
      throw Error(ErrorCode::kIo, std::string("adding a bundle to model '") + name + "': " + e.what());
    } catch (...) {
      fs::remove_all(staging, ec);
      throw;
    }
    return std::to_string(version);
  }

  void remove(const std::string& name) override {
    check_name(name);
    auto slot = slot_for(name, false);
    std::shared_ptr<Served> old;
    {
      std::lock_guard<std::mutex> g(slot->load_mu);
      old = slot->served.exchange(nullptr);
      set_info(*slot, ModelState::kUnavailable, "removed", true);
      std::lock_guard<std::mutex> lk(mu_);
      slots_.erase(name);
    }
    if (old) retire(std::move(old));
    std::error_code ec;
    fs::remove_all(root_ / name, ec);
    if (ec) throw Error(ErrorCode::kIo, (root_ / name).string() + ": cannot remove: " + ec.message());
  }

  std::map<std::string, ModelCounters> counters() override {
    std::map<std::string, ModelCounters> out;
    for (const auto& [name, slot] : all_slots()) out[name] = slot->counters->snapshot();
    return out;
  }

 private:
  std::shared_ptr<Slot> slot_for(const std::string& name, bool create) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = slots_.find(name);
    if (it != slots_.end()) return it->second;
    if (!create) throw Error(ErrorCode::kNotFound, "no model '" + name + "'");
    return slots_.emplace(name, std::make_shared<Slot>()).first->second;
  }

  std::vector<std::pair<std::string, std::shared_ptr<Slot>>> all_slots() {
    std::lock_guard<std::mutex> lk(mu_);
    return {slots_.begin(), slots_.end()};
  }

  int64_t loaded_count() {
    int64_t n = 0;
    for (const auto& [name, slot] : all_slots()) n += slot->served.load() != nullptr;
    return n;
  }

  static void set_info(Slot& slot, ModelState state, std::string reason, bool unloaded) {
    std::lock_guard<std::mutex> lk(slot.info_mu);
    slot.state = state;
    slot.reason = std::move(reason);
    slot.unloaded = unloaded;
  }

  // The loaded version, loading it again when the cap (not unload()) took it out.
  std::shared_ptr<Served> served_for(const std::string& name, const std::string& version) {
    auto slot = slot_for(name, false);
    auto s = slot->served.load();
    if (!s && opt_.max_loaded > 0) {
      bool evicted;
      {
        std::lock_guard<std::mutex> lk(slot->info_mu);
        evicted = !slot->unloaded && slot->failed_version == 0;
      }
      if (evicted) {
        load_slot(name, *slot);
        s = slot->served.load();
      }
    }
    if (!s) throw Error(ErrorCode::kNotFound, "model '" + name + "' is not loaded");
    if (!version.empty() && version != std::to_string(s->version))
      throw Error(ErrorCode::kNotFound, "model '" + name + "' version " + version + " is not loaded (version " +
                                            std::to_string(s->version) + " is)");
    slot->last_used.store(++clock_, std::memory_order_relaxed);
    return s;
  }

  // Loads the latest version on disk and swaps it in. Throws what load_bundle throws.
  void load_slot(const std::string& name, Slot& slot) {
    {
      std::lock_guard<std::mutex> g(slot.load_mu);
      const auto versions = versions_on_disk(root_ / name);
      if (versions.empty()) {
        set_info(slot, slot.served.load() ? ModelState::kReady : ModelState::kUnavailable, "no bundle on disk", false);
        throw Error(ErrorCode::kNotFound, "model '" + name + "': no bundle.json in " + (root_ / name).string());
      }
      const OnDisk& latest = versions.back();
      {
        std::lock_guard<std::mutex> lk(slot.info_mu);
        if (!slot.served.load()) slot.state = ModelState::kLoading;
      }
      try {
        auto model = load_bundle(latest.folder, name, std::to_string(latest.version));
        install(slot, std::move(model), batching_for(latest.folder, opt_.batching), latest.version);
      } catch (const Error& e) {
        std::lock_guard<std::mutex> lk(slot.info_mu);
        slot.failed_version = latest.version;
        if (!slot.served.load()) {
          slot.state = ModelState::kUnavailable;
          slot.reason = e.what();
        }
        throw;
      }
    }
    enforce_cap(name);
  }

  // Swaps `model` in (slot.load_mu held); the old version's queue drains before it goes.
  void install(Slot& slot, std::shared_ptr<const Model> model, const BatchingOptions& batching, int64_t version) {
    auto fresh = std::make_shared<Served>();
    fresh->batcher = std::make_unique<Batcher>(model, batching, slot.counters);
    fresh->model = std::move(model);
    fresh->version = version;
    auto old = slot.served.exchange(std::move(fresh));
    {
      std::lock_guard<std::mutex> lk(slot.info_mu);
      slot.state = ModelState::kReady;
      slot.reason.clear();
      slot.unloaded = false;
      slot.failed_version = 0;
    }
    slot.last_used.store(++clock_, std::memory_order_relaxed);
    if (old) retire(std::move(old));
  }

  // Stops a version taken out: its queued requests run first. Its memory goes with the last
  // request that still holds it.
  static void retire(std::shared_ptr<Served> old) { old->batcher->stop(); }

  // With max_loaded, unloads the least recently used models but `keep` until under the cap.
  void enforce_cap(const std::string& keep) {
    if (opt_.max_loaded <= 0) return;
    for (;;) {
      std::shared_ptr<Slot> victim;
      int64_t loaded = 0, oldest = INT64_MAX;
      for (const auto& [name, slot] : all_slots()) {
        if (!slot->served.load()) continue;
        ++loaded;
        const int64_t t = slot->last_used.load(std::memory_order_relaxed);
        if (name != keep && t < oldest) {
          oldest = t;
          victim = slot;
        }
      }
      if (loaded <= opt_.max_loaded || !victim) return;
      std::shared_ptr<Served> old;
      {
        std::lock_guard<std::mutex> g(victim->load_mu);
        old = victim->served.exchange(nullptr);
        set_info(*victim, ModelState::kUnavailable, "unloaded to stay within max_loaded", false);
      }
      if (old) retire(std::move(old));
    }
  }

  // Every poll_seconds: new models and new versions load, models gone from disk unload.
  void poll() {
    std::unique_lock<std::mutex> lk(poll_mu_);
    while (!poll_cv_.wait_for(lk, std::chrono::duration<double>(opt_.poll_seconds), [&] { return stopping_; })) {
      lk.unlock();
      try {
        rescan();
      } catch (const std::exception&) {
        // The next poll tries again; load errors are in index().
      }
      lk.lock();
    }
  }

  void rescan() {
    const auto names = names_on_disk(root_);
    for (const auto& [name, slot] : all_slots())
      if (!std::binary_search(names.begin(), names.end(), name)) {
        if (auto old = slot->served.exchange(nullptr)) retire(std::move(old));
        std::lock_guard<std::mutex> lk(mu_);
        slots_.erase(name);
      }
    for (const std::string& name : names) {
      auto slot = slot_for(name, true);
      const auto versions = versions_on_disk(root_ / name);
      if (versions.empty()) continue;
      const int64_t latest = versions.back().version;
      const auto s = slot->served.load();
      bool want;
      {
        std::lock_guard<std::mutex> g(slot->info_mu);
        want = s ? latest > s->version : !slot->unloaded && opt_.max_loaded <= 0;
        want = want && slot->failed_version != latest;
      }
      if (!want) continue;
      try {
        load_slot(name, *slot);
      } catch (const Error&) {
      }
    }
  }

  RepositoryOptions opt_;
  fs::path root_;
  std::mutex mu_;  // guards slots_
  std::map<std::string, std::shared_ptr<Slot>> slots_;
  std::mutex add_mu_;
  std::atomic<int64_t> clock_{0};  // LRU ticks
  std::mutex poll_mu_;
  std::condition_variable poll_cv_;
  bool stopping_ = false;
  std::thread poller_;
};

}  // namespace

std::future<std::vector<float>> Repository::submit(const std::string& name, const std::string& version,
                                                   InputBatch batch) {
  auto [done, future] = completion_with_future();
  submit_then(name, version, std::move(batch), std::move(done));
  return std::move(future);
}

std::unique_ptr<Repository> make_repository(const RepositoryOptions& options) {
  return std::make_unique<RepositoryImpl>(options);
}

}  // namespace m4h::serve
