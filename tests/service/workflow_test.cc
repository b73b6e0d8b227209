// Submitted workflows: fields from the request or from the upload (the reference's files.txt,
// labels.txt, params.json, preproc.json, model), and the checks that keep every string data:
// path traversal, local paths outside the data roots, URLs of other schemes, shell text in
// names, wrong types and counts, resources over the server's limits.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "service/workflow.h"
#include "support/temp_dir.h"

namespace m4h::test {
namespace {

namespace fs = std::filesystem;
using service::parse_workflow;
using service::Workflow;
using service::WorkflowContext;

struct Upload {
  Upload() : dir(tmp.path) {
    fs::create_directories(dir / "data");
    put("files.txt", "# signal first\ndata/sig.root\n  data/bkg.root  \n");
    put("labels.txt", "1\n0\n");
    put("params.json", R"({"nevts": 100, "chunk_size": 50})");
    put("model.json", R"({"type": "mlp", "hidden": [16]})");
    put("data/sig.root", "x");
    put("data/bkg.root", "x");
  }
  void put(const std::string& name, const std::string& text) const { std::ofstream(dir / name) << text; }
  WorkflowContext context() const {
    WorkflowContext c;
    c.upload_dir = dir.string();
    c.max_cpus = 4;
    c.max_memory_mb = 8192;
    return c;
  }
  TempDir tmp{"m4h-workflow"};
  fs::path dir;
};

// The error's message, or "" when parsing succeeded.
std::string error_of(const std::string& body, const WorkflowContext& c) {
  try {
    parse_workflow(body, c);
    return "";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    return e.what();
  }
}

TEST(Workflow, EverythingFromTheUploadAsTheReferenceReadsIt) {
  Upload u;
  const Workflow w = parse_workflow(R"({"upload": "u1"})", u.context());
  EXPECT_EQ(w.upload, "u1");
  ASSERT_EQ(w.files.size(), 2u);
  EXPECT_EQ(w.files[0], (u.dir / "data/sig.root").string());
  EXPECT_EQ(w.files[1], (u.dir / "data/bkg.root").string());
  EXPECT_EQ(w.labels, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(w.model_file, (u.dir / "model.json").string());
  EXPECT_EQ(w.params_json, R"({"chunk_size":50,"nevts":100})");
  EXPECT_EQ(w.preproc_json, "");
  EXPECT_EQ(w.resources.cpus, 1);
  EXPECT_EQ(w.resources.device, "cpu");
  // The stored form reads back the same.
  const Workflow back = service::workflow_from_json(service::to_json(w));
  EXPECT_EQ(back.files, w.files);
  EXPECT_EQ(back.labels, w.labels);
  EXPECT_EQ(back.model_file, w.model_file);
  EXPECT_EQ(back.params_json, w.params_json);
}

TEST(Workflow, EverythingInTheRequest) {
  WorkflowContext c;
  c.max_cpus = 2;
  const Workflow w = parse_workflow(R"({
      "name": "ttH.v2",
      "files": ["root://eos.cms//store/sig.root", "https://host/bkg.root"],
      "labels": [1, "0"],
      "model": {"type": "xgboost", "rounds": 10},
      "params": {"nevts": -1},
      "preproc": "{\"flat_cut\": {}}",
      "resources": {"cpus": 2, "memory": "2G", "device": "auto"}})", c);
  EXPECT_EQ(w.name, "ttH.v2");
  EXPECT_EQ(w.files[0], "root://eos.cms//store/sig.root");
  EXPECT_EQ(w.labels, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(w.model_json, R"({"rounds":10,"type":"xgboost"})");
  EXPECT_EQ(w.preproc_json, R"({"flat_cut":{}})");
  EXPECT_EQ(w.resources.cpus, 2);
  EXPECT_EQ(w.resources.memory_mb, 2048);
  EXPECT_EQ(w.resources.device, "auto");
  // A comma list, as the reference CLI takes it.
  const Workflow l = parse_workflow(R"({"files": "root://a//x.root,root://a//y.root", "labels": "1,0",
      "model": "{\"type\": \"mlp\"}", "params": {}})", c);
  EXPECT_EQ(l.files.size(), 2u);
  EXPECT_EQ(l.model_json, R"({"type":"mlp"})");
}

TEST(Workflow, LocalPathsOnlyUnderDataRoots) {
  Upload u;
  WorkflowContext c;
  const std::string sig = (u.dir / "data/sig.root").string();
  auto body = [](const std::string& file) {
    return R"({"files": [")" + file + R"("], "labels": [1], "model": {}, "params": {}})";
  };
  EXPECT_NE(error_of(body(sig), c).find("must lie under a data root"), std::string::npos);
  c.data_roots = {(u.dir / "data").string()};
  EXPECT_EQ(parse_workflow(body(sig), c).files.at(0), sig);
  EXPECT_NE(error_of(body((u.dir / "data/none.root").string()), c).find("no such file"), std::string::npos);
  EXPECT_NE(error_of(body((u.dir / "data/../files.txt").string()), c).find("'..'"), std::string::npos);
  EXPECT_NE(error_of(body((u.dir / "datax/sig.root").string()), c).find("data root"), std::string::npos);
  EXPECT_NE(error_of(body("/etc/passwd"), c).find("data root"), std::string::npos);
}

TEST(Workflow, InjectionAndTraversalAreRefusedAsData) {
  Upload u;
  const auto c = u.context();
  auto err = [&](const std::string& body) { return error_of(body, c); };
  // Relative names stay inside the upload.
  EXPECT_NE(err(R"({"upload": "u", "files": ["../../etc/passwd"], "labels": [1]})").find("'..'"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "files": ["data/none.root"], "labels": [1]})").find("not in the upload"), std::string::npos);
  EXPECT_NE(error_of(R"({"files": ["x.root"], "labels": [1], "model": {}, "params": {}})", WorkflowContext{})
                .find("needs an upload"),
            std::string::npos);
  // The reference put these into a shell line: here they are names that do not exist, or bad names.
  EXPECT_NE(err(R"({"upload": "u", "files": ["a.root; rm -rf /"], "labels": [1]})").find("not in the upload"),
            std::string::npos);
  EXPECT_NE(err(R"j({"upload": "u", "files": ["$(reboot)"], "labels": [1]})j").find("not in the upload"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "name": "m; rm -rf /"})").find("name:"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "name": "../models"})").find("name:"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "../u"})").find("upload"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "model": "../model.json"})").find("model:"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "files": ["file:///etc/passwd"], "labels": [1]})").find("only root://"),
            std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "files": ["root://h//a\nb"], "labels": [1]})").find("not a file name"),
            std::string::npos);
}

