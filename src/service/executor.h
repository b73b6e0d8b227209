// Where a job's process runs: an argument vector (never a shell line) started in the job's folder,
// followed, cancelled and, after a restart of the server, found again. The local executor is the
// embedded default; the Slurm executor (later) hands the same launch to sbatch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace m4h::service {

struct Launch {
  std::vector<std::string> argv;  // argv[0] is the executable's path
  std::vector<std::string> env;   // "NAME=value" added to the server's environment
  std::string workdir;            // the job's folder: its working directory
  std::string log;                // stdout and stderr go here (appended)
  std::string status_file;        // "exit N" or "signal N" is written here when the process ends
  int cpus = 1;                   // threads it may use (OMP_NUM_THREADS, scheduling)
  int64_t memory_mb = 0;          // RLIMIT_DATA of the process (heap and anonymous maps); 0: none
};

enum class RunState { kRunning, kExited, kGone };

struct Poll {
  RunState state = RunState::kRunning;
  int exit_code = -1;  // kExited: the exit status, or 128 + signal
  std::string detail;  // kExited: "exit 0", "signal 9"; kGone: why there is no status
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Starts the process; returns its handle (stored with the job, used to find it again after a
  // restart). Throws m4h::Error kIo when it cannot be started.
  virtual std::string start(const Launch& launch) = 0;
  // Non-blocking. `status_file` is the launch's: read once the process is gone.
  virtual Poll poll(const std::string& handle, const std::string& status_file) = 0;
  // Asks the process (and its children) to stop: SIGTERM, then SIGKILL after `grace_ms`. Returns
  // at once; poll() reports the end.
  virtual void cancel(const std::string& handle, int grace_ms) = 0;
  virtual std::string name() const = 0;
};

// Processes on this machine. Each job runs as: a small supervisor (a fork of the server, in its own
// session and process group) that forks the job's executable, waits for it and writes its status
// file, so the status survives the server's death; the handle is "PID:STARTTIME" of the
// supervisor (the start time in /proc guards against a reused PID).
std::unique_ptr<Executor> make_local_executor();

}  // namespace m4h::service
