// The Slurm executor. The batch script is checked anywhere, run by plain sh: arguments that would be
// shell code in the reference arrive as data, the status file says how the program ended, a TERM
// stops the program and still leaves a status. The Cluster tests need a running Slurm cluster
// (SLURM_CONF set, as scripts/slurm-cluster.sh does for ctest's `service_slurm`); elsewhere they
// skip, loudly.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "core/subprocess.h"
#include "core/text_file.h"
#include "service/executor.h"
#include "service/launch_helpers.h"
#include "support/temp_dir.h"

namespace m4h::test {
namespace {

namespace fs = std::filesystem;
using service::Launch;
using service::Poll;
using service::RunState;



// Runs the batch script with sh, as sbatch's node would, output into log.txt.
ProgramOutput run_script(const Launch& l) {
  const fs::path script = fs::path(l.workdir) / "job.sbatch";
  write_text_file(script.string(), service::slurm_batch_script(l));
  return run_program({"sh", script.string()});
}

TEST(SlurmBatchScript, ArgumentsAreDataNotShellCode) {
  TempDir dir("slurm-script");
  const std::vector<std::string> tricky = {"it's",       "$(touch pwned)", "`touch pwned`", "a b  c", "; touch pwned",
                                           "line\nbreak", "\\'\"",         "$HOME",         "*",      ""};
  std::vector<std::string> argv = {"/usr/bin/printf", "[%s]\\n"};
  argv.insert(argv.end(), tricky.begin(), tricky.end());
  Launch l = launch_in(dir.path, argv);
  l.env = {"M4H_TEST_VALUE=x'y $(touch pwned)"};
  const ProgramOutput out = run_script(l);
  std::string expected;
  for (const auto& t : tricky) expected += "[" + t + "]\n";
  EXPECT_EQ(out.text, expected);
  EXPECT_EQ(out.status, 0);
  EXPECT_FALSE(fs::exists(dir.path / "pwned"));
  EXPECT_EQ(slurp(dir.path / "status"), "exit 0\n");

  l.argv = {"/bin/sh", "-c", "printf '%s' \"$M4H_TEST_VALUE\"; exit 3"};
  const ProgramOutput env = run_script(l);
  EXPECT_EQ(env.text, "x'y $(touch pwned)");
  EXPECT_EQ(env.status, 3);
  EXPECT_EQ(slurp(dir.path / "status"), "exit 3\n");
  EXPECT_FALSE(fs::exists(dir.path / "pwned"));
}

TEST(SlurmBatchScript, BadEnvironmentNamesAndEmptyCommandsAreRefused) {
  TempDir dir("slurm-script");
  Launch l = launch_in(dir.path, {"/bin/true"});
  l.env = {"BAD NAME=1"};
  EXPECT_THROW(service::slurm_batch_script(l), Error);
  l.env = {"X=1;touch pwned"};  // a value: fine, quoted
  EXPECT_NO_THROW(service::slurm_batch_script(l));
  l.argv.clear();
  EXPECT_THROW(service::slurm_batch_script(l), Error);
}

TEST(SlurmBatchScript, ATermStopsTheProgramAndTheStatusIsStillWritten) {
  TempDir dir("slurm-script");
  // What scancel does: TERM to every process of the job (here: the script's process group).
  const Launch l = launch_in(dir.path, {"/bin/sleep", "30"});
  const fs::path script = dir.path / "job.sbatch";
  write_text_file(script.string(), service::slurm_batch_script(l));
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  // Wait until sleep runs under the script, then signal the group.
  for (int i = 0; i < 200 && system(("pgrep -g " + std::to_string(pid) + " -x sleep >/dev/null").c_str()) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_EQ(kill(-pid, SIGTERM), 0);
  int ws = 0;
  ASSERT_EQ(waitpid(pid, &ws, 0), pid);
  EXPECT_EQ(slurp(dir.path / "status"), "signal 15\n");
}

// ---- against a real cluster

bool have_cluster() {
  return std::getenv("SLURM_CONF") != nullptr && run_program({"sh", "-c", "command -v sbatch"}).status == 0;
}
#define NEED_CLUSTER()                                                                                         \
  if (!have_cluster())                                                                                         \
  GTEST_SKIP() << "*** SKIPPED: no Slurm cluster (SLURM_CONF unset or no sbatch); ctest's service_slurm runs " \
                  "these inside scripts/slurm-cluster.sh ***"

Poll wait_for_end(service::Executor& e, const std::string& handle, const Launch& l, int seconds = 60) {
  Poll p;
  for (int i = 0; i < seconds * 10; ++i) {
    p = e.poll(handle, l.status_file);
    if (p.state != RunState::kRunning) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "slurm job " << handle << " still running after " << seconds << " s";
  return p;
}

std::string scontrol_field(const std::string& id, const std::string& key) {
  const ProgramOutput o = run_program({"scontrol", "-o", "show", "job", id});
  const size_t at = o.text.find(" " + key + "=");
  if (at == std::string::npos) return "";
  const size_t from = at + key.size() + 2;
  return o.text.substr(from, o.text.find_first_of(" \n", from) - from);
}

TEST(SlurmExecutorCluster, JobsRunEndAndReportTheirExitStatus) {
  NEED_CLUSTER();
  TempDir dir("slurm-cluster");
  auto e = service::make_slurm_executor({});
  EXPECT_EQ(e->name(), "slurm");
  for (const auto& [code, expected] : std::vector<std::pair<int, std::string>>{{0, "exit 0"}, {5, "exit 5"}}) {
    const fs::path d = dir.path / ("job" + std::to_string(code));
    fs::create_directories(d);
    Launch l = launch_in(d, {"/bin/sh", "-c", "echo \"in $(pwd) with $OMP_NUM_THREADS threads\"; exit " + std::to_string(code)});
    l.env = {"OMP_NUM_THREADS=2"};
    l.cpus = 2;
    l.memory_mb = 256;
    const std::string id = e->start(l);
    ASSERT_FALSE(id.empty());
    const Poll p = wait_for_end(*e, id, l);
    EXPECT_EQ(p.state, RunState::kExited);
    EXPECT_EQ(p.exit_code, code);
    EXPECT_EQ(p.detail, expected);
    EXPECT_NE(slurp(l.log).find("in " + d.string() + " with 2 threads"), std::string::npos) << slurp(l.log);
    // Slurm itself ran it, with the resources asked for.
    EXPECT_EQ(scontrol_field(id, "JobName"), "m4h-job" + std::to_string(code));
    EXPECT_EQ(scontrol_field(id, "NumCPUs"), "2");
    EXPECT_EQ(scontrol_field(id, "MinMemoryNode"), "256M");
  }
}

TEST(SlurmExecutorCluster, ACancelStopsTheJobAndAnotherExecutorFindsItAgain) {
  NEED_CLUSTER();
  TempDir dir("slurm-cluster");
  auto first = service::make_slurm_executor({});
  const Launch l = launch_in(dir.path, {"/bin/sleep", "300"});
  const std::string id = first->start(l);
  // Running in Slurm: what a restarted server's new executor sees too.
  for (int i = 0; i < 300 && scontrol_field(id, "JobState") != "RUNNING"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(scontrol_field(id, "JobState"), "RUNNING");
  auto second = service::make_slurm_executor({});
  EXPECT_EQ(second->poll(id, l.status_file).state, RunState::kRunning);
  // A restarted server that never stored the id finds the job by its name and folder.
  const service::Recovery r = second->recover(l.workdir, l.status_file);
  EXPECT_EQ(r.kind, service::Recovery::Kind::kRunning) << r.detail;
  EXPECT_EQ(r.handle, id);
  // A folder with no batch script was never submitted.
  const fs::path unsubmitted = dir.path / "never";
  fs::create_directories(unsubmitted);
  EXPECT_EQ(second->recover(unsubmitted.string(), (unsubmitted / "status").string()).kind,
            service::Recovery::Kind::kNone);
  second->cancel(id, 1000);
  const Poll p = wait_for_end(*second, id, l);
  EXPECT_EQ(p.state, RunState::kExited);
  EXPECT_EQ(p.detail, "signal 15");
  // COMPLETING (its processes being stopped) took over 10 s once on a loaded machine: 60 s at most.
  for (int i = 0; i < 600 && scontrol_field(id, "JobState") == "COMPLETING"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(scontrol_field(id, "JobState"), "CANCELLED");
  // Ended (squeue lists it no more) with its status written: nothing of it runs.
  const service::Recovery after =
      recover_until(*second, l, service::Recovery::Kind::kNone, 300, std::chrono::milliseconds(100));
  EXPECT_EQ(after.kind, service::Recovery::Kind::kNone) << after.detail;
}

TEST(SlurmExecutorCluster, AJobCancelledBeforeItRanIsGoneWithSlurmsReason) {
  NEED_CLUSTER();
  TempDir dir("slurm-cluster");
  service::SlurmOptions o;
  o.sbatch_args = {"--hold"};  // stays pending
  auto e = service::make_slurm_executor(o);
  const Launch l = launch_in(dir.path, {"/bin/true"});
  const std::string id = e->start(l);
  EXPECT_EQ(e->poll(id, l.status_file).state, RunState::kRunning);
  e->cancel(id, 0);
  const Poll p = wait_for_end(*e, id, l);
  EXPECT_EQ(p.state, RunState::kGone);
  EXPECT_NE(p.detail.find("CANCELLED"), std::string::npos) << p.detail;
}

TEST(SlurmExecutorCluster, BadHandlesAndRefusedSubmissionsAreClearErrors) {
  NEED_CLUSTER();
  TempDir dir("slurm-cluster");
  service::SlurmOptions o;
  o.partition = "no-such-partition";
  auto e = service::make_slurm_executor(o);
  try {
    e->start(launch_in(dir.path, {"/bin/true"}));
    ADD_FAILURE() << "sbatch accepted a job for a partition that does not exist";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("sbatch refused"), std::string::npos) << err.what();
  }
  EXPECT_THROW(e->poll("12; touch pwned", (dir.path / "status").string()), Error);
  EXPECT_THROW(e->cancel("-1", 0), Error);
}

}  // namespace
}  // namespace m4h::test
