// The specs pass: min/max/jdim per feature branch against values read straight from the files,
// the reference's JSON keys, loading specs the reference wrote, the jdim_max cap, and specs that
// are recomputed when their inputs change.
#include "data/specs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "data/data_test_util.h"
#include "data/pipeline.h"

namespace m4h::data {
namespace {

using test::Scratch;

std::vector<InputFile> open(const std::vector<std::string>& files, const Params& params) {
  std::vector<int64_t> labels(files.size(), 0);
  return open_inputs(make_dataset(files, labels, params));
}

size_t index_of(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

TEST(Accumulate, FlatJaggedNonFiniteAndEmpty) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> flat{3, nan, -1, 7};
  BranchStats s;
  accumulate({ValueType::kF32, flat.data(), nullptr, 4}, 0, 4, -1, s);
  EXPECT_EQ(s.minv, -1);
  EXPECT_EQ(s.maxv, 7);
  EXPECT_EQ(s.values, 3);
  EXPECT_EQ(s.nonfinite, 1);

  std::vector<int32_t> jv{4, 5, 6, 1, 9, 9};
  std::vector<int64_t> off{0, 3, 3, 4, 6};
  BranchStats j;
  accumulate({ValueType::kI32, jv.data(), off.data(), 4}, 0, 4, 1, j);
  EXPECT_EQ(j.minv, 1);
  EXPECT_EQ(j.maxv, 9);
  EXPECT_EQ(j.jdim, 3);
  EXPECT_EQ(j.over_cap, 2);  // lists of 3 and 2 are longer than 1

  BranchStats none;
  accumulate({ValueType::kI32, jv.data(), off.data(), 4}, 1, 2, -1, none);  // one empty list
  EXPECT_EQ(none.values, 0);
  EXPECT_EQ(none.min_or_default(), -1e15);  // reference min_max_arr's fallback
  EXPECT_EQ(none.max_or_default(), 1e15);
}

TEST(NanValues, ReferenceRules) {
  EXPECT_DOUBLE_EQ(global_nan_value(-2, 6), 0.25);
  EXPECT_DOUBLE_EQ(global_nan_value(3, 3), 3);  // generator.py: max when max == min
  EXPECT_DOUBLE_EQ(file_nan_value(3, 3), 0);    // reader.py normalize(key, 0)
  EXPECT_DOUBLE_EQ(file_nan_value(-2, 6), 0.25);
}

class SpecsOnGenerated : public ::testing::Test {
 protected:
  void SetUp() override {
    sig_ = test::generate(s_, "sig.root", true, 3000, 11);
    bkg_ = test::generate(s_, "bkg.root", false, 5000, 12);
  }
  Scratch s_;
  std::string sig_, bkg_;
};

TEST_F(SpecsOnGenerated, MinMaxAndJdimMatchTheRawValues) {
  Params params;
  auto files = open({sig_, bkg_}, params);
  Preprocess none;
  BranchPlan plan = plan_branches(*files[0].tree, params, none);
  ThreadPool pool(2);
  Specs specs = compute_specs(files, plan, none, params, &pool);

  // Identifiers are never features; every other branch is, flat ones first.
  for (const char* id : {"run", "event", "luminosityBlock"}) {
    EXPECT_EQ(index_of(specs.fkeys, id), specs.fkeys.size()) << id;
  }
  EXPECT_EQ(specs.fkeys, (std::vector<std::string>{"nJet", "nMuon", "nElectron", "MET_pt", "MET_phi",
                                                   "HT", "nBJet", "mbb"}));
  EXPECT_EQ(specs.jkeys.size(), 13u);
  EXPECT_EQ(specs.jkeys.front(), "Jet_pt");
  EXPECT_EQ(specs.total_events, 8000);
  ASSERT_EQ(specs.files.size(), 2u);
  EXPECT_EQ(specs.files[0].events, 3000);
  EXPECT_EQ(specs.files[1].events, 5000);

  const std::vector<std::string> keys = specs.features();
  for (const std::string& b : {std::string("MET_pt"), std::string("nJet"), std::string("Jet_pt"),
                               std::string("Muon_charge"), std::string("Electron_eta")}) {
    double lo = INFINITY, hi = -INFINITY;
    int64_t longest = 0;
    for (const std::string& f : {sig_, bkg_}) {
      test::Raw r = test::read_raw(f, "Events", b);
      for (double v : r.values) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      for (size_t i = 0; i + 1 < r.offsets.size(); ++i)
        longest = std::max(longest, r.offsets[i + 1] - r.offsets[i]);
    }
    const size_t k = index_of(keys, b);
    ASSERT_LT(k, keys.size()) << b;
    EXPECT_EQ(specs.minv[k], lo) << b;
    EXPECT_EQ(specs.maxv[k], hi) << b;
    if (k >= specs.fkeys.size()) {
      EXPECT_EQ(specs.jdim[k - specs.fkeys.size()], longest) << b;
    }
  }
  EXPECT_EQ(specs.width(), static_cast<int64_t>(specs.feature_names().size()));
}

// selected_branches and exclude_branches take shell patterns, as the reference's "*" entries
// were meant to (its prefix test compared names with the pattern's text and never matched).
TEST_F(SpecsOnGenerated, BranchSelectionsTakePatterns) {
  Params params = parse_params(R"({"selected_branches": ["Jet_*", "MET_p?i", "n*"],
                                   "exclude_branches": ["Jet_[me]*", "nMuon"]})");
  auto files = open({sig_, bkg_}, params);
  Preprocess none;
  BranchPlan plan = plan_branches(*files[0].tree, params, none);
  EXPECT_EQ(plan.fkeys, (std::vector<std::string>{"MET_phi", "nJet", "nElectron", "nBJet"}));
  EXPECT_EQ(plan.jkeys, (std::vector<std::string>{"Jet_pt", "Jet_phi", "Jet_btagDeepB"}));

