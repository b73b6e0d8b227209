// End-to-end tests of the mlaas4hep executable: the output of ls/show/dump, FILE:TREE handling,
// the error contract (exit status 2 and one "mlaas4hep: error:" line naming the file), and a
// robustness sweep that runs `dump` on truncated and byte-flipped copies of every test file.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/cli_run.h"
#include "support/testdata.h"

namespace m4h::test {
namespace {

namespace fs = std::filesystem;

// A scratch directory private to this test process, removed at exit.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = fs::temp_directory_path() /
            ("m4h-cli-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The error contract: exit status 2 and exactly one stderr line, "mlaas4hep: error: ...",
// naming `file`.
void expect_error(const CliResult& r, const std::string& file) {
  EXPECT_TRUE(r.exited && r.status == 2) << r.describe();
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.describe();
  EXPECT_TRUE(starts_with(lines[0], "mlaas4hep: error: ")) << lines[0];
  EXPECT_NE(lines[0].find(file), std::string::npos) << "the message does not name " << file
                                                   << ": " << lines[0];
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 2000);
}

void expect_ok(const CliResult& r) { ASSERT_TRUE(r.exited && r.status == 0) << r.describe(); }

const char* const kSimpleJson =
    R"({"tree": "tree", "entries": 4, "start": 0, "stop": 4, "branches": {"one": [1, 2, 3, 4], )"
    R"("two": [1.1, 2.2, 3.3, 4.4], "three": ["uno", "dos", "tres", "quatro"]}})"
    "\n";

TEST(CliLs, ListsNestedDirectoriesRecursively) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"ls", testdata_file("uproot-nesteddirs.root")});
  expect_ok(r);
  const std::vector<std::string> want{
      "one\tTDirectory\t1",   "one/two\tTDirectory\t1", "one/two/tree\tTTree\t1",
      "one/tree\tTTree\t1",   "three\tTDirectory\t1",   "three/tree\tTTree\t1",
  };
  auto got = lines_of(r.out);
  for (const auto& w : want)
    EXPECT_NE(std::find(got.begin(), got.end(), w), got.end()) << "missing line '" << w << "' in\n"
                                                                << r.out;
  // Directories come before their contents.
  auto pos = [&](const std::string& s) { return std::find(got.begin(), got.end(), s) - got.begin(); };
  EXPECT_LT(pos("one\tTDirectory\t1"), pos("one/two/tree\tTTree\t1"));
  EXPECT_LT(pos("one/two\tTDirectory\t1"), pos("one/two/tree\tTTree\t1"));
}

TEST(Cli, AMisspeltCommandNamesTheOneMeant) {
  auto r = run_cli({"dumo", "f.root"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown command 'dumo'; did you mean 'dump'?"), std::string::npos) << r.err;
  auto far = run_cli({"zzz"});
  EXPECT_EQ(far.status, 2);
  EXPECT_NE(far.err.find("unknown command 'zzz' (mlaas4hep --help lists them)"), std::string::npos) << far.err;
}

TEST(CliShow, PrintsEntriesAndBranches) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"show", testdata_file("uproot-simple.root")});
  expect_ok(r);
  EXPECT_NE(r.out.find("entries: 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TTree"), std::string::npos) << r.out;
  for (const char* b : {"one", "two", "three"}) {
    bool found = false;
    for (const auto& line : lines_of(r.out)) found |= starts_with(line, std::string(b) + " ");
    EXPECT_TRUE(found) << "no line for branch " << b << " in\n" << r.out;
  }
  // Totals last, as TTree::Print gives them: stored and uncompressed bytes, and their ratio.
  const auto lines = lines_of(r.out);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_TRUE(starts_with(lines[lines.size() - 2], "(total) ")) << r.out;
  EXPECT_TRUE(starts_with(lines.back(), "compression factor: ")) << r.out;
}

TEST(CliShow, TotalsAddUpTheBranches) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"show", testdata_file("uproot-HZZ-uncompressed.root")});
  expect_ok(r);
  const auto lines = lines_of(r.out);
  ASSERT_GE(lines.size(), 2u);
  long long zip_sum = 0, tot_sum = 0;
  for (std::size_t i = 2; i + 2 < lines.size(); ++i) {  // the branch rows: ... zip tot baskets
    std::istringstream words(lines[i]);
    std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
    ASSERT_GE(w.size(), 3u) << lines[i];
    zip_sum += std::stoll(w[w.size() - 3]);
    tot_sum += std::stoll(w[w.size() - 2]);
  }
  std::istringstream total(lines[lines.size() - 2]);
  std::string label;
  long long zip = 0, tot = 0;
  total >> label >> zip >> tot;
  EXPECT_EQ(zip, zip_sum);
  EXPECT_EQ(tot, tot_sum);
  EXPECT_EQ(lines.back(), "compression factor: 1.00");  // stored uncompressed
}

