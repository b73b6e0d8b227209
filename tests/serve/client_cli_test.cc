// `mlaas4hep client` and `mlaas4hep predict` end to end: the built executable against a server on
// 127.0.0.1:0 in this process; what they print, the files they write, and their exit statuses
// (2: bad input or an HTTP 4xx answer, 1: the server cannot be reached).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <sstream>
#include <thread>

#include "serve/served_repository.h"
#include "support/testdata.h"

extern char** environ;

namespace m4h::test {
namespace {

struct CliRun {
  int status = -1;  // exit status; -1 when killed (timeout)
  std::string out, err;
};

// Runs the executable (no shell) for at most 60 s, stdout and stderr through files.
CliRun run_cli(const Scratch& w, std::vector<std::string> args) {
  static int n = 0;
  const std::string out = w.path("out" + std::to_string(n)), err = w.path("err" + std::to_string(n++));
  args.insert(args.begin(), cli_path());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  CliRun r;
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << argv[0];
    return r;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int ws = 0;
  while (::waitpid(pid, &ws, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &ws, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

std::string describe(const CliRun& r) { return "exit " + std::to_string(r.status) + "\nstdout: " + r.out + "\nstderr: " + r.err; }

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) v.push_back(line);
  return v;
}

TEST(ClientCli, ModelsUploadDeleteStatus) {
  const auto& f = serve_fixtures();
  ServedRepository s;
  CliRun r = run_cli(s.w, {"client", "--url", s.base, "models"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_HAS(r.out, "\"mlp\"");
  EXPECT_HAS(r.out, "\"pre\"");
  r = run_cli(s.w, {"client", "--url", s.base, "status"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_HAS(r.out, "\"ok\"");
  r = run_cli(s.w, {"client", "--url", s.base, "upload", "copy", f.mlp});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_HAS(r.out, "\"copy\"");
  r = run_cli(s.w, {"client", "--url", s.base, "delete", "copy"});
  ASSERT_EQ(r.status, 0) << describe(r);
  // The server's {"error": ...} is printed; a 4xx answer is bad input: 2.
  r = run_cli(s.w, {"client", "--url", s.base, "delete", "copy"});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_HAS(r.err, "mlaas4hep: error: ");
  EXPECT_HAS(r.err, "HTTP 404");
  EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
}

TEST(ClientCli, PredictPrintsOneScorePerEvent) {
  const auto& f = serve_fixtures();
  ServedRepository s;
  CliRun r = run_cli(s.w, {"client", "--url", s.base, "predict", "mlp", f.dir + "/signal.root:Events", "--entries", "7"});
  ASSERT_EQ(r.status, 0) << describe(r);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 7u) << r.out;
  auto model = serve::load_bundle(f.mlp, "mlp", "1");
  const auto events = raw_events(f.dir + "/signal.root", model->metadata().branches, {0, 1, 2, 3, 4, 5, 6});
  const std::vector<float> want = model->infer(model->normalise(events));
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t tab = lines[i].find('\t');
    ASSERT_NE(tab, std::string::npos) << lines[i];
    EXPECT_EQ(lines[i].substr(0, tab), std::to_string(i));
    EXPECT_NEAR(std::stof(lines[i].substr(tab + 1)), want[i], 1e-6) << lines[i];
  }
  // Cut-rejected events print nan instead of failing the request.
  r = run_cli(s.w, {"client", "--url", s.base, "predict", "pre", f.dir + "/background.root", "--entries", "200"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(lines_of(r.out).size(), 200u);
  EXPECT_HAS(r.out, "\tnan");

  r = run_cli(s.w, {"client", "--url", s.base, "predict", "nope", f.dir + "/signal.root"});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_HAS(r.err, "HTTP 404");
  r = run_cli(s.w, {"client", "--url", s.base, "predict", "mlp", f.dir + "/missing.root"});
  EXPECT_EQ(r.status, 2) << describe(r);
}

TEST(ClientCli, UnreachableServerIsStatusOne) {
  int port = 0;
  {
    ServedRepository s;  // a port that was just free, closed again
    port = static_cast<int>(s.server->port());
  }
  Scratch w;
  CliRun r = run_cli(w, {"client", "--url", "http://127.0.0.1:" + std::to_string(port), "models"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_HAS(r.err, "mlaas4hep: error: GET http://127.0.0.1:");
  r = run_cli(w, {"client", "models"});  // no --url
  EXPECT_EQ(r.status, 2) << describe(r);
  r = run_cli(w, {"predict", "--model", "http://127.0.0.1:" + std::to_string(port) + "/v2/models/mlp",
                  serve_fixtures().dir + "/signal.root", "-o", w.path("x.root")});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_FALSE(std::filesystem::exists(w.path("x.root")));
}

TEST(PredictCli, WritesAFriendTreeLocallyAndThroughAServer) {
  const auto& f = serve_fixtures();
  ServedRepository s;
  const std::string local = s.w.path("local.root"), remote = s.w.path("remote.root");
  CliRun r = run_cli(s.w, {"predict", "--model", f.mlp, f.dir + "/signal.root:Events", "-o", local, "--threads", "1"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_HAS(r.out, "3000 entries");
  r = run_cli(s.w, {"predict", "--model", s.base + "/v2/models/mlp", f.dir + "/signal.root", "-o", remote,
                    "--branch-name", "ttH"});
  ASSERT_EQ(r.status, 0) << describe(r);
  const Raw a = read_raw(local, "Events", "score"), b = read_raw(remote, "Events", "ttH");
  ASSERT_EQ(a.values.size(), 3000u);
  ASSERT_EQ(b.values.size(), 3000u);
  for (size_t i = 0; i < a.values.size(); ++i) ASSERT_NEAR(a.values[i], b.values[i], 1e-6) << i;

  r = run_cli(s.w, {"predict", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_HAS(r.out, "NaN");
  r = run_cli(s.w, {"predict", "--model", s.w.path("nothing"), f.dir + "/signal.root", "-o", local});
  EXPECT_EQ(r.status, 2) << describe(r);
}

}  // namespace
}  // namespace m4h::test
