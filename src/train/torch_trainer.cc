// The libtorch trainer: every model is a torch::jit::Module, either loaded from a user's TorchScript
// file or built here from a JSON description as TorchScript source (so model.pt is always a
// TorchScript archive that the serving layer loads the same way). With more than one rank
// (train/distributed.h) every step averages the ranks' gradients. One of the two translation units
// of src/ that include torch headers (train/distributed.cc is the other).
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/script.h>
#include <torch/serialize/archive.h>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/blas_threads.h"
#include "core/error.h"
#include "train/backends.h"
#include "train/distributed.h"

namespace m4h::train {

namespace {

using Json = nlohmann::json;

// The useful line of a torch error: the interpreter's last "RuntimeError: ..." line (after the
// TorchScript traceback), else the first line (the rest is a C++ backtrace).
std::string first_line(const std::string& what) {
  const auto at = what.rfind("Error: ");
  if (what.find("Traceback") != std::string::npos && at != std::string::npos) {
    auto start = what.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    const auto end = what.find('\n', at);
    return what.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  // TorchScript compilation errors start with a blank line.
  const auto start = std::min(what.find_first_not_of(" \n"), what.size());
  const auto nl = what.find('\n', start);
  return what.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": no such model file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool looks_like_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": no such model file");
  char c = 0;
  while (in.get(c))
    if (!std::isspace(static_cast<unsigned char>(c))) return c == '{';
  return false;
}

// Keys shared by the JSON models' parsers; errors name the key.
Error bad_key(const std::string& origin, const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, origin + ": " + what);
}

std::vector<int64_t> parse_sizes(const std::string& key, const Json& v, const std::string& origin) {
  if (!v.is_array()) throw bad_key(origin, "\"" + key + "\" must be a list of layer sizes");
  std::vector<int64_t> sizes;
  for (const Json& n : v) {
    if (!n.is_number_integer() || n.get<int64_t>() < 1)
      throw bad_key(origin, "\"" + key + "\" must hold positive integers");
    sizes.push_back(n.get<int64_t>());
  }
  return sizes;
}

std::string parse_activation(const Json& v, const std::string& origin) {
  if (!v.is_string()) throw bad_key(origin, "\"activation\" must be a string");
  const std::string a = v.get<std::string>();
  static const char* known[] = {"relu", "tanh", "sigmoid", "gelu", "elu", "silu"};
  if (std::find(std::begin(known), std::end(known), a) == std::end(known))
    throw bad_key(origin,
                  "unknown activation \"" + a + "\" (relu, tanh, sigmoid, gelu, elu, silu)");
  return a;
}

double parse_dropout(const Json& v, const std::string& origin) {
  if (!v.is_number() || v.get<double>() < 0 || v.get<double>() >= 1)
    throw bad_key(origin, "\"dropout\" must be a number in [0, 1)");
  return v.get<double>();
}

int64_t parse_outputs(const Json& v, const std::string& origin) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1)
    throw bad_key(origin, "\"outputs\" must be >= 1");
  return v.get<int64_t>();
}

// The MLP of a JSON description: {"type": "mlp", "hidden": [64, 32], "activation": "relu",
// "dropout": 0.1, "batch_norm": false, "outputs": K (default: 1 for two classes, else classes)}.
struct MlpSpec {
  std::vector<int64_t> hidden;
  std::string activation = "relu";
  double dropout = 0;
  bool batch_norm = false;
  int64_t outputs = 0;
};

MlpSpec parse_mlp(const Json& j, const std::string& origin) {
  auto bad = [&](const std::string& what) { return bad_key(origin, what); };
  MlpSpec s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "type" || k == "comment" || k == "name") continue;
    if (k == "hidden" || k == "layers") {
      s.hidden = parse_sizes(k, v, origin);
    } else if (k == "activation") {
      s.activation = parse_activation(v, origin);
    } else if (k == "dropout") {
      s.dropout = parse_dropout(v, origin);
    } else if (k == "batch_norm") {
      if (!v.is_boolean()) throw bad("\"batch_norm\" must be true or false");
      s.batch_norm = v.get<bool>();
    } else if (k == "outputs") {
      s.outputs = parse_outputs(v, origin);
    } else {
      throw bad("unknown key \"" + k +
                "\" in an mlp description (hidden, activation, dropout, batch_norm, outputs)");
    }
  }
  return s;
}

