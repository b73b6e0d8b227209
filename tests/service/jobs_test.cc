// The job runner with the local executor and a stand-in for mlaas4hep-ml (a shell script that
// behaves like `train` by the first label: 9 fails, 8 runs for a long time, 7 for a second):
// jobs run, fail with the training's last line as reason, are cancelled, share the CPUs, are
// refused past the queue limit, and are found again by a restarted service, which also recovers
// jobs it had stopped while starting.
#include <sched.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "service/jobs.h"
#include "service/fake_train.h"
#include "service/launch_helpers.h"
#include "support/temp_dir.h"

namespace m4h::test {
namespace {

namespace fs = std::filesystem;
using namespace service;


struct Fixture {
  Fixture() {
    fake = write_fake_train(dir);
  }

  JobServiceOptions options(int cpus = 2) const {
    JobServiceOptions o;
    o.state_dir = (dir / "state").string();
    o.ml_executable = fake;
    o.cpus = cpus;
    o.poll_interval = std::chrono::milliseconds(20);
    o.cancel_grace_ms = 1000;
    return o;
  }
  static Workflow workflow(int64_t label, int cpus = 1) {
    Workflow w;
    w.files = {"root://host//a.root", "root://host//b.root"};
    w.labels = {label, 0};
    w.model_json = R"({"type": "mlp"})";
    w.params_json = R"({"nevts": 10})";
    w.resources.cpus = cpus;
    return w;
  }
  TempDir tmp{"m4h-jobs"};
  fs::path dir = tmp.path;
  std::string fake;
};

// Waits (at most 30 s) until the job is in a final state.
Job wait_final(JobStore& store, int64_t id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto j = store.get(id);
    if (!j || is_final(j->state) || std::chrono::steady_clock::now() > deadline) return j.value_or(Job{});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Job wait_state(JobStore& store, int64_t id, JobState state) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto j = store.get(id);
  while (j && j->state != state && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    j = store.get(id);
  }
  return j.value_or(Job{});
}


TEST(JobService, PinnedJobsRunOnCpusOfTheirOwn) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  if (CPU_COUNT(&allowed) < 2) GTEST_SKIP() << "*** SKIPPED: needs 2 CPUs to give two jobs one each ***";
  Fixture f;
  JobStore store(":memory:");
  auto ex = make_local_executor();
  auto o = f.options(2);
  o.pin_cpus = true;
  JobService jobs(store, *ex, o);
  const Job a = jobs.submit("u", Fixture::workflow(7)), b = jobs.submit("u", Fixture::workflow(7));
  ASSERT_EQ(wait_final(store, a.id).state, JobState::kSucceeded);
  ASSERT_EQ(wait_final(store, b.id).state, JobState::kSucceeded);
  const fs::path da = jobs.job_dir(a.id), db = jobs.job_dir(b.id);
  const std::string ca = slurp(da / "cpus"), cb = slurp(db / "cpus");
  EXPECT_FALSE(ca.empty());
  EXPECT_NE(ca, cb) << "both jobs ran at once on the same CPU";
  for (const auto& [d, cpus] : {std::pair{da, ca}, std::pair{db, cb}}) {
    const int cpu = std::stoi(cpus);
    EXPECT_TRUE(CPU_ISSET(cpu, &allowed));
    // What the kernel let the job's process use: that one CPU.
    EXPECT_NE(slurp(d / "log.txt").find("Cpus_allowed_list:\t" + std::to_string(cpu) + "\n"), std::string::npos)
        << slurp(d / "log.txt");
  }
  // More CPUs for jobs than the server may use: no pinning, and it says so in no file.
  JobStore store2(":memory:");
  auto o2 = f.options(CPU_COUNT(&allowed) + 1);
  o2.state_dir += "2";
  o2.pin_cpus = true;
  JobService unpinned(store2, *ex, o2);
  const Job c = unpinned.submit("u", Fixture::workflow(1));
  ASSERT_EQ(wait_final(store2, c.id).state, JobState::kSucceeded);
  EXPECT_FALSE(fs::exists(fs::path(unpinned.job_dir(c.id)) / "cpus"));
}

TEST(JobService, RunsPublishesAndRecordsFailures) {
  Fixture f;
  JobStore store(":memory:");
  auto ex = make_local_executor();
  auto o = f.options();
  std::string published_bundle;
  o.publish = [&](const Job& j, const std::string& bundle) {
    published_bundle = bundle;
    return j.name + "/1";
  };
  JobService jobs(store, *ex, o);
  Workflow w = f.workflow(1);
  w.name = "ttH";
  const Job ok = jobs.submit("alice", w);
  const Job bad = jobs.submit("alice", f.workflow(9));
  EXPECT_EQ(ok.state, JobState::kQueued);
  EXPECT_EQ(ok.owner, "alice");
  EXPECT_EQ(ok.name, "ttH");
  EXPECT_EQ(bad.name.rfind("job-", 0), 0u);

  const Job done = wait_final(store, ok.id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.reason;
  EXPECT_EQ(done.exit_code, 0);
  EXPECT_EQ(done.published, "ttH/1");
  EXPECT_EQ(published_bundle, jobs.job_dir(ok.id) + "/bundle");
  EXPECT_TRUE(fs::exists(published_bundle + "/metrics.json"));
  // The job's inputs: what train reads.
  EXPECT_EQ(std::ifstream(jobs.job_dir(ok.id) + "/inputs/labels.txt").rdbuf() != nullptr, true);
  std::ifstream log(jobs.job_dir(ok.id) + "/log.txt");
  std::string log_text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(log_text.find("root://host//a.root\nroot://host//b.root\n"), std::string::npos) << log_text;
  EXPECT_GT(done.started_ms, 0);
  EXPECT_GE(done.finished_ms, done.started_ms);

  const Job failed = wait_final(store, bad.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.exit_code, 2);
  EXPECT_EQ(failed.reason, "training failed (exit 2): mlaas4hep: error: params.json: no branches selected");
  EXPECT_EQ(failed.published, "");

  EXPECT_THROW(jobs.remove(999), Error);
  jobs.remove(failed.id);
  EXPECT_FALSE(store.get(failed.id));
  EXPECT_FALSE(fs::exists(jobs.job_dir(failed.id)));
}

TEST(JobService, CancelQueuedAndRunningJobs) {
  Fixture f;
  JobStore store(":memory:");
  auto ex = make_local_executor();
  JobService jobs(store, *ex, f.options(1));
  const Job slow = jobs.submit("alice", f.workflow(8));
  const Job waiting = jobs.submit("alice", f.workflow(1));
  wait_state(store, slow.id, JobState::kRunning);
  // One CPU: the second job waits for the first.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(store.get(waiting.id)->state, JobState::kQueued);
  EXPECT_EQ(jobs.cancel(waiting.id, "alice").state, JobState::kCancelled);
  const Job c = jobs.cancel(slow.id, "admin");
  EXPECT_EQ(c.state, JobState::kCancelled);
  EXPECT_EQ(c.reason, "cancelled by admin");
  try {
    jobs.cancel(slow.id, "alice");
    FAIL() << "cancelled twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
  }
  // The process is gone within the grace period; the state stays cancelled.
  const Job later = jobs.submit("alice", f.workflow(1));
  EXPECT_EQ(wait_final(store, later.id).state, JobState::kSucceeded);
  EXPECT_EQ(store.get(slow.id)->state, JobState::kCancelled);
}

TEST(JobService, QueueLimitIsAnExplicitRefusal) {
  Fixture f;
  JobStore store(":memory:");
  auto ex = make_local_executor();
  auto o = f.options(1);
  o.max_queued = 2;
  JobService jobs(store, *ex, o);
  const Job running = jobs.submit("u", f.workflow(8));
  wait_state(store, running.id, JobState::kRunning);
  jobs.submit("u", f.workflow(1));
  jobs.submit("u", f.workflow(1));
  try {
    jobs.submit("u", f.workflow(1));
    FAIL() << "a third queued job was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kResourceExhausted);
  }
  jobs.cancel(running.id, "u");
}

TEST(JobService, ARestartFindsRunningJobsAndRecoversHalfStartedOnes) {
  Fixture f;
  const std::string db = (f.dir / "jobs.db").string();
  const fs::path jobs_dir = f.dir / "state" / "jobs";
  int64_t id = 0, never_started = 0, started = 0, ended = 0, too_often = 0;
  std::string started_handle;
  {
    JobStore store(db);
    auto ex = make_local_executor();
    JobService jobs(store, *ex, f.options());
    id = jobs.submit("alice", f.workflow(7)).id;
    wait_state(store, id, JobState::kRunning);
  }  // the "server" goes away; its job's supervisor runs on
  {
    // Jobs the server had marked running, and then died before it stored their handle (made
    // with no dispatcher up, which would start them between their creation and "running"):
    JobStore store(db);
    auto ex = make_local_executor();
    auto half = [&](const std::string& owner) {
      Workflow w = f.workflow(7);
      w.name = owner + "-model";
      const int64_t h = store.create(Job{.owner = owner, .name = w.name, .workflow = to_json(w), .executor = "local"}).id;
      EXPECT_TRUE(store.transition(h, {JobState::kQueued}, JobState::kRunning));
      fs::create_directories(jobs_dir / std::to_string(h));
      return h;
    };
    never_started = half("bob");  // before its process was started, or killed with it
    fs::create_directories(jobs_dir / std::to_string(never_started) / "bundle");
    std::ofstream(jobs_dir / std::to_string(never_started) / "bundle" / "stale.pt") << "from a killed run";
    started = half("carol");      // after: its process runs
    auto l = launch_in(jobs_dir / std::to_string(started), {"/bin/sh", "-c", "sleep 3; exit 0"});
    started_handle = ex->start(l);
    ended = half("dave");         // after, and its process ended while no server was up
    std::ofstream(jobs_dir / std::to_string(ended) / "status") << "exit 3\n";
    too_often = half("erin");     // queued again too often: its start is what brings the server down?
    std::ofstream(jobs_dir / std::to_string(too_often) / "requeued") << "3\n";
  }
  JobStore store(db);
  auto ex = make_local_executor();
  JobService jobs(store, *ex, f.options());
  // No process of it existed: queued again, then run to its end.
  const Job a = wait_final(store, never_started);
  EXPECT_EQ(a.state, JobState::kSucceeded) << a.reason;
  EXPECT_NE(slurp(jobs_dir / std::to_string(never_started) / "log.txt").find("queued again"), std::string::npos);
  EXPECT_FALSE(fs::exists(jobs_dir / std::to_string(never_started) / "bundle" / "stale.pt"));
  // Its process was running: found by its folder, followed to its end.
  const Job b = wait_final(store, started);
  EXPECT_EQ(b.state, JobState::kSucceeded) << b.reason;
  EXPECT_EQ(b.external_id, started_handle);
  // It had ended: recorded from its status, not run again.
  const Job c = store.get(ended).value();
  EXPECT_EQ(c.state, JobState::kFailed);
  EXPECT_EQ(c.exit_code, 3);
  const Job e = store.get(too_often).value();
  EXPECT_EQ(e.state, JobState::kFailed);
  EXPECT_NE(e.reason.find("stopped while starting this job 4 times"), std::string::npos) << e.reason;
  const Job j = wait_final(store, id);
  EXPECT_EQ(j.state, JobState::kSucceeded) << j.reason;
}

}  // namespace
}  // namespace m4h::test
