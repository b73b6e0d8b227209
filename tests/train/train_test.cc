// End to end on generated signal/background files: the JSON MLP trains to a test AUC above the
// cut-based baseline, runs are reproducible, --resume ends where an uninterrupted run ends, and
// bad inputs are clear errors (exit status 2 from the CLI).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "train/train_test_util.h"

namespace m4h::test {
namespace {

using Json = nlohmann::json;

// data::training_param_keys() tells the data layer which params.json keys training reads (so
// that they are not taken for typos): each one must be read here, shown by a value of the wrong
// type being refused.
TEST(TrainSettings, EveryListedTrainingKeyIsRead) {
  for (std::string_view key : data::training_param_keys()) {
    const std::string text = "{\"" + std::string(key) + "\": {}}";
    try {
      train::parse_train_settings(text, "params.json");
      ADD_FAILURE() << key << ": an object was accepted, so the key is not read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string(key)), std::string::npos) << e.what();
    }
  }
}

TEST(TrainMlp, BeatsTheCutBaselineAndWritesTheBundle) {
  Scratch w;
  auto req = train_request(w, kSmallParams, w.write("mlp.json", kMlp), "out");
  auto res = train::train_model(req);
  std::printf("MLP test AUC %.4f accuracy %.4f; cut (%s): AUC %.4f (cut-based ROC %.4f)\n", res.test.auc,
              res.test.accuracy, res.cut_rule.c_str(), res.cut.auc, res.cut_curve.auc);
  EXPECT_GT(res.test.auc, 0.7);
  ASSERT_TRUE(res.has_baseline);
  // Above the chosen box by a clear margin. On these 12,000 events (each run another split) the
  // models are within about 0.01 of the rectangular cuts' whole ROC curve, above or below; on the
  // demo's 100,000 they are 0.015-0.02 above it (README). The curve, which passes by the box's working
  // point, has the larger area.
  EXPECT_GT(res.test.auc, res.cut.auc + 0.02);
  EXPECT_GT(res.cut_curve.auc, res.cut.auc);
  EXPECT_GT(res.test_rows, 2200);
  EXPECT_EQ(res.history.size(), 4u);
  for (const char* f : {"model.pt", "specs.json", "feature_names.json", "params.json", "model.json",
                        "metrics.json", "bundle.json", "checkpoint.pt", "checkpoint.json"})
    EXPECT_TRUE(fs::exists(req.output + "/" + f)) << f;
  Json m = Json::parse(read_all(req.output + "/metrics.json"));
  EXPECT_DOUBLE_EQ(m["test"]["auc"].get<double>(), res.test.auc);
  EXPECT_EQ(m["history"].size(), 4u);
  EXPECT_TRUE(m["test"]["roc"].is_array());
  EXPECT_EQ(m["cut_baseline"]["rule"], res.cut_rule);
  // The baseline's figures as the model's: ROC, efficiencies, score distributions per class.
  const Json& curve = m["cut_baseline"]["curve"];
  EXPECT_DOUBLE_EQ(curve["auc"].get<double>(), res.cut_curve.auc);
  EXPECT_TRUE(curve["roc"].is_array());
  EXPECT_GT(curve["signal_efficiency_at_background_10pct"].get<double>(), 0.1);
  int64_t scored = 0;
  for (const char* k : {"0", "1"})
    for (const Json& c : curve["score_histograms"][k]) scored += c.get<int64_t>();
  EXPECT_EQ(scored, res.test_rows);
  EXPECT_EQ(curve["score_histograms"]["0"].size(), 42u);
  // The default variables: the flat (event-level) features.
  EXPECT_EQ(m["cut_baseline"]["variables"], Json::parse(read_all(req.output + "/specs.json"))["fkeys"]);
  Json b = Json::parse(read_all(req.output + "/bundle.json"));
  EXPECT_EQ(b["model"]["forward"], "forward(x)");
  EXPECT_EQ(b["input"]["width"], Json::parse(read_all(req.output + "/feature_names.json")).size());
}

TEST(TrainMlp, SameSeedTwiceGivesTheSameBytes) {
  Scratch w;
  const std::string params =
      R"({"chunk_size": 2000, "epochs": 2, "batch_size": 64, "seed": 3, "threads": 1})";
  const std::string model = w.write("mlp.json", kMlp);
  auto a = train_request(w, params, model, "a");
  auto b = train_request(w, params, model, "b");
  train::train_model(a);
  train::train_model(b);
  for (const char* f : {"model.pt", "metrics.json", "bundle.json"})
    EXPECT_EQ(read_all(a.output + "/" + f), read_all(b.output + "/" + f)) << f;
  EXPECT_FALSE(read_all(a.output + "/model.pt").empty());
}

// Epochs after the first train from the rows kept in memory ("cache_mb"), shuffled as the stream
// would be: the same model, byte for byte, as reading the files every epoch; also when the rows
// outgrow "cache_mb" halfway through the first pass.
TEST(TrainMlp, CachedEpochsGiveTheSameBytesAsStreamedOnes) {
  Scratch w;
  const std::string model = w.write("mlp.json", kMlp);
  auto cached = train_request(
      w, R"({"chunk_size": 2000, "epochs": 3, "batch_size": 64, "seed": 4, "threads": 1, "patience": 0})", model,
      "cached");
  auto streamed = train_request(w, R"({"chunk_size": 2000, "epochs": 3, "batch_size": 64, "seed": 4, "threads": 1,
                                       "patience": 0, "cache_mb": 0})",
                                model, "streamed");
  // 1 MiB holds the first few chunks' rows (12,000 events, ~7,700 training rows): the cache
  // gives up in the middle of the first pass, after the optimiser trained on rows kept in it.
  auto overflowing = train_request(w, R"({"chunk_size": 2000, "epochs": 3, "batch_size": 64, "seed": 4,
                                          "threads": 1, "patience": 0, "cache_mb": 1})",
                                   model, "overflowing");
  train::train_model(cached);
  train::train_model(streamed);
  train::train_model(overflowing);
  for (const char* f : {"model.pt", "metrics.json"}) {
    EXPECT_EQ(read_all(cached.output + "/" + f), read_all(streamed.output + "/" + f)) << f;
    EXPECT_EQ(read_all(overflowing.output + "/" + f), read_all(streamed.output + "/" + f)) << f;
  }
}

