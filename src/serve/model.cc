// load_bundle: a training bundle folder -> a Model (normaliser + backend + metadata).
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/text_file.h"
#include "serve/backend.h"
#include "serve/model.h"
#include "serve/normaliser.h"

namespace m4h::serve {

std::pair<ScoresDone, std::future<std::vector<float>>> completion_with_future() {
  auto promise = std::make_shared<std::promise<std::vector<float>>>();
  auto future = promise->get_future();
  ScoresDone done = [promise](std::vector<float>& scores, std::exception_ptr error) {
    if (error) promise->set_exception(error);
    else promise->set_value(std::move(scores));
  };
  return {std::move(done), std::move(future)};
}

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

Json read_json(const std::string& path) {
  Json j = Json::parse(read_text_file(path), nullptr, false);
  if (j.is_discarded()) throw Error(ErrorCode::kCorrupt, path + ": malformed JSON");
  return j;
}

class BundleModel final : public Model {
 public:
  BundleModel(ModelMetadata meta, std::unique_ptr<Normaliser> normaliser, std::unique_ptr<Backend> backend)
      : meta_(std::move(meta)), normaliser_(std::move(normaliser)), backend_(std::move(backend)),
        width_(normaliser_->layout().width), outputs_(Model::outputs()) {}

  const ModelMetadata& metadata() const override { return meta_; }

  std::vector<float> infer(const InputBatch& b) const override {
    check(b);
    std::vector<float> out(static_cast<size_t>(b.rows * outputs_));
    backend_->run(b.x.data(), b.mask.empty() ? nullptr : b.mask.data(), b.rows, out.data());
    return out;
  }

  void infer_into(const float* x, const uint8_t* mask, int64_t rows, float* out) const override {
    backend_->run(x, mask, rows, out);
  }

  InputBatch normalise(const std::vector<RawEvent>& events, std::vector<int64_t>* kept) const override {
    return normaliser_->run(events, kept);
  }

 private:
  void check(const InputBatch& b) const {
    if (b.width != width_)
      throw Error(ErrorCode::kInvalidArgument, "model " + meta_.name + " takes rows of width " +
                                                   std::to_string(width_) + ", got " + std::to_string(b.width));
    if (b.rows < 0 || b.x.size() != static_cast<size_t>(b.rows * b.width) ||
        (!b.mask.empty() && b.mask.size() != b.x.size()))
      throw Error(ErrorCode::kInvalidArgument, "a batch of " + std::to_string(b.rows) + " rows of width " +
                                                   std::to_string(b.width) + " needs " +
                                                   std::to_string(b.rows * b.width) + " values (and mask values), got " +
                                                   std::to_string(b.x.size()) + " (" + std::to_string(b.mask.size()) + ")");
  }

  ModelMetadata meta_;
  std::unique_ptr<Normaliser> normaliser_;
  std::unique_ptr<Backend> backend_;
  int64_t width_, outputs_;
};

}  // namespace

void Model::infer_into(const float* x, const uint8_t* mask, int64_t rows, float* out) const {
  InputBatch b;
  b.rows = rows;
  b.width = width();
  b.x.assign(x, x + rows * b.width);
  if (mask) b.mask.assign(mask, mask + rows * b.width);
  const std::vector<float> s = infer(b);
  std::memcpy(out, s.data(), s.size() * sizeof(float));
}

std::shared_ptr<const Model> load_bundle(const std::string& folder, const std::string& name,
                                         const std::string& version) {
  return with_context(folder, [&]() -> std::shared_ptr<const Model> {
    const std::string bundle_file = folder + "/bundle.json";
    const Json bundle = read_json(bundle_file);
    auto bad = [&](const std::string& what) { return Error(ErrorCode::kCorrupt, "bundle.json: " + what); };
    if (!bundle.is_object() || bundle.value("format", "") != "mlaas4hep-model-bundle")
      throw bad("not a model bundle (\"format\" is not \"mlaas4hep-model-bundle\")");
    ModelMetadata meta;
    meta.name = name;
    meta.version = version;
    BackendSpec spec;
    std::string format;
    std::vector<data::BranchType> types;
    try {
      const Json& m = bundle.at("model");
      format = m.at("format").get<std::string>();
      spec.file = folder + "/" + m.at("file").get<std::string>();
      spec.outputs = m.at("outputs").get<int64_t>();
      spec.takes_mask = m.value("forward", "forward(x)") == "forward(x, mask)";
      spec.width = bundle.at("input").at("width").get<int64_t>();
      for (const Json& b : bundle.at("input").value("branches", Json::array())) {
        data::BranchType t;
        t.name = b.at("name").get<std::string>();
        t.jagged = b.at("jagged").get<bool>();
        if (!data::value_type_of(b.at("type").get<std::string>(), t.type))
          throw bad("input.branches: unknown type \"" + b.at("type").get<std::string>() + "\"");
        types.push_back(std::move(t));
      }
    } catch (const Json::exception& e) {
      throw bad(e.what());
    }
    if (spec.outputs < 1 || spec.width < 1) throw bad("model.outputs and input.width must be >= 1");
    if (format != "torchscript" && format != "xgboost-json")
      throw Error(ErrorCode::kUnsupported, "bundle.json: model format \"" + format + "\" (torchscript, xgboost-json)");

    // The data side, as training saw it.
    const data::Specs specs = data::Specs::load(folder + "/specs.json");
    const data::Params params = fs::exists(folder + "/params.json")
                                    ? data::parse_params(read_text_file(folder + "/params.json"), "params.json")
                                    : data::Params{};
    data::Preprocess preproc = fs::exists(folder + "/preproc.json")
                                   ? data::Preprocess::parse(read_text_file(folder + "/preproc.json"), "preproc.json")
                                   : data::Preprocess{};
    auto normaliser = std::make_unique<Normaliser>(specs, params, std::move(preproc), std::move(types));
    if (normaliser->layout().width != spec.width)
      throw bad("input.width is " + std::to_string(spec.width) + " but specs.json gives " +
                std::to_string(normaliser->layout().width) + " columns");
    meta.feature_names = normaliser->layout().names();
    if (fs::exists(folder + "/feature_names.json")) {
      const Json names = read_json(folder + "/feature_names.json");
      if (!names.is_array() || names.size() != static_cast<size_t>(spec.width))
        throw Error(ErrorCode::kCorrupt, "feature_names.json: not a list of " + std::to_string(spec.width) + " names");
      meta.feature_names = names.get<std::vector<std::string>>();
    }
    meta.branches = normaliser->branches();

    std::unique_ptr<Backend> backend = format == "torchscript" ? make_torch_backend(spec) : make_xgboost_backend(spec);
    meta.platform = format == "torchscript" ? "pytorch_torchscript" : "xgboost";
    meta.inputs.push_back(TensorInfo{"x", "FP32", {-1, spec.width}});
    if (spec.takes_mask) meta.inputs.push_back(TensorInfo{"mask", "FP32", {-1, spec.width}});
    meta.outputs.push_back(TensorInfo{"scores", "FP32", {-1, spec.outputs}});
    return std::make_shared<BundleModel>(std::move(meta), std::move(normaliser), std::move(backend));
  });
}

}  // namespace m4h::serve
