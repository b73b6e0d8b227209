#include "service/jobs.h"

#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "core/text_file.h"

namespace m4h::service {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxRequeues = 3;

// The last non-empty line of a log (the training's error message, usually), at most 300 bytes.
std::string last_line_of(const fs::path& log) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from = size > 4096 ? size - 4096 : 0;
  in.seekg(from);
  std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r' || tail.back() == ' ')) tail.pop_back();
  const size_t nl = tail.rfind('\n');
  std::string line = nl == std::string::npos ? tail : tail.substr(nl + 1);
  if (const size_t cr = line.rfind('\r'); cr != std::string::npos) line = line.substr(cr + 1);  // progress lines
  return line.size() > 300 ? line.substr(0, 300) + "..." : line;
}

// The CPUs this process may run on, in order.
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

std::string cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

std::vector<int> read_cpu_list(const fs::path& file) {
  std::vector<int> out;
  std::ifstream in(file);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty() && item.find_first_not_of("0123456789\n") == std::string::npos) out.push_back(std::stoi(item));
  return out;
}

}  // namespace

JobService::JobService(JobStore& store, Executor& executor, JobServiceOptions options)
    : store_(store), executor_(executor), options_(std::move(options)) {
  if (options_.cpus <= 0) options_.cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  fs::create_directories(fs::path(options_.state_dir) / "jobs");
  if (options_.pin_cpus) {
    const std::vector<int> allowed = allowed_cpus();
    if (static_cast<size_t>(options_.cpus) <= allowed.size()) {
      pool_.assign(allowed.begin(), allowed.begin() + options_.cpus);
      log("jobs are pinned to CPUs of their own among " + cpu_list(pool_));
    } else {
      log("jobs are not pinned: " + std::to_string(options_.cpus) + " CPUs for jobs, but the server may use " +
          std::to_string(allowed.size()));
    }
  }
  // Jobs an earlier run of the server left running: follow them again, or record how they ended.
  for (const Job& j : store_.list({.owner = "", .state = JobState::kRunning, .limit = 1 << 30, .before_id = 0})) {
    if (j.external_id.empty()) {
      recover_half_started(j);
      continue;
    }
    const Poll p = executor_.poll(j.external_id, (fs::path(job_dir(j.id)) / "status").string());
    if (p.state == RunState::kRunning) {
      running_[j.id] = {j.external_id, j.resources.cpus, read_cpu_list(fs::path(job_dir(j.id)) / "cpus")};
      log("job " + std::to_string(j.id) + ": still running (" + j.external_id + "), followed again");
    } else {
      finish(j.id, p);
    }
  }
  dispatcher_ = std::thread([this] { run(); });
}

JobService::~JobService() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
}

std::string JobService::job_dir(int64_t id) const {
  return (fs::path(options_.state_dir) / "jobs" / std::to_string(id)).string();
}

void JobService::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

// n CPUs of the pool that no running job holds (the capacity check leaves enough, except after a
// restart found jobs whose CPUs are not known: then some are shared); empty when not pinning.
std::vector<int> JobService::take_cpus(int n) const {
  if (pool_.empty()) return {};
  std::set<int> used;
  for (const auto& [id, r] : running_) used.insert(r.cpu_set.begin(), r.cpu_set.end());
  std::vector<int> out;
  for (int c : pool_)
    if (static_cast<int>(out.size()) < n && !used.count(c)) out.push_back(c);
  for (int c : pool_)
    if (static_cast<int>(out.size()) < n && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  return out;
}

Job JobService::submit(const std::string& owner, const Workflow& workflow) {
  Job j;
  j.owner = owner;
  j.name = workflow.name.empty() ? "job-" + random_hex(8) : workflow.name;
  Workflow stored = workflow;
  stored.name = j.name;
  j.workflow = to_json(stored);
  j.resources = workflow.resources;
  j.executor = executor_.name();
  auto created = store_.create_if_queue_below(j, options_.max_queued);
  if (!created)
    throw Error(ErrorCode::kResourceExhausted, "the queue is full (" + std::to_string(options_.max_queued) +
                                                   " jobs queued): submit again later");
  log("job " + std::to_string(created->id) + ": queued for " + owner);
  wake_.notify_all();
  return *created;
}

Job JobService::cancel(int64_t id, const std::string& by) {
  auto j = store_.get(id);
  if (!j) throw Error(ErrorCode::kNotFound, "no job " + std::to_string(id));
  const std::string reason = "cancelled by " + by;
  if (!store_.transition(id, {JobState::kQueued, JobState::kRunning}, JobState::kCancelled, {.reason = reason})) {
    j = store_.get(id);
    throw Error(ErrorCode::kConflict, "job " + std::to_string(id) + " has already ended (" +
                                          std::string(job_state_name(j ? j->state : JobState::kCancelled)) + ")");
  }
  // Read again: a job being started gets its handle after it is marked running (start() checks
  // for a cancel once it has the handle, so one of the two signals it). The dispatcher keeps
  // polling it until its process is gone; the cancelled state stays.
  j = store_.get(id);
  if (j && !j->external_id.empty()) executor_.cancel(j->external_id, options_.cancel_grace_ms);
  log("job " + std::to_string(id) + ": " + reason);
  wake_.notify_all();
  return *store_.get(id);
}

void JobService::remove(int64_t id) {
  auto j = store_.get(id);
  if (!j) throw Error(ErrorCode::kNotFound, "no job " + std::to_string(id));
  if (!store_.remove(id))
    throw Error(ErrorCode::kConflict, "job " + std::to_string(id) + " is " + std::string(job_state_name(j->state)) +
                                          ": cancel it first");
  std::error_code ec;
  fs::remove_all(job_dir(id), ec);
}

void JobService::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      poll_running();
      start_queued();
    } catch (const std::exception& e) {
      log(std::string("dispatcher: ") + e.what());  // a store error: tried again next round
    }
    lock.lock();
    wake_.wait_for(lock, options_.poll_interval);
  }
}