TEST(TrainMlp, ResumeEndsWithTheSameMetrics) {
  Scratch w;
  const std::string params =
      R"({"chunk_size": 2000, "epochs": 3, "batch_size": 64, "seed": 5, "threads": 1, "patience": 0})";
  const std::string model = w.write("mlp.json", kMlp);
  auto whole = train_request(w, params, model, "whole");
  train::train_model(whole);

  // Interrupted in the third epoch (after the second's checkpoint), then resumed.
  auto cut = train_request(w, params, model, "cut");
  struct Interrupt {};
  EXPECT_THROW(train::train_model(cut, [](const train::TrainProgress& p) {
                 if (p.phase == "train" && p.epoch == 3) throw Interrupt{};
               }),
               Interrupt);
  EXPECT_FALSE(fs::exists(cut.output + "/metrics.json"));
  cut.resume = true;
  auto res = train::train_model(cut);
  EXPECT_TRUE(res.resumed);
  EXPECT_EQ(read_all(whole.output + "/metrics.json"), read_all(cut.output + "/metrics.json"));
  EXPECT_EQ(read_all(whole.output + "/model.pt"), read_all(cut.output + "/model.pt"));
}

TEST(TrainMlp, ReferenceModeTrainsEachChunkEpochsTimes) {
  Scratch w;
  const std::string params = R"({"mode": "reference", "chunk_size": 1500, "epochs": 3,
      "batch_size": 64, "seed": 7, "threads": 1, "learning_rate": 0.003})";
  auto req = train_request(w, params, w.write("mlp.json", kMlp), "ref");
  auto res = train::train_model(req);
  EXPECT_GT(res.test.auc, 0.7);
  ASSERT_EQ(res.history.size(), 1u);
  // Every training row of every chunk, three times (about 64% of 6000 events each time).
  // (A last batch of one row is left out: batch norm cannot train on it.)
  EXPECT_NEAR(res.events_trained, res.history[0].train_rows, 3 * 4);
  EXPECT_GT(res.events_trained, 3 * 7500);
  EXPECT_LT(res.events_trained, 3 * 7900);
}

