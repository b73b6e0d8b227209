// load_bundle on bundles trained from generated files: normalise() of raw values read with the
// reader gives the training pipeline's rows bit for bit (plain branches in their own types, and
// preproc.json's new branches and cuts), infer() gives the trainer's predictions, and broken
// bundles or inputs are errors that say what is wrong.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <numeric>

#include "data/pipeline.h"
#include "data/producer.h"
#include "serve/serve_test_util.h"
#include "train/trainer.h"

namespace m4h::test {
namespace {

namespace fs = std::filesystem;
using serve::InputBatch;
using serve::RawEvent;

// The training pipeline's first chunk for a bundle: its specs, params and preproc.json.
struct TrainedRows {
  data::Chunk chunk;
  std::vector<std::string> files;
};

TrainedRows training_rows(const std::string& bundle) {
  const ServeFixtures& f = serve_fixtures();
  data::PipelineRequest r;
  r.files = f.dir + "/files.txt";
  r.labels = f.dir + "/labels.txt";
  r.params = bundle + "/params.json";
  r.specs = bundle + "/specs.json";
  if (fs::exists(bundle + "/preproc.json")) r.preproc = bundle + "/preproc.json";
  auto p = data::prepare_pipeline(r);
  auto events = data::events_after_cuts(p->files, p->plan, p->specs, p->preproc, nullptr);
  data::BatchProducer producer(p->files, p->plan, p->specs, p->preproc, p->dataset.params, events);
  TrainedRows out;
  EXPECT_TRUE(producer.next(out.chunk));
  out.files = p->dataset.files;
  return out;
}

// The chunk's events as raw values, in the chunk's row order.
std::vector<RawEvent> raw_of(const TrainedRows& t, const std::vector<std::string>& branches) {
  std::vector<RawEvent> out(static_cast<size_t>(t.chunk.rows));
  for (size_t f = 0; f < t.files.size(); ++f) {
    std::vector<int64_t> entries, rows;
    for (int64_t r = 0; r < t.chunk.rows; ++r)
      if (t.chunk.file[r] == static_cast<int32_t>(f)) {
        entries.push_back(t.chunk.entry[r]);
        rows.push_back(r);
      }
    auto evs = raw_events(t.files[f], branches, entries);
    for (size_t i = 0; i < rows.size(); ++i) out[static_cast<size_t>(rows[i])] = std::move(evs[i]);
  }
  return out;
}

// The trainer's own predict() on rows, from the bundle's saved model (XGBoost: its checkpoint).
std::vector<float> trainer_scores(const std::string& bundle, const data::Chunk& c) {
  const auto b = nlohmann::json::parse(read_text(bundle + "/bundle.json"));
  train::TrainerOptions o;
  o.width = c.width;
  o.device = "cpu";
  const bool xgb = b["model"]["format"] == "xgboost-json";
  o.model_path = bundle + (xgb ? "/model.json" : "/model.pt");
  auto t = train::make_trainer(o);
  if (xgb) {
    t->load_checkpoint(bundle + "/checkpoint.pt");
    t->restore_best();
  }
  std::vector<float> scores;
  t->predict(train::Rows{c.features.data(), c.mask.data(), c.labels.data(), c.rows, c.width}, scores);
  return scores;
}

void expect_served_like_trained(const std::string& bundle) {
  auto model = serve::load_bundle(bundle, "m", "1");
  const TrainedRows t = training_rows(bundle);
  const data::Chunk& c = t.chunk;
  ASSERT_GT(c.rows, 1000);
  ASSERT_EQ(model->width(), c.width);
  const InputBatch batch = model->normalise(raw_of(t, model->metadata().branches));
  ASSERT_EQ(batch.rows, c.rows);
  ASSERT_EQ(batch.x.size(), c.features.size());
  int64_t differing = 0;
  for (size_t i = 0; i < c.features.size(); ++i)
    differing += std::memcmp(&batch.x[i], &c.features[i], sizeof(float)) != 0 || batch.mask[i] != c.mask[i];
  EXPECT_EQ(differing, 0) << "of " << c.features.size() << " cells";

  const std::vector<float> served = model->infer(batch);
  const std::vector<float> trained = trainer_scores(bundle, c);
  ASSERT_EQ(served.size(), trained.size());
  double worst = 0;
  for (size_t i = 0; i < served.size(); ++i) worst = std::max(worst, std::abs(double(served[i]) - trained[i]));
  EXPECT_LE(worst, 1e-6);
  std::printf("%s: %lld rows equal bit for bit, scores within %.2g of the trainer's\n",
              fs::path(bundle).filename().c_str(), static_cast<long long>(c.rows), worst);
}

TEST(ServeModel, MlpServesWhatItTrainedOn) { expect_served_like_trained(serve_fixtures().mlp); }
TEST(ServeModel, XgboostServesWhatItTrainedOn) { expect_served_like_trained(serve_fixtures().xgb); }
TEST(ServeModel, PreprocessedMlpServesWhatItTrainedOn) { expect_served_like_trained(serve_fixtures().pre); }
TEST(ServeModel, DeepSetsWithMaskServesWhatItTrainedOn) { expect_served_like_trained(serve_fixtures().deepsets); }

TEST(ServeModel, Metadata) {
  auto m = serve::load_bundle(serve_fixtures().deepsets, "ds", "3");
  const auto& md = m->metadata();
  EXPECT_EQ(md.name, "ds");
  EXPECT_EQ(md.version, "3");
  EXPECT_EQ(md.platform, "pytorch_torchscript");
  ASSERT_EQ(md.inputs.size(), 2u);  // x and mask
  EXPECT_EQ(md.inputs[1].name, "mask");
  EXPECT_EQ(md.inputs[0].shape, (std::vector<int64_t>{-1, m->width()}));
  EXPECT_EQ(md.outputs[0].shape, (std::vector<int64_t>{-1, 1}));
  EXPECT_EQ(md.feature_names.size(), static_cast<size_t>(m->width()));
  EXPECT_EQ(md.feature_names[0], "nJet");
  auto x = serve::load_bundle(serve_fixtures().xgb, "x", "1");
  EXPECT_EQ(x->metadata().platform, "xgboost");
  EXPECT_EQ(x->metadata().inputs.size(), 1u);
  // The raw branches: features, and for the pre-processing what its definitions and cuts read.
  auto p = serve::load_bundle(serve_fixtures().pre, "p", "1");
  const auto& b = p->metadata().branches;
  for (const char* name : {"MET_pt", "MET_phi", "Jet_pt", "HT"})
    EXPECT_NE(std::find(b.begin(), b.end(), name), b.end()) << name;
  EXPECT_EQ(std::find(b.begin(), b.end(), "log_met"), b.end());
}

TEST(ServeModel, CutEventsAreAnErrorOrLeftOut) {
  const ServeFixtures& f = serve_fixtures();
  auto m = serve::load_bundle(f.pre, "p", "1");
  std::vector<int64_t> entries(40);
  std::iota(entries.begin(), entries.end(), 0);
  const auto events = raw_events(f.dir + "/signal.root", m->metadata().branches, entries);
  std::vector<int64_t> kept;
  const InputBatch some = m->normalise(events, &kept);
  ASSERT_GT(kept.size(), 0u);
  ASSERT_LT(kept.size(), events.size());  // MET_phi > -1.5 rejects about a quarter
  ASSERT_EQ(some.rows, static_cast<int64_t>(kept.size()));
  const Raw phi = read_raw(f.dir + "/signal.root", "Events", "MET_phi");
  size_t k = 0;
  for (int64_t e : entries) {
    const bool pass = phi.at(e) > -1.5;
    ASSERT_EQ(pass, k < kept.size() && kept[k] == e) << e;
    if (!pass) continue;
    // Each kept row is that event's row alone.
    const InputBatch one = m->normalise({events[static_cast<size_t>(e)]});
    EXPECT_EQ(0, std::memcmp(one.x.data(), some.x.data() + k * m->width(), m->width() * sizeof(float)));
    ++k;
  }
  const std::string msg = error_of([&] { m->normalise(events); }, ErrorCode::kInvalidArgument);
  EXPECT_HAS(msg, "does not pass the pre-processing's cuts");
  EXPECT_HAS(msg, "MET_phi");
}

TEST(ServeModel, BadInputsAreErrors) {
  auto m = serve::load_bundle(serve_fixtures().mlp, "m", "1");
  auto events = raw_events(serve_fixtures().dir + "/signal.root", m->metadata().branches, {0, 1});
  RawEvent missing = events[1];
  missing.erase("HT");
  EXPECT_HAS(error_of([&] { m->normalise({events[0], missing}); }, ErrorCode::kInvalidArgument),
             "event 1: no branch 'HT'");
  RawEvent list = events[0];
  list["HT"] = {1, 2};
  EXPECT_HAS(error_of([&] { m->normalise({list}); }, ErrorCode::kInvalidArgument), "'HT' is flat");
  RawEvent fraction = events[0];
  fraction["nJet"] = {2.5};
  EXPECT_HAS(error_of([&] { m->normalise({fraction}); }, ErrorCode::kInvalidArgument), "'nJet' holds integers");
  InputBatch narrow{std::vector<float>(3), {}, 1, 3};
  EXPECT_HAS(error_of([&] { m->infer(narrow); }, ErrorCode::kInvalidArgument), "width");
  EXPECT_EQ(m->normalise({}).rows, 0);
  InputBatch none{{}, {}, 0, m->width()};
  EXPECT_TRUE(m->infer(none).empty());
  // Extra branches are ignored; NaN in a float branch is a missing value, masked.
  RawEvent extra = events[0];
  extra["not_used"] = {1};
  extra["HT"] = {NAN};
  const InputBatch b = m->normalise({extra});
  EXPECT_EQ(b.mask[static_cast<size_t>(std::find(m->metadata().feature_names.begin(),
                                                 m->metadata().feature_names.end(), "HT") -
                                       m->metadata().feature_names.begin())],
            0);
}

// Bundles made before bundle.json listed the branches: float64 normalisation, so a float32
// branch may differ in the last bit, no more.
TEST(ServeModel, BundlesWithoutBranchTypesStillServe) {
  Scratch w;
  fs::copy(serve_fixtures().mlp, w.path("old"), fs::copy_options::recursive);
  auto b = nlohmann::json::parse(read_text(w.path("old/bundle.json")));
  b["input"].erase("branches");
  w.write("old/bundle.json", b.dump());
  auto now = serve::load_bundle(serve_fixtures().mlp, "m", "1");
  auto old = serve::load_bundle(w.path("old"), "m", "1");
  EXPECT_EQ(old->metadata().branches.size(), now->metadata().branches.size());
  std::vector<int64_t> entries(50);
  std::iota(entries.begin(), entries.end(), 0);
  const auto events = raw_events(serve_fixtures().dir + "/signal.root", now->metadata().branches, entries);
  const InputBatch a = now->normalise(events), c = old->normalise(events);
  ASSERT_EQ(a.x.size(), c.x.size());
  EXPECT_EQ(a.mask, c.mask);
  for (size_t i = 0; i < a.x.size(); ++i) EXPECT_NEAR(a.x[i], c.x[i], 1e-6 * std::max(1.0f, std::abs(a.x[i]))) << i;
}

TEST(ServeModel, BrokenBundlesAreErrorsNamingTheFile) {
  Scratch w;
  EXPECT_HAS(error_of([&] { serve::load_bundle(w.path("none"), "m", "1"); }, ErrorCode::kNotFound),
             "bundle.json");
  fs::copy(serve_fixtures().mlp, w.path("b"), fs::copy_options::recursive);
  w.write("b/model.pt", "not a model");
  EXPECT_HAS(error_of([&] { serve::load_bundle(w.path("b"), "m", "1"); }, ErrorCode::kCorrupt), "model.pt");
  w.write("b/bundle.json", "{\"format\": \"other\"}");
  EXPECT_HAS(error_of([&] { serve::load_bundle(w.path("b"), "m", "1"); }, ErrorCode::kCorrupt), "not a model bundle");
  fs::copy(serve_fixtures().xgb, w.path("x"), fs::copy_options::recursive);
  w.write("x/model.xgb.json", "{}");
  EXPECT_HAS(error_of([&] { serve::load_bundle(w.path("x"), "m", "1"); }, ErrorCode::kCorrupt), "model.xgb.json");
}

// Latency of one row, for the report (no assertion on speed).
TEST(ServeModel, OneRowLatency) {
  for (const std::string& bundle : {serve_fixtures().mlp, serve_fixtures().xgb, serve_fixtures().deepsets}) {
    auto m = serve::load_bundle(bundle, "m", "1");
    InputBatch one{std::vector<float>(static_cast<size_t>(m->width()), 0.5f), {}, 1, m->width()};
    std::vector<float> out(static_cast<size_t>(m->outputs()));
    for (int i = 0; i < 200; ++i) m->infer_into(one.x.data(), nullptr, 1, out.data());
    const int n = 5000;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) m->infer_into(one.x.data(), nullptr, 1, out.data());
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n;
    std::printf("%s: one row in %.1f us (width %lld)\n", fs::path(bundle).filename().c_str(), us,
                static_cast<long long>(m->width()));
  }
}

}  // namespace
}  // namespace m4h::test
