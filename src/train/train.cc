#include "train/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <future>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/huge_pages.h"
#include "core/thread_priority.h"
#include "core/text_file.h"
#include "core/thread_pool.h"
#include "data/block_reader.h"
#include "data/producer.h"
#include "train/distributed.h"
#include "train/metrics.h"
#include "train/plots.h"
#include "train/stream_batcher.h"
#include "train/trainer.h"

namespace m4h::train {

namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How far below the optimiser the data threads run: at nice 10 the scheduler gives a thread at
// nice 0 about 90% of a core they compete for.
constexpr int kDataThreadNice = 10;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Rows of one split gathered from chunks (validation and test are kept for evaluation).
struct RowStore {
  int64_t width = 0;
  bool keep_mask = false;
  std::vector<float> x;
  std::vector<uint8_t> mask;
  std::vector<int64_t> labels;
  int64_t rows() const { return static_cast<int64_t>(labels.size()); }
  void clear() {
    x.clear();
    mask.clear();
    labels.clear();
  }
  // Room for `n` rows at once: growing by copies would touch (and page-fault) twice the memory.
  void reserve(int64_t n) {
    reserve_huge(x, static_cast<size_t>(n * width));
    if (keep_mask) reserve_huge(mask, static_cast<size_t>(n * width));
    labels.reserve(static_cast<size_t>(n));
  }
  void add(const data::Chunk& c, int64_t r) {
    x.insert(x.end(), c.features.begin() + r * c.width, c.features.begin() + (r + 1) * c.width);
    if (keep_mask) mask.insert(mask.end(), c.mask.begin() + r * c.width, c.mask.begin() + (r + 1) * c.width);
    labels.push_back(c.labels[r]);
  }
  Rows view() const {
    return Rows{x.data(), keep_mask ? mask.data() : nullptr, labels.data(), rows(), width};
  }
};

// One chunk as the training loop takes it: the chunk, its training rows (split 0) and those
// rows copied in the order of their first epoch, either into `own` or into the epoch cache.
struct Prepared {
  data::Chunk chunk;
  int64_t index = 0;    // the chunk's number in the pass
  int64_t rows = 0;     // its events, every split
  bool ready = false;   // false: the stream has ended
  bool trains = false;  // the optimiser gets these rows (`training` shows them)
  std::vector<int64_t> train_rows;
  RowBuffers own;
  Rows training;
};

// A chunk's rows as the trainer takes them (the mask when `with_mask`).
Rows chunk_rows(const data::Chunk& c, bool with_mask) {
  return Rows{c.features.data(), with_mask ? c.mask.data() : nullptr, c.labels.data(), c.rows, c.width};
}

// Rows `order` of `from`, copied in that order into rows [first, first + n) of `to` (which grows
// to hold them; rows before `first` are kept). The mask goes along when `from` has one.
void copy_rows(const Rows& from, const std::vector<int64_t>& order, RowBuffers& to, size_t first = 0) {
  const size_t n = order.size();
  const size_t width = static_cast<size_t>(from.width);
  const bool with_mask = from.mask != nullptr;
  grow_huge(to.x, (first + n) * width);
  grow_huge(to.y, first + n);
  if (with_mask) grow_huge(to.mask, (first + n) * width);
  for (size_t i = 0; i < n; ++i) {
    const auto r = static_cast<size_t>(order[i]);
    std::copy_n(from.x + r * width, width, to.x.data() + (first + i) * width);
    if (with_mask) std::copy_n(from.mask + r * width, width, to.mask.data() + (first + i) * width);
    to.y[first + i] = from.labels[r];
  }
}

// The mask as forward(x, mask) gets it: 1 = a real value, whatever params' convention.
void to_valid_mask(std::vector<uint8_t>& m, data::MaskConvention conv) {
  if (conv == data::MaskConvention::kPadded)
    for (auto& v : m) v = v ? 0 : 1;
}

// A reproducible row order for (seed, epoch, chunk).
std::vector<int64_t> shuffled(std::vector<int64_t> rows, uint64_t seed, int64_t epoch, int64_t chunk) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(epoch), static_cast<uint32_t>(chunk), 0x6d346875u};
  std::mt19937_64 rng(seq);
  // Fisher-Yates by hand: std::shuffle's draws are implementation-defined.
  for (size_t i = rows.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(rows[i - 1], rows[j]);
  }
  return rows;
}

Json figures_json(const Figures& f) {
  return Json{{"auc", f.auc},
              {"accuracy", f.accuracy},
              {"loss", f.loss},
              {"signal_efficiency_at_background_1pct", f.tpr_at_fpr_1pct},
              {"signal_efficiency_at_background_10pct", f.tpr_at_fpr_10pct}};
}

Json roc_json(std::span<const RocPoint> curve) {
  Json a = Json::array();
  for (const auto& p : thin_curve(curve, 201)) a.push_back(Json::array({p.fpr, p.tpr}));
  return a;
}

struct CheckpointState {
  int64_t epochs_done = 0;  // standard mode: epochs; reference mode: chunks
  double best_loss = INFINITY;
  int64_t best_epoch = 0;
  int64_t bad_epochs = 0;
  bool finished = false;
  std::vector<EpochRecord> history;
};

Json state_json(const CheckpointState& s, const std::string& mode, int64_t width, int64_t classes) {
  Json h = Json::array();
  for (const auto& e : s.history)
    h.push_back(Json{{"epoch", e.epoch},
                     {"train_loss", e.train_loss},
                     {"train_accuracy", e.train_accuracy},
                     {"validation_loss", e.validation_loss},
                     {"validation_accuracy", e.validation_accuracy},
                     {"train_rows", e.train_rows},
                     {"validation_rows", e.validation_rows}});
  return Json{{"mode", mode},
              {"width", width},
              {"classes", classes},
              {"done", s.epochs_done},
              {"best_loss", std::isfinite(s.best_loss) ? Json(s.best_loss) : Json(nullptr)},
              {"best_epoch", s.best_epoch},
              {"bad_epochs", s.bad_epochs},
              {"finished", s.finished},
              {"history", h}};
}