void JobService::poll_running() {
  for (auto it = running_.begin(); it != running_.end();) {
    const Poll p = executor_.poll(it->second.handle, (fs::path(job_dir(it->first)) / "status").string());
    if (p.state == RunState::kRunning) {
      ++it;
      continue;
    }
    const int64_t id = it->first;
    it = running_.erase(it);
    finish(id, p);
  }
}

void JobService::start_queued() {
  int used = 0;
  for (const auto& [id, r] : running_) used += r.cpus;
  for (const Job& j : store_.queued(16)) {
    const int cpus = std::min(j.resources.cpus, options_.cpus);
    if (!running_.empty() && used + cpus > options_.cpus) break;  // first come, first served
    start(j);
    used += cpus;
  }
}

void JobService::start(const Job& job) {
  // Running before the process exists: a crash in between leaves a running job without a handle,
  // which the next start recovers through the executor (recover_half_started), never a second
  // process for the same job.
  if (!store_.transition(job.id, {JobState::kQueued}, JobState::kRunning)) return;  // cancelled meanwhile
  const fs::path dir = job_dir(job.id);
  try {
    const Workflow w = workflow_from_json(job.workflow);
    fs::create_directories(dir / "inputs");
    std::string files, labels;
    for (const auto& f : w.files) files += f + "\n";
    for (const auto l : w.labels) labels += std::to_string(l) + "\n";
    write_text_file((dir / "inputs" / "files.txt").string(), files);
    write_text_file((dir / "inputs" / "labels.txt").string(), labels);
    write_text_file((dir / "inputs" / "params.json").string(), w.params_json);
    // The model is copied in: the job does not depend on its upload staying.
    std::string model;
    if (!w.model_file.empty()) {
      model = (dir / "inputs" / ("model" + fs::path(w.model_file).extension().string())).string();
      fs::copy_file(w.model_file, model, fs::copy_options::overwrite_existing);
    } else {
      model = (dir / "inputs" / "model.json").string();
      write_text_file(model, w.model_json);
    }
    Launch l;
    l.argv = {options_.ml_executable, "train", "--files", "inputs/files.txt", "--labels", "inputs/labels.txt",
              "--params", "inputs/params.json", "--model", model, "--fout", "bundle", "--threads",
              std::to_string(w.resources.cpus), "--device", w.resources.device, "--quiet"};
    if (!w.preproc_json.empty()) {
      write_text_file((dir / "inputs" / "preproc.json").string(), w.preproc_json);
      l.argv.insert(l.argv.end(), {"--preproc", "inputs/preproc.json"});
    }
    const std::string threads = std::to_string(w.resources.cpus);
    l.env = {"OMP_NUM_THREADS=" + threads, "OPENBLAS_NUM_THREADS=" + threads, "OMP_WAIT_POLICY=passive"};
    l.workdir = dir.string();
    l.log = (dir / "log.txt").string();
    l.status_file = (dir / "status").string();
    l.cpus = w.resources.cpus;
    l.memory_mb = w.resources.memory_mb;
    const int cpus = std::min(job.resources.cpus, options_.cpus);
    l.cpu_set = take_cpus(cpus);
    if (!l.cpu_set.empty()) write_text_file((dir / "cpus").string(), cpu_list(l.cpu_set) + "\n");
    {
      std::ofstream header(l.log, std::ios::app);
      header << "mlaas4hep server: job " << job.id << " of " << job.owner << " started on the " << executor_.name()
             << " executor (" << w.resources.cpus << " CPU" << (w.resources.cpus > 1 ? "s" : "")
             << (l.cpu_set.empty() ? "" : ": " + cpu_list(l.cpu_set)) << ")\n";
    }
    const std::string handle = executor_.start(l);
    store_.update(job.id, {.external_id = handle});
    running_[job.id] = {handle, cpus, l.cpu_set};
    if (auto now = store_.get(job.id); now && now->state == JobState::kCancelled)
      executor_.cancel(handle, options_.cancel_grace_ms);  // cancelled while it was being started
    log("job " + std::to_string(job.id) + ": started (" + handle + ")");
  } catch (const std::exception& e) {
    store_.transition(job.id, {JobState::kRunning}, JobState::kFailed, {.reason = std::string("could not start: ") + e.what()});
    log("job " + std::to_string(job.id) + ": could not start: " + e.what());
  }
}