TEST(CliShow, TreeInSubdirectory) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"show", testdata_file("uproot-nesteddirs.root") + ":one/two/tree"});
  expect_ok(r);
  EXPECT_NE(r.out.find("one/two/tree"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("entries: 100"), std::string::npos) << r.out;
}

TEST(CliDump, SimpleJsonIsExact) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"dump", testdata_file("uproot-simple.root")});
  expect_ok(r);
  EXPECT_EQ(r.out, kSimpleJson);
  EXPECT_EQ(r.err, "");
}

TEST(CliDump, ExplicitTreeNameGivesTheSameJson) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"dump", testdata_file("uproot-simple.root") + ":tree"});
  expect_ok(r);
  EXPECT_EQ(r.out, kSimpleJson);
}

TEST(CliDump, StartAndStop) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"dump", testdata_file("uproot-simple.root"), "--start", "1", "--stop", "3"});
  expect_ok(r);
  EXPECT_EQ(r.out,
            R"({"tree": "tree", "entries": 4, "start": 1, "stop": 3, "branches": {"one": [2, 3], )"
            R"("two": [2.2, 3.3], "three": ["dos", "tres"]}})"
            "\n");
}

TEST(CliDump, StopPastTheEndIsClamped) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"dump", testdata_file("uproot-simple.root"), "--start", "3", "--stop", "100"});
  expect_ok(r);
  EXPECT_EQ(r.out,
            R"({"tree": "tree", "entries": 4, "start": 3, "stop": 4, "branches": {"one": [4], )"
            R"("two": [4.4], "three": ["quatro"]}})"
            "\n");
}

TEST(CliDump, EmptyRange) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"dump", testdata_file("uproot-simple.root"), "--start", "2", "--stop", "2"});
  expect_ok(r);
  EXPECT_EQ(r.out,
            R"({"tree": "tree", "entries": 4, "start": 2, "stop": 2, "branches": {"one": [], )"
            R"("two": [], "three": []}})"
            "\n");
}

// As in Python slices and uproot's entry_start/entry_stop: -k counts k entries back from the end;
// further back than the first entry is clamped to it, as a slice is.
TEST(CliDump, NegativeStartAndStopCountFromTheEnd) {
  M4H_REQUIRE_TESTDATA();
  const struct {
    std::vector<std::string> range;
    std::string start_stop_values;
  } cases[] = {
      {{"--start", "-2"}, R"("start": 2, "stop": 4, "branches": {"one": [3, 4]})"},
      {{"--start", "-3", "--stop", "-1"}, R"("start": 1, "stop": 3, "branches": {"one": [2, 3]})"},
      {{"--start", "-100", "--stop", "-4"}, R"("start": 0, "stop": 0, "branches": {"one": []})"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"dump", testdata_file("uproot-simple.root"), "-b", "one"};
    args.insert(args.end(), c.range.begin(), c.range.end());
    auto r = run_cli(args);
    expect_ok(r);
    EXPECT_EQ(r.out, R"({"tree": "tree", "entries": 4, )" + c.start_stop_values + "}\n");
  }
}

// Patterns as uproot's filter_name takes them: every branch whose name (or path) matches, in tree
// order; a branch named twice is dumped once; a pattern that matches nothing is an error.
TEST(CliDump, BranchPatternsPickMatchingBranchesInTreeOrder) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"dump", testdata_file("uproot-HZZ.root"), "-b", "Muon_P?", "-b", "Muon_Px", "-b", "NMuon",
                    "-b", "NMuon", "--stop", "1"});
  expect_ok(r);
  EXPECT_EQ(r.out,
            R"({"tree": "events", "entries": 2421, "start": 0, "stop": 1, "branches": {)"
            R"("Muon_Px": [[-52.899456,37.73778]], "Muon_Py": [[-11.654672,0.6934736]], )"
            R"("Muon_Pz": [[-8.160793,-11.307582]], "NMuon": [2]}})"
            "\n");
  auto by_path = run_cli({"dump", testdata_file("uproot-small-evnt-tree-fullsplit.root"), "-b", "evt/P3/*",
                          "--stop", "2"});
  expect_ok(by_path);
  EXPECT_EQ(by_path.out,
            R"({"tree": "tree", "entries": 100, "start": 0, "stop": 2, "branches": {)"
            R"("P3.Px": [-1, 0], "P3.Py": [0, 1], "P3.Pz": [-1, 0]}})"
            "\n");
  auto none = run_cli({"dump", testdata_file("uproot-HZZ.root"), "-b", "Q*"});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("has no branch that matches 'Q*'"), std::string::npos) << none.err;
}

