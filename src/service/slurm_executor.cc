// The Slurm executor: a job is a batch script handed to sbatch; squeue, then scontrol, say whether
// it still runs; its status file (written by the script, as the local executor's supervisor does)
// says how it ended. Every Slurm command runs from an argument vector, never a shell line.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/subprocess.h"
#include "core/text_file.h"
#include "service/executor.h"

namespace m4h::service {
namespace {

namespace fs = std::filesystem;

// One shell word holding `s` exactly: single quotes, each ' written as '\''.
std::string quoted(const std::string& s) {
  if (s.find('\0') != std::string::npos)
    throw Error(ErrorCode::kInvalidArgument, "slurm executor: an argument holds a NUL byte");
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool is_env_name(const std::string& n) {
  static const std::regex name("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(n, name);
}

// Slurm's job states that end a job (the rest, PENDING, RUNNING, COMPLETING..., do not).
bool is_final(const std::string& state) {
  static const std::set<std::string> final = {"COMPLETED", "CANCELLED", "FAILED",    "TIMEOUT",  "NODE_FAIL", "PREEMPTED",
                                              "BOOT_FAIL", "DEADLINE",  "OUT_OF_MEMORY", "REVOKED", "SPECIAL_EXIT"};
  return final.count(state.substr(0, state.find(' '))) > 0;
}

// The value of `key=` in one line of `scontrol -o show job` ("" when absent). Our job names hold no
// spaces, so a name cannot pose as another field.
std::string field(const std::string& line, const std::string& key) {
  std::istringstream words(line);
  for (std::string w; words >> w;)
    if (w.size() > key.size() && w.compare(0, key.size(), key) == 0 && w[key.size()] == '=') return w.substr(key.size() + 1);
  return "";
}

class SlurmExecutor final : public Executor {
 public:
  explicit SlurmExecutor(SlurmOptions o) : options_(std::move(o)) {}

  std::string name() const override { return "slurm"; }

  std::string start(const Launch& l) override {
    const std::string script = (fs::path(l.workdir) / "job.sbatch").string();
    write_text_file(script, slurm_batch_script(l));
    ::chmod(script.c_str(), 0755);
    std::vector<std::string> args = {command("sbatch"), "--parsable",
                                     "--job-name=m4h-" + fs::path(l.workdir).filename().string(),
                                     "--chdir=" + l.workdir, "--output=" + l.log, "--open-mode=append", "--ntasks=1",
                                     "--cpus-per-task=" + std::to_string(std::max(1, l.cpus))};
    if (l.memory_mb > 0) args.push_back("--mem=" + std::to_string(l.memory_mb) + "M");
    if (!options_.partition.empty()) args.push_back("--partition=" + options_.partition);
    if (!options_.account.empty()) args.push_back("--account=" + options_.account);
    args.insert(args.end(), options_.sbatch_args.begin(), options_.sbatch_args.end());
    args.push_back(script);
    const ProgramOutput out = run_program(args);
    // --parsable prints "ID" or "ID;CLUSTER"; warnings may come before it.
    static const std::regex id_line("([0-9]+)(;.*)?");
    std::smatch m;
    const auto lines = lines_of(out.text);
    if (out.status != 0 || lines.empty() || !std::regex_match(lines.back(), m, id_line))
      throw Error(ErrorCode::kIo, "sbatch refused the job (exit " + std::to_string(out.status) + "): " + out.text.substr(0, 500));
    return m[1].str();
  }

  Poll poll(const std::string& handle, const std::string& status_file) override {
    check_handle(handle);
    if (auto done = status_of(handle, status_file)) return *done;
    const std::optional<std::string> queued = queue_state(handle);
    if (queued && !is_final(*queued)) return Poll{};
    // Not in the queue (or ended there): the script may have written its status meanwhile.
    if (auto done = status_of(handle, status_file)) return *done;
    const ProgramOutput out = run_program({command("scontrol"), "-o", "show", "job", handle});
    const auto lines = lines_of(out.text);
    const std::string line = lines.empty() ? "" : lines.front();
    const std::string state = field(line, "JobState");
    if (out.status == 0 && !state.empty() && !is_final(state)) return Poll{};  // queued or running still
    Poll gone;
    gone.state = RunState::kGone;
    if (out.status == 0 && !state.empty())
      gone.detail = "slurm job " + handle + " ended " + state + " (exit code " + field(line, "ExitCode") +
                    ") before its program wrote a status" + (field(line, "Reason") != "None" ? ", reason " + field(line, "Reason") : "");
    else if (out.text.find("Invalid job id") != std::string::npos)
      gone.detail = "slurm job " + handle + " is unknown to Slurm (ended longer ago than its MinJobAge?) and left no status";
    else
      return Poll{};  // the controller cannot be reached: asked again next round, nothing is decided
    // Ended in Slurm's eyes: the status file may still be on its way.
    {
      std::lock_guard lock(mutex_);
      const auto now = std::chrono::steady_clock::now();
      const auto it = ended_without_status_.try_emplace(handle, now).first;
      if (now - it->second < std::chrono::milliseconds(options_.status_grace_ms)) return Poll{};
    }
    if (auto done = status_of(handle, status_file)) return *done;
    forget_end(handle);
    return gone;
  }

  Recovery recover(const std::string& workdir, const std::string& status_file) override {
    const std::string script = (fs::path(workdir) / "job.sbatch").string();
    // start() writes the script before it calls sbatch: without it, nothing was submitted.
    if (!fs::exists(script)) return {.kind = Recovery::Kind::kNone};
    const std::string name = "m4h-" + fs::path(workdir).filename().string();
    // A busy controller times squeue out now and then: asked three times, a second apart.
    const std::vector<std::string> squeue = {command("squeue"), "--noheader", "--name=" + name, "--format=%i|%Z"};
    ProgramOutput out = run_program(squeue);
    for (int retry = 0; retry < 2 && out.status != 0; ++retry) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      out = run_program(squeue);
    }
    if (out.status != 0) return {.detail = "squeue failed (exit " + std::to_string(out.status) + "): " + out.text.substr(0, 300)};
    for (const std::string& line : lines_of(out.text)) {
      const size_t bar = line.find('|');
      if (bar == std::string::npos || line.substr(bar + 1) != workdir) continue;  // another server's job of that name
      const std::string id = line.substr(0, bar);
      if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos)
        return {.kind = Recovery::Kind::kRunning, .handle = id};
    }
    if (read_status_file(status_file)) return {.kind = Recovery::Kind::kNone};  // it ran and ended
    return {.detail = "no Slurm job " + name + " of " + workdir +
                      " is queued or running and it left no status: sbatch may have taken it or not"};
  }

  void cancel(const std::string& handle, int /*grace_ms: Slurm's KillWait decides*/) override {
    check_handle(handle);
    // scancel sends SIGTERM to every process of the job, SIGKILL after KillWait.
    run_program({command("scancel"), handle});
  }

 private:
  std::string command(const std::string& name) const {
    return options_.bin_dir.empty() ? name : (fs::path(options_.bin_dir) / name).string();
  }

  // The job's status file, if written; a job that has one needs no grace window any more.
  std::optional<Poll> status_of(const std::string& handle, const std::string& status_file) {
    auto done = read_status_file(status_file);
    if (done) forget_end(handle);
    return done;
  }
  void forget_end(const std::string& handle) {
    std::lock_guard lock(mutex_);
    ended_without_status_.erase(handle);
  }

  static void check_handle(const std::string& h) {
    if (h.empty() || h.find_first_not_of("0123456789") != std::string::npos)
      throw Error(ErrorCode::kInvalidArgument, "slurm executor: '" + h + "' is not a Slurm job id");
  }

  // The job's state in squeue's listing, one listing per second for all the jobs polled (squeue
  // asks the controller; the dispatcher polls every few hundred milliseconds).
  std::optional<std::string> queue_state(const std::string& id) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - listed_at_ > std::chrono::seconds(1)) {
      listed_at_ = now;
      listing_.clear();
      const ProgramOutput out = run_program({command("squeue"), "--noheader", "--format=%i|%T"});
      if (out.status == 0)
        for (const std::string& line : lines_of(out.text))
          if (const size_t bar = line.find('|'); bar != std::string::npos) listing_[line.substr(0, bar)] = line.substr(bar + 1);
    }
    const auto it = listing_.find(id);
    if (it == listing_.end()) return std::nullopt;
    return it->second;
  }

