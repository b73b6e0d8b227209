// Data-parallel training: the launcher's environment, the files of each rank, and whole runs of
// two ranks on loopback (the mlaas4hep binary started twice, and under mpirun when there is one)
// against one process on the same files and params.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "train/distributed.h"
#include "train/train_test_util.h"

extern char** environ;

namespace m4h::test {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// --- The launcher's environment and the shards: plain functions. ---

train::Launch launch_with(const std::map<std::string, std::string>& env) {
  return train::launch_from_environment([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(DistributedLaunch, ReadsTorchrunMpirunAndSrun) {
  auto none = launch_with({});
  EXPECT_EQ(none.rank, 0);
  EXPECT_EQ(none.size, 1);
  EXPECT_EQ(none.launcher, "none");
  auto t = launch_with({{"RANK", "1"}, {"WORLD_SIZE", "3"}, {"OMPI_COMM_WORLD_RANK", "0"}});
  EXPECT_EQ(t.rank, 1);
  EXPECT_EQ(t.size, 3);
  EXPECT_EQ(t.launcher, "RANK/WORLD_SIZE");
  auto m = launch_with({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "4"}});
  EXPECT_EQ(m.rank, 2);
  EXPECT_EQ(m.launcher, "mpirun");
  // srun's step size wins over the job's task count.
  auto s = launch_with({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "8"}, {"SLURM_STEP_NUM_TASKS", "2"}});
  EXPECT_EQ(s.rank, 1);
  EXPECT_EQ(s.size, 2);
  EXPECT_EQ(s.launcher, "srun");
  EXPECT_EQ(launch_with({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}).size, 4);

  EXPECT_HAS(error_of([] { launch_with({{"RANK", "2"}, {"WORLD_SIZE", "2"}}); }, ErrorCode::kInvalidArgument),
             "is not a rank");
  EXPECT_HAS(error_of([] { launch_with({{"RANK", "x"}, {"WORLD_SIZE", "2"}}); }, ErrorCode::kInvalidArgument),
             "RANK=\"x\"");
  EXPECT_HAS(error_of([] { launch_with({{"RANK", "0"}}); }, ErrorCode::kInvalidArgument), "WORLD_SIZE");
}

TEST(DistributedShards, EveryRankSeesEveryClassAndNoFileTwice) {
  // Signal files first, as labels.txt often lists them.
  auto s = train::shard_files({1, 1, 0, 0}, 2);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], (std::vector<size_t>{0, 2}));
  EXPECT_EQ(s[1], (std::vector<size_t>{1, 3}));
  // Three files of each class over two ranks: three files each, both classes on both.
  s = train::shard_files({0, 0, 0, 1, 1, 1}, 2);
  EXPECT_EQ(s[0], (std::vector<size_t>{0, 2, 4}));
  EXPECT_EQ(s[1], (std::vector<size_t>{1, 3, 5}));
  EXPECT_EQ(train::shard_files({0, 1}, 1)[0], (std::vector<size_t>{0, 1}));
  auto msg = error_of([] { train::shard_files({1, 0}, 3); }, ErrorCode::kInvalidArgument);
  EXPECT_HAS(msg, "rank 2 would read no file");
  EXPECT_HAS(msg, "at most 2 processes");
}

// --- Whole runs: the binary started as several processes. ---

// Two signal and two background files (6000 events each), made once per test binary.
const Scratch& four_files() {
  static Scratch s;
  static bool made = false;
  if (!made) {
    generate(s, "signal_a.root", true, 6000, 31);
    generate(s, "signal_b.root", true, 6000, 32);
    generate(s, "background_a.root", false, 6000, 33);
    generate(s, "background_b.root", false, 6000, 34);
    s.write("files.txt", s.path("signal_a.root") + "\n" + s.path("signal_b.root") + "\n" +
                             s.path("background_a.root") + "\n" + s.path("background_b.root") + "\n");
    s.write("labels.txt", "1\n1\n0\n0\n");
    made = true;
  }
  return s;
}

const char* kParams =
    R"({"chunk_size": 4000, "epochs": 3, "batch_size": 64, "seed": 7, "threads": 1,
        "learning_rate": 0.003, "patience": 3})";

// A TCP port nobody listens on now (the kernel's pick for port 0).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    ADD_FAILURE() << "cannot find a free port";
    return 29500;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