// A misspelt name gets the close ones in its error.
TEST(CliDump, UnknownBranchSuggestsCloseNames) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"dump", testdata_file("uproot-HZZ.root"), "-b", "NJets"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("has no branch 'NJets'; did you mean 'NJet'?"), std::string::npos) << r.err;
}

// Objects stored whole are dumped through their members; the object branch itself names them.
TEST(CliDump, ObjectBranchesAreDumpedThroughTheirMembers) {
  M4H_REQUIRE_TESTDATA();
  const std::string f = testdata_file("uproot-HZZ-objects.root");
  auto r = run_cli({"dump", f, "-b", "jetp4", "--stop", "2"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("its members are branches: 'jetp4.fP.fX', 'jetp4.fP.fY', 'jetp4.fP.fZ', 'jetp4.fE' "
                       "(-b 'jetp4/*' picks them all)"),
            std::string::npos)
      << r.err;
  // The values: uproot-HZZ.root's Jet_Px/Jet_E and MET_px floats of the same events, as doubles.
  r = run_cli({"dump", f, "-b", "jetp4/*", "-b", "MET.fX", "--stop", "2"});
  expect_ok(r);
  EXPECT_EQ(r.out,
            R"({"tree": "events", "entries": 2421, "start": 0, "stop": 2, "branches": )"
            R"({"jetp4.fP.fX": [[], [-38.87471389770508]], "jetp4.fP.fY": [[], [19.863452911376953]], )"
            R"("jetp4.fP.fZ": [[], [-0.8949416279792786]], "jetp4.fE": [[], [44.13736343383789]], )"
            R"("MET.fX": [5.912771224975586, 24.76520347595215]}})"
            "\n");
  // show lists the members under their object, its bytes counted once.
  r = run_cli({"show", f});
  expect_ok(r);
  EXPECT_NE(r.out.find("MET/MET.fY"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("unsupported"), std::string::npos) << r.out;
}

TEST(CliDump, BranchSelectionKeepsTheGivenOrder) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"dump", testdata_file("uproot-simple.root"), "-b", "three", "--branch", "one"});
  expect_ok(r);
  EXPECT_EQ(r.out,
            R"({"tree": "tree", "entries": 4, "start": 0, "stop": 4, "branches": )"
            R"({"three": ["uno", "dos", "tres", "quatro"], "one": [1, 2, 3, 4]}})"
            "\n");
}

TEST(CliDump, TreeInSubdirectoryWithRange) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"dump", testdata_file("uproot-nesteddirs.root") + ":one/two/tree", "-b", "Int32",
                    "-b", "Str", "--start", "10", "--stop", "12"});
  expect_ok(r);
  EXPECT_EQ(r.out,
            R"({"tree": "one/two/tree", "entries": 100, "start": 10, "stop": 12, "branches": )"
            R"({"Int32": [10, 11], "Str": ["evt-010", "evt-011"]}})"
            "\n");
}

TEST(CliDump, FileWithSeveralTreesNeedsATreeName) {
  M4H_REQUIRE_TESTDATA();
  const auto file = testdata_file("uproot-nesteddirs.root");
  auto r = run_cli({"dump", file});
  expect_error(r, file);
  for (const char* t : {"one/two/tree", "one/tree", "three/tree"})
    EXPECT_NE(r.err.find(t), std::string::npos) << "tree " << t << " not listed: " << r.err;
}

TEST(CliErrors, MissingFile) {
  ScratchDir dir;
  const auto file = (dir.path() / "no-such-file.root").string();
  expect_error(run_cli({"dump", file}), file);
  expect_error(run_cli({"ls", file}), file);
  expect_error(run_cli({"show", file}), file);
}

TEST(CliErrors, NotARootFile) {
  ScratchDir dir;
  for (const std::string& content : {std::string("this is not a ROOT file\n"), std::string(),
                                    std::string("root"), std::string("root\0\0\0\0\0", 9)}) {
    const auto file = (dir.path() / "not-root.root").string();
    std::ofstream(file, std::ios::binary) << content;
    expect_error(run_cli({"dump", file}), file);
    expect_error(run_cli({"ls", file}), file);
  }
}

