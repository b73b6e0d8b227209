// cuda_check: the libtorch trainer (src/train/torch_trainer.cc) on --device cpu and --device cuda,
// side by side, on one synthetic binary problem. Built by tools/cuda_check/run.sh against a CUDA
// libtorch (Debian's has no CUDA, so the main build cannot check this path). It checks that:
//   * the same JSON MLP trains on both devices to about the same test AUC;
//   * model.pt saved after CUDA training is a CPU TorchScript archive whose forward() gives the
//     scores predict() gave on the GPU (the bundle contract: the inference layer loads it on CPU);
//   * a checkpoint written on CUDA loads back.
// It also prints, per device, rows/s of one epoch fed as the streaming trainer feeds it (chunks of
// 10,000 rows) against the same epoch in one call, and of one epoch in larger batches.
// Prints one line per check and "cuda_check: OK" at the end; exit status 1 on a failed check.
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "train/metrics.h"
#include "train/trainer.h"

namespace m4h::train {
std::unique_ptr<Trainer> make_torch_trainer(const TrainerOptions& options);
}

namespace {

using namespace m4h;
using Clock = std::chrono::steady_clock;

struct Data {
  std::vector<float> x;
  std::vector<int64_t> y;
  int64_t rows = 0, width = 0;
  train::Rows view() const { return train::Rows{x.data(), nullptr, y.data(), rows, width}; }
};

// Two overlapping classes in `width` dimensions with a non-linear boundary.
Data make_data(int64_t rows, int64_t width, uint32_t seed) {
  Data d;
  d.rows = rows;
  d.width = width;
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 1);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = r % 2;
    float radius = 0;
    for (int64_t f = 0; f < width; ++f) {
      const float v = g(rng) + (label && f < 4 ? 0.6f : 0.0f);
      radius += f < 8 ? v * v : 0;
      d.x.push_back(v);
    }
    if (label) d.x[static_cast<size_t>(r * width + 4)] += 0.3f * std::sqrt(radius);
    d.y.push_back(label);
  }
  return d;
}

int failures = 0;
void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
  failures += !ok;
}

}  // namespace

int main() {
  const bool cuda = torch::cuda::is_available();
  std::printf("libtorch %s, CUDA available: %s, devices: %d\n", TORCH_VERSION, cuda ? "yes" : "no",
              static_cast<int>(torch::cuda::device_count()));
  if (!cuda) {
    std::printf("cuda_check: no CUDA device: nothing to check\n");
    return 1;
  }
  const std::string dir = "cuda-check-out";
  std::filesystem::create_directories(dir);
  const std::string model = dir + "/mlp.json";
  std::ofstream(model) << R"({"type": "mlp", "hidden": [128, 64], "activation": "relu", "dropout": 0.1, "batch_norm": true})";
  const Data train_set = make_data(200000, 32, 1), test_set = make_data(50000, 32, 2);
  std::vector<uint8_t> positive(test_set.y.begin(), test_set.y.end());

  double auc[2] = {};
  for (int d = 0; d < 2; ++d) {
    const std::string device = d == 0 ? "cpu" : "cuda";
    train::TrainerOptions o;
    o.model_path = model;
    o.width = 32;
    o.classes = 2;
    o.seed = 3;
    o.device = device;
    o.threads = 4;
    o.learning_rate = 0.003;
    try {
      auto t = train::make_torch_trainer(o);
      check(t->info().device == device, "trainer on " + device + " (info().device = " + t->info().device + ")");
      const auto t0 = Clock::now();
      train::LossSum loss;
      for (int epoch = 0; epoch < 3; ++epoch) loss = t->train_rows(train_set.view(), 1024);
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      std::vector<float> scores;
      t->predict(test_set.view(), scores);
      auc[d] = train::roc_auc(scores, positive);
      std::printf("      %s: 3 epochs of 200k rows in %.2f s (%.0f rows/s), last loss %.4f, test AUC %.4f\n",
                  device.c_str(), seconds, 3 * 200000 / seconds, loss.mean(), auc[d]);
      if (d == 1) {
        t->save_model(dir + "/model.pt");
        auto m = torch::jit::load(dir + "/model.pt", torch::kCPU);
        m.eval();
        torch::NoGradGuard ng;
        auto x = torch::from_blob(const_cast<float*>(test_set.x.data()), {1000, 32}, torch::kFloat32);
        auto p = torch::sigmoid(m.forward({x}).toTensor().squeeze(1)).contiguous();
        bool on_cpu = true;
        for (const auto& prm : m.parameters()) on_cpu = on_cpu && prm.device().is_cpu();
        double worst = 0;
        for (int64_t i = 0; i < 1000; ++i) worst = std::max(worst, std::fabs(double(p[i].item<float>()) - scores[i]));
        check(on_cpu, "model.pt saved after CUDA training holds CPU tensors");
        check(worst < 1e-4, "model.pt on CPU reproduces the GPU scores (largest difference " + std::to_string(worst) + ")");
        t->save_checkpoint(dir + "/checkpoint.pt");
        auto again = train::make_torch_trainer(o);
        again->load_checkpoint(dir + "/checkpoint.pt");
        std::vector<float> s2;
        again->predict(test_set.view(), s2);
        check(train::roc_auc(s2, positive) == auc[d], "a CUDA checkpoint loads back to the same scores");
      }
      {
        // How the streaming trainer feeds it: the chunks the reader hands over (10,000 rows), each
        // its own train_rows call, against the same epoch in one call.
        const int64_t chunk = 10000;
        const auto t1 = Clock::now();
        for (int64_t at = 0; at < train_set.rows; at += chunk) {
          const int64_t n = std::min(chunk, train_set.rows - at);
          t->train_rows(train::Rows{train_set.x.data() + at * train_set.width, nullptr, train_set.y.data() + at,
                                    n, train_set.width},
                        1024);
        }
        const double chunked = std::chrono::duration<double>(Clock::now() - t1).count();
        const auto t2 = Clock::now();
        t->train_rows(train_set.view(), 1024);
        const double whole = std::chrono::duration<double>(Clock::now() - t2).count();
        std::printf("      %s: one epoch in chunks of %lld rows %.0f rows/s, in one call %.0f rows/s (%.0f%%)\n",
                    device.c_str(), static_cast<long long>(chunk), train_set.rows / chunked,
                    train_set.rows / whole, 100 * whole / chunked);
      }
      for (int64_t batch : {4096, 16384}) {  // larger batches: fewer kernel launches per row
        const auto t3 = Clock::now();
        t->train_rows(train_set.view(), batch);
        const double s3 = std::chrono::duration<double>(Clock::now() - t3).count();
        std::printf("      %s: one epoch in batches of %lld: %.0f rows/s\n", device.c_str(),
                    static_cast<long long>(batch), train_set.rows / s3);
      }
    } catch (const std::exception& e) {
      check(false, device + ": " + e.what());
    }
  }
  check(std::fabs(auc[0] - auc[1]) < 0.01, "CPU and CUDA test AUC agree within 0.01");
  std::printf("cuda_check: %s\n", failures ? "FAILED" : "OK");
  return failures ? 1 : 0;
}
