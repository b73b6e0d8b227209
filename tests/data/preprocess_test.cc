// preproc.json as the reference MLaaS4HEP writes it: new branches, flat and jagged cuts,
// removals, its "True"/"False" strings, validation errors that name the file, key and column,
// and a generated ROOT file read back and pre-processed. Expected values come from plain loops
// over the inputs in the test, never from the code under test.
#include "data/preprocess.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "gen/event_generator.h"
#include "root/branch_reader.h"
#include "root/file.h"
#include "root/tree.h"
#include "data/data_test_util.h"

namespace m4h::data {
namespace {

using test::error_of;

std::string parse_error(const std::string& json) {
  return error_of([&] { Preprocess::parse(json); }, ErrorCode::kInvalidArgument);
}

// src/python/MLaaS4HEP/ex_preproc.json of vkuznet/MLaaS4HEP (branch uproot4), byte for byte.
const char* kReferenceExample = R"j({
  "new_branch": {
    "log_partonE": {
      "def": "log(partonE)",
      "type": "jagged",
      "cut_1": ["log_partonE<6.31", "any"],
      "cut_2": ["log_partonE>5.85", "all"],
      "remove": "False",
      "keys_to_remove": ["partonE"]
    },
    "nJets_square": {
      "def": "nJets**2",
      "type": "flat",
      "cut": "1<=nJets_square<=16",
      "remove": "False",
      "keys_to_remove": ["nJets"]
    }
  },
  "flat_cut": {
    "nLeptons": {
      "cut": "0<=nLeptons<=2",
      "remove": "False"
    }
  },
  "jagged_cut": {
    "partonPt": {
      "cut": ["partonPt>200", "all"],
      "remove": "False"
    }
  }
}
)j";

struct Lists {
  std::vector<std::vector<double>> rows;
  Array array() const {
    Array a;
    a.offsets.push_back(0);
    for (const auto& r : rows) {
      a.values.insert(a.values.end(), r.begin(), r.end());
      a.offsets.push_back(static_cast<int64_t>(a.values.size()));
    }
    return a;
  }
};