void JobService::recover_half_started(const Job& j) {
  const fs::path dir = job_dir(j.id);
  const std::string status = (dir / "status").string();
  const std::string id = "job " + std::to_string(j.id);
  const Recovery r = executor_.recover(dir.string(), status);
  if (r.kind == Recovery::Kind::kRunning) {
    store_.update(j.id, {.external_id = r.handle});
    running_[j.id] = {r.handle, j.resources.cpus, read_cpu_list(dir / "cpus")};
    log(id + ": still running (" + r.handle + "), found by its folder and followed again");
    return;
  }
  if (r.kind == Recovery::Kind::kNone) {
    if (auto done = read_status_file(status)) {  // it ran to its end while no server followed it
      log(id + ": ran while the server was stopped; " + done->detail);
      finish(j.id, *done);
      return;
    }
    // No process of it exists: it goes back to the queue, a few times at most (a job whose start
    // brings the server down must not do so forever).
    const fs::path count_file = dir / "requeued";
    int count = 0;
    if (std::ifstream in(count_file); in) in >> count;
    if (count < kMaxRequeues) {
      fs::create_directories(dir);  // the server may have stopped before it made the folder
      write_text_file(count_file.string(), std::to_string(count + 1) + "\n");
      std::error_code ec;
      fs::remove_all(dir / "bundle", ec);  // what a killed first run may have left: the job starts afresh
      if (store_.transition(j.id, {JobState::kRunning}, JobState::kQueued)) {
        std::ofstream(dir / "log.txt", std::ios::app)
            << "mlaas4hep server: the server stopped while starting job " << j.id << "; no process of it exists: queued again\n";
        log(id + ": queued again (the server stopped while starting it; no process of it exists)");
      }
      return;
    }
    store_.transition(j.id, {JobState::kRunning}, JobState::kFailed,
                      {.reason = "the server stopped while starting this job " + std::to_string(count + 1) +
                                 " times; it is not queued again"});
    log(id + ": failed (the server stopped while starting it " + std::to_string(count + 1) + " times)");
    return;
  }
  store_.transition(j.id, {JobState::kRunning}, JobState::kFailed,
                    {.reason = "the server stopped while starting this job and cannot tell whether it runs (" +
                               r.detail + "); submit it again"});
  log(id + ": failed (the server stopped while starting it: " + r.detail + ")");
}

void JobService::finish(int64_t id, const Poll& p) {
  const fs::path dir = job_dir(id);
  if (p.state == RunState::kGone) {
    if (store_.transition(id, {JobState::kRunning}, JobState::kFailed, {.reason = p.detail}))
      log("job " + std::to_string(id) + ": failed: " + p.detail);
    return;
  }
  if (p.exit_code != 0) {
    std::string reason = "training failed (" + p.detail + ")";
    if (const std::string last = last_line_of(dir / "log.txt"); !last.empty()) reason += ": " + last;
    if (store_.transition(id, {JobState::kRunning}, JobState::kFailed, {.exit_code = p.exit_code, .reason = reason}))
      log("job " + std::to_string(id) + ": " + reason);
    return;
  }
  // Published before it is marked succeeded: a client that sees "succeeded" finds the model served.
  auto job = store_.get(id);
  if (!job || job->state != JobState::kRunning) return;  // cancelled meanwhile
  JobUpdate done{.exit_code = 0};
  if (options_.publish) {
    try {
      done.published = options_.publish(*job, (dir / "bundle").string());
    } catch (const std::exception& e) {
      done.reason = std::string("not published: ") + e.what();
    }
  }
  if (!store_.transition(id, {JobState::kRunning}, JobState::kSucceeded, done)) return;
  log("job " + std::to_string(id) + ": succeeded" + (done.published ? ", published as " + *done.published : "") +
      (done.reason ? " (" + *done.reason + ")" : ""));
}

}  // namespace m4h::service