struct Process {
  pid_t pid = -1;
  std::string log;  // stdout and stderr
  int status = -1;  // exit status; -1 while running or when killed
};

// Starts `argv` with the environment plus `env`, in a process group of its own, output to `log`.
Process spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              const std::string& log) {
  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e) {
    const std::string v = *e;
    if (!env.count(v.substr(0, v.find('=')))) vars.push_back(v);
  }
  for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  Process p;
  p.log = log;
  if (posix_spawnp(&p.pid, args[0], &actions, &attr, args.data(), envp.data()) != 0) p.pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  EXPECT_GT(p.pid, 0) << "cannot start " << argv[0];
  return p;
}

// Waits for every process; past `limit` the ones still running are killed (whole process group).
// Returns false on a timeout.
bool wait_all(std::vector<Process>& ps, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  size_t left = ps.size();
  for (auto& p : ps)
    if (p.pid <= 0) --left;
  while (left > 0 && Clock::now() < deadline) {
    for (auto& p : ps) {
      if (p.pid <= 0 || p.status != -1) continue;
      int st = 0;
      if (::waitpid(p.pid, &st, WNOHANG) == p.pid) {
        p.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        --left;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (left == 0) return true;
  for (auto& p : ps) {
    if (p.pid <= 0 || p.status != -1) continue;
    ::kill(-p.pid, SIGKILL);
    int st = 0;
    ::waitpid(p.pid, &st, 0);
  }
  return false;
}

std::string binary() { return std::string(M4H_BINARY_DIR) + "/mlaas4hep"; }

std::vector<std::string> train_args(const Scratch& w, const std::string& out,
                                    const std::vector<std::string>& extra = {}) {
  const Scratch& d = four_files();
  std::vector<std::string> a = {binary(), "train", "-q", "--files", d.path("files.txt"), "--labels",
                                d.path("labels.txt"), "--params", w.write("params.json", kParams),
                                "--model", w.write("mlp.json", kMlp), "--device", "cpu", "--fout", out};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

const std::map<std::string, std::string> kQuietOpenMp = {
    {"OMP_WAIT_POLICY", "passive"}, {"OMP_NUM_THREADS", "1"}, {"OPENBLAS_NUM_THREADS", "1"}};

std::map<std::string, std::string> rank_env(int rank, int size, int port) {
  auto env = kQuietOpenMp;
  env["RANK"] = std::to_string(rank);
  env["WORLD_SIZE"] = std::to_string(size);
  env["MASTER_ADDR"] = "127.0.0.1";
  env["MASTER_PORT"] = std::to_string(port);
  return env;
}

TEST(DistributedTrain, TwoRanksMatchOneProcess) {
  Scratch w;
  const auto t0 = Clock::now();
  // One process, on every file.
  train::TrainRequest one;
  one.data.files = four_files().path("files.txt");
  one.data.labels = four_files().path("labels.txt");
  one.data.params = w.write("params.json", kParams);
  one.model = w.write("mlp.json", kMlp);
  one.output = w.path("one");
  one.device = "cpu";
  const auto single = train::train_model(one);
  const double t_one = std::chrono::duration<double>(Clock::now() - t0).count();

  // Two ranks on loopback; rank 1 is given another output folder to show that it writes nothing.
  const int port = free_port();
  const auto t1 = Clock::now();
  std::vector<Process> ranks = {
      spawn(train_args(w, w.path("two"), {"--distributed"}), rank_env(0, 2, port), w.path("rank0.log")),
      spawn(train_args(w, w.path("two-rank1"), {"--distributed"}), rank_env(1, 2, port), w.path("rank1.log"))};
  ASSERT_TRUE(wait_all(ranks, std::chrono::seconds(240))) << read_all(ranks[0].log) << read_all(ranks[1].log);
  const double t_two = std::chrono::duration<double>(Clock::now() - t1).count();
  ASSERT_EQ(ranks[0].status, 0) << read_all(ranks[0].log);
  ASSERT_EQ(ranks[1].status, 0) << read_all(ranks[1].log);
  EXPECT_HAS(read_all(ranks[1].log), "rank 1 of 2: trained on 2 files");

  Json m = Json::parse(read_all(w.path("two/metrics.json")));
  const double auc_two = m["test"]["auc"].get<double>();
  std::printf("test AUC: one process %.4f (%.1f s), two ranks %.4f (%.1f s); cut baseline %.4f\n",
              single.test.auc, t_one, auc_two, t_two, single.cut.auc);
  EXPECT_NEAR(auc_two, single.test.auc, 0.01);
  EXPECT_GT(auc_two, single.cut.auc + 0.02);
  // The split is decided per event: the ranks' test rows together are the one process's.
  EXPECT_EQ(m["rows"]["test"].get<int64_t>(), single.test_rows);
  EXPECT_EQ(m["rows"]["validation"].get<int64_t>(), single.validation_rows);

  const Json& d = m["distributed"];
  EXPECT_EQ(d["world_size"], 2);
  EXPECT_EQ(d["rendezvous"], "127.0.0.1:" + std::to_string(port));
  ASSERT_EQ(d["ranks"].size(), 2u);
  std::set<std::string> seen;
  int64_t train_rows = 0;
  for (const Json& r : d["ranks"]) {
    EXPECT_EQ(r["files"].size(), 2u) << r.dump();
    EXPECT_GT(r["train_rows"].get<int64_t>(), 6000) << r.dump();
    train_rows += r["train_rows"].get<int64_t>();
    bool signal = false, background = false;
    for (const Json& f : r["files"]) {
      EXPECT_TRUE(seen.insert(f.get<std::string>()).second) << f << " read by two ranks";
      signal = signal || f.get<std::string>().find("signal") != std::string::npos;
      background = background || f.get<std::string>().find("background") != std::string::npos;
    }
    EXPECT_TRUE(signal && background) << "each rank sees both classes: " << r.dump();
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(train_rows, m["rows"]["train"].get<int64_t>());

  // Rank 0 wrote the whole bundle, rank 1 nothing at all.
  for (const char* f : {"model.pt", "metrics.json", "bundle.json", "specs.json", "checkpoint.pt"})
    EXPECT_TRUE(fs::exists(w.path("two/") + f)) << f;
  EXPECT_FALSE(fs::exists(w.path("two-rank1")));
  // The bundle lists every file, not rank 0's share.
  EXPECT_EQ(Json::parse(read_all(w.path("two/bundle.json")))["labels"]["files"].size(), 4u);
}

TEST(DistributedTrain, PeersThatNeverComeAreATimeoutNamingTheAddress) {
  Scratch w;
  const int port = free_port();
  std::vector<Process> ps = {spawn(train_args(w, w.path("out"), {"--distributed", "--rendezvous-timeout", "2"}),
                                   rank_env(0, 2, port), w.path("rank0.log"))};
  ASSERT_TRUE(wait_all(ps, std::chrono::seconds(60)));
  const std::string log = read_all(ps[0].log);
  EXPECT_EQ(ps[0].status, 2) << log;
  EXPECT_HAS(log, "mlaas4hep: error: distributed: rendezvous at 127.0.0.1:" + std::to_string(port));
  EXPECT_HAS(log, "did not all come within 2 s");
}

TEST(DistributedTrain, XgboostAndResumeAreUnsupported) {
  Scratch w;
  auto args = train_args(w, w.path("out"), {"--distributed"});
  ASSERT_EQ(args[9], "--model");
  args[10] = w.write("xgb.json", R"({"type": "xgboost", "rounds": 5})");
  std::vector<Process> ps = {spawn(args, rank_env(0, 2, free_port()), w.path("xgb.log")),
                             spawn(train_args(w, w.path("out"), {"--distributed", "--resume"}),
                                   rank_env(0, 2, free_port()), w.path("resume.log"))};
  ASSERT_TRUE(wait_all(ps, std::chrono::seconds(60)));
  EXPECT_EQ(ps[0].status, 2) << read_all(ps[0].log);
  EXPECT_HAS(read_all(ps[0].log), "XGBoost models train in one process");
  EXPECT_EQ(ps[1].status, 2) << read_all(ps[1].log);
  EXPECT_HAS(read_all(ps[1].log), "a distributed run cannot be resumed");
}

// Rank 0 gets twice rank 1's rows: rank 1 keeps taking rank 0's steps once it has run out (no
// deadlock), and the ranks meet through a file.
TEST(DistributedTrain, UnevenRanksThroughAFileRendezvous) {
  Scratch w;
  const Scratch& d = four_files();
  generate(w, "background_c.root", false, 12000, 35);
  const std::string files = w.write("files.txt", read_all(d.path("files.txt")) + w.path("background_c.root") + "\n");
  const std::string labels = w.write("labels.txt", "1\n1\n0\n0\n0\n");
  auto args = [&](const std::string& out) {
    auto a = train_args(w, out, {"--distributed", "--rendezvous", "file:" + w.path("rendezvous")});
    EXPECT_EQ(a[3], "--files");
    a[4] = files;
    a[6] = labels;
    a[8] = w.write("two-epochs.json",
                   R"({"chunk_size": 4000, "epochs": 2, "batch_size": 128, "seed": 7, "threads": 1})");
    return a;
  };
  auto env = [&](int rank, int size) { return rank_env(rank, size, 1); };  // MASTER_PORT unused
  std::vector<Process> ps = {spawn(args(w.path("out")), env(0, 2), w.path("r0.log")),
                             spawn(args(w.path("out")), env(1, 2), w.path("r1.log"))};
  ASSERT_TRUE(wait_all(ps, std::chrono::seconds(180))) << read_all(ps[0].log) << read_all(ps[1].log);
  ASSERT_EQ(ps[0].status, 0) << read_all(ps[0].log);
  ASSERT_EQ(ps[1].status, 0) << read_all(ps[1].log);
  Json m = Json::parse(read_all(w.path("out/metrics.json")));
  EXPECT_EQ(m["distributed"]["rendezvous"], "file:" + w.path("rendezvous"));
  const Json& r = m["distributed"]["ranks"];
  EXPECT_EQ(r[0]["files"].size(), 3u);
  EXPECT_EQ(r[1]["files"].size(), 2u);
  EXPECT_GT(r[0]["train_rows"].get<int64_t>(), 19 * r[1]["train_rows"].get<int64_t>() / 10);
  EXPECT_GT(m["test"]["auc"].get<double>(), 0.7);

  // Six processes for five files: every rank refuses at once, before waiting for the others.
  auto six = args(w.path("out6"));
  six.insert(six.end(), {"--rendezvous-timeout", "60"});
  std::vector<Process> p6 = {spawn(six, env(5, 6), w.path("r5.log"))};
  ASSERT_TRUE(wait_all(p6, std::chrono::seconds(30)));
  EXPECT_EQ(p6[0].status, 2) << read_all(p6[0].log);
  EXPECT_HAS(read_all(p6[0].log), "6 processes for 5 files: rank 5 would read no file");
}

TEST(DistributedTrain, UnderMpirun) {
  const char* path = std::getenv("PATH");
  std::string mpirun;
  for (std::string dirs = path ? path : ""; !dirs.empty();) {
    const auto colon = dirs.find(':');
    const std::string dir = dirs.substr(0, colon);
    if (!dir.empty() && ::access((dir + "/mpirun").c_str(), X_OK) == 0) {
      mpirun = dir + "/mpirun";
      break;
    }
    dirs = colon == std::string::npos ? "" : dirs.substr(colon + 1);
  }
  if (mpirun.empty()) GTEST_SKIP() << "SKIPPED LOUDLY: no mpirun on PATH (apt-get install openmpi-bin)";
  Scratch w;
  const int port = free_port();
  std::vector<std::string> a = {mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "2",
                                "-x", "MASTER_ADDR=127.0.0.1", "-x", "MASTER_PORT=" + std::to_string(port),
                                "-x", "OMP_WAIT_POLICY=passive", "-x", "OMP_NUM_THREADS=1",
                                "-x", "OPENBLAS_NUM_THREADS=1"};
  auto t = train_args(w, w.path("out"), {"--distributed"});
  t[8] = w.write("one-epoch.json",
                 R"({"chunk_size": 4000, "epochs": 1, "batch_size": 256, "seed": 7, "threads": 1})");
  a.insert(a.end(), t.begin(), t.end());
  std::vector<Process> ps = {spawn(a, kQuietOpenMp, w.path("mpirun.log"))};
  ASSERT_TRUE(wait_all(ps, std::chrono::seconds(180))) << read_all(ps[0].log);
  ASSERT_EQ(ps[0].status, 0) << read_all(ps[0].log);
  Json m = Json::parse(read_all(w.path("out/metrics.json")));
  EXPECT_EQ(m["distributed"]["world_size"], 2);
  EXPECT_GT(m["test"]["auc"].get<double>(), 0.7);
}

}  // namespace
}  // namespace m4h::test
