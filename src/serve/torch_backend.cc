// TorchScript models on the CPU, scored as src/train/torch_trainer.cc's predict() scores them.
#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <cstring>

#include "core/blas_threads.h"
#include "core/error.h"
#include "serve/backend.h"

namespace m4h::serve {

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

class TorchBackend final : public Backend {
 public:
  explicit TorchBackend(const BackendSpec& spec) : spec_(spec) {
    // As the trainer runs: one intra-op thread (requests are the parallelism, and libgomp spins
    // on shared cores) and the plain interpreter, whose numbers do not change after warm-up runs.
    at::set_num_threads(1);
    limit_blas_threads(1);
    torch::jit::setGraphExecutorOptimize(false);
    try {
      module_ = torch::jit::load(spec.file, torch::kCPU);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kCorrupt, spec.file + ": not a TorchScript model: " + first_line(e.what()));
    }
    module_.eval();
    auto forward = module_.find_method("forward");
    if (!forward) throw Error(ErrorCode::kCorrupt, spec.file + ": the model has no forward()");
    const size_t args = forward->function().getSchema().arguments().size();  // self included
    if (args != (spec.takes_mask ? 3u : 2u))
      throw Error(ErrorCode::kCorrupt, spec.file + ": forward() takes " + std::to_string(args - 1) +
                                           " arguments, bundle.json says " +
                                           (spec.takes_mask ? "forward(x, mask)" : "forward(x)"));
    std::vector<float> x(static_cast<size_t>(spec.width), 0.0f), out(static_cast<size_t>(spec.outputs));
    try {
      run(x.data(), nullptr, 1, out.data());
    } catch (const Error& e) {
      throw Error(ErrorCode::kCorrupt, spec.file + ": " + e.message());
    }
  }

  void run(const float* x, const uint8_t* mask, int64_t rows, float* out) const override {
    const int64_t w = spec_.width, k = spec_.outputs;
    if (rows == 0) return;
    try {
      c10::InferenceMode guard;
      std::vector<c10::IValue> in;
      in.reserve(2);
      // The caller's rows as they are: from_blob copies nothing, and forward() does not write.
      in.emplace_back(torch::from_blob(const_cast<float*>(x), {rows, w}, torch::kFloat32));
      if (spec_.takes_mask)
        in.emplace_back(mask ? torch::from_blob(const_cast<uint8_t*>(mask), {rows, w}, torch::kUInt8)
                                   .to(torch::kFloat32)
                             : torch::ones({rows, w}, torch::kFloat32));
      c10::IValue v = module_.forward(std::move(in));
      if (!v.isTensor())
        throw Error(ErrorCode::kInternal, "forward() returned a " + v.tagKind() + ", not a tensor");
      at::Tensor z = v.toTensor();
      if (z.dim() == 1) z = z.unsqueeze(1);
      if (z.dim() != 2 || z.size(0) != rows || z.size(1) != k)
        throw Error(ErrorCode::kInternal, "forward() returned shape " + shape_of(z) + ", expected [" +
                                              std::to_string(rows) + ", " + std::to_string(k) + "]");
      at::Tensor s = k == 1 ? torch::sigmoid(z.squeeze(1)) : torch::softmax(z, 1);
      s = s.to(torch::kFloat32).contiguous();
      std::memcpy(out, s.data_ptr<float>(), sizeof(float) * static_cast<size_t>(rows * k));
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kInternal, "forward() failed: " + first_line(e.what()));
    }
  }

 private:
  static std::string shape_of(const at::Tensor& t) {
    std::string s = "[";
    for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
    return s + "]";
  }

  BackendSpec spec_;
  // forward() is not const in libtorch's API, but running a loaded module changes nothing that
  // concurrent callers share: calls from many threads are safe.
  mutable torch::jit::Module module_;
};

}  // namespace

std::unique_ptr<Backend> make_torch_backend(const BackendSpec& spec) {
  return std::make_unique<TorchBackend>(spec);
}

}  // namespace m4h::serve
