// The job store: jobs survive reopening the database, transitions are atomic compare-and-set
// (a lost race writes nothing), the queue limit holds under concurrent submissions, listing
// filters by owner and state, and a file that is not a job store is refused with its name.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "core/error.h"
#include "service/job_store.h"
#include "support/temp_dir.h"

namespace m4h::test {
namespace {

namespace fs = std::filesystem;
using service::Job;
using service::JobFilter;
using service::JobState;
using service::JobStore;


Job job_of(const std::string& owner, const std::string& name = "m") {
  Job j;
  j.owner = owner;
  j.name = name;
  j.workflow = R"({"files": ["a.root"]})";
  j.resources.cpus = 2;
  j.resources.memory_mb = 512;
  j.executor = "local";
  return j;
}

TEST(JobStore, JobsSurviveReopeningTheDatabase) {
  TempDir d;
  const std::string db = (d.path / "jobs.db").string();
  int64_t a = 0, b = 0;
  {
    JobStore s(db);
    a = s.create(job_of("alice", "first")).id;
    b = s.create(job_of("bob")).id;
    ASSERT_TRUE(s.transition(b, {JobState::kQueued}, JobState::kRunning, {.external_id = "123:456"}));
  }
  JobStore s(db);
  auto ja = s.get(a), jb = s.get(b);
  ASSERT_TRUE(ja && jb);
  EXPECT_EQ(ja->owner, "alice");
  EXPECT_EQ(ja->name, "first");
  EXPECT_EQ(ja->state, JobState::kQueued);
  EXPECT_EQ(ja->workflow, R"({"files": ["a.root"]})");
  EXPECT_EQ(ja->resources.cpus, 2);
  EXPECT_EQ(ja->resources.memory_mb, 512);
  EXPECT_GT(ja->created_ms, 0);
  EXPECT_EQ(jb->state, JobState::kRunning);
  EXPECT_EQ(jb->external_id, "123:456");
  EXPECT_GT(jb->started_ms, 0);
  EXPECT_EQ(s.count(), 2);
  EXPECT_EQ(s.count(JobState::kQueued), 1);
}

TEST(JobStore, TransitionsAreCompareAndSet) {
  JobStore s(":memory:");
  const int64_t id = s.create(job_of("alice")).id;
  EXPECT_FALSE(s.transition(id, {JobState::kRunning}, JobState::kSucceeded));  // not running yet
  EXPECT_TRUE(s.transition(id, {JobState::kQueued}, JobState::kRunning));
  // A cancel and a finish race: one wins, the other changes nothing.
  EXPECT_TRUE(s.transition(id, {JobState::kQueued, JobState::kRunning}, JobState::kCancelled, {.reason = "by alice"}));
  EXPECT_FALSE(s.transition(id, {JobState::kRunning}, JobState::kSucceeded, {.exit_code = 0}));
  auto j = s.get(id);
  EXPECT_EQ(j->state, JobState::kCancelled);
  EXPECT_EQ(j->reason, "by alice");
  EXPECT_EQ(j->exit_code, -1);
  EXPECT_GT(j->finished_ms, 0);
  EXPECT_FALSE(s.transition(999, {JobState::kQueued}, JobState::kRunning));
  s.update(id, {.published = "m/3"});
  EXPECT_EQ(s.get(id)->published, "m/3");
  EXPECT_TRUE(s.remove(id));
  EXPECT_FALSE(s.get(id));
  const int64_t live = s.create(job_of("alice")).id;
  EXPECT_FALSE(s.remove(live));  // only final jobs are deleted
}

TEST(JobStore, ListsByOwnerAndStateNewestFirstWithPaging) {
  JobStore s(":memory:");
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(s.create(job_of(i % 2 ? "bob" : "alice")).id);
  s.transition(ids[0], {JobState::kQueued}, JobState::kRunning);
  auto alice = s.list({.owner = "alice"});
  ASSERT_EQ(alice.size(), 3u);
  EXPECT_EQ(alice[0].id, ids[4]);
  EXPECT_EQ(alice[2].id, ids[0]);
  EXPECT_EQ(s.list({}).size(), 5u);
  EXPECT_EQ(s.list({.state = JobState::kRunning}).size(), 1u);
  auto page = s.list({.limit = 2});
  ASSERT_EQ(page.size(), 2u);
  auto next = s.list({.limit = 2, .before_id = page.back().id});
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].id, ids[2]);
  auto q = s.queued(10);
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0].id, ids[1]);  // oldest first
}

TEST(JobStore, QueueLimitHoldsUnderConcurrentSubmissions) {
  TempDir d;
  JobStore s((d.path / "jobs.db").string());
  std::atomic<int> accepted{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) (s.create_if_queue_below(job_of("u"), 25) ? accepted : refused)++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 25);
  EXPECT_EQ(refused.load(), 55);
  EXPECT_EQ(s.count(JobState::kQueued), 25);
}

TEST(JobStore, NotADatabaseIsAnErrorNamingTheFile) {
  TempDir d;
  const std::string path = (d.path / "jobs.db").string();
  std::ofstream(path) << std::string(4096, 'x');
  try {
    JobStore s(path);
    FAIL() << "opened a file that is not a database";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(JobStore((d.path / "missing-dir" / "jobs.db").string()), Error);
}

TEST(JobStore, StateNames) {
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
                     JobState::kCancelled})
    EXPECT_EQ(service::job_state_from_name(service::job_state_name(s)), s);
  EXPECT_THROW(service::job_state_from_name("done"), Error);
  EXPECT_TRUE(service::is_final(JobState::kFailed));
  EXPECT_FALSE(service::is_final(JobState::kRunning));
}

}  // namespace
}  // namespace m4h::test