TEST(CliErrors, UnknownTree) {
  M4H_REQUIRE_TESTDATA();
  const auto file = testdata_file("uproot-simple.root");
  expect_error(run_cli({"dump", file + ":nope"}), file);
  expect_error(run_cli({"show", file + ":nope"}), file);
  const auto nested = testdata_file("uproot-nesteddirs.root");
  expect_error(run_cli({"dump", nested + ":one/nope/tree"}), nested);
}

TEST(CliErrors, UnknownBranch) {
  M4H_REQUIRE_TESTDATA();
  const auto file = testdata_file("uproot-simple.root");
  auto r = run_cli({"dump", file, "-b", "one", "-b", "nope"});
  expect_error(r, file);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
}

TEST(CliErrors, UsageErrorsExitWithStatus2) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, {"frobnicate"}, {"dump"}, {"dump", "--format", "xml", "x.root"}}) {
    auto r = run_cli(args);
    EXPECT_TRUE(r.exited && r.status == 2) << r.describe();
  }
}

// ---------------------------------------------------------------------------------------------
// Robustness: damaged copies of every test file must give exit status 0 or 2 (never a crash, a
// signal, status 3 = internal error, or a hang), and a status-2 run must end with exactly one
// "mlaas4hep: error:" line (warnings about skipped branches may precede it).

constexpr int kShards = 8;
constexpr int kRunTimeoutS = 60;
#if defined(__SANITIZE_ADDRESS__)
// Each sanitized run costs ~0.6 s: the sanitizer build dumps one mutant in three (the fuzzers
// cover the parsers there too); the release build dumps them all.
constexpr std::size_t kMutantStride = 3;
#else
constexpr std::size_t kMutantStride = 1;
#endif
constexpr int kFlips = 20;

struct Mutant {
  std::string label;  // "truncated at 1234", "byte 567 ^= 0x5a"
  std::vector<uint8_t> bytes;
};

// A fixed seed per file name (FNV-1a), the same with every compiler and standard library.
uint32_t seed_of(const std::string& name) {
  uint32_t h = 2166136261u;
  for (unsigned char ch : name) h = (h ^ ch) * 16777619u;
  return h;
}

std::vector<Mutant> mutants_of(const std::vector<uint8_t>& orig, uint32_t seed) {
  std::vector<Mutant> v;
  const int64_t size = static_cast<int64_t>(orig.size());
  // Truncations: inside the header, a few points spread over the file, and near the end (where
  // the keys list, the streamer infos and usually the tree metadata live).
  std::vector<int64_t> cuts{1, 4, 33, 60};
  for (int k = 1; k <= 4; ++k) cuts.push_back(size * k / 5);
  cuts.push_back(size - 300);
  cuts.push_back(size - 1);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (int64_t c : cuts) {
    if (c <= 0 || c >= size) continue;
    v.push_back({"truncated to " + std::to_string(c) + " bytes",
                 std::vector<uint8_t>(orig.begin(), orig.begin() + c)});
  }
  // Single-byte changes at pseudo-random positions: a third in the file header and the first
  // keys, a third in the last 15% (metadata), a third anywhere.
  std::mt19937 rng(seed);
  for (int i = 0; i < kFlips && size > 0; ++i) {
    int64_t lo = 0, hi = size;
    if (i % 3 == 0) hi = std::min<int64_t>(size, 512);
    if (i % 3 == 1) lo = size - std::max<int64_t>(1, size * 15 / 100);
    int64_t at = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo));
    uint8_t x = static_cast<uint8_t>(1 + rng() % 255);
    Mutant m{"byte " + std::to_string(at) + " ^= " + std::to_string(x), orig};
    m.bytes[static_cast<std::size_t>(at)] ^= x;
    v.push_back(std::move(m));
  }
  return v;
}

// The trees of the undamaged file, from `ls`: mutants of a file with several trees are dumped
// tree by tree in turn.
std::vector<std::string> trees_of(const std::string& file) {
  std::vector<std::string> trees;
  auto r = run_cli({"ls", file}, {.timeout_s = kRunTimeoutS});
  if (!(r.exited && r.status == 0)) return trees;
  for (const auto& line : lines_of(r.out)) {
    auto t1 = line.find('\t');
    if (t1 == std::string::npos) continue;
    auto t2 = line.find('\t', t1 + 1);
    std::string cls = line.substr(t1 + 1, t2 - t1 - 1);
    std::string path = line.substr(0, t1);
    if ((cls == "TTree" || cls == "TNtuple" || cls == "TNtupleD") &&
        std::find(trees.begin(), trees.end(), path) == trees.end())
      trees.push_back(path);
  }
  return trees;
}

