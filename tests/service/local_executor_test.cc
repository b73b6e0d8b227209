// The local executor: a job's process runs in its folder with its log and environment, its exit
// status reaches the status file through the supervisor, a cancel stops it, and a new executor
// (the server restarted) finds a running job by its handle and reads its status when it ends.
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
