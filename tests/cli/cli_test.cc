// End-to-end tests of the mlaas4hep executable: the output of ls/show/dump, FILE:TREE handling,
// the error contract (exit status 2 and one "mlaas4hep: error:" line naming the file), and a
// robustness sweep that runs `dump` on truncated and byte-flipped copies of every test file.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
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

#include "support/testdata.h"

extern char** environ;

namespace m4h::test {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  bool exited = false;   // normal exit: `status` is the exit status
  int status = -1;
  int signal = 0;        // killed by this signal (0 if it exited)
  bool timed_out = false;
  std::string out, err;

  std::string describe() const {
    std::ostringstream s;
    if (timed_out) s << "timed out; ";
    if (exited) s << "exit status " << status;
    else s << "killed by signal " << signal;
    s << "\n--- stderr ---\n" << err.substr(0, 4000);
    return s.str();
  }
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

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

// Runs the CLI with `args` (no shell), stdout and stderr captured through files (stdout sent to
// /dev/null when `discard_stdout`). The child is killed after `timeout_s` seconds.
RunResult run_cli(const std::vector<std::string>& args, int timeout_s = 60,
                  bool discard_stdout = false) {
  static ScratchDir scratch;
  static int n = 0;
  const fs::path out_path = scratch.path() / ("out" + std::to_string(n));
  const fs::path err_path = scratch.path() / ("err" + std::to_string(n++));
  const std::string exe = cli_path();
  std::vector<std::string> argv_s{exe};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, discard_stdout ? "/dev/null" : out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  RunResult r;
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << exe << ": " << std::strerror(rc);
    return r;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int wstatus = 0;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    pid_t w = ::waitpid(pid, &wstatus, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      ADD_FAILURE() << "waitpid failed: " << std::strerror(errno);
      return r;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &wstatus, 0);
      break;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
  if (WIFEXITED(wstatus)) {
    r.exited = true;
    r.status = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    r.signal = WTERMSIG(wstatus);
  }
  if (!discard_stdout) r.out = read_text(out_path);
  r.err = read_text(err_path);
  std::error_code ec;
  fs::remove(out_path, ec);
  fs::remove(err_path, ec);
  return r;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) v.push_back(line);
  return v;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The error contract: exit status 2 and exactly one stderr line, "mlaas4hep: error: ...",
// naming `file`.
void expect_error(const RunResult& r, const std::string& file) {
  EXPECT_TRUE(r.exited && r.status == 2) << r.describe();
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.describe();
  EXPECT_TRUE(starts_with(lines[0], "mlaas4hep: error: ")) << lines[0];
  EXPECT_NE(lines[0].find(file), std::string::npos) << "the message does not name " << file
                                                   << ": " << lines[0];
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 2000);
}

void expect_ok(const RunResult& r) { ASSERT_TRUE(r.exited && r.status == 0) << r.describe(); }

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
  auto r = run_cli({"ls", file}, kRunTimeoutS);
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

std::string check_contract(const RunResult& r) {
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
    for (std::size_t k = 0; k < mutants.size(); ++k) {
      const auto& m = mutants[k];
      const fs::path mpath = scratch.path() / (path.stem().string() + "-" + std::to_string(k) + ".root");
      {
        std::ofstream out(mpath, std::ios::binary);
        out.write(reinterpret_cast<const char*>(m.bytes.data()), static_cast<std::streamsize>(m.bytes.size()));
      }
      std::string spec = mpath.string();
      if (trees.size() > 1) spec += ":" + trees[k % trees.size()];
      auto r = run_cli({"dump", spec}, kRunTimeoutS, /*discard_stdout=*/true);
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