TEST(Workflow, TypesCountsAndLimits) {
  Upload u;
  const auto c = u.context();
  auto err = [&](const std::string& body) { return error_of(body, c); };
  EXPECT_NE(err("[1, 2]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(err("{").find("not a JSON object"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "fils": []})").find("unknown field 'fils'"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "labels": [1]})").find("1 labels for 2 files"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "labels": [1, "one"]})").find("'one' is not an integer"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "labels": [1, 0.5]})").find("not an integer"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "files": [1]})").find("files:"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "files": []})").find("no files"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "params": [1]})").find("params: a JSON object"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "model": "nothing.pt"})").find("neither a file of the upload"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "resources": {"cpus": 5}})").find("from 1 to 4"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "resources": {"cpus": 0}})").find("from 1 to 4"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "resources": {"memory": "9G"}})").find("at most 8192"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "resources": {"memory": "lots"}})").find("not a size"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "resources": {"device": "tpu"}})").find("cpu, cuda or auto"), std::string::npos);
  EXPECT_NE(err(R"({"upload": "u", "resources": {"gpus": 1}})").find("unknown field 'gpus'"), std::string::npos);
  fs::remove(u.dir / "params.json");
  EXPECT_NE(err(R"({"upload": "u"})").find("'params.json' is neither in the request nor in the upload"),
            std::string::npos);
}

TEST(Workflow, SafeNames) {
  for (const char* ok : {"a", "ttH", "job-1", "m_2.v3", "0abc"}) EXPECT_TRUE(service::is_safe_name(ok)) << ok;
  // Strings, not pointers: a pointer into a temporary string would dangle (ASan caught one here).
  for (const std::string& bad : std::vector<std::string>{"", ".hidden", "-x", "a/b", "a..b", "a b", "a;b", "é",
                                                         std::string(65, 'a')})
    EXPECT_FALSE(service::is_safe_name(bad)) << bad;
}

}  // namespace
}  // namespace m4h::test