TEST(Preprocess, ReferenceExampleSelectsAndComputesAsTheReference) {
  // One event per way of failing, and some that pass (e8 has an empty partonPt: "all" passes).
  const Lists partonE{
      {{400, 500}, {600, 700}, {300, 400}, {}, {450}, {450}, {450}, {450}, {360, 540}, {500}}};
  const std::vector<double> nJets{2, 2, 2, 2, 0, 5, 3, 4, 1, 4};
  const std::vector<double> nLeptons{1, 1, 1, 1, 1, 1, 3, 0, 2, 0};
  const Lists partonPt{
      {{250, 300}, {250}, {250}, {250}, {250}, {250}, {250}, {250, 150}, {}, {201}}};
  const std::vector<double> other{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  Table t;
  t.set("partonE", partonE.array());
  t.set("nJets", Array::flat(nJets));
  t.set("nLeptons", Array::flat(nLeptons));
  t.set("partonPt", partonPt.array());
  t.set("other", Array::flat(other));

  // The reference's cuts, by hand, in the order preproc.json lists them.
  const size_t n = nJets.size();
  std::vector<std::function<bool(size_t)>> cuts = {
      [&](size_t e) {  // new_branch.log_partonE.cut_1: any
        for (double v : partonE.rows[e])
          if (std::log(v) < 6.31) return true;
        return false;
      },
      [&](size_t e) {  // new_branch.log_partonE.cut_2: all
        for (double v : partonE.rows[e])
          if (!(std::log(v) > 5.85)) return false;
        return true;
      },
      [&](size_t e) { return 1 <= nJets[e] * nJets[e] && nJets[e] * nJets[e] <= 16; },
      [&](size_t e) { return 0 <= nLeptons[e] && nLeptons[e] <= 2; },
      [&](size_t e) {
        for (double v : partonPt.rows[e])
          if (!(v > 200)) return false;
        return true;
      },
  };
  std::vector<size_t> kept;
  std::vector<int64_t> rejected(cuts.size(), 0);
  for (size_t e = 0; e < n; ++e) {
    bool pass = true;
    for (size_t c = 0; c < cuts.size() && pass; ++c)
      if (!cuts[c](e)) {
        ++rejected[c];
        pass = false;
      }
    if (pass) kept.push_back(e);
  }
  ASSERT_EQ(kept, (std::vector<size_t>{0, 8, 9}));  // the hand-made events do what they should

  Preprocess p = Preprocess::parse(kReferenceExample);
  EXPECT_FALSE(p.empty());
  EXPECT_EQ(p.new_branches(), (std::vector<std::string>{"log_partonE", "nJets_square"}));
  EXPECT_TRUE(p.new_branch_is_jagged("log_partonE"));
  EXPECT_FALSE(p.new_branch_is_jagged("nJets_square"));
  EXPECT_EQ(p.input_branches(),
            (std::vector<std::string>{"partonE", "nJets", "nLeptons", "partonPt"}));
  EXPECT_EQ(p.removed_branches(), (std::vector<std::string>{"partonE", "nJets"}));

  PreprocessReport report;
  p.apply(t, &report);
  EXPECT_EQ(report.events_in, static_cast<int64_t>(n));
  EXPECT_EQ(report.events_passed, 3);
  const std::vector<std::string> cut_names = {
      "new_branch.log_partonE.cut_1", "new_branch.log_partonE.cut_2", "new_branch.nJets_square.cut",
      "flat_cut.nLeptons.cut", "jagged_cut.partonPt.cut"};
  ASSERT_EQ(report.rejected_by.size(), cut_names.size());
  for (size_t c = 0; c < cut_names.size(); ++c) {
    EXPECT_EQ(report.rejected_by[c].first, cut_names[c]);
    EXPECT_EQ(report.rejected_by[c].second, rejected[c]) << cut_names[c];
  }

  // keys_to_remove dropped partonE and nJets; the new branches come last, in file order.
  EXPECT_EQ(t.names(), (std::vector<std::string>{"nLeptons", "partonPt", "other", "log_partonE",
                                                 "nJets_square"}));
  EXPECT_EQ(t.entries(), 3);
  Lists want_log, want_pt;
  std::vector<double> want_sq, want_other, want_lep;
  for (size_t e : kept) {
    want_log.rows.emplace_back();
    for (double v : partonE.rows[e]) want_log.rows.back().push_back(std::log(v));
    want_pt.rows.push_back(partonPt.rows[e]);
    want_sq.push_back(nJets[e] * nJets[e]);
    want_other.push_back(other[e]);
    want_lep.push_back(nLeptons[e]);
  }
  EXPECT_EQ(t.at("log_partonE"), want_log.array());
  EXPECT_EQ(t.at("partonPt"), want_pt.array());
  EXPECT_EQ(t.at("nJets_square").values, want_sq);
  EXPECT_EQ(t.at("other").values, want_other);
  EXPECT_EQ(t.at("nLeptons").values, want_lep);
}

TEST(Preprocess, DocumentationExampleParses) {
  // doc/preproc.md of the reference.
  Preprocess p = Preprocess::parse(R"j({
    "new_branch": {
      "log_Energy": {"def": "log(Energy)", "type": "jagged",
        "cut_1": ["log_Energy<6.31", "any"], "cut_2": ["log_Energy>5.85", "all"],
        "remove": "False", "keys_to_remove": ["Energy"]},
      "nMuon_square": {"def": "nMuon**2", "type": "flat", "cut": "1<=nMuon_square<=16",
        "remove": "False", "keys_to_remove": ["nMuon"]}},
    "flat_cut": {"nLeptons": {"cut": "nLeptons<=2", "remove": "False"}},
    "jagged_cut": {"Muon_Pt": {"cut": ["Muon_Pt>200", "all"], "remove": "False"}}})j");
  EXPECT_EQ(p.input_branches(),
            (std::vector<std::string>{"Energy", "nMuon", "nLeptons", "Muon_Pt"}));
  EXPECT_EQ(p.removed_branches(), (std::vector<std::string>{"Energy", "nMuon"}));
}