CheckpointState parse_state(const std::string& path, const std::string& mode, int64_t width,
                            int64_t classes) {
  CheckpointState s;
  try {
    Json j = Json::parse(read_text_file(path));
    if (j.at("mode") != mode || j.at("width") != width || j.at("classes") != classes)
      throw Error(ErrorCode::kInvalidArgument,
                  path + ": the checkpoint is from another run (mode, width or classes differ); "
                         "remove it or train without --resume");
    s.epochs_done = j.at("done").get<int64_t>();
    s.best_loss = j.at("best_loss").is_null() ? INFINITY : j.at("best_loss").get<double>();
    s.best_epoch = j.at("best_epoch").get<int64_t>();
    s.bad_epochs = j.at("bad_epochs").get<int64_t>();
    s.finished = j.at("finished").get<bool>();
    for (const auto& e : j.at("history")) {
      EpochRecord r;
      r.epoch = e.at("epoch").get<int64_t>();
      r.train_loss = e.at("train_loss").get<double>();
      r.train_accuracy = e.at("train_accuracy").get<double>();
      r.validation_loss = e.at("validation_loss").get<double>();
      r.validation_accuracy = e.at("validation_accuracy").get<double>();
      r.train_rows = e.at("train_rows").get<int64_t>();
      r.validation_rows = e.at("validation_rows").get<int64_t>();
      s.history.push_back(r);
    }
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::kCorrupt, path + ": malformed checkpoint state: " + e.what());
  }
  return s;
}

// A loss sum over every rank's rows.
LossSum over_ranks(Collective& comm, LossSum s) {
  if (comm.size() == 1) return s;
  double v[4] = {s.loss, s.weight, static_cast<double>(s.rows), static_cast<double>(s.correct)};
  comm.allreduce_sum(v);
  return LossSum{v[0], v[1], std::llround(v[2]), std::llround(v[3])};
}

// Every rank's values one after the other, in rank order.
std::vector<float> gathered(Collective& comm, std::vector<float> mine) {
  if (comm.size() == 1) return mine;
  std::vector<float> all;
  for (auto& part : comm.allgather(mine)) all.insert(all.end(), part.begin(), part.end());
  return all;
}

// Binary scores (P(label 1)) from predict()'s output.
std::vector<float> positive_scores(const std::vector<float>& scores, int64_t outputs, int64_t rows) {
  if (outputs == 1) return scores;
  std::vector<float> s(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) s[r] = scores[r * outputs + 1];
  return s;
}

// Per class (0 and 1), the histogram of `scores` in `bins` bins over [lo, hi], as metrics.json
// writes it.
Json class_histograms(const std::vector<float>& scores, const std::vector<uint8_t>& positive, int bins, int lo,
                      int hi) {
  std::vector<float> s0, s1;
  for (size_t i = 0; i < positive.size(); ++i) (positive[i] ? s1 : s0).push_back(scores[i]);
  return Json{{"bins", bins}, {"range", Json::array({lo, hi})},
              {"0", histogram(s0, bins, lo, hi)}, {"1", histogram(s1, bins, lo, hi)}};
}

// The cut baseline's columns: the named features, else the flat (event-level) features, else
// each jagged key's first value (the leading object's).
std::vector<int64_t> cut_variables(const data::FeatureLayout& layout, const std::vector<std::string>& chosen,
                                   const std::string& origin) {
  std::vector<int64_t> columns;
  if (chosen.empty()) {
    const size_t keys = layout.fkeys.empty() ? layout.jkeys.size() : layout.fkeys.size();
    for (size_t k = 0; k < keys; ++k) columns.push_back(layout.column[k]);
    return columns;
  }
  const std::vector<std::string> names = layout.names();
  for (const std::string& name : chosen) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      std::string known;
      for (size_t k = 0; k < names.size() && k < 12; ++k) known += (k ? ", " : "") + names[k];
      if (names.size() > 12) known += ", ...";
      throw Error(ErrorCode::kInvalidArgument, origin + ": \"baseline_features\": no feature named \"" + name +
                                                   "\" (the features: " + known + ")");
    }
    columns.push_back(it - names.begin());
  }
  return columns;
}

// A box's cuts in the features' own units, and as one line ("HT >= 412.5 and nBJet < 3.5").
Json box_cuts(const CutBaseline& baseline, const CutBaseline::Box& box, const data::FeatureLayout& layout,
              const std::vector<std::string>& names, std::string& rule) {
  Json cuts = Json::array();
  rule.clear();
  for (size_t v = 0; v < baseline.columns().size(); ++v) {
    if (!box.cuts(v)) continue;
    const int64_t column = baseline.columns()[v];
    size_t feat = 0;  // the key whose columns hold it
    while (feat + 1 < layout.column.size() && layout.column[feat + 1] <= column) ++feat;
    const double lo = layout.minv[feat], hi = layout.maxv[feat];
    auto raw = [&](double normalised) { return hi > lo ? lo + normalised * (hi - lo) : normalised; };
    const std::string& name = names[static_cast<size_t>(column)];
    Json c{{"feature", name}, {"min", nullptr}, {"max", nullptr}};
    auto term = [&](const char* op, double value) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6g", value);
      rule += (rule.empty() ? "" : " and ") + name + " " + op + " " + buf;
    };
    if (box.lo[v] > 0) {
      const double edge = static_cast<double>(box.lo[v]) / CutBaseline::kBins;
      c["min"] = raw(edge);
      c["min_normalised"] = edge;
      term(">=", raw(edge));
    }
    if (box.hi[v] < CutBaseline::kBins - 1) {
      const double edge = static_cast<double>(box.hi[v] + 1) / CutBaseline::kBins;
      c["max"] = raw(edge);
      c["max_normalised"] = edge;
      term("<", raw(edge));
    }
    cuts.push_back(c);
  }
  if (rule.empty()) rule = "every event";
  return cuts;
}

}  // namespace

