// Where a job's process runs: an argument vector (never a shell line) started in the job's folder,
// followed, cancelled and, after a restart of the server, found again. The local executor is the
// embedded default; the Slurm executor hands the same launch to sbatch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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
  std::vector<int> cpu_set;       // local executor: the CPUs it may run on (sched_setaffinity); empty: any
  int64_t memory_mb = 0;          // RLIMIT_DATA of the process (heap and anonymous maps); 0: none
};

enum class RunState { kRunning, kExited, kGone };

struct Poll {
  RunState state = RunState::kRunning;
  int exit_code = -1;  // kExited: the exit status, or 128 + signal
  std::string detail;  // kExited: "exit 0", "signal 9"; kGone: why there is no status
};

// How the job ended, from its status file ("exit N" or "signal N", written by the local
// executor's supervisor or the Slurm batch script); nullopt while there is none.
std::optional<Poll> read_status_file(const std::string& status_file);

// What an executor can tell, after a restart of the server, about a job that was recorded as
// running but whose handle was never stored (the server stopped between the two).
struct Recovery {
  enum class Kind {
    kRunning,  // a process started for that job folder is alive: `handle` follows it
    kNone,     // proven: no process of that folder exists now (one may have run and ended)
    kUnknown,  // it cannot tell
  };
  Kind kind = Kind::kUnknown;
  std::string handle;
  std::string detail;  // kUnknown: why
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
  // After a restart: is a process of the job whose folder (Launch::workdir) is `workdir` alive?
  // `status_file` is the launch's. Never starts anything.
  virtual Recovery recover(const std::string& workdir, const std::string& status_file) = 0;
  virtual std::string name() const = 0;
};

// Processes on this machine. Each job runs as: a small supervisor (a fork of the server, in its own
// session and process group) that forks the job's executable, waits for it and writes its status
// file, so the status survives the server's death; the handle is "PID:STARTTIME" of the
// supervisor (the start time in /proc guards against a reused PID). Before the fork, start() takes
// an exclusive flock on "supervisor.lock" in the job's folder; the supervisor and the job inherit
// it and hold it while either lives, and the supervisor writes its PID into it. So recover() knows:
// the lock is free (or was never made) -> no process of that folder exists; held -> the PID in the
// file is the supervisor. start() refuses a folder whose lock is held.
std::unique_ptr<Executor> make_local_executor();

// Jobs of a Slurm cluster, through its client commands (sbatch, squeue, scontrol, scancel; found on
// PATH or in bin_dir, the cluster's slurm.conf through SLURM_CONF as usual). The job's folder must be
// on a file system its compute node shares with the server. The handle is the Slurm job id.
struct SlurmOptions {
  std::string partition;                 // --partition; empty: the cluster's default
  std::string account;                   // --account
  std::vector<std::string> sbatch_args;  // more sbatch options, each one argument (--time=1:00:00, --qos=...)
  std::string bin_dir;                   // folder of the Slurm commands; empty: PATH
  // How long a job Slurm calls ended may still be writing its status file: Slurm marks a cancelled
  // job CANCELLED at once, while its script is still stopping (and a shared file system may show
  // the file late). Only after this window is a job with no status file given Slurm's reason.
  int status_grace_ms = 10000;
};
std::unique_ptr<Executor> make_slurm_executor(SlurmOptions options);

// The batch script sbatch runs for `launch`: a POSIX sh file that sets the environment, enters the
// folder, runs the argument vector (each argument single-quoted: data, never shell code) and writes
// the status file as the local executor does. Runs the same under plain `sh` (the tests do).
std::string slurm_batch_script(const Launch& launch);

}  // namespace m4h::service
