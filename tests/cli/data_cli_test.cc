// `mlaas4hep specs` and `mlaas4hep export` end to end: the files they write, specs reused while
// the inputs are unchanged, and the error contract for bad input (exit status 2, one
// "mlaas4hep: error:" line that says what is wrong).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "data/data_test_util.h"
#include "support/cli_run.h"
#include "support/testdata.h"

namespace m4h::test {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs the CLI with `args` split at spaces (arguments here never hold spaces).
CliResult run(const Scratch&, const std::string& args) {
  std::vector<std::string> argv;
  std::istringstream in(args);
  for (std::string a; in >> a;) argv.push_back(a);
  return run_cli(argv);
}

void expect_error(const CliResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 2) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("mlaas4hep: error: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(needle), std::string::npos) << "'" << needle << "' not in: " << lines[0];
}

class DataCli : public ::testing::Test {
 protected:
  void SetUp() override {
    sig_ = generate(s_, "sig.root", true, 600, 41);
    bkg_ = generate(s_, "bkg.root", false, 900, 42);
    files_ = s_.write("files.txt", "# two files\n" + sig_ + "\n" + bkg_ + "\n");
    labels_ = s_.write("labels.txt", "1\n0\n");
    params_ = s_.write("params.json", R"({"chunk_size": 500, "exclude_branches": ["run", "event", "luminosityBlock"]})");
  }
  std::string data_args() const {
    return "--files " + files_ + " --labels " + labels_ + " --params " + params_;
  }
  Scratch s_;
  std::string sig_, bkg_, files_, labels_, params_;
};

TEST_F(DataCli, SpecsThenExportNpyAndCsv) {
  CliResult r = run(s_, "specs " + data_args() + " -o " + s_.path("specs.json"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1500 events after cuts from 2 files"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");  // not a terminal, and too short for a periodic line
  const std::string specs = slurp(s_.path("specs.json"));
  for (const char* key : {"\"jdim\"", "\"minv\"", "\"maxv\"", "\"fkeys\"", "\"jkeys\"", "\"nans\"", "\"events\""})
    EXPECT_NE(specs.find(key), std::string::npos) << key;

  r = run(s_, "export " + data_args() + " --specs " + s_.path("specs.json") + " -o " + s_.path("npy"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("3 chunks, 1500 events"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("specs given"), std::string::npos) << r.out;
  for (const char* f : {"features_00000.npy", "mask_00002.npy", "labels_00001.npy", "split_00000.npy",
                        "origin_00000.npy", "feature_names.json", "export.json"})
    EXPECT_TRUE(std::filesystem::exists(s_.path("npy/") + f)) << f;

  r = run(s_, "export " + data_args() + " --format csv -o " + s_.path("csv"));
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string csv = slurp(s_.path("csv/features_00000.csv"));
  EXPECT_EQ(csv.rfind("nJet,nMuon,nElectron,MET_pt", 0), 0u) << csv.substr(0, 200);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 501);
  EXPECT_EQ(slurp(s_.path("csv/labels_00000.csv")).rfind("label,split,file,entry\n", 0), 0u);
}

TEST_F(DataCli, ExportReusesSpecsUntilAFileChanges) {
  const std::string out = " -q -o " + s_.path("out");
  CliResult r = run(s_, "export " + data_args() + out);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("specs computed"), std::string::npos) << r.out;
  r = run(s_, "export " + data_args() + out);
  EXPECT_NE(r.out.find("specs reused"), std::string::npos) << r.out;
  generate(s_, "bkg.root", false, 700, 43);
  r = run(s_, "export " + data_args() + out);
  EXPECT_NE(r.out.find("specs computed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1300 events"), std::string::npos) << r.out;
}

TEST_F(DataCli, UnknownBranch) {
  s_.write("bad.json", R"({"selected_branches": ["MET_pt", "Jet_ptt"]})");
  expect_error(run(s_, "specs --files " + files_ + " --labels " + labels_ + " --params " +
                           s_.path("bad.json") + " -o " + s_.path("x.json")),
               "no branch 'Jet_ptt'");
}

TEST_F(DataCli, MalformedJson) {
  s_.write("bad.json", R"({"nevts": 100, "chunk_size": })");
  expect_error(run(s_, "export --files " + files_ + " --labels " + labels_ + " --params " +
                           s_.path("bad.json") + " -o " + s_.path("x")),
               "malformed JSON");
  s_.write("specs-bad.json", "{\"fkeys\": [");
  expect_error(run(s_, "export " + data_args() + " --specs " + s_.path("specs-bad.json") + " -o " + s_.path("x")),
               "specs-bad.json");
  s_.write("preproc-bad.json", "{\"new_branch\": ");
  expect_error(run(s_, "export " + data_args() + " --preproc " + s_.path("preproc-bad.json") + " -o " + s_.path("x")),
               "preproc-bad.json");
}

TEST_F(DataCli, LabelCountDiffersFromFileCount) {
  expect_error(run(s_, "specs --files " + files_ + " --labels 1 -o " + s_.path("x.json")),
               "1 label(s) for 2 file(s)");
  expect_error(run(s_, "specs --files " + files_ + " --labels 1,zero -o " + s_.path("x.json")),
               "'zero' is not an integer");
}

TEST_F(DataCli, EmptyFileList) {
  const std::string empty = s_.write("empty.txt", "# nothing here\n\n");
  expect_error(run(s_, "specs --files " + empty + " --labels 1 -o " + s_.path("x.json")),
               "file list is empty");
}

TEST_F(DataCli, FileWithoutThatTree) {
  s_.write("tree.json", R"({"branch": "Events2"})");
  expect_error(run(s_, "export --files " + files_ + " --labels " + labels_ + " --params " +
                           s_.path("tree.json") + " -o " + s_.path("x")),
               "no tree 'Events2'");
}

TEST_F(DataCli, MissingFile) {
  expect_error(run(s_, "specs --files " + s_.path("nope.root") + "," + sig_ + " --labels 1,0 -o " +
                           s_.path("x.json")),
               "nope.root");
}

}  // namespace
}  // namespace m4h::test