TEST(Preprocess, BooleansAsTheReferenceWritesThemOrAsJson) {
  Preprocess p = Preprocess::parse(R"j({
    "flat_cut": {"a": {"cut": "a > 0", "remove": "True"}, "b": {"remove": true},
                 "c": {"remove": "False"}, "d": {"remove": false}, "e": {"remove": "true"}},
    "jagged_cut": {"j": {"cut": ["j > 0", "any"], "remove": "True"}}})j");
  EXPECT_EQ(p.removed_branches(), (std::vector<std::string>{"a", "b", "e", "j"}));
  // The spelling of a boolean and the spacing of an expression leave the definition as it is.
  Preprocess q = Preprocess::parse(R"j({"flat_cut": {"a": {"cut": " a>0 ", "remove": true},
    "b": {"remove": "True"}, "c": {"remove": false}, "d": {"remove": "False"},
    "e": {"remove": true}}, "jagged_cut": {"j": {"cut": ["j>0", "any"], "remove": true}}})j");
  EXPECT_EQ(p.canonical(), q.canonical());
  EXPECT_NE(p.canonical(),
            Preprocess::parse(R"j({"flat_cut": {"a": {"cut": "a >= 0"}}})j").canonical());
}

TEST(Preprocess, JaggedCutsAllAndAnyOnEmptyLists) {
  Table t;
  t.set("j", Lists{{{}, {1}, {5}, {1, 5}}}.array());
  Table u = t;
  Preprocess::parse(R"j({"jagged_cut": {"j": {"cut": ["j > 2", "all"]}}})j").apply(t);
  EXPECT_EQ(t.at("j"), (Lists{{{}, {5}}}.array()));  // an empty list passes "all"
  Preprocess::parse(R"j({"jagged_cut": {"j": {"cut": ["j > 2", "any"]}}})j").apply(u);
  EXPECT_EQ(u.at("j"), (Lists{{{5}, {1, 5}}}.array()));  // and fails "any"
}

TEST(Preprocess, DefinitionsMayUseOtherNewBranchesInAnyOrder) {
  Table t;
  t.set("x", Array::flat({1, 2, 3}));
  Preprocess p = Preprocess::parse(R"j({"new_branch": {
      "b": {"def": "a * 10", "type": "flat", "cut": "b > 1010"},
      "a": {"def": "x + 1", "type": "flat"},
      "x": {"def": "x * 100", "type": "flat"}}})j");
  EXPECT_EQ(p.new_branches(), (std::vector<std::string>{"b", "a", "x"}));
  EXPECT_EQ(p.input_branches(), (std::vector<std::string>{"x"}));
  p.apply(t);
  // b uses a, a uses the new x (as uproot's aliases do), and x reads the file's x (a definition
  // naming itself reads the branch it replaces). New branches come last, in file order.
  EXPECT_EQ(t.names(), (std::vector<std::string>{"b", "a", "x"}));
  EXPECT_EQ(t.at("x").values, (std::vector<double>{200, 300}));
  EXPECT_EQ(t.at("a").values, (std::vector<double>{201, 301}));
  EXPECT_EQ(t.at("b").values, (std::vector<double>{2010, 3010}));
  EXPECT_HAS(
      parse_error(R"j({"new_branch": {"a": {"def": "b + 1", "type": "flat"},
      "b": {"def": "sum(c)", "type": "flat"}, "c": {"def": "a", "type": "flat"}}})j"),
      "preproc.json: new_branch.a.def: new branches defined through each other: a -> b -> c -> a");
}

TEST(Preprocess, ReportsAddUpOverChunks) {
  Preprocess p = Preprocess::parse(R"j({"flat_cut": {"x": {"cut": "x > 1", "cut_2": "x < 4"}}})j");
  PreprocessReport r;
  for (int chunk = 0; chunk < 2; ++chunk) {
    Table t;
    t.set("x", Array::flat({0, 1, 2, 3, 4, 5}));
    p.apply(t, &r);
    EXPECT_EQ(t.at("x").values, (std::vector<double>{2, 3}));
  }
  EXPECT_EQ(r.events_in, 12);
  EXPECT_EQ(r.events_passed, 4);
  ASSERT_EQ(r.rejected_by.size(), 2u);
  EXPECT_EQ(r.rejected_by[0], (std::pair<std::string, int64_t>{"flat_cut.x.cut", 4}));
  EXPECT_EQ(r.rejected_by[1], (std::pair<std::string, int64_t>{"flat_cut.x.cut_2", 4}));
}