// nn.Linear's default initialisation: uniform in +-1/sqrt(fan_in) for weight and bias.
std::pair<at::Tensor, at::Tensor> linear_init(int64_t in, int64_t out) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  auto w = torch::rand({out, in}, torch::kFloat32) * (2 * bound) - bound;
  auto b = torch::rand({out}, torch::kFloat32) * (2 * bound) - bound;
  return {w, b};
}

// A double as TorchScript source reads it back: always a float literal, all digits kept.
std::string float_literal(double v) {
  char num[64];
  std::snprintf(num, sizeof num, "%.17g", v);
  std::string t = num;
  if (t.find_first_of(".e") == std::string::npos) t += ".0";
  return t;
}

torch::jit::Module build_mlp(const MlpSpec& s, int64_t width) {
  torch::jit::Module m(c10::QualifiedName("__torch__.m4h.MLP"));
  m.register_attribute("training", c10::BoolType::get(), true);
  std::ostringstream src;
  src << "def forward(self, x):\n";
  int64_t in = width;
  const std::string act = "torch." + s.activation;
  for (size_t i = 0; i < s.hidden.size(); ++i) {
    const std::string n = std::to_string(i);
    auto [w, b] = linear_init(in, s.hidden[i]);
    m.register_parameter("w" + n, w, false);
    m.register_parameter("b" + n, b, false);
    src << "    x = torch.addmm(self.b" << n << ", x, self.w" << n << ".t())\n";
    if (s.batch_norm) {
      m.register_parameter("bn_w" + n, torch::ones({s.hidden[i]}), false);
      m.register_parameter("bn_b" + n, torch::zeros({s.hidden[i]}), false);
      m.register_buffer("bn_mean" + n, torch::zeros({s.hidden[i]}));
      m.register_buffer("bn_var" + n, torch::ones({s.hidden[i]}));
      src << "    x = torch.batch_norm(x, self.bn_w" << n << ", self.bn_b" << n << ", self.bn_mean"
          << n << ", self.bn_var" << n << ", self.training, 0.1, 1e-05, False)\n";
    }
    src << "    x = " << act << "(x)\n";
    if (s.dropout > 0)
      src << "    x = torch.dropout(x, " << float_literal(s.dropout) << ", self.training)\n";
    in = s.hidden[i];
  }
  auto [w, b] = linear_init(in, s.outputs);
  m.register_parameter("w_out", w, false);
  m.register_parameter("b_out", b, false);
  src << "    return torch.addmm(self.b_out, x, self.w_out.t())\n";
  m.define(src.str());
  return m;
}

// A deep-sets model of a JSON description: {"type": "deepsets", "phi": [32, 32], "rho": [32],
// "activation": "relu", "pool": "sum" | "mean", "dropout": p, "outputs": K}. Each object
// collection of the input layout is a set: phi (its own per collection) maps each object's
// attributes to a vector, pooled over the real objects only; the pools, the number of real
// objects per collection (over the padded length) and the flat features go through rho to logits.
struct DeepSetsSpec {
  std::vector<int64_t> phi = {32, 32};
  std::vector<int64_t> rho = {32};
  std::string activation = "relu";
  std::string pool = "sum";
  double dropout = 0;  // after each rho layer
  int64_t outputs = 0;
};

DeepSetsSpec parse_deepsets(const Json& j, const std::string& origin) {
  DeepSetsSpec s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "type" || k == "comment" || k == "name") continue;
    if (k == "phi" || k == "rho") {
      (k == "phi" ? s.phi : s.rho) = parse_sizes(k, v, origin);
    } else if (k == "activation") {
      s.activation = parse_activation(v, origin);
    } else if (k == "pool") {
      if (!v.is_string() || (v != "sum" && v != "mean"))
        throw bad_key(origin, "\"pool\" must be \"sum\" or \"mean\"");
      s.pool = v.get<std::string>();
    } else if (k == "dropout") {
      s.dropout = parse_dropout(v, origin);
    } else if (k == "outputs") {
      s.outputs = parse_outputs(v, origin);
    } else {
      throw bad_key(
          origin,
          "unknown key \"" + k +
              "\" in a deepsets description (phi, rho, activation, pool, dropout, outputs)");
    }
  }
  if (s.phi.empty())
    throw bad_key(origin, "\"phi\" needs at least one layer (the per-object vector)");
  return s;
}

