// The data layer on real ROOT files (shared/testdata/root, written by ROOT itself): specs and rows
// checked against the reader's raw values, every codec giving the same specs, branches that
// cannot be features (strings, nested vectors) skipped or refused, trees in subdirectories.
// Skipped loudly when the test data is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "data/data_test_util.h"
#include "data/pipeline.h"
#include "data/producer.h"
#include "support/testdata.h"

namespace m4h::data {
namespace {

using test::Scratch;
using test::testdata_file;

std::unique_ptr<Pipeline> pipeline(const Scratch& s, const std::string& files, const std::string& labels,
                                   const std::string& params_json) {
  PipelineRequest r;
  r.files = files;
  r.labels = labels;
  r.params = s.write("params.json", params_json);
  return prepare_pipeline(r);
}

size_t index_of(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

TEST(RealFiles, HzzSpecsAndRowsMatchRawValues) {
  M4H_REQUIRE_TESTDATA();
  Scratch s;
  const std::string f = testdata_file("uproot-HZZ.root");
  auto p = pipeline(s, f, "1", R"({"branch": "events", "chunk_size": 1000, "shuffle": false})");
  const Specs& sp = p->specs;
  EXPECT_EQ(sp.total_events, 2421);
  const std::vector<std::string> keys = sp.features();
  // NJet counts Jet_Px: jdim is its largest value.
  test::Raw njet = test::read_raw(f, "events", "NJet"), px = test::read_raw(f, "events", "Jet_Px");
  const size_t k = index_of(keys, "Jet_Px");
  ASSERT_LT(k, keys.size());
  ASSERT_GE(k, sp.fkeys.size());
  EXPECT_EQ(sp.jdim[k - sp.fkeys.size()], static_cast<int64_t>(*std::max_element(njet.values.begin(), njet.values.end())));
  EXPECT_EQ(sp.minv[k], *std::min_element(px.values.begin(), px.values.end()));
  EXPECT_EQ(sp.maxv[k], *std::max_element(px.values.begin(), px.values.end()));

  BatchProducer prod(p->files, p->plan, p->specs, p->preproc, p->dataset.params,
                     events_after_cuts(p->files, p->plan, p->specs, p->preproc, nullptr));
  const FeatureLayout& l = prod.layout();
  const double lo = sp.minv[k], hi = sp.maxv[k];
  Chunk c;
  int64_t rows = 0;
  while (prod.next(c)) {
    for (int64_t r = 0; r < c.rows; ++r) {
      const int64_t e = c.entry[r];
      EXPECT_EQ(e, rows + r);  // one file, unshuffled: entry order
      const int64_t n = px.length(e);
      for (int64_t j = 0; j < std::min<int64_t>(n, 2); ++j)
        EXPECT_FLOAT_EQ(c.features[r * c.width + l.column[k] + j],
                        static_cast<float>((px.at(e, j) - lo) / (hi - lo)));
    }
    rows += c.rows;
  }
  EXPECT_EQ(rows, 2421);
}

TEST(RealFiles, EveryCodecGivesTheSameSpecs) {
  M4H_REQUIRE_TESTDATA();
  Scratch s;
  std::string base;
  for (const char* name : {"uproot-HZZ-zlib.root", "uproot-HZZ-lz4.root", "uproot-HZZ-lzma.root",
                           "uproot-HZZ-zstd.root", "uproot-HZZ-uncompressed.root"}) {
    auto p = pipeline(s, testdata_file(name), "0", R"({"branch": "events"})");
    Specs sp = p->specs;
    sp.provenance.clear();
    sp.files.clear();
    const std::string text = sp.to_json();
    if (base.empty()) base = text;
    EXPECT_EQ(text, base) << name;
  }
}

// Objects stored whole (TVector2 MET, vector<TLorentzVector> muons) are features through their
// members; the flat HZZ file holds the same events in float branches.
TEST(RealFiles, ObjectMembersAreFeaturesAsTheFlatFilesBranches) {
  M4H_REQUIRE_TESTDATA();
  Scratch s;
  auto objects = pipeline(s, testdata_file("uproot-HZZ-objects.root"), "1",
                          R"({"branch": "events", "selected_branches": ["MET.*", "muonp4.fP.fX"]})");
  auto flat = pipeline(s, testdata_file("uproot-HZZ.root"), "1",
                       R"({"branch": "events", "selected_branches": ["MET_px", "MET_py", "Muon_Px"]})");
  const Specs& a = objects->specs;
  const Specs& b = flat->specs;
  EXPECT_EQ(a.fkeys, (std::vector<std::string>{"MET.fX", "MET.fY"}));
  EXPECT_EQ(a.jkeys, (std::vector<std::string>{"muonp4.fP.fX"}));
  EXPECT_EQ(a.total_events, b.total_events);
  EXPECT_EQ(a.jdim, b.jdim);
  ASSERT_EQ(a.minv.size(), 3u);
  ASSERT_EQ(b.minv.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {  // doubles holding the flat file's floats
    EXPECT_EQ(static_cast<float>(a.minv[k]), static_cast<float>(b.minv[k])) << a.features()[k];
    EXPECT_EQ(static_cast<float>(a.maxv[k]), static_cast<float>(b.maxv[k])) << a.features()[k];
  }
}

TEST(RealFiles, NanoAodBoolsAndCountersAreFeatures) {
  M4H_REQUIRE_TESTDATA();
  Scratch s;
  const std::string f = testdata_file("nanoAOD_2015_CMS_Open_Data_ttbar.root");
  auto p = pipeline(s, f, "1", "{}");
  const Specs& sp = p->specs;
  EXPECT_EQ(sp.total_events, 200);
  EXPECT_EQ(index_of(sp.fkeys, "event"), sp.fkeys.size());  // an identifier
  // A trigger bit: a flat feature with values 0/1.
  size_t hlt = sp.fkeys.size();
  for (size_t k = 0; k < sp.fkeys.size(); ++k)
    if (sp.fkeys[k].rfind("HLT_", 0) == 0) {
      hlt = k;
      break;
    }
  ASSERT_LT(hlt, sp.fkeys.size());
  EXPECT_GE(sp.minv[hlt], 0);
  EXPECT_LE(sp.maxv[hlt], 1);
  const size_t jet = index_of(sp.jkeys, "Jet_pt");
  ASSERT_LT(jet, sp.jkeys.size());
  test::Raw nj = test::read_raw(f, "Events", "nJet");
  EXPECT_EQ(sp.jdim[jet], static_cast<int64_t>(*std::max_element(nj.values.begin(), nj.values.end())));
}

TEST(RealFiles, UnusableBranchesSkippedOrRefused) {
  M4H_REQUIRE_TESTDATA();
  Scratch s;
  // A char* string branch in Zmumu: skipped when taking every branch...
  auto p = pipeline(s, testdata_file("uproot-Zmumu.root"), "1", R"({"branch": "events"})");
  ASSERT_FALSE(p->plan.skipped.empty());
  EXPECT_EQ(p->plan.skipped[0].first, "Type");
  EXPECT_EQ(index_of(p->specs.fkeys, "Type"), p->specs.fkeys.size());
  EXPECT_LT(index_of(p->specs.fkeys, "px1"), p->specs.fkeys.size());
  // ...an error when selected.
  try {
    pipeline(s, testdata_file("uproot-Zmumu.root"), "1",
             R"({"branch": "events", "selected_branches": ["px1", "Type"]})");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("Type"), std::string::npos) << e.what();
  }
  // Nested vectors (ATLAS mini-tree) are skipped, plain vectors kept.
  auto atlas = pipeline(s, testdata_file("uproot-issue-816.root"), "0", R"({"branch": "AnalysisMiniTree"})");
  EXPECT_FALSE(atlas->plan.skipped.empty());
  for (const auto& [name, why] : atlas->plan.skipped) EXPECT_NE(why.find("nested"), std::string::npos) << name;
  EXPECT_FALSE(atlas->specs.jkeys.empty());
}

TEST(RealFiles, VectorsOfEveryTypeInASubdirectoryTree) {
  M4H_REQUIRE_TESTDATA();
  Scratch s;
  auto p = pipeline(s, testdata_file("uproot-issue38a.root"), "1", R"({"branch": "ntupler/tree"})");
  EXPECT_EQ(p->specs.fkeys.size(), 0u);
  EXPECT_GE(p->specs.jkeys.size(), 8u);
  BatchProducer prod(p->files, p->plan, p->specs, p->preproc, p->dataset.params,
                     events_after_cuts(p->files, p->plan, p->specs, p->preproc, nullptr));
  Chunk c;
  ASSERT_TRUE(prod.next(c));
  for (int64_t i = 0; i < c.rows * c.width; ++i) {
    EXPECT_GE(c.features[i], 0.0f);
    EXPECT_LE(c.features[i], 1.0f);
  }
}

TEST(RealFiles, MissingTreeAndMissingBranchInALaterFile) {
  M4H_REQUIRE_TESTDATA();
  Scratch s;
  try {
    pipeline(s, testdata_file("uproot-HZZ.root"), "1", "{}");  // its tree is "events"
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("no tree 'Events'"), std::string::npos) << e.what();
  }
  try {
    // issue121's Events lacks branches the 2015 NanoAOD file has.
    pipeline(s, testdata_file("nanoAOD_2015_CMS_Open_Data_ttbar.root") + "," +
                    testdata_file("uproot-issue121.root"),
             "1,0", "{}");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("uproot-issue121.root"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace m4h::data