TEST(Preprocess, EmptyDefinitionsChangeNothing) {
  Table t;
  t.set("x", Array::flat({1, 2}));
  PreprocessReport r;
  Preprocess().apply(t, &r);
  EXPECT_TRUE(Preprocess().empty());
  EXPECT_EQ(Preprocess().canonical(), "");
  Preprocess e = Preprocess::parse("{}");
  EXPECT_TRUE(e.empty());
  e.apply(t, &r);
  EXPECT_EQ(r.events_in, 4);
  EXPECT_EQ(r.events_passed, 4);
  EXPECT_EQ(t.at("x").values, (std::vector<double>{1, 2}));
  EXPECT_FALSE(Preprocess::parse(R"j({"flat_cut": {"x": {"remove": "True"}}})j").empty());
}

TEST(Preprocess, BadDefinitionsNameTheFileTheKeyAndTheColumn) {
  EXPECT_HAS(parse_error(R"j({"new_branch": )j"), "preproc.json: malformed JSON: ");
  EXPECT_HAS(parse_error("[1]"), "preproc.json: expected an object");
  EXPECT_HAS(parse_error(R"j({"new_branches": {}})j"), "preproc.json: new_branches: unknown key");
  EXPECT_HAS(parse_error(R"j({"flat_cut": []})j"), "preproc.json: flat_cut: expected an object");
  EXPECT_HAS(parse_error(R"j({"flat_cut": {"x": "x > 1"}})j"),
             "preproc.json: flat_cut.x: expected an object");
  EXPECT_HAS(parse_error(R"j({"flat_cut": {"x": {"cutt": "x > 1"}}})j"),
             "flat_cut.x.cutt: unknown key");
  EXPECT_HAS(parse_error(R"j({"flat_cut": {"x": {"cut": ["x > 1", "all"]}}})j"),
             "flat_cut.x.cut: expected an expression in a string, found a list");
  EXPECT_HAS(parse_error(R"j({"flat_cut": {"x": {"cut": "x > 1", "remove": "maybe"}}})j"),
             "flat_cut.x.remove: expected \"True\" or \"False\"");
  EXPECT_HAS(parse_error(R"j({"jagged_cut": {"j": {"cut": "j > 1"}}})j"),
             "jagged_cut.j.cut: expected [\"expression\", \"all\" or \"any\"]");
  EXPECT_HAS(parse_error(R"j({"jagged_cut": {"j": {"cut": ["j > 1", "some"]}}})j"),
             "jagged_cut.j.cut: expected \"all\" or \"any\", found \"some\"");
  EXPECT_HAS(parse_error(R"j({"new_branch": {"a": {"type": "flat"}}})j"),
             "new_branch.a: missing \"def\"");
  EXPECT_HAS(parse_error(R"j({"new_branch": {"a": {"def": "x"}}})j"),
             "new_branch.a: missing \"type\"");
  EXPECT_HAS(parse_error(R"j({"new_branch": {"a": {"def": 3, "type": "flat"}}})j"),
             "new_branch.a.def: expected an expression in a string, found the number 3");
  EXPECT_HAS(parse_error(R"j({"new_branch": {"a": {"def": "x", "type": "list"}}})j"),
             "new_branch.a.type: expected \"flat\" or \"jagged\"");
  EXPECT_HAS(parse_error(
                 R"j({"new_branch": {"a": {"def": "x", "type": "flat", "keys_to_remove": "x"}}})j"),
             "new_branch.a.keys_to_remove: expected a list of branch names");
  EXPECT_HAS(parse_error(R"j({"new_branch": {"a": {"def": "x", "type": "flat", "defn": "x"}}})j"),
             "new_branch.a.defn: unknown key");
  const std::string bad = error_of(
      [] {
        Preprocess::parse(R"j({"new_branch": {"a": {"def": "log(x", "type": "flat"}}})j",
                          "my.json");
      },
      ErrorCode::kInvalidArgument);
  EXPECT_HAS(bad, "my.json: new_branch.a.def: at column 6 of 'log(x': expected ')'");
  EXPECT_HAS(
      parse_error(
          R"j({"new_branch": {"a": {"def": "x", "type": "jagged", "cut_1": ["a ^ 2", "any"]}}})j"),
      "new_branch.a.cut_1: at column 3 of 'a ^ 2'");
}

TEST(Preprocess, BadDataNameTheKey) {
  Table t;
  t.set("x", Array::flat({1, 2}));
  t.set("j", Lists{{{1}, {2, 3}}}.array());
  auto apply_error = [&](const std::string& json, ErrorCode code) {
    Table copy = t;
    return error_of([&] { Preprocess::parse(json).apply(copy); }, code);
  };
  EXPECT_HAS(apply_error(R"j({"flat_cut": {"x": {"cut": "nope > 1"}}})j", ErrorCode::kNotFound),
             "preproc.json: flat_cut.x.cut: 'nope > 1': unknown branch 'nope' at column 1");
  EXPECT_HAS(
      apply_error(R"j({"flat_cut": {"j": {"cut": "j > 1"}}})j", ErrorCode::kInvalidArgument),
      "flat_cut.j.cut: 'j > 1' gives a list per event; a flat cut needs one value per event");
  EXPECT_HAS(apply_error(R"j({"new_branch": {"a": {"def": "j * x", "type": "flat"}}})j",
                         ErrorCode::kInvalidArgument),
             "new_branch.a: \"type\" is \"flat\" but 'j * x' gives a list per event");
  EXPECT_HAS(apply_error(R"j({"new_branch": {"a": {"def": "sum(j)", "type": "jagged"}}})j",
                         ErrorCode::kInvalidArgument),
             "\"type\" is \"jagged\" but 'sum(j)' gives one value per event");
  EXPECT_HAS(apply_error(R"j({"new_branch": {"a": {"def": "log(nope)", "type": "flat"}}})j",
                         ErrorCode::kNotFound),
             "new_branch.a.def: 'log(nope)': unknown branch 'nope' at column 5");
}

// Table::filter compacts in place by runs of kept entries; lists must move with their events.
TEST(Table, FilterInPlaceMovesRunsOfListsAndValues) {
  const int64_t n = 500;
  Lists j;
  std::vector<double> x;
  std::vector<bool> keep;
  for (int64_t e = 0; e < n; ++e) {
    x.push_back(static_cast<double>(e));
    j.rows.emplace_back();
    for (int64_t i = 0; i < e % 4; ++i) j.rows.back().push_back(static_cast<double>(e * 10 + i));
    keep.push_back((e * 7919) % 11 < 6);  // irregular runs, first and last entries included
  }
  keep[0] = keep[n - 1] = true;
  Table t;
  t.set("x", Array::flat(x));
  t.set("j", j.array());
  t.filter(keep);
  Lists want_j;
  std::vector<double> want_x;
  for (int64_t e = 0; e < n; ++e)
    if (keep[e]) {
      want_x.push_back(x[e]);
      want_j.rows.push_back(j.rows[e]);
    }
  EXPECT_EQ(t.entries(), static_cast<int64_t>(want_x.size()));
  EXPECT_EQ(t.at("x").values, want_x);
  EXPECT_EQ(t.at("j"), want_j.array());
  t.filter(std::vector<bool>(t.entries(), false));
  EXPECT_EQ(t.entries(), 0);
  EXPECT_EQ(t.at("j").offsets, (std::vector<int64_t>{0}));
  EXPECT_TRUE(t.at("x").values.empty());
}

TEST(Preprocess, FromFile) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("m4h_preproc_" + std::to_string(::getpid()) + ".json");
  { std::ofstream(path) << kReferenceExample; }
  Preprocess p = Preprocess::from_file(path.string());
  EXPECT_EQ(p.canonical(), Preprocess::parse(kReferenceExample).canonical());
  std::filesystem::remove(path);
  const std::string msg =
      error_of([&] { Preprocess::from_file(path.string()); }, ErrorCode::kNotFound);
  EXPECT_HAS(msg, path.string());
}