at::Tensor index_tensor(const std::vector<int64_t>& columns) {
  return torch::tensor(columns, torch::kInt64);
}

// The model reads its columns through index buffers baked into model.pt, so the serving layer
// passes the [rows, width] row and mask as they are. Masked cells are zeroed first (whatever
// padding or junk they hold) and phi's outputs of padded objects are multiplied by 0, so padded
// objects change nothing.
torch::jit::Module build_deepsets(const DeepSetsSpec& s, const InputLayout& layout, int64_t width,
                                  const std::string& origin) {
  if (layout.groups.empty())
    throw bad_key(origin,
                  "a deepsets model pools over object collections (jagged branches), but the "
                  "specs have flat features only: use {\"type\": \"mlp\"}");
  auto check_column = [&](int64_t c) {
    if (c < 0 || c >= width)
      throw Error(ErrorCode::kInternal, origin + ": input column " + std::to_string(c) +
                                            " outside the width " + std::to_string(width));
  };
  torch::jit::Module m(c10::QualifiedName("__torch__.m4h.DeepSets"));
  m.register_attribute("training", c10::BoolType::get(), true);
  const std::string act = "torch." + s.activation;
  std::ostringstream src;
  src << "def forward(self, x, mask):\n"
      << "    valid = mask > 0.5\n"
      << "    x = torch.where(valid, x, torch.zeros_like(x))\n"
      << "    m = valid.type_as(x)\n";
  std::vector<std::string> rho_inputs;
  int64_t rho_width = 0;
  if (!layout.flat_columns.empty()) {
    for (int64_t c : layout.flat_columns) check_column(c);
    m.register_buffer("flat_columns", index_tensor(layout.flat_columns));
    rho_inputs.push_back("x.index_select(1, self.flat_columns)");
    rho_width += static_cast<int64_t>(layout.flat_columns.size());
  }
  for (size_t g = 0; g < layout.groups.size(); ++g) {
    const ObjectGroup& grp = layout.groups[g];
    const int64_t attrs = static_cast<int64_t>(grp.first_column.size());
    // Object-major (object 0's attributes, then object 1's, ...): a reshape gives
    // [rows, objects, attributes].
    std::vector<int64_t> columns;
    for (int64_t i = 0; i < grp.objects; ++i)
      for (int64_t c : grp.first_column) {
        check_column(c + i);
        columns.push_back(c + i);
      }
    const std::string n = "set" + std::to_string(g);
    m.register_buffer(n + "_columns", index_tensor(columns));
    const std::string shape =
        "[-1, " + std::to_string(grp.objects) + ", " + std::to_string(attrs) + "]";
    src << "    # " << grp.name << ": " << grp.objects << " objects of " << attrs << " attributes\n"
        << "    " << n << " = x.index_select(1, self." << n << "_columns).reshape(" << shape
        << ")\n"
        << "    " << n << "_real = m.index_select(1, self." << n << "_columns).reshape(" << shape
        << ").amax(2)\n";
    int64_t in = attrs;
    for (size_t l = 0; l < s.phi.size(); ++l) {
      const std::string w = n + "_phi_w" + std::to_string(l), b = n + "_phi_b" + std::to_string(l);
      auto [wt, bt] = linear_init(in, s.phi[l]);
      m.register_parameter(w, wt, false);
      m.register_parameter(b, bt, false);
      src << "    " << n << " = " << act << "(torch.matmul(" << n << ", self." << w
          << ".t()) + self." << b << ")\n";
      in = s.phi[l];
    }
    src << "    " << n << "_count = " << n << "_real.sum(1, keepdim=True)\n"
        << "    " << n << " = (" << n << " * " << n << "_real.unsqueeze(2)).sum(1)\n";
    if (s.pool == "mean")
      src << "    " << n << " = " << n << " / torch.clamp(" << n << "_count, min=1.0)\n";
    rho_inputs.push_back(n);
    rho_inputs.push_back(n + "_count * " + float_literal(1.0 / static_cast<double>(grp.objects)));
    rho_width += in + 1;
  }
  src << "    z = torch.cat([";
  for (size_t i = 0; i < rho_inputs.size(); ++i) src << (i ? ", " : "") << rho_inputs[i];
  src << "], 1)\n";
  int64_t in = rho_width;
  for (size_t l = 0; l < s.rho.size(); ++l) {
    const std::string w = "rho_w" + std::to_string(l), b = "rho_b" + std::to_string(l);
    auto [wt, bt] = linear_init(in, s.rho[l]);
    m.register_parameter(w, wt, false);
    m.register_parameter(b, bt, false);
    src << "    z = " << act << "(torch.addmm(self." << b << ", z, self." << w << ".t()))\n";
    if (s.dropout > 0)
      src << "    z = torch.dropout(z, " << float_literal(s.dropout) << ", self.training)\n";
    in = s.rho[l];
  }
  auto [w, b] = linear_init(in, s.outputs);
  m.register_parameter("w_out", w, false);
  m.register_parameter("b_out", b, false);
  src << "    return torch.addmm(self.b_out, z, self.w_out.t())\n";
  m.define(src.str());
  return m;
}

