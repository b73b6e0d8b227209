// A user's TorchScript model: made here without Python, from TorchScript source text compiled by
// libtorch in C++ (as torch.jit.script would make it), saved, then trained by `train` through the
// forward(x, mask) contract; a model of the wrong width is a clear error. Where Debian's
// python3-torch is installed, a model scripted in Python is trained too.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <cstdlib>

#include "data/pipeline.h"
#include "train/train_test_util.h"

namespace m4h::test {
namespace {

int64_t data_width(const Scratch& w) {
  data::PipelineRequest r;
  r.files = train_data().path("files.txt");
  r.labels = train_data().path("labels.txt");
  r.params = w.write("width-params.json", kSmallParams);
  r.specs_cache = w.path("specs.json");
  return data::prepare_pipeline(r)->specs.width();
}

// A small set-aware network: masked inputs, one hidden layer, one logit.
std::string make_user_model(const Scratch& w, int64_t width, const std::string& name) {
  torch::manual_seed(1);
  torch::jit::Module m("__torch__.UserNet");
  m.register_parameter("w1", torch::randn({width, 24}) * (1.0 / std::sqrt(static_cast<double>(width))), false);
  m.register_parameter("b1", torch::zeros({24}), false);
  m.register_parameter("w2", torch::randn({24, 1}) * 0.2, false);
  m.register_parameter("b2", torch::zeros({1}), false);
  m.define(R"(
def forward(self, x, mask):
    h = torch.tanh(torch.matmul(x * mask, self.w1) + self.b1)
    return torch.matmul(h, self.w2) + self.b2
)");
  const std::string path = w.path(name);
  m.save(path);
  return path;
}

TEST(TorchScriptModel, DefinedInCxxTrainsThroughForwardXMask) {
  Scratch w;
  const int64_t width = data_width(w);
  const std::string model = make_user_model(w, width, "user.pt");
  auto req = train_request(w, kSmallParams, model, "out");
  auto res = train::train_model(req);
  std::printf("TorchScript test AUC %.4f; box AUC %.4f (cut-based ROC %.4f)\n", res.test.auc, res.cut.auc,
              res.cut_curve.auc);
  EXPECT_GT(res.test.auc, 0.7);
  EXPECT_GT(res.test.auc, res.cut.auc);

  // The bundle's model loads as TorchScript and scores rows of the trained width.
  auto trained = torch::jit::load(req.output + "/model.pt");
  auto z = trained.forward({torch::rand({5, width}), torch::ones({5, width})}).toTensor();
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{5, 1}));
  // And its weights moved away from the file we gave.
  auto given = torch::jit::load(model);
  EXPECT_FALSE(torch::equal(given.attr("w1").toTensor(), trained.attr("w1").toTensor()));
}

TEST(TorchScriptModel, WrongWidthIsAClearError) {
  Scratch w;
  const int64_t width = data_width(w);
  auto req = train_request(w, kSmallParams, make_user_model(w, width + 3, "wide.pt"), "out");
  auto msg = error_of([&] { train::train_model(req); }, ErrorCode::kInvalidArgument);
  EXPECT_HAS(msg, "does not take inputs of width " + std::to_string(width));
}

TEST(TorchScriptModel, ScriptedInPython) {
  // Debian's python3-torch works only under Debian's own interpreter (../shared/DEPENDENCIES.md).
  const char* py = "/usr/bin/python3.11";
  if (std::system((std::string(py) + " -c 'import torch' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "python3-torch is not installed";
  Scratch w;
  const int64_t width = data_width(w);
  const std::string script = w.write("make.py", R"(
import sys, torch
class Net(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(width, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    def forward(self, x):
        return self.body(x)
torch.manual_seed(0)
torch.jit.script(Net(int(sys.argv[1]))).save(sys.argv[2])
)");
  const std::string model = w.path("py.pt");
  ASSERT_EQ(std::system((std::string(py) + " " + script + " " + std::to_string(width) + " " + model).c_str()), 0);
  auto res = train::train_model(train_request(w, kSmallParams, model, "out"));
  EXPECT_GT(res.test.auc, 0.7);
}

}  // namespace
}  // namespace m4h::test
