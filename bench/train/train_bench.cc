// train_bench: one training epoch streamed from ROOT files against the same model trained on the
// same rows already in memory, side by side in one run.
//
//   train_bench [--events N] [--batch-sizes B,...] [--hidden H,...] [--rounds R] [--threads T]
//               [--chunk-size N] [--cache-mb M] [--in-flight K] [--codec C] [--level L]
//               [--one-epoch] [--dir DIR]
//
// It writes a signal and a background file of N/2 generated events each (zlib level 1, the
// generator's default, unless --codec/--level say otherwise; reused
// from --dir when present) and, for each batch size, in interleaved rounds (medians reported):
//   * streaming: train_model() with two epochs, the whole loop: read, pre-process, assemble, mix,
//     shuffle within the chunk, train; events/s = training rows / seconds of the epoch's pass
//     (specs, validation and the test evaluation are not in the time). Epoch 1 also keeps the
//     validation and test rows in memory and fills the cut baseline; epoch 2 is what every
//     later epoch costs. --one-epoch: a one-epoch run instead, which keeps no training rows
//     for later epochs;
//   * in memory: the same training rows gathered beforehand into one float array (the rows in
//     stream order), then the same JSON MLP built afresh with the same seed and options, trained
//     by one Trainer::train_rows call over all of them: the loop with nothing to wait for.
// Both use one intra-op torch thread; streaming reads on T data threads in total (default 2).
// Output: a markdown table on stdout, progress on stderr.

#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "data/chunk.h"
#include "data/inputs.h"
#include "data/pipeline.h"
#include "data/producer.h"
#include "gen/event_generator.h"
#include "train/train.h"
#include "train/trainer.h"

namespace {

using namespace m4h;
using Clock = std::chrono::steady_clock;

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
namespace fs = std::filesystem;

struct Options {
  int64_t events = 1000000;  // in total, half signal, half background
  std::vector<int64_t> batch_sizes{256, 1024};
  std::string hidden = "64, 32";
  int rounds = 3;
  int threads = 2;
  int64_t chunk_size = 100000;
  int64_t cache_mb = -1;   // -1: train's default
  int64_t in_flight = -1;  // the params' "chunks_in_flight"; -1: the default
  std::string codec = "zlib";  // of the generated files (the generator's default)
  bool one_epoch = false;      // runs of one epoch (no epoch 2, so no epoch cache)
  int level = 1;
  std::string dir = "train-bench-data";
};

[[noreturn]] void usage(int rc) {
  std::fprintf(rc ? stderr : stdout,
               "usage: train_bench [--events N] [--batch-sizes B,...] [--hidden H,...] [--rounds R]\n"
               "                   [--threads T] [--chunk-size N] [--cache-mb M] [--in-flight K]\n"
               "                   [--codec zlib|lz4|zstd|lzma|none] [--level L] [--one-epoch] [--dir DIR]\n");
  std::exit(rc);
}

std::vector<int64_t> int_list(const std::string& s) {
  std::vector<int64_t> v;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t comma = std::min(s.find(',', at), s.size());
    v.push_back(std::stoll(s.substr(at, comma - at)));
    at = comma + 1;
  }
  return v;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--events") o.events = std::stoll(value());
    else if (a == "--batch-sizes") o.batch_sizes = int_list(value());
    else if (a == "--hidden") o.hidden = value();
    else if (a == "--rounds") o.rounds = std::stoi(value());
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--chunk-size") o.chunk_size = std::stoll(value());
    else if (a == "--cache-mb") o.cache_mb = std::stoll(value());
    else if (a == "--in-flight") o.in_flight = std::stoll(value());
    else if (a == "--codec") o.codec = value();
    else if (a == "--one-epoch") o.one_epoch = true;
    else if (a == "--level") o.level = std::stoi(value());
    else if (a == "--dir") o.dir = value();
    else if (a == "-h" || a == "--help") usage(0);
    else usage(2);
  }
  return o;
}

