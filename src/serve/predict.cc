#include "serve/predict.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "root/branch_reader.h"
#include "root/file_writer.h"
#include "root/tree_writer.h"
#include "serve/model.h"

namespace m4h::serve {

namespace {

namespace fs = std::filesystem;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<root::BranchRequest> requests_for(const root::Tree& tree, const std::vector<std::string>& branches) {
  std::vector<root::BranchRequest> out;
  for (const std::string& name : branches) {
    const root::BranchInfo* b = tree.find(name);
    if (!b) throw Error(ErrorCode::kNotFound, "tree '" + tree.name() + "' has no branch '" + name + "' (the model reads it)" + tree.similar_names(name));
    out.push_back({b, root::interpret(tree, *b)});
  }
  return out;
}

std::vector<data::Array> to_arrays(const std::vector<root::Column>& columns, const std::vector<std::string>& names) {
  std::vector<data::Array> out;
  out.reserve(columns.size());
  for (size_t k = 0; k < columns.size(); ++k) out.push_back(data::to_array(columns[k], names[k]));
  return out;
}

// "runs/mlp/" -> "mlp": the model's name in messages.
std::string folder_name(const std::string& folder) {
  fs::path p = fs::path(folder).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

// Scores a chunk of events given as one array per branch: rows x outputs, NaN for rejected events.
class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual const std::vector<std::string>& branches() const = 0;
  virtual int64_t outputs() const = 0;
  virtual std::vector<float> score(const std::vector<data::Array>& arrays, int64_t rows) = 0;
};

class LocalScorer : public Scorer {
 public:
  explicit LocalScorer(const std::string& folder) : model_(load_bundle(folder, folder_name(folder), "1")) {}
  const std::vector<std::string>& branches() const override { return model_->metadata().branches; }
  int64_t outputs() const override { return std::max<int64_t>(1, model_->outputs()); }
  std::vector<float> score(const std::vector<data::Array>& arrays, int64_t rows) override {
    // The Model's raw-event interface, so rows are normalised exactly as the server does.
    std::vector<RawEvent> events(static_cast<size_t>(rows));
    const auto& names = branches();
    for (size_t k = 0; k < arrays.size(); ++k) {
      const data::Array& a = arrays[k];
      for (int64_t r = 0; r < rows; ++r) {
        auto& v = events[static_cast<size_t>(r)][names[k]];
        if (a.jagged()) {
          v.assign(a.values.begin() + a.offsets[r], a.values.begin() + a.offsets[r + 1]);
        } else {
          v.assign(1, a.values[r]);
        }
      }
    }
    std::vector<int64_t> kept;
    const InputBatch batch = model_->normalise(events, &kept);
    const int64_t k = outputs();
    std::vector<float> out(static_cast<size_t>(rows * k), kNaN);
    if (batch.rows == 0) return out;
    const std::vector<float> scores = model_->infer(batch);
    for (size_t r = 0; r < kept.size(); ++r)
      std::copy_n(scores.begin() + static_cast<int64_t>(r) * k, k, out.begin() + kept[r] * k);
    return out;
  }

 private:
  std::shared_ptr<const Model> model_;
};

class RemoteScorer : public Scorer {
 public:
  RemoteScorer(const std::string& url, double timeout_s)
      : client_(split_model_url(url).first, timeout_s), path_(split_model_url(url).second), model_(client_.model(path_)) {}
  const std::vector<std::string>& branches() const override { return model_.branches; }
  int64_t outputs() const override { return model_.outputs; }
  std::vector<float> score(const std::vector<data::Array>& arrays, int64_t rows) override {
    if (rows == 0) return {};
    Scores s = client_.infer(path_, model_.branches, arrays);
    if (s.outputs != model_.outputs)
      throw Error(ErrorCode::kIo, "server answered " + std::to_string(s.outputs) + " scores per event, its metadata says " +
                                      std::to_string(model_.outputs));
    return std::move(s.values);
  }

