// The local executor: a job's process runs in its folder with its log and environment, its exit
// status reaches the status file through the supervisor, a cancel stops it, and a new executor
// (the server restarted) finds a running job by its handle and reads its status when it ends, or,
// by the job's folder alone, finds its process or proves there is none.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/error.h"
#include "service/executor.h"
#include "service/launch_helpers.h"
#include "support/temp_dir.h"

namespace m4h::test {
namespace {

namespace fs = std::filesystem;
using service::Launch;
using service::Poll;
using service::RunState;




// Polls until the process ends (at most 30 s).
Poll wait_end(service::Executor& ex, const std::string& handle, const std::string& status_file) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  Poll p;
  while ((p = ex.poll(handle, status_file)).state == RunState::kRunning && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return p;
}

TEST(LocalExecutor, RunsInItsFolderWithItsLogEnvironmentAndExitStatus) {
  TempDir d;
  auto ex = service::make_local_executor();
  auto l = launch_in(d.path, {"/bin/sh", "-c", "pwd; echo \"$M4H_TEST_VALUE\"; echo oops >&2; exit 3"});
  l.env = {"M4H_TEST_VALUE=hello world"};
  const std::string h = ex->start(l);
  const Poll p = wait_end(*ex, h, l.status_file);
  EXPECT_EQ(p.state, RunState::kExited);
  EXPECT_EQ(p.exit_code, 3);
  EXPECT_EQ(p.detail, "exit 3");
  EXPECT_EQ(slurp(l.log), fs::canonical(d.path).string() + "\nhello world\noops\n");
}

TEST(LocalExecutor, MissingExecutableIsExit127WithAMessage) {
  TempDir d;
  auto ex = service::make_local_executor();
  auto l = launch_in(d.path, {"/no/such/program"});
  const Poll p = wait_end(*ex, ex->start(l), l.status_file);
  EXPECT_EQ(p.exit_code, 127);
  EXPECT_NE(slurp(l.log).find("cannot start /no/such/program"), std::string::npos) << slurp(l.log);
}

TEST(LocalExecutor, CancelStopsTheJobAndItsChildren) {
  TempDir d;
  auto ex = service::make_local_executor();
  auto l = launch_in(d.path, {"/bin/sh", "-c", "sleep 60 & sleep 60; echo never"});
  const std::string h = ex->start(l);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(ex->poll(h, l.status_file).state, RunState::kRunning);
  ex->cancel(h, 2000);
  const Poll p = wait_end(*ex, h, l.status_file);
  EXPECT_EQ(p.state, RunState::kExited);
  EXPECT_EQ(p.detail, "signal 15");
  EXPECT_EQ(slurp(l.log).find("never"), std::string::npos);
}

TEST(LocalExecutor, ARestartedServerFindsTheJobAgain) {
  TempDir d;
  auto first = service::make_local_executor();
  auto l = launch_in(d.path, {"/bin/sh", "-c", "sleep 0.5; exit 0"});
  const std::string h = first->start(l);
  // A new executor knows nothing of the process but its handle.
  auto second = service::make_local_executor();
  EXPECT_EQ(second->poll(h, l.status_file).state, RunState::kRunning);
  const Poll p = wait_end(*second, h, l.status_file);
  EXPECT_EQ(p.state, RunState::kExited);
  EXPECT_EQ(p.exit_code, 0);
  // The first executor reaps its child; a handle whose process is gone without a status is kGone.
  EXPECT_EQ(wait_end(*first, h, l.status_file).exit_code, 0);
  fs::remove(l.status_file);
  EXPECT_EQ(second->poll(h, l.status_file).state, RunState::kGone);
  EXPECT_THROW(second->poll("garbage", l.status_file), Error);
}

// Kind of recover() over 5 s at most: a lock is released only once every process holding it is reaped.
service::Recovery::Kind recovered_kind(service::Executor& ex, const Launch& l, service::Recovery::Kind want) {
  return recover_until(ex, l, want, 250, std::chrono::milliseconds(20)).kind;
}

TEST(LocalExecutor, RecoverFindsTheProcessOfAFolderOrProvesThereIsNone) {
  using Kind = service::Recovery::Kind;
  TempDir d;
  auto first = service::make_local_executor();
  auto l = launch_in(d.path, {"/bin/sh", "-c", "sleep 60"});
  // Nothing was ever started in this folder.
  EXPECT_EQ(first->recover(l.workdir, l.status_file).kind, Kind::kNone);
  const std::string h = first->start(l);
  // A restarted server that never stored the handle finds the same process by the folder.
  auto second = service::make_local_executor();
  const service::Recovery r = second->recover(l.workdir, l.status_file);
  EXPECT_EQ(r.kind, Kind::kRunning) << r.detail;
  EXPECT_EQ(r.handle, h);
  // A second process for the same folder is refused while the first lives.
  try {
    first->start(launch_in(d.path, {"/bin/true"}));
    FAIL() << "a second process was started in a folder whose job runs";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
    EXPECT_NE(std::string(e.what()).find("still running"), std::string::npos) << e.what();
  }
  first->cancel(h, 2000);
  EXPECT_EQ(wait_end(*first, h, l.status_file).detail, "signal 15");
  // Ended: the lock file stays, free, and proves no process of the folder is left.
  EXPECT_EQ(recovered_kind(*second, l, Kind::kNone), Kind::kNone);
  // The folder can be used again.
  auto again = launch_in(d.path, {"/bin/sh", "-c", "exit 4"});
  EXPECT_EQ(wait_end(*first, first->start(again), again.status_file).exit_code, 4);
}

TEST(LocalExecutor, AJobThatOutlivesItsSupervisorIsNotTakenForGone) {
  using Kind = service::Recovery::Kind;
  TempDir d;
  auto ex = service::make_local_executor();
  auto l = launch_in(d.path, {"/bin/sh", "-c", "touch started; sleep 60"});
  const std::string h = ex->start(l);
  const pid_t supervisor = std::stoi(h.substr(0, h.find(':')));
  for (int i = 0; i < 1500 && !fs::exists(d.path / "started"); ++i)  // the job runs (30 s at most)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(d.path / "started"));
  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  EXPECT_EQ(wait_end(*ex, h, l.status_file).state, RunState::kGone);
  // The job still holds the folder's lock: not provably gone, and not followable.
  const service::Recovery r = ex->recover(l.workdir, l.status_file);
  EXPECT_EQ(r.kind, Kind::kUnknown);
  EXPECT_NE(r.detail.find("locked"), std::string::npos) << r.detail;
  ::kill(-supervisor, SIGKILL);  // the job, in the supervisor's process group
  EXPECT_EQ(recovered_kind(*ex, l, Kind::kNone), Kind::kNone);
}

TEST(LocalExecutor, MemoryLimitStopsAGreedyJob) {
  TempDir d;
  auto ex = service::make_local_executor();
  // 64 MiB of data segment: allocating 256 MiB must fail inside the job.
  auto l = launch_in(d.path, {"/usr/bin/python3", "-c", "b = bytearray(256 << 20)"});
  l.memory_mb = 64;
  if (!fs::exists(l.argv[0])) GTEST_SKIP() << "no python3";
  const Poll p = wait_end(*ex, ex->start(l), l.status_file);
  EXPECT_EQ(p.state, RunState::kExited);
  EXPECT_NE(p.exit_code, 0);
  EXPECT_NE(slurp(l.log).find("MemoryError"), std::string::npos) << slurp(l.log);
}

}  // namespace
}  // namespace m4h::test