class TorchTrainer final : public Trainer {
 public:
  explicit TorchTrainer(const TrainerOptions& o) : opt_(o) {
    if (o.width < 1) throw Error(ErrorCode::kInvalidArgument, "model input width must be >= 1");
    // Reproducible on CPU: one intra-op thread, deterministic kernels, seeded generator; the plain
    // interpreter (no profiling-guided fusion, which compiles after a few runs and may reorder).
    at::set_num_threads(static_cast<int>(std::max<int64_t>(1, o.threads)));
    // OpenBLAS's pool too: with the data threads no longer sharing their cores with it, a first
    // epoch streamed from files ran faster (MLP [64, 32]: 224-230k against 195-198k events/s),
    // and small models trained faster even from memory (bench/README.md, "Training").
    limit_blas_threads(static_cast<int>(std::max<int64_t>(1, o.threads)));
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
    torch::jit::setGraphExecutorOptimize(false);
    torch::manual_seed(o.seed);
    choose_device();
    if (looks_like_json(o.model_path)) {
      load_json();
    } else {
      load_torchscript();
    }
    module_.to(device_);
    params_.clear();
    for (const auto& p : module_.parameters()) {
      p.requires_grad_(true);
      params_.push_back(p);
      info_.parameters += p.numel();
    }
    if (params_.empty())
      throw Error(ErrorCode::kInvalidArgument, o.model_path + ": the model has no parameters to train");
    check_shapes();
    make_optimizer();
    if (distributed()) {
      broadcast_state();
      // Rank 0 keeps the single-process random stream; the others draw other dropout masks.
      if (const auto rank = static_cast<uint64_t>(o.collective->rank()); rank > 0)
        torch::manual_seed(o.seed + rank * 0x9E3779B97F4A7C15ull);
    }
    weights_.resize(static_cast<size_t>(std::max<int64_t>(o.classes, info_.outputs)), 1.0);
    for (size_t c = 0; c < o.class_weights.size() && c < weights_.size(); ++c)
      weights_[c] = o.class_weights[c];
    weight_table_ = torch::tensor(std::vector<float>(weights_.begin(), weights_.end())).to(device_);
  }

  const ModelInfo& info() const override { return info_; }

  LossSum train_rows(const Rows& r, int64_t batch_size) override {
    module_.train(true);
    batch_size = std::max<int64_t>(1, batch_size);
    // All rows go to the device at once and the sums stay there: on a GPU, a copy or a
    // .item() per batch would stall it on the host every step.
    auto [xs, masks, ys] = tensors(r, 0, r.rows);
    Sums sums(device_);
    int64_t rows = 0;
    for (int64_t b = 0; b < r.rows; b += batch_size) {
      const int64_t n = std::min(batch_size, r.rows - b);
      // A batch of one row cannot be batch-normalised in training mode: it is left out.
      if (n == 1) break;
      const at::Tensor x = xs.narrow(0, b, n), y = ys.narrow(0, b, n);
      const at::Tensor mask = masks.defined() ? masks.narrow(0, b, n) : masks;
      auto z = forward(x, mask);
      auto [loss_rows, w] = losses(z, y);
      auto loss = (loss_rows * w).sum() / w.sum();
      optimizer_->zero_grad();
      loss.backward();
      if (distributed()) average_gradients(true);
      optimizer_->step();
      torch::NoGradGuard ng;
      sums.add(z, y, loss_rows, w, info_.outputs);
      rows += n;
    }
    return sums.total(rows);
  }

