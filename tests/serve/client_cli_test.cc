// `mlaas4hep client` and `mlaas4hep predict` end to end: the built executable against a server on
// 127.0.0.1:0 in this process; what they print, the files they write, and their exit statuses
// (2: bad input or an HTTP 4xx answer, 1: the server cannot be reached).

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <sstream>
#include <thread>

#include "serve/served_repository.h"
#include "support/cli_run.h"
#include "support/testdata.h"

namespace m4h::test {
namespace {

TEST(ClientCli, ModelsUploadDeleteStatus) {
  const auto& f = serve_fixtures();
  ServedRepository s;
  auto r = run_cli({"client", "--url", s.base, "models"});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_HAS(r.out, "\"mlp\"");
  EXPECT_HAS(r.out, "\"pre\"");
  r = run_cli({"client", "--url", s.base, "status"});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_HAS(r.out, "\"ok\"");
  r = run_cli({"client", "--url", s.base, "upload", "copy", f.mlp});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_HAS(r.out, "\"copy\"");
  r = run_cli({"client", "--url", s.base, "delete", "copy"});
  ASSERT_EQ(r.status, 0) << r.describe();
  // The server's {"error": ...} is printed; a 4xx answer is bad input: 2.
  r = run_cli({"client", "--url", s.base, "delete", "copy"});
  EXPECT_EQ(r.status, 2) << r.describe();
  EXPECT_HAS(r.err, "mlaas4hep: error: ");
  EXPECT_HAS(r.err, "HTTP 404");
  EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
}

TEST(ClientCli, PredictPrintsOneScorePerEvent) {
  const auto& f = serve_fixtures();
  ServedRepository s;
  auto r = run_cli({"client", "--url", s.base, "predict", "mlp", f.dir + "/signal.root:Events", "--entries", "7"});
  ASSERT_EQ(r.status, 0) << r.describe();
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
  r = run_cli({"client", "--url", s.base, "predict", "pre", f.dir + "/background.root", "--entries", "200"});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(lines_of(r.out).size(), 200u);
  EXPECT_HAS(r.out, "\tnan");

  r = run_cli({"client", "--url", s.base, "predict", "nope", f.dir + "/signal.root"});
  EXPECT_EQ(r.status, 2) << r.describe();
  EXPECT_HAS(r.err, "HTTP 404");
  r = run_cli({"client", "--url", s.base, "predict", "mlp", f.dir + "/missing.root"});
  EXPECT_EQ(r.status, 2) << r.describe();
}

TEST(ClientCli, UnreachableServerIsStatusOne) {
  int port = 0;
  {
    ServedRepository s;  // a port that was just free, closed again
    port = static_cast<int>(s.server->port());
  }
  Scratch w;
  auto r = run_cli({"client", "--url", "http://127.0.0.1:" + std::to_string(port), "models"});
  EXPECT_EQ(r.status, 1) << r.describe();
  EXPECT_HAS(r.err, "mlaas4hep: error: GET http://127.0.0.1:");
  r = run_cli({"client", "models"});  // no --url
  EXPECT_EQ(r.status, 2) << r.describe();
  r = run_cli({"predict", "--model", "http://127.0.0.1:" + std::to_string(port) + "/v2/models/mlp",
                  serve_fixtures().dir + "/signal.root", "-o", w.path("x.root")});
  EXPECT_EQ(r.status, 1) << r.describe();
  EXPECT_FALSE(std::filesystem::exists(w.path("x.root")));
}

TEST(PredictCli, WritesAFriendTreeLocallyAndThroughAServer) {
  const auto& f = serve_fixtures();
  ServedRepository s;
  const std::string local = s.w.path("local.root"), remote = s.w.path("remote.root");
  auto r = run_cli({"predict", "--model", f.mlp, f.dir + "/signal.root:Events", "-o", local, "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_HAS(r.out, "3000 entries");
  r = run_cli({"predict", "--model", s.base + "/v2/models/mlp", f.dir + "/signal.root", "-o", remote,
                    "--branch-name", "ttH"});
  ASSERT_EQ(r.status, 0) << r.describe();
  const Raw a = read_raw(local, "Events", "score"), b = read_raw(remote, "Events", "ttH");
  ASSERT_EQ(a.values.size(), 3000u);
  ASSERT_EQ(b.values.size(), 3000u);
  for (size_t i = 0; i < a.values.size(); ++i) ASSERT_NEAR(a.values[i], b.values[i], 1e-6) << i;

  r = run_cli({"predict", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_HAS(r.out, "NaN");
  r = run_cli({"predict", "--model", s.w.path("nothing"), f.dir + "/signal.root", "-o", local});
  EXPECT_EQ(r.status, 2) << r.describe();
}

}  // namespace
}  // namespace m4h::test