 private:
  Client client_;
  std::string path_;
  RemoteModel model_;
};

bool is_url(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

}  // namespace

std::vector<data::Array> read_arrays(const root::Tree& tree, const std::vector<std::string>& branches, int64_t start,
                                     int64_t stop, ThreadPool* pool) {
  const auto requests = requests_for(tree, branches);
  return to_arrays(root::read_branches(tree, requests, start, stop, pool), branches);
}

Scores score_remote(Client& client, const std::string& model_path, const root::Tree& tree, int64_t entries,
                    bool features) {
  const RemoteModel m = client.model(model_path);
  const std::vector<std::string>& names = features ? m.feature_names : m.branches;
  if (names.empty())
    throw Error(ErrorCode::kInvalidArgument, "model '" + m.name + "' lists no " + (features ? "feature columns" : "raw branches"));
  const int64_t stop = entries < 0 ? tree.entries() : std::min(entries, tree.entries());
  if (stop == 0) return Scores{0, m.outputs, {}};
  return client.infer(model_path, names, read_arrays(tree, names, 0, stop), features);
}

PredictResult predict(const std::vector<PredictInput>& inputs, const PredictOptions& o) {
  if (inputs.empty()) throw Error(ErrorCode::kInvalidArgument, "predict: no input file");
  if (o.output.empty()) throw Error(ErrorCode::kInvalidArgument, "predict: an output file (-o) is required");
  if (o.branch_name.empty()) throw Error(ErrorCode::kInvalidArgument, "predict: --branch-name is empty");
  if (o.chunk_size <= 0) throw Error(ErrorCode::kInvalidArgument, "predict: the chunk size must be > 0");
  if (o.threads < 0) throw Error(ErrorCode::kInvalidArgument, "predict: --threads must be >= 0");
  std::unique_ptr<Scorer> scorer;
  if (is_url(o.model)) {
    scorer = std::make_unique<RemoteScorer>(o.model, o.timeout_s);
  } else {
    scorer = with_context(o.model, [&] { return std::make_unique<LocalScorer>(o.model); });
  }
  const std::vector<std::string>& branches = scorer->branches();
  if (branches.empty()) throw Error(ErrorCode::kInvalidArgument, "predict: " + o.model + ": the model lists no raw branches");
  const int64_t k = scorer->outputs();
  // Check every input before writing anything.
  std::vector<std::vector<root::BranchRequest>> requests;
  for (const PredictInput& in : inputs)
    requests.push_back(with_context(in.file, [&] { return requests_for(*in.tree, branches); }));

  PredictResult result;
  result.tree = inputs[0].tree->name();
  result.outputs = k;
  std::vector<root::BranchSpec> specs;
  for (int64_t j = 0; j < k; ++j)
    specs.push_back({k == 1 ? o.branch_name : o.branch_name + "_" + std::to_string(j), root::DType::kFloat32,
                     root::BranchSpec::Kind::kScalar, {}, ""});
  auto pool = ThreadPool::for_total_threads(static_cast<std::size_t>(o.threads));
  root::FileWriter file(o.output, root::CompressionSettings{});
  root::TreeWriter tree(file, result.tree, "scores of " + o.model + " (mlaas4hep predict)", specs);
  std::vector<root::Column> out(static_cast<size_t>(k));
  for (size_t f = 0; f < inputs.size(); ++f) {
    with_context(inputs[f].file, [&] {
      root::ChunkIterator chunks(*inputs[f].tree, requests[f], o.chunk_size, 0, inputs[f].tree->entries(), pool.get());
      int64_t start = 0, stop = 0;
      std::vector<root::Column> columns;
      while (chunks.next(start, stop, columns)) {
        const int64_t rows = stop - start;
        const std::vector<float> scores = scorer->score(to_arrays(columns, branches), rows);
        if (static_cast<int64_t>(scores.size()) != rows * k)
          throw Error(ErrorCode::kInternal, "predict: " + std::to_string(scores.size()) + " scores for " +
                                                std::to_string(rows) + " events");
        for (int64_t j = 0; j < k; ++j) {
          root::Column& c = out[static_cast<size_t>(j)];
          c.dtype = root::DType::kFloat32;
          c.entries = rows;
          resize_bytes(c.values, static_cast<size_t>(rows) * sizeof(float));
          float* dst = reinterpret_cast<float*>(c.values.data());
          for (int64_t r = 0; r < rows; ++r) {
            dst[r] = scores[static_cast<size_t>(r * k + j)];
            if (j == 0 && std::isnan(dst[r])) ++result.rejected;
          }
        }
        tree.append(out);
        result.entries += rows;
      }
    });
  }
  tree.close();
  file.close();
  return result;
}

}  // namespace m4h::serve