// "baseline_features" chooses the cut baseline's variables (a jagged key's element too); a name
// that is no feature is an error naming it, before any training.
TEST(TrainMlp, BaselineFeaturesChooseTheCutVariables) {
  Scratch w;
  const std::string model = w.write("mlp.json", R"({"type": "mlp", "hidden": [8]})");
  auto req = train_request(w, R"({"chunk_size": 4000, "epochs": 1, "seed": 7, "threads": 1,
      "baseline_features": ["nBJet", "Jet_btagDeepB_0"]})", model, "chosen");
  auto res = train::train_model(req);
  Json m = Json::parse(read_all(req.output + "/metrics.json"));
  EXPECT_EQ(m["cut_baseline"]["variables"], Json::parse(R"(["nBJet", "Jet_btagDeepB_0"])"));
  for (const Json& c : m["cut_baseline"]["cuts"]) {
    const std::string f = c["feature"];
    EXPECT_TRUE(f == "nBJet" || f == "Jet_btagDeepB_0") << f;
    EXPECT_HAS(res.cut_rule, f);
  }
  EXPECT_FALSE(m["cut_baseline"]["cuts"].empty());
  EXPECT_GT(m["cut_baseline"]["curve"]["auc"].get<double>(), 0.5);

  auto bad = train_request(w, R"({"chunk_size": 4000, "epochs": 1, "baseline_features": ["HT", "Jet_ptt_0"]})",
                           model, "bad");
  auto msg = error_of([&] { train::train_model(bad); }, ErrorCode::kInvalidArgument);
  EXPECT_HAS(msg, "\"baseline_features\": no feature named \"Jet_ptt_0\"");
  EXPECT_FALSE(fs::exists(bad.output + "/checkpoint.pt"));
  bad = train_request(w, R"({"chunk_size": 4000, "epochs": 1, "baseline_features": "HT"})", model, "bad2");
  EXPECT_HAS(error_of([&] { train::train_model(bad); }, ErrorCode::kInvalidArgument),
             "\"baseline_features\" must be a non-empty list");
}

TEST(TrainErrors, LabelTheModelCannotOutput) {
  Scratch w;
  auto req = train_request(w, kSmallParams,
                           w.write("mlp.json", R"({"type": "mlp", "hidden": [4], "outputs": 1})"), "o");
  req.data.labels = "2,0";
  auto msg = error_of([&] { train::train_model(req); }, ErrorCode::kInvalidArgument);
  EXPECT_HAS(msg, "3 classes");
  EXPECT_HAS(msg, "one logit");
}

TEST(TrainErrors, NotTorchScriptAndBadJson) {
  Scratch w;
  auto req = train_request(w, kSmallParams, w.write("model.pt", "this is not a zip archive"), "o");
  EXPECT_HAS(error_of([&] { train::train_model(req); }, ErrorCode::kInvalidArgument), "not a TorchScript model");
  req.model = w.write("bad.json", R"({"type": "mlp", "hidden": [4], "activation": "swish"})");
  EXPECT_HAS(error_of([&] { train::train_model(req); }, ErrorCode::kInvalidArgument), "unknown activation");
  req.model = w.path("missing.pt");
  error_of([&] { train::train_model(req); }, ErrorCode::kNotFound);
}