  // Excluding by pattern with every branch selected; identifiers stay out as always.
  Params all_but = parse_params(R"({"exclude_branches": "Muon_*,Electron_*,Jet_*,*_phi"})");
  BranchPlan rest = plan_branches(*files[0].tree, all_but, none);
  EXPECT_EQ(rest.fkeys, (std::vector<std::string>{"nJet", "nMuon", "nElectron", "MET_pt", "HT", "nBJet", "mbb"}));
  EXPECT_TRUE(rest.jkeys.empty());

  // A pattern that matches no branch is an error naming it.
  Params none_match = parse_params(R"({"selected_branches": ["Tau_*"]})");
  try {
    plan_branches(*files[0].tree, none_match, none);
    ADD_FAILURE() << "a pattern matching nothing was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("no branch that matches 'Tau_*' (selected_branches)"), std::string::npos)
        << e.what();
  }
}

TEST_F(SpecsOnGenerated, JsonHasTheReferenceKeysAndRoundTrips) {
  Params params;
  auto files = open({sig_, bkg_}, params);
  Preprocess none;
  BranchPlan plan = plan_branches(*files[0].tree, params, none);
  Specs specs = compute_specs(files, plan, none, params, nullptr);
  const std::string text = specs.to_json();
  auto j = nlohmann::json::parse(text);
  for (const char* key : {"jdim", "minv", "maxv", "fkeys", "jkeys", "nans", "events",
                          "feature_names", "files", "provenance", "report"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["events"]["total"], 8000);
  EXPECT_EQ(j["events"][sig_], 3000);
  EXPECT_EQ(j["jdim"]["Jet_pt"].get<int64_t>(), specs.jdim[0]);
  // Global nans: the normalised 0, (0 - min) / (max - min).
  const double mn = j["minv"]["MET_phi"], mx = j["maxv"]["MET_phi"];
  EXPECT_DOUBLE_EQ(j["nans"]["MET_phi"].get<double>(), (0 - mn) / (mx - mn));
  // Per-file specs in the reference's layout.
  EXPECT_TRUE(j["files"][bkg_].contains("minv"));
  EXPECT_EQ(j["files"][bkg_]["events"], 5000);

  Specs back = Specs::from_json(text);
  EXPECT_EQ(back.fkeys, specs.fkeys);
  EXPECT_EQ(back.jkeys, specs.jkeys);
  EXPECT_EQ(back.minv, specs.minv);
  EXPECT_EQ(back.maxv, specs.maxv);
  EXPECT_EQ(back.jdim, specs.jdim);
  EXPECT_EQ(back.total_events, 8000);
  EXPECT_EQ(back.events_of(bkg_), 5000);
  EXPECT_EQ(back.provenance, specs.provenance);
}

TEST(SpecsJson, LoadsSpecsTheReferenceWrote) {
  // generator.py write_global_specs: jdim, minv, maxv, fkeys (identifiers included), jkeys, nans,
  // events; json.dumps of Python floats and ints.
  const char* ref = R"({"jdim": {"Jet_pt": 3}, "minv": {"run": 1, "nJet": 0, "Jet_pt": 20.5},
    "maxv": {"run": 1, "nJet": 3, "Jet_pt": 120.0}, "fkeys": ["run", "nJet"], "jkeys": ["Jet_pt"],
    "nans": {"run": 1, "nJet": 0.0, "Jet_pt": -0.2}, "events": {"total": 30, "a.root": 10, "b.root": 20}})";
  Specs s = Specs::from_json(ref, "global-specs.json");
  EXPECT_EQ(s.fkeys, (std::vector<std::string>{"run", "nJet"}));
  EXPECT_EQ(s.events_of("b.root"), 20);
  EXPECT_TRUE(s.provenance.empty());
  drop_features(s, {"run", "event", "luminosityBlock"});
  EXPECT_EQ(s.fkeys, (std::vector<std::string>{"nJet"}));
  EXPECT_EQ(s.minv, (std::vector<double>{0, 20.5}));
  EXPECT_EQ(s.maxv, (std::vector<double>{3, 120}));
  EXPECT_EQ(s.feature_names(), (std::vector<std::string>{"nJet", "Jet_pt_0", "Jet_pt_1", "Jet_pt_2"}));