void write_text(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw Error(ErrorCode::kIo, path + ": cannot write");
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

std::string make_file(const Options& o, const std::string& process, bool signal) {
  // zlib level 1 keeps the names that earlier runs' files have.
  const std::string codec = o.codec == "zlib" && o.level == 1 ? "" : "-" + o.codec + "-" + std::to_string(o.level);
  const std::string path = o.dir + "/" + process + codec + ".root";
  if (fs::exists(path)) return path;
  std::fprintf(stderr, "generating %s (%lld events)\n", path.c_str(), static_cast<long long>(o.events / 2));
  gen::GeneratorOptions g;
  g.process = signal ? gen::Process::kSignal : gen::Process::kBackground;
  g.events = o.events / 2;
  g.seed = signal ? 1 : 2;
  g.output = path;
  g.compression = {gen::parse_codec(o.codec), o.codec == "none" ? 0 : o.level};
  gen::generate_events(g);
  return path;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct InMemory {
  std::vector<float> x;
  std::vector<int64_t> y;
  int64_t width = 0;
};

// The training rows of one pass, in stream order, as the streaming loop sees them.
InMemory gather_training_rows(const data::PipelineRequest& req) {
  auto p = data::prepare_pipeline(req);
  data::Params& prm = p->dataset.params;
  std::vector<int64_t> events;
  {
    auto pool = ThreadPool::for_total_threads(static_cast<std::size_t>(prm.threads));
    events = data::events_after_cuts(p->files, p->plan, p->specs, p->preproc, pool.get());
  }
  data::BatchProducer producer(p->files, p->plan, p->specs, p->preproc, prm, events);
  InMemory m;
  m.width = p->specs.width();
  data::Chunk c;
  while (producer.next(c)) {
    for (int64_t r = 0; r < c.rows; ++r) {
      if (c.split[r] != 0) continue;
      m.x.insert(m.x.end(), c.features.begin() + r * m.width, c.features.begin() + (r + 1) * m.width);
      m.y.push_back(c.labels[r]);
    }
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  // As the mlaas4hep CLI does (src/cli/main.cc): chunk-sized buffers come from the heap and stay.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  try {
    fs::create_directories(o.dir);
    const std::string sig = make_file(o, "signal", true);
    const std::string bkg = make_file(o, "background", false);
    const std::string model = o.dir + "/mlp.json";
    write_text(model, "{\"type\": \"mlp\", \"hidden\": [" + o.hidden + "], \"activation\": \"relu\"}\n");

    std::printf("| batch size | streaming epoch 1 events/s | streaming epoch 2 events/s | in-memory events/s | "
                "epoch 1 / in-memory | epoch 2 / in-memory | training rows |\n");
    std::printf("|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int64_t batch : o.batch_sizes) {
      const std::string params = o.dir + "/params-" + std::to_string(batch) + ".json";
      write_text(params, "{\"chunk_size\": " + std::to_string(o.chunk_size) +
                             ", \"epochs\": " + (o.one_epoch ? "1" : "2") +
                             ", \"batch_size\": " + std::to_string(batch) +
                             ", \"seed\": 5, \"threads\": " + std::to_string(o.threads) +
                             ", \"patience\": 0, \"learning_rate\": 0.001" +
                             (o.cache_mb >= 0 ? ", \"cache_mb\": " + std::to_string(o.cache_mb) : std::string()) +
                             (o.in_flight > 0 ? ", \"chunks_in_flight\": " + std::to_string(o.in_flight) : std::string()) +
                             "}\n");
      train::TrainRequest req;
      req.data.files = sig + "," + bkg;
      req.data.labels = "1,0";
      req.data.params = params;
      req.data.specs_cache = o.dir + "/specs.json";
      req.model = model;
      req.output = o.dir + "/run-" + std::to_string(batch);
      req.device = "cpu";

      std::fprintf(stderr, "batch %lld: gathering the training rows in memory\n", static_cast<long long>(batch));
      const InMemory mem = gather_training_rows(req.data);
      const int64_t rows = static_cast<int64_t>(mem.y.size());

      std::vector<double> first, later, in_memory;
      for (int round = 0; round < o.rounds; ++round) {
        // Two epochs: the first also keeps the validation and test rows (and fills the cut
        // baseline), the second is what every later epoch costs.
        // CPU seconds of the whole process as well: on a machine with few cores, what the data
        // threads spend beside the optimiser decides whether it waits.
        double seconds[2] = {}, waited[2] = {}, cpu_at_end[2] = {};
        const double cpu_at_start = process_cpu_seconds();
        const auto res = train::train_model(req, [&](const train::TrainProgress& p) {
          if (p.phase != "train" || p.epoch < 1 || p.epoch > 2) return;
          seconds[p.epoch - 1] = p.seconds;
          waited[p.epoch - 1] = p.waited;
          cpu_at_end[p.epoch - 1] = process_cpu_seconds();
        });
        first.push_back(static_cast<double>(res.history.at(0).train_rows) / seconds[0]);
        if (!o.one_epoch) later.push_back(static_cast<double>(res.history.at(1).train_rows) / seconds[1]);

        train::TrainerOptions topt;
        topt.model_path = model;
        topt.width = mem.width;
        topt.classes = 2;
        topt.seed = 5;
        topt.device = "cpu";
        topt.threads = 1;
        auto trainer = train::make_trainer(topt);
        const train::Rows all{mem.x.data(), nullptr, mem.y.data(), rows, mem.width};
        const auto t0 = Clock::now();
        const double cpu0 = process_cpu_seconds();
        trainer->train_rows(all, batch);
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        const double cpu_in_memory = process_cpu_seconds() - cpu0;
        in_memory.push_back(static_cast<double>(rows) / s);
        char epoch2[160] = "epoch 2 -";
        if (!o.one_epoch)
          std::snprintf(epoch2, sizeof epoch2, "epoch 2 %.0f events/s (%.2f of %.2f s waiting, %.2f s CPU)",
                        later.back(), waited[1], seconds[1], cpu_at_end[1] - cpu_at_end[0]);
        std::fprintf(stderr,
                     "batch %lld round %d: streaming epoch 1 %.0f events/s (%.2f of %.2f s waiting for data, "
                     "%.2f s CPU), %s; in memory %.0f events/s (%.2f s, %.2f s CPU)\n",
                     static_cast<long long>(batch), round + 1, first.back(), waited[0], seconds[0],
                     cpu_at_end[0] - cpu_at_start, epoch2, in_memory.back(), s, cpu_in_memory);
      }
      const double f = median(first), m = median(in_memory);
      if (o.one_epoch) {
        std::printf("| %lld | %.0f | - | %.0f | %.1f%% | - | %lld |\n", static_cast<long long>(batch), f, m, 100 * f / m,
                    static_cast<long long>(rows));
      } else {
        const double l = median(later);
        std::printf("| %lld | %.0f | %.0f | %.0f | %.1f%% | %.1f%% | %lld |\n", static_cast<long long>(batch), f, l, m,
                    100 * f / m, 100 * l / m, static_cast<long long>(rows));
      }
      std::fflush(stdout);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "train_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