// The CLI: one error line and exit status 2; a good run prints the AUCs.
int run(const std::string& args, const Scratch& w, std::string* err) {
  const std::string cmd = std::string(M4H_BINARY_DIR) + "/mlaas4hep " + args + " >" + w.path("stdout") +
                          " 2>" + w.path("stderr");
  const int rc = std::system(cmd.c_str());
  *err = read_all(w.path("stderr")) + read_all(w.path("stdout"));
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(TrainCli, BadModelIsExitStatus2AndGoodRunPrintsAucs) {
  Scratch w;
  const Scratch& d = train_data();
  const std::string base = "train --files " + d.path("files.txt") + " --labels " + d.path("labels.txt") +
                           " --params " + w.write("p.json", kSmallParams) + " --fout " + w.path("out");
  std::string out;
  EXPECT_EQ(run(base + " --model " + w.write("m.pt", "garbage"), w, &out), 2) << out;
  EXPECT_HAS(out, "mlaas4hep: error: ");
  EXPECT_HAS(out, "not a TorchScript model");
  EXPECT_EQ(run(base + " --model " + w.write("m.json", kMlp) + " --device cuda", w, &out), 2) << out;
  EXPECT_EQ(run(base + " --model " + w.write("m.json", kMlp) + " --device cpu", w, &out), 0) << out;
  EXPECT_HAS(out, "test AUC");
  EXPECT_HAS(out, "cut baseline (");
}

}  // namespace
}  // namespace m4h::test

namespace m4h::test {
namespace {

TEST(TrainXgboost, BeatsTheCutBaseline) {
  Scratch w;
  const std::string params =
      R"({"chunk_size": 4000, "epochs": 4, "seed": 7, "threads": 1, "patience": 2})";
  auto req = train_request(w, params,
                           w.write("xgb.json", R"({"type": "xgboost", "rounds": 80,
                               "params": {"max_depth": 4, "eta": 0.1, "subsample": 0.8}})"),
                           "xgb");
  auto res = train::train_model(req);
  std::printf("XGBoost test AUC %.4f; cut (%s): AUC %.4f (cut-based ROC %.4f)\n", res.test.auc,
              res.cut_rule.c_str(), res.cut.auc, res.cut_curve.auc);
  EXPECT_GT(res.test.auc, res.cut.auc + 0.02);
  EXPECT_TRUE(fs::exists(req.output + "/model.xgb.json"));
  Json b = Json::parse(read_all(req.output + "/bundle.json"));
  EXPECT_EQ(b["model"]["format"], "xgboost-json");
  // Same seed, same trees.
  auto again = train_request(w, params, req.model, "xgb2");
  train::train_model(again);
  EXPECT_EQ(read_all(req.output + "/model.xgb.json"), read_all(again.output + "/model.xgb.json"));
}

// Rows over the memory budget go to disk pages read by XGBoost's external-memory iterator: the
// trees differ (quantiles are sketched page by page) but the physics must not, and no page stays.
TEST(TrainXgboost, ExternalMemoryMatchesInMemory) {
  Scratch w;
  const std::string params = R"({"chunk_size": 3000, "epochs": 2, "seed": 7, "threads": 1})";
  const std::string model = R"({"type": "xgboost", "rounds": 40, "params": {"max_depth": 4, "eta": 0.2}})";
  auto in_memory = train_request(w, params, w.write("mem.json", model), "mem");
  auto external = train_request(
      w, params,
      w.write("ext.json", R"({"type": "xgboost", "rounds": 40, "external_memory": true, "memory_mb": 0.1,
                              "params": {"max_depth": 4, "eta": 0.2}})"),
      "ext");
  const auto a = train::train_model(in_memory);
  const auto b = train::train_model(external);
  std::printf("XGBoost in memory AUC %.4f, external memory AUC %.4f\n", a.test.auc, b.test.auc);
  EXPECT_NEAR(a.test.auc, b.test.auc, 0.01);
  EXPECT_GT(b.test.auc, b.cut.auc + 0.02);
  for (const auto& e : fs::directory_iterator(external.output))
    EXPECT_EQ(e.path().filename().string().rfind("xgboost-pages-", 0), std::string::npos) << e.path();
  // A bad value names the key.
  auto bad = train_request(w, params, w.write("bad.json", R"({"type": "xgboost", "external_memory": "sometimes"})"), "bad");
  EXPECT_HAS(error_of([&] { train::train_model(bad); }, ErrorCode::kInvalidArgument), "external_memory");
}

}  // namespace
}  // namespace m4h::test