// A generated NanoAOD-like file, read with the reader, pre-processed; the expected selection and
// values are computed from the raw reader columns with loops.
TEST(Preprocess, GeneratedFileReadBackAndSelected) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("m4h_preproc_gen_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  gen::GeneratorOptions o;
  o.process = gen::Process::kSignal;
  o.events = 3000;
  o.seed = 11;
  o.threads = 1;
  o.output = (dir / "signal.root").string();
  gen::generate_events(o);

  auto file = root::File::open(o.output);
  auto tree = root::Tree::load(file, "Events");
  std::vector<std::string> names = {"nJet", "Jet_pt", "Jet_eta", "MET_pt", "HT", "Muon_pt"};
  std::vector<root::Column> cols;
  Table t;
  for (const std::string& name : names) {
    const auto* b = tree->find(name);
    ASSERT_NE(b, nullptr) << name;
    cols.push_back(root::read_branch(*tree, *b, 0, tree->entries()));
    t.set(name, to_array(cols.back(), name));
  }
  std::filesystem::remove_all(dir);

  Preprocess p = Preprocess::parse(R"j({
    "new_branch": {
      "lead_jet_pt": {"def": "Jet_pt[0]", "type": "flat", "cut": "lead_jet_pt > 40",
                      "remove": "False"},
      "central_pt": {"def": "where(abs(Jet_eta) < 2.4, Jet_pt, 0)", "type": "jagged",
                     "cut_1": ["central_pt < 400", "all"], "remove": "True"},
      "ht_ratio": {"def": "sum(Jet_pt) / HT", "type": "flat", "remove": "False",
                   "keys_to_remove": ["HT"]}
    },
    "flat_cut": {"MET_pt": {"cut": "10 <= MET_pt < 150", "remove": "False"},
                 "nJet": {"cut": "nJet >= 2", "remove": true}},
    "jagged_cut": {"Muon_pt": {"cut": ["Muon_pt > 5", "all"], "remove": "False"}}
  })j");
  EXPECT_EQ(p.input_branches(),
            (std::vector<std::string>{"Jet_pt", "Jet_eta", "HT", "MET_pt", "nJet", "Muon_pt"}));
  PreprocessReport report;
  p.apply(t, &report);

  // The same selection by hand, from the reader's float and int columns.
  const int32_t* njet = cols[0].data<int32_t>();
  const float* jet_pt = cols[1].data<float>();
  const float* jet_eta = cols[2].data<float>();
  const std::vector<int64_t>& joff = cols[1].offsets[0];
  const float* met = cols[3].data<float>();
  const float* ht = cols[4].data<float>();
  const float* mu_pt = cols[5].data<float>();
  const std::vector<int64_t>& moff = cols[5].offsets[0];
  std::vector<double> want_lead, want_ratio, want_met;
  std::vector<double> want_jet_pt;
  const int64_t n = tree->entries();
  for (int64_t e = 0; e < n; ++e) {
    const double lead = joff[e + 1] > joff[e] ? double(jet_pt[joff[e]]) : NAN;
    bool central_ok = true;
    double sum = 0;
    for (int64_t i = joff[e]; i < joff[e + 1]; ++i) {
      const double c = std::fabs(double(jet_eta[i])) < 2.4 ? double(jet_pt[i]) : 0.0;
      central_ok = central_ok && c < 400;
      sum += double(jet_pt[i]);
    }
    bool muons_ok = true;
    for (int64_t i = moff[e]; i < moff[e + 1]; ++i) muons_ok = muons_ok && double(mu_pt[i]) > 5;
    const bool pass =
        lead > 40 && central_ok && 10 <= met[e] && met[e] < 150 && njet[e] >= 2 && muons_ok;
    if (!pass) continue;
    want_lead.push_back(lead);
    want_ratio.push_back(sum / double(ht[e]));
    want_met.push_back(met[e]);
    for (int64_t i = joff[e]; i < joff[e + 1]; ++i) want_jet_pt.push_back(jet_pt[i]);
  }
  ASSERT_GT(want_lead.size(), 100u);
  ASSERT_LT(want_lead.size(), static_cast<size_t>(n));
  EXPECT_EQ(report.events_in, n);
  EXPECT_EQ(report.events_passed, static_cast<int64_t>(want_lead.size()));
  int64_t rejected = 0;
  for (const auto& [name, count] : report.rejected_by) rejected += count;
  EXPECT_EQ(rejected, n - report.events_passed);

  EXPECT_EQ(t.names(), (std::vector<std::string>{"Jet_pt", "Jet_eta", "MET_pt", "Muon_pt",
                                                 "lead_jet_pt", "ht_ratio"}));
  EXPECT_EQ(t.at("lead_jet_pt").values, want_lead);
  EXPECT_EQ(t.at("ht_ratio").values, want_ratio);
  EXPECT_EQ(t.at("MET_pt").values, want_met);
  EXPECT_EQ(t.at("Jet_pt").values, want_jet_pt);
}

}  // namespace
}  // namespace m4h::data