  for (const char* bad : {"{", R"({"fkeys": ["x"], "jkeys": [], "minv": {}, "maxv": {}})",
                          R"({"fkeys": [], "jkeys": ["j"], "minv": {"j": 0}, "maxv": {"j": 1}, "jdim": {"j": -1}})"}) {
    try {
      Specs::from_json(bad, "s.json");
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << bad;
    }
  }
}

TEST_F(SpecsOnGenerated, JdimMaxCapsAndCountsTruncatedEvents) {
  Params params;
  params.jdim_max = 5;
  auto files = open({sig_, bkg_}, params);
  Preprocess none;
  BranchPlan plan = plan_branches(*files[0].tree, params, none);
  Specs specs = compute_specs(files, plan, none, params, nullptr);
  int64_t over = 0, longest = 0;
  for (const std::string& f : {sig_, bkg_}) {
    test::Raw n = test::read_raw(f, "Events", "nJet");
    for (double v : n.values) {
      over += v > 5;
      longest = std::max<int64_t>(longest, static_cast<int64_t>(v));
    }
  }
  ASSERT_GT(over, 0) << "the generated files should have events with more than 5 jets";
  EXPECT_EQ(specs.jkeys[0], "Jet_pt");
  EXPECT_EQ(specs.jdim[0], 5);
  EXPECT_EQ(specs.jdim_measured[0], longest);
  EXPECT_EQ(specs.truncated[0], over);
}

TEST_F(SpecsOnGenerated, RecomputedWhenInputsChangeNotBefore) {
  std::string files = s_.write("files.txt", sig_ + "\n" + bkg_ + "\n");
  std::string params = s_.write("params.json", R"({"chunk_size": 500})");
  PipelineRequest r;
  r.files = files;
  r.labels = "1,0";
  r.params = params;
  r.specs_cache = s_.path("specs.json");
  EXPECT_EQ(prepare_pipeline(r)->origin, SpecsOrigin::kComputed);
  EXPECT_EQ(prepare_pipeline(r)->origin, SpecsOrigin::kCached);

  // A file rewritten with other events: new size and modification time.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  test::generate(s_, "bkg.root", false, 4000, 13);
  auto p = prepare_pipeline(r);
  EXPECT_EQ(p->origin, SpecsOrigin::kComputed);
  EXPECT_EQ(p->specs.total_events, 7000);
  EXPECT_EQ(prepare_pipeline(r)->origin, SpecsOrigin::kCached);

  // Parameters that change the features recompute too.
  s_.write("params.json", R"({"chunk_size": 500, "exclude_branches": "MET_phi"})");
  p = prepare_pipeline(r);
  EXPECT_EQ(p->origin, SpecsOrigin::kComputed);
  EXPECT_EQ(index_of(p->specs.fkeys, "MET_phi"), p->specs.fkeys.size());
  // Parameters that do not (chunk_size) keep them.
  s_.write("params.json", R"({"chunk_size": 100, "exclude_branches": "MET_phi"})");
  EXPECT_EQ(prepare_pipeline(r)->origin, SpecsOrigin::kCached);

  // --specs forces a file even when it no longer matches.
  PipelineRequest forced = r;
  forced.specs = r.specs_cache;
  s_.write("params.json", "{}");
  auto f = prepare_pipeline(forced);
  EXPECT_EQ(f->origin, SpecsOrigin::kForced);
  EXPECT_EQ(index_of(f->plan.fkeys, "MET_phi"), f->plan.fkeys.size());
}

}  // namespace
}  // namespace m4h::data
