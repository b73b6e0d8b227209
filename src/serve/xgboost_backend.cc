// XGBoost models through the C API's in-place prediction from the caller's dense rows (no
// DMatrix per request). XGBoost documents prediction as thread-safe for tree boosters since 1.4;
// other boosters (gblinear) are run under a mutex.
#include <xgboost/c_api.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "serve/backend.h"

namespace m4h::serve {

namespace {

std::string last_error() {
  std::string why = XGBGetLastError();  // "[time] file:line: message\nStack trace: ..."
  why = why.substr(0, why.find('\n'));
  if (auto at = why.find(": "); why.rfind("[", 0) == 0 && at != std::string::npos) why = why.substr(at + 2);
  return why;
}

// "cache_id": 0 and "missing" are required by in-place prediction; NaN is what training's
// matrices called missing (padding is a number, not missing).
constexpr const char* kPredictConfig =
    R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0,
        "strict_shape": false, "cache_id": 0, "missing": NaN})";

class XgboostBackend final : public Backend {
 public:
  explicit XgboostBackend(const BackendSpec& spec) : spec_(spec) {
    auto check = [&](int rc, const char* what) {
      if (rc != 0) throw Error(ErrorCode::kCorrupt, spec.file + ": XGBoost: " + what + ": " + last_error());
    };
    check(XGBoosterCreate(nullptr, 0, &booster_), "create");
    try {
      check(XGBoosterLoadModel(booster_, spec.file.c_str()), "load");
      check(XGBoosterSetParam(booster_, "nthread", "1"), "nthread");
      bst_ulong features = 0;
      check(XGBoosterGetNumFeature(booster_, &features), "features");
      if (static_cast<int64_t>(features) != spec.width)
        throw Error(ErrorCode::kCorrupt, spec.file + ": the model takes " + std::to_string(features) +
                                             " features, bundle.json says " + std::to_string(spec.width));
      bst_ulong len = 0;
      const char* config = nullptr;
      check(XGBoosterSaveJsonConfig(booster_, &len, &config), "config");
      const auto j = nlohmann::json::parse(config, config + len, nullptr, false);
      const std::string kind = j.is_discarded() ? "" : j.value("/learner/gradient_booster/name"_json_pointer, "");
      if (kind != "gbtree" && kind != "dart") serial_.emplace();
      // The first prediction configures the learner; done here, before any concurrent call.
      std::vector<float> x(static_cast<size_t>(spec.width), 0.0f), out(static_cast<size_t>(spec.outputs));
      try {
        run(x.data(), nullptr, 1, out.data());
      } catch (const Error& e) {
        throw Error(ErrorCode::kCorrupt, spec.file + ": " + e.message());
      }
    } catch (...) {
      XGBoosterFree(booster_);
      throw;
    }
  }

  ~XgboostBackend() override { XGBoosterFree(booster_); }

  void run(const float* x, const uint8_t*, int64_t rows, float* out) const override {
    if (rows == 0) return;
    char array[192];  // numpy's __array_interface__ of the caller's rows, on the stack
    std::snprintf(array, sizeof array,
                  R"({"data": [%)" PRIuPTR R"(, true], "shape": [%)" PRId64 ", %" PRId64
                  R"(], "typestr": "<f4", "version": 3})",
                  reinterpret_cast<uintptr_t>(x), rows, spec_.width);
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    std::optional<std::lock_guard<std::mutex>> lock;
    if (serial_) lock.emplace(*serial_);
    // The result lives in XGBoost's per-thread buffer until this thread predicts again.
    if (XGBoosterPredictFromDense(booster_, array, kPredictConfig, nullptr, &shape, &dim, &result) != 0)
      throw Error(ErrorCode::kInternal, "XGBoost: predict: " + last_error());
    int64_t n = 1;
    for (bst_ulong d = 0; d < dim; ++d) n *= static_cast<int64_t>(shape[d]);
    if (n != rows * spec_.outputs)
      throw Error(ErrorCode::kInternal, "XGBoost: predict gave " + std::to_string(n) + " values for " +
                                            std::to_string(rows) + " rows of " +
                                            std::to_string(spec_.outputs) + " outputs");
    std::memcpy(out, result, sizeof(float) * static_cast<size_t>(n));
  }

 private:
  BackendSpec spec_;
  BoosterHandle booster_ = nullptr;
  mutable std::optional<std::mutex> serial_;  // set for boosters without thread-safe prediction
};

}  // namespace

std::unique_ptr<Backend> make_xgboost_backend(const BackendSpec& spec) {
  return std::make_unique<XgboostBackend>(spec);
}

}  // namespace m4h::serve