  void finish_pass() override {
    if (!distributed()) return;
    // Ranks hold different numbers of rows: one with none left still takes every step the others
    // take (with their averaged gradients) until no rank has a batch.
    for (;;) {
      optimizer_->zero_grad();
      if (average_gradients(false) == 0) break;
      optimizer_->step();
    }
    average_buffers();
    check_ranks_agree();
  }

  LossSum predict(const Rows& r, std::vector<float>& scores) override {
    module_.train(false);
    torch::NoGradGuard ng;
    const int64_t k = info_.outputs == 1 ? 1 : info_.outputs;
    scores.resize(static_cast<size_t>(r.rows * k));
    Sums sums(device_);
    constexpr int64_t kBatch = 4096;
    for (int64_t b = 0; b < r.rows; b += kBatch) {
      const int64_t n = std::min(kBatch, r.rows - b);
      auto [x, mask, y] = tensors(r, b, n);
      auto z = forward(x, mask);
      auto [loss_rows, w] = losses(z, y);
      sums.add(z, y, loss_rows, w, info_.outputs);
      at::Tensor s = info_.outputs == 1 ? torch::sigmoid(z.squeeze(1)) : torch::softmax(z, 1);
      s = s.to(torch::kCPU, torch::kFloat32).contiguous();
      std::memcpy(scores.data() + b * k, s.data_ptr<float>(), sizeof(float) * n * k);
    }
    return sums.total(r.rows);
  }

  void keep_best() override {
    torch::NoGradGuard ng;
    best_.clear();
    for (const auto& t : state()) best_.push_back(t.detach().clone());
  }

  void restore_best() override {
    if (best_.empty()) return;
    torch::NoGradGuard ng;
    auto s = state();
    for (size_t i = 0; i < s.size(); ++i) s[i].copy_(best_[i]);
  }

  void save_model(const std::string& path) override {
    module_.train(false);
    try {
      if (device_.is_cpu()) {
        module_.save(path);
      } else {
        auto copy = module_.clone();
        copy.to(torch::kCPU);
        copy.save(path);
      }
    } catch (const c10::Error& e) {
      throw Error(ErrorCode::kIo, path + ": cannot save the model: " + first_line(e.what()));
    }
  }

  void save_checkpoint(const std::string& path) override {
    try {
      torch::serialize::OutputArchive ar;
      auto s = state();
      for (size_t i = 0; i < s.size(); ++i) ar.write("s" + std::to_string(i), s[i].detach().cpu());
      for (size_t i = 0; i < best_.size(); ++i)
        ar.write("best" + std::to_string(i), best_[i].cpu());
      ar.write("best_count", torch::tensor(static_cast<int64_t>(best_.size())));
      torch::serialize::OutputArchive opt;
      optimizer_->save(opt);
      ar.write("optimizer", opt);
      ar.write("rng", at::detail::getDefaultCPUGenerator().get_state());
      ar.save_to(path);
    } catch (const c10::Error& e) {
      throw Error(ErrorCode::kIo, path + ": cannot write the checkpoint: " + first_line(e.what()));
    }
  }