TrainSettings parse_train_settings(const std::string& text, const std::string& origin) {
  TrainSettings s;
  if (text.empty()) return s;
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::kInvalidArgument, origin + ": malformed JSON: " + e.what());
  }
  auto bad = [&](const std::string& what) { return Error(ErrorCode::kInvalidArgument, origin + ": " + what); };
  auto number = [&](const char* key, double& out, double lo, double hi) {
    if (!j.contains(key)) return;
    if (!j[key].is_number() || j[key].get<double>() < lo || j[key].get<double>() > hi)
      throw bad(std::string("\"") + key + "\" must be a number in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
    out = j[key].get<double>();
  };
  auto integer = [&](const char* key, int64_t& out, int64_t lo) {
    if (!j.contains(key)) return;
    if (!j[key].is_number_integer() || j[key].get<int64_t>() < lo)
      throw bad(std::string("\"") + key + "\" must be an integer >= " + std::to_string(lo));
    out = j[key].get<int64_t>();
  };
  if (j.contains("mode")) {
    if (!j["mode"].is_string() || (j["mode"] != "standard" && j["mode"] != "reference"))
      throw bad("\"mode\" must be \"standard\" or \"reference\"");
    s.mode = j["mode"].get<std::string>();
  }
  if (j.contains("optimizer")) {
    if (!j["optimizer"].is_string()) throw bad("\"optimizer\" must be a string");
    s.optimizer = j["optimizer"].get<std::string>();
    if (s.optimizer != "adam" && s.optimizer != "adamw" && s.optimizer != "sgd")
      throw bad("unknown optimizer \"" + s.optimizer + "\" (adam, adamw, sgd)");
  }
  number("learning_rate", s.learning_rate, 1e-12, 10);
  if (j.contains("lr")) number("lr", s.learning_rate, 1e-12, 10);
  number("weight_decay", s.weight_decay, 0, 1);
  number("min_delta", s.min_delta, 0, 1e9);
  integer("patience", s.patience, 0);
  integer("torch_threads", s.torch_threads, 1);
  integer("cache_mb", s.cache_mb, 0);
  if (j.contains("baseline_features")) {
    const Json& f = j["baseline_features"];
    if (!f.is_array() || f.empty()) throw bad("\"baseline_features\" must be a non-empty list of feature names");
    for (const Json& v : f) {
      if (!v.is_string()) throw bad("\"baseline_features\" must be a non-empty list of feature names");
      s.baseline_features.push_back(v.get<std::string>());
    }
  }
  if (j.contains("class_weights")) {
    const Json& w = j["class_weights"];
    if (w.is_string() && w == "balanced") {
      s.balanced = true;
    } else if (w.is_array()) {
      for (const Json& v : w) {
        if (!v.is_number() || v.get<double>() < 0) throw bad("\"class_weights\" must hold numbers >= 0");
        s.class_weights.push_back(v.get<double>());
      }
    } else {
      throw bad("\"class_weights\" must be a list of numbers or \"balanced\"");
    }
  }
  return s;
}

