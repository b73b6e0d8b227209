// The workflow server's durable job store: one SQLite database (WAL journal, synchronous=FULL),
// written before the server answers, so that a job the server accepted survives a crash or a
// restart (DESIGN.md: "nothing accepted is lost"). Plain C++: sqlite3.h is seen by job_store.cc
// alone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace m4h::service {

// queued -> running -> succeeded | failed; queued or running -> cancelled; queued -> failed (a
// launch that failed); running -> queued (after a restart, a job the server stopped while
// starting, of which no process exists). Final states never change again.
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

std::string_view job_state_name(JobState state);
// Throws m4h::Error kInvalidArgument for an unknown name.
JobState job_state_from_name(std::string_view name);
bool is_final(JobState state);

struct Resources {
  int cpus = 1;               // threads the job may use (its training --threads, CPU affinity)
  int64_t memory_mb = 0;      // address-space limit of the job's process; 0: none
  std::string device = "cpu"; // cpu | cuda | auto
};

struct Job {
  int64_t id = 0;
  std::string owner;      // the authenticated subject that submitted it
  std::string name;       // the model name it is published under
  JobState state = JobState::kQueued;
  std::string workflow;   // the accepted workflow, as JSON text (files, labels, model, params, ...)
  Resources resources;
  std::string executor;   // "local" or "slurm"
  std::string external_id;  // the executor's handle once started: "PID:STARTTIME" or a Slurm job id
  std::string workdir;    // the job's own folder (inputs, log, bundle)
  int exit_code = -1;     // of the job's process, when it ended
  std::string reason;     // why it failed or was cancelled; "" otherwise
  std::string published;  // "NAME/VERSION" on the inference server, once published
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0;  // Unix epoch milliseconds; 0: not yet
};

struct JobFilter {
  std::string owner;                 // "" for every owner
  std::optional<JobState> state;     // only this state
  int64_t limit = 100;               // newest first
  int64_t before_id = 0;             // paging: ids below this one (0: from the newest)
};

// What a transition writes besides the state (unset fields are left as they are).
struct JobUpdate {
  std::optional<std::string> external_id;
  std::optional<int> exit_code;
  std::optional<std::string> reason;
  std::optional<std::string> published;
  std::optional<std::string> workdir;
};

// Thread-safe: one connection behind a mutex (each call is one short transaction).
class JobStore {
 public:
  // Opens or creates the database at `path` (":memory:" for tests). Throws m4h::Error kIo naming
  // the file when it cannot be opened or is not a job store.
  explicit JobStore(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Inserts a queued job (id and created_ms are assigned) and returns it as stored.
  Job create(const Job& job);
  // Inserts it only while fewer than `max_queued` jobs are queued (one transaction, so concurrent
  // submissions cannot overshoot). Returns nullopt when the queue is full.
  std::optional<Job> create_if_queue_below(const Job& job, int64_t max_queued);

  std::optional<Job> get(int64_t id) const;
  std::vector<Job> list(const JobFilter& filter) const;
  int64_t count(std::optional<JobState> state = std::nullopt) const;
  // Queued jobs, oldest first: the dispatch order.
  std::vector<Job> queued(int64_t limit) const;

  // Moves job `id` to `to` when its state is one of `from`, writing `update` and the timestamps
  // (started_ms entering running, finished_ms entering a final state) in the same transaction.
  // Returns false (nothing written) when the job is missing or in another state: the caller lost
  // a race (a cancel against a finish, say) and must not act.
  bool transition(int64_t id, std::initializer_list<JobState> from, JobState to, const JobUpdate& update = {});
  // Writes `update` without a state change (the executor handle of a running job, say).
  void update(int64_t id, const JobUpdate& update);
  // Deletes a job in a final state. Returns false when it is missing or not final.
  bool remove(int64_t id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

int64_t now_ms();

}  // namespace m4h::service