  void load_checkpoint(const std::string& path) override {
    try {
      torch::serialize::InputArchive ar;
      ar.load_from(path);
      torch::NoGradGuard ng;
      auto s = state();
      for (size_t i = 0; i < s.size(); ++i) {
        at::Tensor t;
        ar.read("s" + std::to_string(i), t);
        if (!t.sizes().equals(s[i].sizes()))
          throw Error(ErrorCode::kInvalidArgument,
                      path + ": the checkpoint is of another model (tensor " + std::to_string(i) +
                          " has another shape)");
        s[i].copy_(t);
      }
      at::Tensor count;
      ar.read("best_count", count);
      best_.clear();
      for (int64_t i = 0; i < count.item<int64_t>(); ++i) {
        at::Tensor t;
        ar.read("best" + std::to_string(i), t);
        best_.push_back(t.to(device_));
      }
      torch::serialize::InputArchive opt;
      ar.read("optimizer", opt);
      optimizer_->load(opt);
      at::Tensor rng;
      ar.read("rng", rng);
      at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle on the global one
      gen.set_state(rng);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kCorrupt, path + ": cannot read the checkpoint: " + first_line(e.what()));
    }
  }

 private:
  void choose_device() {
    const bool cuda = torch::cuda::is_available();
    if (opt_.device == "cuda" && !cuda)
      throw Error(ErrorCode::kUnsupported,
                  "--device cuda: this libtorch has no CUDA device (built without CUDA, or no GPU)");
    if (opt_.device != "auto" && opt_.device != "cpu" && opt_.device != "cuda")
      throw Error(ErrorCode::kInvalidArgument, "--device must be auto, cpu or cuda");
    device_ = (opt_.device == "cuda" || (opt_.device == "auto" && cuda)) ? torch::Device(torch::kCUDA)
                                                                        : torch::Device(torch::kCPU);
    info_.device = device_.is_cuda() ? "cuda" : "cpu";
  }

  void load_json() {
    const std::string text = read_text(opt_.model_path);
    Json j;
    try {
      j = Json::parse(text);
    } catch (const Json::exception& e) {
      throw Error(ErrorCode::kInvalidArgument, opt_.model_path + ": malformed JSON: " + e.what());
    }
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
      throw Error(ErrorCode::kInvalidArgument,
                  opt_.model_path + ": a model description needs \"type\" (\"mlp\", \"deepsets\")");
    const std::string type = j["type"].get<std::string>();
    const int64_t default_outputs = opt_.classes <= 2 ? 1 : opt_.classes;
    if (type == "mlp") {
      MlpSpec s = parse_mlp(j, opt_.model_path);
      if (s.outputs == 0) s.outputs = default_outputs;
      module_ = build_mlp(s, opt_.width);
    } else if (type == "deepsets") {
      DeepSetsSpec s = parse_deepsets(j, opt_.model_path);
      if (s.outputs == 0) s.outputs = default_outputs;
      module_ = build_deepsets(s, opt_.inputs, opt_.width, opt_.model_path);
    } else {
      throw Error(ErrorCode::kUnsupported, opt_.model_path + ": model type \"" + type +
                                               "\" is not supported (mlp, deepsets, xgboost)");
    }
    info_.kind = type;
    info_.description = j.dump();
  }

  void load_torchscript() {
    try {
      module_ = torch::jit::load(opt_.model_path, torch::kCPU);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kInvalidArgument,
                  opt_.model_path + ": not a TorchScript model (save one with "
                                    "torch.jit.script(model).save(path)): " + first_line(e.what()));
    }
    info_.kind = "torchscript";
    // Modules scripted in Python always have it; one defined in C++ may not (train() needs it).
    if (!module_.hasattr("training")) module_.register_attribute("training", c10::BoolType::get(), true);
  }

  void check_shapes() {
    auto method = module_.find_method("forward");
    if (!method)
      throw Error(ErrorCode::kInvalidArgument, opt_.model_path + ": the model has no forward()");
    const size_t args = method->function().getSchema().arguments().size();  // self included
    if (args != 2 && args != 3)
      throw Error(ErrorCode::kInvalidArgument,
                  opt_.model_path + ": forward() must take (x) or (x, mask), it takes " +
                      std::to_string(args - 1) + " arguments");
    info_.takes_mask = args == 3;
    module_.train(false);
    torch::NoGradGuard ng;
    at::Tensor z;
    try {
      auto x = torch::zeros({2, opt_.width}, torch::kFloat32).to(device_);
      z = forward(x, torch::ones({2, opt_.width}, torch::kFloat32).to(device_));
    } catch (const std::exception& e) {
      std::string why = e.what();
      if (why.rfind(opt_.model_path + ": ", 0) == 0) why = why.substr(opt_.model_path.size() + 2);
      throw Error(ErrorCode::kInvalidArgument,
                  opt_.model_path + ": the model does not take inputs of width " +
                      std::to_string(opt_.width) + " (the specs' features): " + first_line(why));
    }
    if (z.dim() != 2 || z.size(0) != 2 || z.size(1) < 1)
      throw Error(ErrorCode::kInvalidArgument,
                  opt_.model_path + ": forward() must return [rows] or [rows, classes] logits");
    info_.outputs = z.size(1);
    if (info_.outputs == 1 && opt_.classes > 2)
      throw Error(ErrorCode::kInvalidArgument,
                  opt_.model_path + ": the labels have " + std::to_string(opt_.classes) +
                      " classes but the model outputs one logit (two classes)");
    if (info_.outputs > 1 && opt_.classes > info_.outputs)
      throw Error(ErrorCode::kInvalidArgument,
                  opt_.model_path + ": the labels have " + std::to_string(opt_.classes) +
                      " classes (0.." + std::to_string(opt_.classes - 1) + ") but the model outputs " +
                      std::to_string(info_.outputs));
  }

  void make_optimizer() {
    const std::string& o = opt_.optimizer;
    if (o == "adam") {
      optimizer_ = std::make_unique<torch::optim::Adam>(
          params_, torch::optim::AdamOptions(opt_.learning_rate).weight_decay(opt_.weight_decay));
    } else if (o == "adamw") {
      optimizer_ = std::make_unique<torch::optim::AdamW>(
          params_, torch::optim::AdamWOptions(opt_.learning_rate).weight_decay(opt_.weight_decay));
    } else if (o == "sgd") {
      optimizer_ = std::make_unique<torch::optim::SGD>(
          params_, torch::optim::SGDOptions(opt_.learning_rate).momentum(0.9).weight_decay(opt_.weight_decay));
    } else {
      throw Error(ErrorCode::kInvalidArgument, "unknown optimizer \"" + o + "\" (adam, adamw, sgd)");
    }
  }

  bool distributed() const { return opt_.collective && opt_.collective->size() > 1; }

  // Rank 0's parameters and buffers on every rank.
  void broadcast_state() {
    torch::NoGradGuard ng;
    for (auto& t : state()) {
      at::Tensor c = t.detach().cpu().contiguous().clone();
      opt_.collective->broadcast(std::span<std::byte>(static_cast<std::byte*>(c.data_ptr()), c.nbytes()));
      t.copy_(c);
    }
  }

  // The gradients of one step: summed over the ranks (one all-reduce of every gradient and a
  // count) and divided by the number of ranks that had a batch, which is returned. A rank
  // without a batch (`contributes` false) adds zeros.
  int64_t average_gradients(bool contributes) {
    torch::NoGradGuard ng;
    std::vector<at::Tensor> parts;
    parts.reserve(params_.size() + 1);
    for (auto& p : params_) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      parts.push_back(p.grad().detach().to(torch::kCPU, torch::kFloat32).reshape({-1}));
    }
    parts.push_back(torch::ones({1}, torch::kFloat32));
    at::Tensor flat = torch::cat(parts);
    if (!contributes) flat.zero_();
    float* data = flat.data_ptr<float>();
    const int64_t n = flat.numel();
    opt_.collective->allreduce_sum(std::span<float>(data, static_cast<size_t>(n)));
    const auto ranks = static_cast<int64_t>(std::lround(data[n - 1]));
    if (ranks == 0) return 0;
    int64_t at = 0;
    for (auto& p : params_) {
      p.mutable_grad().copy_(flat.narrow(0, at, p.numel()).view(p.sizes()) / static_cast<float>(ranks));
      at += p.numel();
    }
    return ranks;
  }

  // Buffers (batch-norm running statistics) seen by each rank's own rows: their mean over the
  // ranks; buffers that are not floating point (counters) are rank 0's.
  void average_buffers() {
    torch::NoGradGuard ng;
    const double ranks = opt_.collective->size();
    for (auto b : module_.buffers()) {
      at::Tensor c = b.detach().cpu().contiguous().clone();
      if (c.is_floating_point()) {
        c = c.to(torch::kFloat64);
        opt_.collective->allreduce_sum(std::span<double>(c.data_ptr<double>(), static_cast<size_t>(c.numel())));
        c /= ranks;
      } else {
        opt_.collective->broadcast(std::span<std::byte>(static_cast<std::byte*>(c.data_ptr()), c.nbytes()));
      }
      b.copy_(c);
    }
  }

  // Every rank must now hold the same weights: a cheap fingerprint of them compared (a difference
  // is a bug of ours, not a user's error).
  void check_ranks_agree() {
    torch::NoGradGuard ng;
    float fingerprint[2] = {0, 0};
    for (const auto& t : state()) {
      at::Tensor d = t.detach().cpu().to(torch::kFloat64);
      fingerprint[0] += static_cast<float>(d.sum().item<double>());
      fingerprint[1] += static_cast<float>(d.square().sum().item<double>());
    }
    const auto all = opt_.collective->allgather(fingerprint);
    for (size_t r = 1; r < all.size(); ++r)
      if (all[r] != all[0])
        throw Error(ErrorCode::kInternal, "distributed: the ranks' models differ after a pass (rank " +
                                              std::to_string(r) + " against rank 0)");
  }

  // Parameters then buffers, in the module's order: what checkpoints and best snapshots hold.
  std::vector<at::Tensor> state() const {
    std::vector<at::Tensor> s;
    for (const auto& p : module_.parameters()) s.push_back(p);
    for (const auto& b : module_.buffers()) s.push_back(b);
    return s;
  }

  std::tuple<at::Tensor, at::Tensor, at::Tensor> tensors(const Rows& r, int64_t begin, int64_t n) {
    auto x = torch::from_blob(const_cast<float*>(r.x + begin * r.width), {n, r.width}, torch::kFloat32);
    auto y = torch::from_blob(const_cast<int64_t*>(r.labels + begin), {n}, torch::kInt64);
    at::Tensor mask;
    if (info_.takes_mask && r.mask)
      mask = torch::from_blob(const_cast<uint8_t*>(r.mask + begin * r.width), {n, r.width}, torch::kUInt8)
                 .to(device_, torch::kFloat32);
    if (device_.is_cpu()) return {x, mask, y};
    return {x.to(device_), mask, y.to(device_)};
  }

  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) {
    std::vector<c10::IValue> in{x};
    if (info_.takes_mask) in.emplace_back(mask.defined() ? mask : torch::ones_like(x));
    at::Tensor z;
    try {
      c10::IValue v = module_.forward(in);
      if (!v.isTensor())
        throw Error(ErrorCode::kInvalidArgument,
                    opt_.model_path + ": forward() must return a tensor of logits, it returned " +
                        v.tagKind());
      z = v.toTensor();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kInvalidArgument, opt_.model_path + ": forward() failed: " + first_line(e.what()));
    }
    if (z.dim() == 1) z = z.unsqueeze(1);
    return z;
  }

  // Per-row losses and weights.
  std::pair<at::Tensor, at::Tensor> losses(const at::Tensor& z, const at::Tensor& y) {
    at::Tensor w = weight_table_.index_select(0, y);
    at::Tensor l;
    if (info_.outputs == 1) {
      l = at::binary_cross_entropy_with_logits(z.squeeze(1), y.to(torch::kFloat32), {}, {},
                                               at::Reduction::None);
    } else {
      l = -torch::log_softmax(z, 1).gather(1, y.unsqueeze(1)).squeeze(1);
    }
    return {l, w};
  }

  // Loss, weight and correct decisions summed on the device, read back once.
  struct Sums {
    at::Tensor loss, weight, correct;
    explicit Sums(torch::Device d)
        : loss(torch::zeros({}, torch::TensorOptions(torch::kFloat64).device(d))),
          weight(torch::zeros({}, torch::TensorOptions(torch::kFloat64).device(d))),
          correct(torch::zeros({}, torch::TensorOptions(torch::kInt64).device(d))) {}
    void add(const at::Tensor& z, const at::Tensor& y, const at::Tensor& l, const at::Tensor& w, int64_t outputs) {
      loss.add_((l.detach() * w).sum());
      weight.add_(w.sum());
      at::Tensor decision = outputs == 1 ? (z.detach().squeeze(1) > 0).to(torch::kInt64) : z.detach().argmax(1);
      correct.add_(decision.eq(y).sum());
    }
    LossSum total(int64_t rows) const {
      LossSum s;
      s.loss = loss.item<double>();
      s.weight = weight.item<double>();
      s.rows = rows;
      s.correct = correct.item<int64_t>();
      return s;
    }
  };

  TrainerOptions opt_;
  ModelInfo info_;
  torch::Device device_{torch::kCPU};
  torch::jit::Module module_;
  std::vector<at::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<double> weights_;
  at::Tensor weight_table_;
  std::vector<at::Tensor> best_;
};

}  // namespace

std::unique_ptr<Trainer> make_torch_trainer(const TrainerOptions& options) {
  try {
    return std::make_unique<TorchTrainer>(options);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // c10::Error and the interpreter's errors
    throw Error(ErrorCode::kInvalidArgument, options.model_path + ": " + first_line(e.what()));
  }
}

}  // namespace m4h::train