TrainResult train_model(const TrainRequest& req, const std::function<void(const TrainProgress&)>& progress) {
  const auto t_start = Clock::now();
  if (req.output.empty()) throw Error(ErrorCode::kInvalidArgument, "--fout: an output folder is needed");
  if (!fs::exists(req.model)) throw Error(ErrorCode::kNotFound, req.model + ": no such model file");
  // Refused before the ranks meet, so that every rank stops alike.
  if (req.distributed && describes_xgboost(req.model))
    throw Error(ErrorCode::kUnsupported,
                "--distributed: XGBoost models train in one process; drop --distributed (or train a "
                "neural network)");
  if (req.distributed && req.resume)
    throw Error(ErrorCode::kUnsupported,
                "--resume with --distributed: a distributed run cannot be resumed; resume its "
                "checkpoint in one process (without --distributed) or start again");
  const Launch launch = req.distributed ? launch_from_environment() : Launch{};
  data::Dataset listed;  // every file and label
  std::vector<std::vector<size_t>> shards;
  if (launch.size > 1) {
    // Every rank checks the lists alike and works out which files each rank reads, before any
    // waits for the others.
    listed = data::make_dataset(data::read_list_arg(req.data.files), data::read_labels_arg(req.data.labels),
                                req.data.params.empty() ? data::Params{} : data::load_params(req.data.params));
    shards = shard_files(listed.labels, launch.size);
  }
  std::unique_ptr<Collective> comm = req.distributed
                                         ? Collective::connect(launch, {req.rendezvous, req.rendezvous_timeout})
                                         : std::make_unique<Collective>();
  const bool leader = comm->rank() == 0;  // the rank that writes into the output folder
  const bool sharded = comm->size() > 1;
  std::error_code ec;
  if (leader) {
    fs::create_directories(req.output, ec);
    if (ec) throw Error(ErrorCode::kIo, req.output + ": cannot create the output folder: " + ec.message());
  }
  const std::string out = req.output;

  data::PipelineRequest dreq = req.data;
  if (dreq.specs_cache.empty()) dreq.specs_cache = out + "/specs.json";
  const std::string params_text = dreq.params.empty() ? std::string() : read_text_file(dreq.params);
  const TrainSettings settings = parse_train_settings(params_text, dreq.params);

  TrainProgress pr;
  pr.phase = "specs";
  auto specs_progress = [&](int64_t done, int64_t total) {
    if (!progress) return;
    pr.events = done;
    pr.total = total;
    pr.seconds = seconds_since(t_start);
    progress(pr);
  };
  std::unique_ptr<data::Pipeline> p;      // the files this process reads
  std::unique_ptr<data::Pipeline> whole;  // distributed, rank 0: every file (specs, bundle)
  if (!sharded) {
    p = data::prepare_pipeline(dreq, specs_progress);
    listed.files = p->dataset.files;
    listed.labels = p->dataset.labels;
  } else {
    // Rank 0 alone reads every file for the specs, which the others take as they are: the same
    // normalisation everywhere.
    std::string specs_text;
    if (leader) {
      whole = data::prepare_pipeline(dreq, specs_progress);
      specs_text = whole->specs.to_json();
    }
    comm->broadcast(specs_text);
    p = data::prepare_pipeline_part(dreq, data::Specs::from_json(specs_text, "rank 0's specs"),
                                    shards[static_cast<size_t>(comm->rank())]);
  }
  data::Params& prm = p->dataset.params;
  if (req.threads >= 0) prm.threads = req.threads;

  // Classes: 0 .. the largest label.
  int64_t classes = 0;
  for (int64_t l : listed.labels) {
    if (l < 0) throw Error(ErrorCode::kInvalidArgument, "labels: class " + std::to_string(l) + " is negative");
    classes = std::max(classes, l + 1);
  }
  classes = std::max<int64_t>(classes, 2);
  const int64_t width = p->specs.width();
  const data::FeatureLayout layout = data::FeatureLayout::from_specs(p->specs, prm);
  const std::vector<int64_t> baseline_columns = cut_variables(layout, settings.baseline_features, dreq.params);

  std::vector<int64_t> events;
  {
    auto pool = ThreadPool::for_total_threads(static_cast<std::size_t>(prm.threads));
    events = data::events_after_cuts(p->files, p->plan, p->specs, p->preproc, pool.get());
  }
  if (sharded && prm.nevts > 0) {
    // "nevts" is for the whole run: each rank takes its files' part of it.
    int64_t counts[2] = {std::accumulate(events.begin(), events.end(), int64_t{0}), 0};
    counts[1] = counts[0];
    comm->allreduce_sum(std::span<int64_t>(counts + 1, 1));
    prm.nevts = std::max<int64_t>(
        1, data::round_half_even(static_cast<double>(prm.nevts) * static_cast<double>(counts[0]) /
                                 static_cast<double>(std::max<int64_t>(1, counts[1]))));
  }

  TrainerOptions topt;
  topt.model_path = req.model;
  topt.width = width;
  topt.classes = classes;
  topt.optimizer = settings.optimizer;
  topt.learning_rate = settings.learning_rate;
  topt.weight_decay = settings.weight_decay;
  topt.seed = prm.seed;
  topt.device = req.device;
  topt.threads = settings.torch_threads;
  topt.class_weights = settings.class_weights;
  topt.epochs = std::max<int64_t>(1, prm.epochs);
  topt.scratch_dir = out;
  topt.inputs = input_layout(layout);
  topt.collective = comm.get();
  if (!topt.class_weights.empty() && static_cast<int64_t>(topt.class_weights.size()) < classes)
    throw Error(ErrorCode::kInvalidArgument,
                "params: \"class_weights\" has " + std::to_string(topt.class_weights.size()) +
                    " weights for " + std::to_string(classes) + " classes");
  if (settings.balanced) {
    // Inverse class frequencies from the events after cuts of each class's files.
    std::vector<double> count(static_cast<size_t>(classes), 0);
    for (size_t f = 0; f < events.size(); ++f) count[p->files[f].label] += static_cast<double>(events[f]);
    comm->allreduce_sum(std::span<double>(count));
    const double total = std::accumulate(count.begin(), count.end(), 0.0);
    for (double c : count) topt.class_weights.push_back(c > 0 ? total / (classes * c) : 0.0);
  }
  auto trainer = make_trainer(topt);
  const ModelInfo& info = trainer->info();

  TrainResult res;
  res.classes = classes;
  const bool reference = settings.mode == "reference";
  if (reference && info.kind == "xgboost")
    throw Error(ErrorCode::kUnsupported,
                "params: \"mode\": \"reference\" fits neural networks chunk by chunk; XGBoost trains "
                "in the standard mode");
  const std::string ckpt = out + "/checkpoint.pt";
  const std::string ckpt_state = out + "/checkpoint.json";
  CheckpointState st;
  if (req.resume && fs::exists(ckpt) && fs::exists(ckpt_state)) {
    st = parse_state(ckpt_state, settings.mode, width, classes);
    trainer->load_checkpoint(ckpt);
    res.resumed = true;
  }

  RowStore val, test;
  val.width = test.width = width;
  val.keep_mask = test.keep_mask = info.takes_mask;
  CutBaseline baseline(baseline_columns, width);
  const bool binary = classes == 2;
  bool cached = false;  // val, test and the baseline hold a whole pass

  // Kept from pass to pass, so that later epochs reuse memory already paged in.
  std::vector<data::Chunk> spares;
  Prepared cur, ahead;
  // A pass's training rows, kept when they fit "cache_mb": later epochs train from memory
  // instead of reading the files again. Each epoch shuffles them exactly as the stream would
  // (the same permutation of the same rows), so the results do not change.
  // The first pass copies each chunk's rows into the cache in the order it trains on them, and
  // the optimiser takes them from there: one copy, not one for the cache and one to train on.
  // The rows are appended to one buffer per kind, reserved for the pass with huge pages (a
  // vector per chunk, a few MB, got 4 KiB pages, whose faults cost tens of µs each on the VMs
  // this runs on), and never reallocated while the pass runs: the optimiser may be reading the
  // previous chunk's rows from them.
  struct CachedChunk {
    int64_t index = 0, rows = 0;
    size_t first = 0, count = 0;  // its training rows in the cache buffers
    int64_t order_of_epoch = -1;  // stored shuffled as in this epoch (-1: in stream order)
  };
  std::vector<CachedChunk> train_cache;
  RowBuffers cache;
  int64_t cache_bytes = 0, cache_total = 0;
  bool caching = settings.cache_mb > 0 && !reference;  // still filling (or usable)
  bool cache_complete = false;                           // holds a whole pass

  // One pass over the stream. `train_epochs` passes over each chunk's training rows (0: none),
  // `skip_chunks` chunks read but not trained on (reference mode resumed).
  auto run_pass = [&](int64_t epoch_index, int64_t train_epochs, int64_t skip_chunks,
                      const std::function<void(int64_t chunk, const LossSum&)>& after_chunk) {
    const bool from_cache = cache_complete && cached && skip_chunks == 0;
    std::unique_ptr<data::BatchProducer> producer;
    // The data threads (the producer's, started by its constructor, and the one preparing the
    // next chunk) run below the optimiser's priority: they share its cores and would take them
    // from it, while they only need the time it leaves.
    if (!from_cache)
      run_at_lower_priority(kDataThreadNice, [&] {
        producer = std::make_unique<data::BatchProducer>(p->files, p->plan, p->specs, p->preproc, prm, events,
                                                         std::move(spares), info.takes_mask);
      });
    const int64_t total = from_cache ? cache_total : producer->planner().total();
    const bool fill = !cached;
    if (fill) {
      val.clear();
      test.clear();
      // The splits' expected sizes and a margin (a reservation is address space until written).
      auto expected = [&](double fraction) {
        return static_cast<int64_t>(static_cast<double>(total) * std::min(1.0, fraction + 0.02)) + 1024;
      };
      val.reserve(expected(prm.validation_fraction));
      test.reserve(expected(prm.test_fraction));
      baseline = CutBaseline(baseline_columns, width);
    }
    // The last epoch keeps no rows for later ones (a one-epoch run, or one resumed at its last
    // epoch, writes no cache at all).
    const bool later_epochs = epoch_index + 1 < std::max<int64_t>(1, prm.epochs);
    const bool fill_cache =
        !from_cache && caching && !cache_complete && skip_chunks == 0 && train_epochs > 0 && later_epochs;
    if (fill_cache) {
      train_cache.clear();
      cache.x.clear();
      cache.mask.clear();
      cache.y.clear();
      cache_bytes = 0;
      // The pass's expected training rows with a margin, at most what cache_mb holds (address
      // space until written).
      const double train_fraction = std::max(0.0, 1.0 - prm.validation_fraction - prm.test_fraction);
      const int64_t row_bytes = width * static_cast<int64_t>(sizeof(float) + (info.takes_mask ? 1 : 0)) +
                                static_cast<int64_t>(sizeof(int64_t));
      const auto rows = static_cast<size_t>(std::min<double>(
          static_cast<double>(total) * std::min(1.0, train_fraction + 0.02) + 1024,
          static_cast<double>(settings.cache_mb * (int64_t{1} << 20) / std::max<int64_t>(row_bytes, 1))));
      reserve_huge(cache.x, rows * static_cast<size_t>(width));
      reserve_huge(cache.y, rows);
      if (info.takes_mask) reserve_huge(cache.mask, rows * static_cast<size_t>(width));
    }
    size_t next_cached = 0;
    // Chunk k+1 is read and made ready (split, kept, shuffled, copied) on another thread while
    // the optimiser runs on chunk k: the training thread only trains. The work is the same as
    // on one thread, in the same order, so the results are too.
    auto prepare = [&](Prepared& pc) {
      if (from_cache) {
        pc.ready = next_cached < train_cache.size();
        if (!pc.ready) return;
        const CachedChunk& cc = train_cache[next_cached++];
        pc.index = cc.index;
        pc.rows = cc.rows;
        pc.trains = train_epochs > 0;
        std::vector<int64_t> stream_order(cc.count);
        std::iota(stream_order.begin(), stream_order.end(), int64_t{0});
        const auto order =
            info.shuffle ? shuffled(stream_order, prm.seed, epoch_index, cc.index) : stream_order;
        // Row k of the stream order is stored at stored_at[k]: the inverse of the order the cache
        // was written in.
        std::vector<int64_t> stored_at = stream_order;
        if (cc.order_of_epoch >= 0) {
          const auto written = shuffled(stream_order, prm.seed, cc.order_of_epoch, cc.index);
          for (size_t j = 0; j < written.size(); ++j) stored_at[static_cast<size_t>(written[j])] = static_cast<int64_t>(j);
        }
        std::vector<int64_t> from_cache_order(order.size());
        for (size_t i = 0; i < order.size(); ++i) from_cache_order[i] = stored_at[static_cast<size_t>(order[i])];
        copy_rows(cache.view(cc.first, cc.count, width, info.takes_mask), from_cache_order, pc.own);
        pc.training = pc.own.view(0, order.size(), width, info.takes_mask);
        return;
      }
      pc.ready = producer->next(pc.chunk);
      if (!pc.ready) return;
      data::Chunk& c = pc.chunk;
      pc.index = c.index;
      pc.rows = c.rows;
      if (info.takes_mask) to_valid_mask(c.mask, prm.mask);
      pc.train_rows.clear();
      for (int64_t r = 0; r < c.rows; ++r) {
        const uint8_t sp = c.split[r];
        if (sp == 0) {
          pc.train_rows.push_back(r);
        } else if (fill) {
          (sp == 1 ? val : test).add(c, r);
        }
      }
      pc.trains = c.index >= skip_chunks && train_epochs > 0;
      const size_t n = pc.train_rows.size();
      bool into_cache = false;
      if (fill_cache && caching) {
        const int64_t bytes = static_cast<int64_t>(n) *
                              (width * static_cast<int64_t>(sizeof(float) + (info.takes_mask ? 1 : 0)) +
                               static_cast<int64_t>(sizeof(int64_t)));
        const size_t end = cache.y.size() + n;
        into_cache = cache_bytes + bytes <= settings.cache_mb * (int64_t{1} << 20) && end <= cache.y.capacity() &&
                     end * static_cast<size_t>(width) <= cache.x.capacity() &&
                     (!info.takes_mask || end * static_cast<size_t>(width) <= cache.mask.capacity());
        // Does not fit: every epoch reads the files. The buffers go when the pass ends.
        if (!into_cache) caching = false;
        else cache_bytes += bytes;
      }
      if (!pc.trains && !into_cache && !(fill && binary)) return;
      // The first epoch's order (the baseline's histograms do not depend on the order).
      const bool shuffle = pc.trains && info.shuffle;
      const auto order = shuffle ? shuffled(pc.train_rows, prm.seed, epoch_index, c.index) : pc.train_rows;
      if (into_cache) {
        CachedChunk& cc = train_cache.emplace_back();
        cc.index = c.index;
        cc.rows = c.rows;
        cc.first = cache.y.size();
        cc.count = n;
        cc.order_of_epoch = shuffle ? epoch_index : -1;
        copy_rows(chunk_rows(c, info.takes_mask), order, cache, cc.first);  // within the reservation: no move
        pc.training = cache.view(cc.first, n, width, info.takes_mask);
      } else {
        copy_rows(chunk_rows(c, info.takes_mask), order, pc.own);
        pc.training = pc.own.view(0, n, width, info.takes_mask);
      }
      // In stream order, whatever the epoch's shuffle: past its row limit the baseline keeps the
      // same rows in a run resumed at a later epoch as in one that was not interrupted.
      if (fill && binary) baseline.add(c.features.data(), c.labels.data(), pc.train_rows);
    };

    LossSum sum;
    const auto t0 = Clock::now();
    int64_t seen = 0;
    double waited = 0;
    // The reference mode fits each chunk on its own, short last batch included, as it did.
    StreamBatcher batcher(*trainer, prm.batch_size, width, info.takes_mask);
    auto prepare_ahead = [&] {
      lower_this_thread_priority(kDataThreadNice);
      prepare(ahead);
    };
    auto pending = std::async(std::launch::async, prepare_ahead);
    for (;;) {
      const auto w0 = Clock::now();
      pending.get();  // rethrows a reading error
      waited += seconds_since(w0);
      std::swap(cur, ahead);
      if (!cur.ready) {
        if (train_epochs > 0 && !reference) {
          const LossSum last = batcher.finish();
          sum += last;
          if (progress && last.rows > 0) {
            pr.loss = sum.mean();
            pr.seconds = seconds_since(t0);
            progress(pr);
          }
        }
        break;
      }
      pending = std::async(std::launch::async, prepare_ahead);
      const data::Chunk& c = cur.chunk;  // (not filled when the rows come from the cache)
      LossSum chunk_sum;
      if (cur.trains) {
        for (int64_t e = 0; e < train_epochs; ++e) {
          // Later epochs of the reference mode: this chunk again, in a new order.
          if (e > 0) {
            const auto order = info.shuffle ? shuffled(cur.train_rows, prm.seed, epoch_index + e, cur.index)
                                            : cur.train_rows;
            copy_rows(chunk_rows(c, info.takes_mask), order, cur.own);
            cur.training = cur.own.view(0, order.size(), width, info.takes_mask);
          }
          chunk_sum += reference ? trainer->train_rows(cur.training, prm.batch_size) : batcher.add(cur.training);
          res.events_trained += cur.training.rows;
        }
      }
      sum += chunk_sum;
      seen += cur.rows;
      if (after_chunk) after_chunk(cur.index, chunk_sum);
      if (progress && train_epochs > 0) {
        pr.phase = "train";
        pr.events = seen;
        pr.total = total;
        pr.loss = sum.mean();
        pr.seconds = seconds_since(t0);
        pr.waited = waited;
        const double rate = pr.seconds > 0 ? static_cast<double>(seen) / pr.seconds : 0;
        const double left = static_cast<double>(total - seen) +
                            static_cast<double>(std::max<int64_t>(0, pr.epochs - pr.epoch)) *
                                static_cast<double>(total);
        pr.eta = rate > 0 ? left / rate : -1;
        progress(pr);
      }
    }
    if (fill_cache && caching) {
      cache_complete = true;
      cache_total = total;
    } else if (fill_cache) {
      train_cache.clear();
      train_cache.shrink_to_fit();
      cache.release();
    }
    // Buffers for the next pass: chunks and prepared rows already paged in.
    if (producer) {
      spares = producer->release_spares();
      spares.push_back(std::move(cur.chunk));
      spares.push_back(std::move(ahead.chunk));
    }
    if (train_epochs > 0) trainer->finish_pass();
    cached = true;
    return sum;
  };

  auto save_state = [&]() {
    if (!leader) return;
    trainer->save_checkpoint(ckpt + ".tmp");
    fs::rename(ckpt + ".tmp", ckpt, ec);
    write_text_file(ckpt_state, state_json(st, settings.mode, width, classes).dump(1) + "\n");
  };

  std::vector<float> scores;
  auto validate = [&](EpochRecord& r) {
    LossSum v = over_ranks(*comm, trainer->predict(val.view(), scores));
    r.validation_loss = v.mean();
    r.validation_accuracy = v.accuracy();
    r.validation_rows = v.rows;
  };

  const int64_t epochs = std::max<int64_t>(1, prm.epochs);
  int64_t local_train_rows = 0;  // of the last epoch, this rank's
  // An epoch's training figures (over every rank), its validation, and its line in the history.
  auto close_epoch = [&](LossSum s, EpochRecord& rec) {
    local_train_rows = s.rows;
    s = over_ranks(*comm, s);
    rec.train_loss = s.mean();
    rec.train_accuracy = s.accuracy();
    rec.train_rows = s.rows;
    validate(rec);
    st.history.push_back(rec);
  };
  pr.epochs = reference ? 1 : epochs;
  if (reference) {
    // The reference's train_model: each chunk, as it arrives, is fitted `epochs` times; one pass.
    if (!st.finished) {
      pr.epoch = 1;
      EpochRecord rec;
      rec.epoch = 1;
      LossSum s = run_pass(0, epochs, st.epochs_done, [&](int64_t chunk, const LossSum&) {
        if (chunk < st.epochs_done) return;
        st.epochs_done = chunk + 1;
        save_state();
      });
      close_epoch(s, rec);
      st.best_epoch = 1;
      st.best_loss = rec.validation_loss;
      trainer->keep_best();
      st.finished = true;
      save_state();
    }
  } else {
    for (int64_t epoch = st.epochs_done; epoch < epochs && !st.finished; ++epoch) {
      pr.epoch = epoch + 1;
      EpochRecord rec;
      rec.epoch = epoch + 1;
      LossSum s = run_pass(epoch, 1, 0, {});
      if (LossSum fit = trainer->end_epoch(); fit.rows > 0) s = fit;
      close_epoch(s, rec);
      st.epochs_done = epoch + 1;
      if (rec.validation_loss < st.best_loss - settings.min_delta) {
        st.best_loss = rec.validation_loss;
        st.best_epoch = epoch + 1;
        st.bad_epochs = 0;
        trainer->keep_best();
      } else if (++st.bad_epochs >= settings.patience && settings.patience > 0) {
        res.stopped_early = true;
        st.finished = true;
      }
      if (st.epochs_done == epochs) st.finished = true;
      save_state();
    }
  }
  // A run resumed after its last epoch has not read the validation and test rows yet.
  if (!cached) run_pass(0, 0, 0, {});
  trainer->restore_best();
  res.history = st.history;
  res.best_epoch = st.best_epoch;
  res.stopped_early = res.stopped_early || (st.finished && st.epochs_done < epochs && !reference);

  // Test split.
  if (progress) {
    pr.phase = "evaluate";
    progress(pr);
  }
  // Each rank scores its own test rows; the figures are over the rows of every rank.
  LossSum t = over_ranks(*comm, trainer->predict(test.view(), scores));
  if (t.rows == 0) throw Error(ErrorCode::kInvalidArgument, "the test split is empty: use more events or a larger \"test_fraction\"");
  res.train_rows = res.history.empty() ? 0 : res.history.back().train_rows;
  res.validation_rows = val.rows();
  res.test_rows = t.rows;
  res.test.loss = t.mean();
  res.test.accuracy = t.accuracy();
  std::vector<int64_t> test_labels = test.labels;
  if (sharded) {
    const std::vector<float> all = gathered(*comm, std::vector<float>(test.labels.begin(), test.labels.end()));
    test_labels.assign(all.begin(), all.end());
  }
  const auto test_rows = static_cast<int64_t>(test_labels.size());
  Json test_json;
  Json cut_json;
  if (binary) {
    std::vector<float> s = gathered(*comm, positive_scores(scores, info.outputs, test.rows()));
    std::vector<uint8_t> pos(test_labels.size());
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = test_labels[i] == 1;
    auto curve = roc_curve(s, pos);
    res.test.auc = roc_auc(s, pos);
    res.test.tpr_at_fpr_1pct = tpr_at_fpr(curve, 0.01);
    res.test.tpr_at_fpr_10pct = tpr_at_fpr(curve, 0.10);
    test_json = figures_json(res.test);
    test_json["roc"] = roc_json(curve);
    test_json["score_histograms"] = class_histograms(s, pos, 50, 0, 1);

    // The cut-based baseline, optimised on the training split (of every rank), evaluated on the
    // same test rows: the box maximising signal minus background efficiency (lambda 1), and the
    // boxes for lambda = 2^(j/4), j = -12 .. 28 (1/8 .. 128), as a cut-based ROC curve.
    std::vector<double> lambdas;
    for (int j = -12; j <= 28; ++j) lambdas.push_back(std::pow(2.0, j / 4.0));
    const size_t chosen = 12;  // lambda 1
    CutBaseline::SumOverRanks sum_over_ranks;
    if (sharded) sum_over_ranks = [&](std::span<int64_t> v) { comm->allreduce_sum(v); };
    const std::vector<CutBaseline::Box> boxes = baseline.optimise(lambdas, sum_over_ranks);
    const CutBaseline::Box& box = boxes[chosen];
    std::vector<float> cs, curve_scores;
    baseline.apply(box, test.x.data(), test.rows(), width, cs);
    baseline.score(boxes, test.x.data(), test.rows(), width, curve_scores);
    cs = gathered(*comm, std::move(cs));
    curve_scores = gathered(*comm, std::move(curve_scores));
    int64_t correct = 0, sel_sig = 0, sel_bkg = 0, n_sig = 0;
    for (size_t i = 0; i < cs.size(); ++i) {
      correct += (cs[i] > 0.5f) == (pos[i] != 0);
      n_sig += pos[i];
      (pos[i] ? sel_sig : sel_bkg) += cs[i] > 0.5f;
    }
    const int64_t n_bkg = test_rows - n_sig;
    res.has_baseline = true;
    const std::vector<std::string> names = layout.names();
    const Json cuts = box_cuts(baseline, box, layout, names, res.cut_rule);
    res.cut.auc = roc_auc(cs, pos);
    res.cut.accuracy = static_cast<double>(correct) / static_cast<double>(test_rows);
    auto cut_roc = roc_curve(cs, pos);
    res.cut.tpr_at_fpr_1pct = tpr_at_fpr(cut_roc, 0.01);
    res.cut.tpr_at_fpr_10pct = tpr_at_fpr(cut_roc, 0.10);
    auto box_roc = roc_curve(curve_scores, pos);
    res.cut_curve.auc = roc_auc(curve_scores, pos);
    res.cut_curve.tpr_at_fpr_1pct = tpr_at_fpr(box_roc, 0.01);
    res.cut_curve.tpr_at_fpr_10pct = tpr_at_fpr(box_roc, 0.10);
    Json variables = Json::array();
    for (int64_t c : baseline.columns()) variables.push_back(names[static_cast<size_t>(c)]);
    int64_t kept = baseline.rows();
    if (sharded) comm->allreduce_sum(std::span<int64_t>(&kept, 1));
    Json curve_json = figures_json(res.cut_curve);
    curve_json.erase("accuracy");
    curve_json.erase("loss");
    curve_json["roc"] = roc_json(box_roc);
    // The score per class (1 + the tightest box selecting the event, 0 for none).
    const int score_bins = static_cast<int>(boxes.size()) + 1;
    curve_json["score_histograms"] = class_histograms(curve_scores, pos, score_bins, 0, score_bins);
    curve_json["what"] = "a box per lambda = 2^(j/4), j = -12 .. 28, maximising signal efficiency - lambda x "
                         "background efficiency; an event's score is 1 + the index of the last box selecting it "
                         "(0: none)";
    cut_json = Json{{"what", "a rectangular cut (an interval per variable) optimised on the training split, "
                             "maximising signal minus background efficiency"},
                    {"variables", variables},
                    {"rule", res.cut_rule},
                    {"cuts", cuts},
                    {"train_rows", kept},
                    {"train", Json{{"signal_efficiency", box.train_tpr}, {"background_efficiency", box.train_fpr}}},
                    {"test", Json{{"auc", res.cut.auc},
                                  {"accuracy", res.cut.accuracy},
                                  {"signal_efficiency", n_sig ? static_cast<double>(sel_sig) / n_sig : 0.0},
                                  {"background_efficiency", n_bkg ? static_cast<double>(sel_bkg) / n_bkg : 0.0}}},
                    {"curve", curve_json}};
  } else {
    // One-vs-rest AUC per class, averaged.
    test_json = figures_json(res.test);
    Json per = Json::array();
    double sum = 0;
    const std::vector<float> all_scores = gathered(*comm, scores);
    for (int64_t k = 0; k < classes; ++k) {
      std::vector<float> s(static_cast<size_t>(test_rows));
      std::vector<uint8_t> pos(s.size());
      for (int64_t r = 0; r < test_rows; ++r) {
        s[r] = all_scores[r * info.outputs + k];
        pos[r] = test_labels[r] == k;
      }
      double a = 0;
      try {
        a = roc_auc(s, pos);
      } catch (const Error&) {
        a = NAN;
      }
      per.push_back(std::isnan(a) ? Json(nullptr) : Json(a));
      sum += std::isnan(a) ? 0 : a;
    }
    res.test.auc = sum / static_cast<double>(classes);
    test_json["auc"] = res.test.auc;
    test_json["auc_one_vs_rest"] = per;
  }

  // Which rank read what: the files and each split's rows of every rank.
  Json distributed;
  if (req.distributed) {
    const auto ranks = static_cast<size_t>(comm->size());
    std::vector<int64_t> rows(3 * ranks, 0);
    const auto me = static_cast<size_t>(comm->rank());
    rows[3 * me] = local_train_rows;
    rows[3 * me + 1] = val.rows();
    rows[3 * me + 2] = test.rows();
    comm->allreduce_sum(std::span<int64_t>(rows));
    res.validation_rows = 0;
    for (size_t r = 0; r < ranks; ++r) res.validation_rows += rows[3 * r + 1];
    Json per_rank = Json::array();
    for (size_t r = 0; r < ranks; ++r) {
      Json files = Json::array();
      if (sharded) {
        for (size_t f : shards[r]) files.push_back(listed.files[f]);
      } else {
        files = listed.files;
      }
      per_rank.push_back(Json{{"rank", r},
                              {"files", files},
                              {"train_rows", rows[3 * r]},
                              {"validation_rows", rows[3 * r + 1]},
                              {"test_rows", rows[3 * r + 2]}});
    }
    distributed = Json{{"world_size", comm->size()},
                       {"launcher", launch.launcher},
                       {"rendezvous", comm->rendezvous()},
                       {"gradients", "averaged over the ranks with a batch at every optimiser step"},
                       {"ranks", per_rank}};
  }
  res.rank = comm->rank();
  res.world_size = comm->size();
  res.files = p->dataset.files;
  res.model_file = info.file;
  // The bundle: rank 0's alone (the ranks hold the same model).
  if (leader) {
    const std::string model_file = out + "/" + info.file;
    trainer->save_model(model_file + ".tmp");
    fs::rename(model_file + ".tmp", model_file, ec);
    if (ec) throw Error(ErrorCode::kIo, model_file + ": cannot write: " + ec.message());
    const data::Pipeline& all = whole ? *whole : *p;  // the specs and files of the whole run
    all.specs.save(out + "/specs.json");
    write_text_file(out + "/feature_names.json", Json(all.specs.feature_names()).dump() + "\n");

    write_text_file(out + "/params.json", params_text.empty() ? "{}\n" : params_text);
    if (!dreq.preproc.empty()) write_text_file(out + "/preproc.json", read_text_file(dreq.preproc));
    const std::string description_file = "model.json";
    if (!info.description.empty()) write_text_file(out + "/" + description_file, info.description + "\n");

    Json metrics;
    metrics["version"] = 1;
    metrics["classes"] = classes;
    metrics["mode"] = settings.mode;
    metrics["epochs"] = st.history.size();
    metrics["best_epoch"] = res.best_epoch;
    metrics["stopped_early"] = res.stopped_early;
    metrics["rows"] = Json{{"train", res.train_rows}, {"validation", res.validation_rows}, {"test", res.test_rows}};
    metrics["history"] = state_json(st, settings.mode, width, classes)["history"];
    metrics["test"] = test_json;
    if (res.has_baseline) metrics["cut_baseline"] = cut_json;
    if (!distributed.is_null()) metrics["distributed"] = distributed;
    write_text_file(out + "/metrics.json", metrics.dump(1) + "\n");
    const PlotResult plots = write_plots(metrics.dump(1), out);

    Json cw = Json::array();
    for (double w : topt.class_weights) cw.push_back(w);
    Json bundle;
    bundle["format"] = "mlaas4hep-model-bundle";
    bundle["version"] = 1;
    bundle["created_by"] = "mlaas4hep 0.1.0";
    if (info.format == "torchscript") {
      bundle["model"] = Json{{"file", info.file},
                             {"format", info.format},
                             {"kind", info.kind},
                             {"forward", info.takes_mask ? "forward(x, mask)" : "forward(x)"},
                             {"outputs", info.outputs},
                             {"score", info.outputs == 1 ? "sigmoid(logit) = P(label 1)" : "softmax(logits)"},
                             {"parameters", info.parameters}};
    } else {
      bundle["model"] = Json{{"file", info.file},
                             {"format", info.format},
                             {"kind", info.kind},
                             {"outputs", info.outputs},
                             {"score", info.outputs == 1 ? "P(label 1) (binary:logistic)" : "class probabilities (multi:softprob)"}};
    }
    bundle["input"] = Json{{"width", width},
                           {"dtype", "float32"},
                           {"shape", "[rows, width]"},
                           {"normalisation", "(x - minv) / (maxv - minv) per feature, as specs.json gives"},
                           {"mask", "float32 [rows, width], 1 = a real value, 0 = padding or missing"},
                           {"padding_value", prm.padding_value}};
    // The branches read, as the feature assembly saw them: the inference layer rebuilds the same
    // value types from raw values (src/serve), so that served rows equal these bit for bit.
    Json branches = Json::array();
    for (const auto& b : data::read_branch_types(all.files.front(), all.plan))
      branches.push_back(Json{{"name", b.name}, {"type", data::value_type_name(b.type)}, {"jagged", b.jagged}});
    bundle["input"]["branches"] = branches;
    Json labels = Json::array();
    for (size_t f = 0; f < all.dataset.files.size(); ++f)
      labels.push_back(Json{{"file", all.dataset.files[f]}, {"label", all.dataset.labels[f]}});
    bundle["labels"] = Json{{"classes", classes}, {"files", labels}};
    bundle["training"] = Json{{"mode", settings.mode},
                              {"optimizer", settings.optimizer},
                              {"learning_rate", settings.learning_rate},
                              {"weight_decay", settings.weight_decay},
                              {"epochs", epochs},
                              {"batch_size", prm.batch_size},
                              {"seed", prm.seed},
                              {"class_weights", cw},
                              {"patience", settings.patience}};
    Json files = Json{{"model", info.file}, {"specs", "specs.json"}, {"feature_names", "feature_names.json"},
                      {"params", "params.json"}, {"metrics", "metrics.json"}};
    if (!dreq.preproc.empty()) files["preproc"] = "preproc.json";
    if (!info.description.empty()) files["description"] = description_file;
    files["plots"] = plots.files;
    bundle["files"] = files;
    write_text_file(out + "/bundle.json", bundle.dump(1) + "\n");
  }
  // The other ranks end once rank 0 has written everything, so that each one's exit status says
  // whether the run succeeded.
  comm->barrier();
  res.seconds = seconds_since(t_start);
  return res;
}

}  // namespace m4h::train
