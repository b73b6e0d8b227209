// Batch scoring (serve/predict.h) and the client of `mlaas4hep serve` (serve/client.h): friend trees
// written from a bundle and through a server on 127.0.0.1:0 hold the bundle's offline scores for
// the same events, NaN where its cuts reject one; the client's management calls and its errors.
#include "serve/predict.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "root/file.h"
#include "serve/client.h"
#include "serve/served_repository.h"

namespace m4h::serve {
namespace {

using nlohmann::json;
using test::error_of;
using test::raw_events;
using test::Scratch;
using test::serve_fixtures;

// The bundle's own scores for every entry of `file`, scored `chunk` events at a time (the row
// count of one model call), NaN for events its cuts reject: what predict must write.
std::vector<float> offline_scores(const std::string& bundle, const std::string& file, int64_t chunk) {
  auto model = load_bundle(bundle, "m", "1");
  const int64_t entries = root::Tree::load(root::File::open(file), "Events")->entries();
  const int64_t k = model->outputs();
  std::vector<float> out(static_cast<size_t>(entries * k), std::nanf(""));
  for (int64_t first = 0; first < entries; first += chunk) {
    std::vector<int64_t> ids;
    for (int64_t e = first; e < std::min(entries, first + chunk); ++e) ids.push_back(e);
    const auto events = raw_events(file, model->metadata().branches, ids);
    std::vector<int64_t> kept;
    const InputBatch batch = model->normalise(events, &kept);
    const std::vector<float> s = model->infer(batch);
    for (size_t r = 0; r < kept.size(); ++r)
      for (int64_t j = 0; j < k; ++j) out[static_cast<size_t>((first + kept[r]) * k + j)] = s[r * k + j];
  }
  return out;
}

std::vector<PredictInput> input_of(const std::string& file) {
  return {{file, root::Tree::load(root::File::open(file), "Events")}};
}

using Served = test::ServedRepository;

TEST(Predict, FriendTreeHoldsTheBundlesOfflineScores) {
  const auto& f = serve_fixtures();
  Scratch w;
  PredictOptions o;
  o.model = f.mlp;
  o.output = w.path("out.root");
  o.chunk_size = 700;  // several chunks, the last one short
  o.threads = 1;
  const PredictResult r = predict(input_of(f.dir + "/signal.root"), o);
  EXPECT_EQ(r.tree, "Events");
  EXPECT_EQ(r.entries, 3000);
  EXPECT_EQ(r.rejected, 0);
  const test::Raw got = test::read_raw(o.output, "Events", "score");
  const std::vector<float> want = offline_scores(f.mlp, f.dir + "/signal.root", 700);
  ASSERT_EQ(got.values.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(static_cast<float>(got.values[i]), want[i]) << "entry " << i;
}

TEST(Predict, EventsTheCutsRejectGetNaN) {
  const auto& f = serve_fixtures();
  Scratch w;
  PredictOptions o;
  o.model = f.pre;
  o.output = w.path("pre.root");
  o.chunk_size = 1000;
  o.branch_name = "ttH";
  const PredictResult r = predict(input_of(f.dir + "/background.root"), o);
  EXPECT_EQ(r.entries, 3000);
  EXPECT_GT(r.rejected, 100);  // MET_phi > -1.5 rejects about a quarter
  EXPECT_LT(r.rejected, 1500);
  const test::Raw got = test::read_raw(o.output, "Events", "ttH");
  const std::vector<float> want = offline_scores(f.pre, f.dir + "/background.root", 1000);
  ASSERT_EQ(got.values.size(), want.size());
  int64_t nans = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) {
      ++nans;
      ASSERT_TRUE(std::isnan(got.values[i])) << "entry " << i;
    } else {
      ASSERT_EQ(static_cast<float>(got.values[i]), want[i]) << "entry " << i;
    }
  }
  EXPECT_EQ(nans, r.rejected);
}

TEST(Predict, ThroughAServerOverOip) {
  const auto& f = serve_fixtures();
  Served s;
  for (const char* name : {"mlp", "pre"}) {
    PredictOptions o;
    o.model = s.base + "/v2/models/" + name;
    o.output = s.w.path(std::string(name) + ".root");
    o.chunk_size = 1100;
    const PredictResult r = predict(input_of(f.dir + "/signal.root"), o);
    EXPECT_EQ(r.entries, 3000);
    const test::Raw got = test::read_raw(o.output, "Events", "score");
    const std::vector<float> want = offline_scores(name == std::string("mlp") ? f.mlp : f.pre, f.dir + "/signal.root", 1100);
    ASSERT_EQ(got.values.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      if (std::isnan(want[i])) {
        ASSERT_TRUE(std::isnan(got.values[i])) << name << " entry " << i;
      } else {
        // The server's batcher may group rows differently from the offline call.
        ASSERT_NEAR(got.values[i], want[i], 1e-6) << name << " entry " << i;
      }
    }
  }
}

TEST(Predict, OneBranchPerClassForSeveralOutputs) {
  const auto& f = serve_fixtures();
  Scratch w;
  for (const char* file : {"files.txt", "labels.txt", "params.json"})
    std::filesystem::copy(f.dir + "/" + file, w.path(file));
  test::train_fixture(w.path(""), R"({"type": "mlp", "hidden": [8], "outputs": 3})", "multi", false);
  PredictOptions o;
  o.model = w.path("multi");
  o.output = w.path("multi.root");
  o.chunk_size = 800;
  const PredictResult r = predict(input_of(f.dir + "/signal.root"), o);
  EXPECT_EQ(r.outputs, 3);
  const std::vector<float> want = offline_scores(o.model, f.dir + "/signal.root", 800);
  for (int j = 0; j < 3; ++j) {
    const test::Raw got = test::read_raw(o.output, "Events", "score_" + std::to_string(j));
    ASSERT_EQ(got.values.size(), 3000u);
    for (size_t i = 0; i < got.values.size(); ++i)
      ASSERT_EQ(static_cast<float>(got.values[i]), want[i * 3 + j]) << "entry " << i << " class " << j;
  }
}

TEST(Predict, BadInputsLeaveNoFile) {
  const auto& f = serve_fixtures();
  Scratch w;
  PredictOptions o;
  o.output = w.path("none.root");
  o.model = w.path("no-bundle");
  error_of([&] { predict(input_of(f.dir + "/signal.root"), o); }, ErrorCode::kNotFound);
  o.model = "http://127.0.0.1:1/v2/nothing";
  EXPECT_HAS(error_of([&] { predict(input_of(f.dir + "/signal.root"), o); }, ErrorCode::kInvalidArgument),
             "/v2/models/NAME");
  EXPECT_FALSE(std::filesystem::exists(o.output));
}

TEST(Client, ManagesModelsAndScoresEvents) {
  const auto& f = serve_fixtures();
  Served s;
  Client c(s.base, 20);
  EXPECT_TRUE(c.ready());
  json models = json::parse(c.models());
  ASSERT_EQ(models.size(), 2u) << models;
  EXPECT_EQ(json::parse(c.status())["status"], "ok");

  // A folder is packed with tar; the new model scores as the old one.
  json up = json::parse(c.upload("copy", f.mlp));
  EXPECT_EQ(up["name"], "copy");
  EXPECT_EQ(up["version"], "1");
  const RemoteModel m = c.model("/v2/models/copy");
  EXPECT_FALSE(m.branches.empty());
  EXPECT_EQ(m.outputs, 1);
  auto tree = root::Tree::load(root::File::open(f.dir + "/signal.root"), "Events");
  const Scores got = score_remote(c, "/v2/models/copy", *tree, 25, false);
  ASSERT_EQ(got.rows, 25);
  const std::vector<float> want = offline_scores(f.mlp, f.dir + "/signal.root", 3000);
  for (int64_t i = 0; i < 25; ++i) EXPECT_NEAR(got.values[i], want[i], 1e-6) << i;

  EXPECT_EQ(json::parse(c.remove("copy"))["deleted"], "copy");
  EXPECT_HAS(error_of([&] { c.model("/v2/models/copy"); }, ErrorCode::kNotFound), "HTTP 404");
  // The server's {"error": ...} text reaches the message.
  EXPECT_HAS(error_of([&] { c.upload("bad name!", f.mlp); }, ErrorCode::kInvalidArgument), "model name");
  // Feature columns the file does not hold.
  error_of([&] { score_remote(c, "/v2/models/mlp", *tree, 5, true); }, ErrorCode::kNotFound);
}

TEST(Client, ConnectionRefusedIsAnIoError) {
  int port = 0;
  {
    Served s;  // a port that was just free and is closed again
    port = static_cast<int>(s.server->port());
  }
  Client c("http://127.0.0.1:" + std::to_string(port), 5);
  EXPECT_FALSE(c.ready());
  error_of([&] { c.models(); }, ErrorCode::kIo);
  error_of([] { Client("ftp://x"); }, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace m4h::serve