  SlurmOptions options_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point listed_at_{};
  std::map<std::string, std::string> listing_;
  std::map<std::string, std::chrono::steady_clock::time_point> ended_without_status_;  // by job id
};

}  // namespace

std::string slurm_batch_script(const Launch& l) {
  if (l.argv.empty()) throw Error(ErrorCode::kInvalidArgument, "slurm executor: empty argument vector");
  std::string s =
      "#!/bin/sh\n"
      "# An mlaas4hep job, written by the workflow server for sbatch. Every argument is quoted: data, not code.\n"
      "# A cancel signals every process of the job: the program stops, this shell stays to write the\n"
      "# status (a trapped signal, unlike an ignored one, is back to its default in the program).\n"
      "trap ':' TERM\n";
  for (const std::string& e : l.env) {
    const size_t eq = e.find('=');
    const std::string name = e.substr(0, eq);
    if (eq == std::string::npos || !is_env_name(name))
      throw Error(ErrorCode::kInvalidArgument, "slurm executor: '" + e + "' is not NAME=value with a valid name");
    s += "export " + name + "=" + quoted(e.substr(eq + 1)) + "\n";
  }
  s += "cd " + quoted(l.workdir) + " || { echo 'mlaas4hep: cannot enter the job folder' >&2; exit 126; }\n";
  if (l.memory_mb > 0) s += "ulimit -d " + std::to_string(l.memory_mb * 1024) + "\n";
  std::string command;
  for (const std::string& a : l.argv) command += (command.empty() ? "" : " ") + quoted(a);
  const std::string part = quoted(l.status_file + ".tmp"), final = quoted(l.status_file);
  s += command + " </dev/null\n"
       "rc=$?\n"
       "if [ \"$rc\" -gt 128 ]; then line=\"signal $((rc - 128))\"; else line=\"exit $rc\"; fi\n"
       "printf '%s\\n' \"$line\" > " + part + " && mv -f " + part + " " + final + "\n"
       "exit \"$rc\"\n";
  return s;
}

std::unique_ptr<Executor> make_slurm_executor(SlurmOptions options) {
  return std::make_unique<SlurmExecutor>(std::move(options));
}

}  // namespace m4h::service
