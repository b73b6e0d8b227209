// A loaded model's executor behind plain C++: TorchScript (torch_backend.cc) or XGBoost
// (xgboost_backend.cc), each the only file that includes its library's headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace m4h::serve {

struct BackendSpec {
  std::string file;  // model.pt or model.xgb.json
  int64_t width = 0;
  int64_t outputs = 1;      // 1: one logit (binary), K: K classes
  bool takes_mask = false;  // TorchScript forward(x, mask)
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Probabilities of `rows` rows of x (rows x width) into out (rows x outputs): sigmoid of one
  // logit, softmax of several, XGBoost's own. mask: rows x width, 1 = a real value, or null.
  // Thread-safe. Throws m4h::Error kInternal when the model fails or returns another shape.
  virtual void run(const float* x, const uint8_t* mask, int64_t rows, float* out) const = 0;
};

// Load the model file (CPU, one intra-op thread) and check it on a row of zeros. Throw
// m4h::Error kCorrupt naming the file (not a model of this kind, another width or outputs).
std::unique_ptr<Backend> make_torch_backend(const BackendSpec& spec);
std::unique_ptr<Backend> make_xgboost_backend(const BackendSpec& spec);

}  // namespace m4h::serve
