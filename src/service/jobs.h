// The workflow server's job runner: submissions are written to the job store before anything
// else happens; a dispatcher thread starts queued jobs on the executor while CPUs are free, polls
// running ones, records how they ended, and publishes the bundles of those that succeeded. On
// start it finds the jobs an earlier run left running: re-attached, recorded as ended, or, when
// the server stopped while starting one, put back in the queue if the executor proves that no
// process of it exists (failed with the reason if it cannot tell).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "service/executor.h"
#include "service/job_store.h"
#include "service/workflow.h"

namespace m4h::service {

struct JobServiceOptions {
  std::string state_dir;      // jobs/ID/ (inputs/, log.txt, status, bundle/) live under it
  std::string ml_executable;  // mlaas4hep-ml: runs `train` for each job
  int cpus = 0;               // CPUs shared by running jobs (each takes its resources.cpus); 0: all
  // Each job runs on CPUs of its own, out of the server's first `cpus` (the local executor pins
  // it). Only where `cpus` is at most the CPUs the server may use; otherwise jobs are not pinned.
  bool pin_cpus = false;
  int64_t max_queued = 1000;  // submissions past this many queued jobs are refused (429)
  std::chrono::milliseconds poll_interval{200};
  int cancel_grace_ms = 5000;  // SIGTERM, then SIGKILL after this
  // Publishes a succeeded job's bundle folder; returns "NAME/VERSION". Throws on failure (the job
  // stays succeeded, with the reason). Unset: bundles are not published.
  std::function<std::string(const Job&, const std::string& bundle_dir)> publish;
  std::function<void(std::string_view)> log;  // the server's log lines; unset: none
};

class JobService {
 public:
  // Recovers the jobs an earlier run left running, then starts the dispatcher.
  JobService(JobStore& store, Executor& executor, JobServiceOptions options);
  // Stops the dispatcher. Running jobs go on: the next start finds them.
  ~JobService();
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  // Queues a workflow for `owner`; the job is in the store when this returns. Throws m4h::Error
  // kResourceExhausted when max_queued jobs are already queued.
  Job submit(const std::string& owner, const Workflow& workflow);
  // Cancels a queued or running job (a running one is sent SIGTERM, then SIGKILL). Throws
  // kNotFound, or kConflict when it has already ended.
  Job cancel(int64_t id, const std::string& by);
  // Deletes an ended job and its folder. Throws kNotFound, or kConflict while it is queued or running.
  void remove(int64_t id);

  std::string job_dir(int64_t id) const;
  const JobServiceOptions& options() const { return options_; }

 private:
  void run();
  void poll_running();
  void start_queued();
  void start(const Job& job);
  // A job left running without a handle by an earlier run: followed again, finished from its
  // status, put back in the queue (no process of it exists) or, when that cannot be told, failed.
  void recover_half_started(const Job& job);
  void finish(int64_t id, const Poll& poll);
  void log(const std::string& line) const;
  std::vector<int> take_cpus(int n) const;

  JobStore& store_;
  Executor& executor_;
  JobServiceOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  struct Running {
    std::string handle;
    int cpus = 1;
    std::vector<int> cpu_set;  // pinned CPUs (empty: not pinned)
  };
  std::vector<int> pool_;  // the CPUs jobs are pinned to (empty: no pinning)
  std::map<int64_t, Running> running_;  // dispatcher thread only
  std::thread dispatcher_;
};

}  // namespace m4h::service