std::string check_contract(const CliResult& r) {
  if (r.timed_out) return "hung (killed after " + std::to_string(kRunTimeoutS) + " s)";
  if (!r.exited) return "killed by signal " + std::to_string(r.signal);
  if (r.status != 0 && r.status != 2) return "exit status " + std::to_string(r.status);
  if (r.status == 2) {
    auto lines = lines_of(r.err);
    int errors = 0;
    for (const auto& l : lines) errors += starts_with(l, "mlaas4hep: error: ");
    if (lines.empty() || errors != 1 || !starts_with(lines.back(), "mlaas4hep: error: "))
      return "status 2 without exactly one final 'mlaas4hep: error:' line";
    for (const auto& l : lines)
      if (!starts_with(l, "mlaas4hep: error: ") && !starts_with(l, "mlaas4hep: skipping branch "))
        return "unexpected stderr line: " + l.substr(0, 300);
  }
  return "";
}

class CliRobustness : public ::testing::TestWithParam<int> {};

TEST_P(CliRobustness, DamagedFilesFailCleanly) {
  M4H_REQUIRE_TESTDATA();
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(testdata_dir()))
    if (e.is_regular_file() && e.path().extension() == ".root") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());

  // Failing inputs are kept here so that the printed command can be rerun.
  const fs::path keep = fs::path(M4H_BINARY_DIR) / "Testing" / "cli-robustness";
  ScratchDir scratch;
  int runs = 0, ok = 0, errors = 0;
  for (std::size_t i = static_cast<std::size_t>(GetParam()); i < files.size(); i += kShards) {
    const auto& path = files[i];
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> orig((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto trees = trees_of(path.string());
    auto mutants = mutants_of(orig, seed_of(path.filename().string()));
    for (std::size_t k = static_cast<std::size_t>(GetParam()) % kMutantStride; k < mutants.size(); k += kMutantStride) {
      const auto& m = mutants[k];
      const fs::path mpath = scratch.path() / (path.stem().string() + "-" + std::to_string(k) + ".root");
      {
        std::ofstream out(mpath, std::ios::binary);
        out.write(reinterpret_cast<const char*>(m.bytes.data()), static_cast<std::streamsize>(m.bytes.size()));
      }
      std::string spec = mpath.string();
      if (trees.size() > 1) spec += ":" + trees[k % trees.size()];
      auto r = run_cli({"dump", spec}, {.timeout_s = kRunTimeoutS, .discard_stdout = true});
      ++runs;
      ok += r.exited && r.status == 0;
      errors += r.exited && r.status == 2;
      std::string problem = check_contract(r);
      if (!problem.empty()) {
        fs::create_directories(keep);
        const fs::path kept = keep / mpath.filename();
        fs::copy_file(mpath, kept, fs::copy_options::overwrite_existing);
        std::string kept_spec = kept.string();
        if (trees.size() > 1) kept_spec += ":" + trees[k % trees.size()];
        ADD_FAILURE() << path.filename().string() << " " << m.label << ": " << problem
                      << "\n  reproduce: " << cli_path() << " dump " << kept_spec << " > /dev/null"
                      << "\n  stderr: " << r.err.substr(0, 3000);
      }
      std::error_code ec;
      fs::remove(mpath, ec);
    }
  }
  RecordProperty("runs", runs);
  std::printf("shard %d: %d damaged files dumped: %d read (status 0), %d rejected (status 2)\n",
              GetParam(), runs, ok, errors);
}

INSTANTIATE_TEST_SUITE_P(Shards, CliRobustness, ::testing::Range(0, kShards));

}  // namespace
}  // namespace m4h::test

namespace m4h::test {
namespace {
// Regression: string cells were written as their JSON text and then CSV-quoted ("""uno""").
TEST(CliDumpCsv, StringsAreRawAndArraysAreQuotedJson) {
  M4H_REQUIRE_TESTDATA();
  auto r = run_cli({"dump", "--format", "csv", testdata_file("uproot-simple.root")});
  expect_ok(r);
  EXPECT_EQ(r.out, "one,two,three\n1,1.1,uno\n2,2.2,dos\n3,3.3,tres\n4,4.4,quatro\n");
  auto v = run_cli({"dump", "--format", "csv", "--stop", "2", "-b", "vector_string",
                    testdata_file("uproot-stl_containers.root")});
  expect_ok(v);
  EXPECT_EQ(v.out, "vector_string\n\"[\"\"one\"\"]\"\n\"[\"\"one\"\",\"\"two\"\"]\"\n");
}
}  // namespace
}  // namespace m4h::test
