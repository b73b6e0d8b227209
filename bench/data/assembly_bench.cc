// assembly_bench: chunk assembly (pre-processing + normalisation + padding + mask + mixing +
// shuffle + split) against the raw read of the same branches, side by side in one run.
//
//   assembly_bench [--events N] [--chunk-size N] [--threads T,...] [--rounds R]
//                  [--codec zlib|lz4|zstd|none] [--level L] [--preproc preproc.json] [--dir DIR]
//                  [--only assembly|pipeline|producer] [--no-shuffle] [--no-mask] [--in-flight N]
//
// It writes two files (signal, background) of N events each in a 30 flat + 4 jagged feature
// layout: nJet, nMuon, nElectron, MET_pt, MET_phi, HT, nBJet, mbb and 22 more float branches,
// plus Jet_pt/eta/phi/mass[nJet] (generated physics, zlib level 1 by default; reused from --dir
// when present). Then, in interleaved rounds (medians reported), for each thread count T:
//   * raw read: ChunkIterator over both files, the branches the pipeline reads, the same block
//     size, T threads decompressing; the columns are dropped;
//   * pipeline: the BatchProducer end to end (read + pre-process + assemble + mix), T threads in
//     total, every chunk consumed;
// and once, on one thread, with the blocks already read into memory:
//   * assembly alone: BlockReader::convert (views, or the Table and Preprocess::apply with
//     --preproc) + ChunkPlanner + assemble_chunk for every chunk, in events/s per core.
// Output: a markdown table on stdout, progress on stderr.

#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "data/block_reader.h"
#include "data/branches.h"
#include "data/chunk.h"
#include "data/inputs.h"
#include "data/mixing.h"
#include "data/preprocess.h"
#include "data/producer.h"
#include "data/specs.h"
#include "gen/event_generator.h"
#include "root/branch_reader.h"
#include "root/file_writer.h"
#include "root/tree_writer.h"

namespace {

using namespace m4h;
using Clock = std::chrono::steady_clock;

struct Options {
  int64_t events = 500000;  // per file
  int64_t chunk_size = 10000;
  std::vector<int> threads{1, 2};
  int rounds = 3;
  std::string codec = "zlib";
  int level = 1;
  std::string preproc;
  std::string dir;
  // "assembly": time only assembly alone; "pipeline": raw read and pipeline; "producer": only
  // the pipeline (for profilers).
  std::string only;
  bool no_shuffle = false;
  bool no_mask = false;  // the chunks without a mask, as training a model that takes none asks
  int in_flight = 2;
};

[[noreturn]] void usage(int rc) {
  std::fprintf(rc ? stderr : stdout,
               "usage: assembly_bench [--events N] [--chunk-size N] [--threads T,...] [--rounds R]\n"
               "                      [--codec C] [--level L] [--preproc preproc.json] [--dir DIR]\n"
               "                      [--only assembly|pipeline|producer] [--no-shuffle] [--no-mask]\n"
               "                      [--in-flight N]\n");
  std::exit(rc);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "-h" || a == "--help") usage(0);
    else if (a == "--events") o.events = std::max<int64_t>(1000, std::atoll(value().c_str()));
    else if (a == "--chunk-size") o.chunk_size = std::atoll(value().c_str());
    else if (a == "--rounds") o.rounds = std::max(1, std::atoi(value().c_str()));
    else if (a == "--codec") o.codec = value();
    else if (a == "--level") o.level = std::atoi(value().c_str());
    else if (a == "--preproc") o.preproc = value();
    else if (a == "--dir") o.dir = value();
    else if (a == "--only") o.only = value();
    else if (a == "--no-shuffle") o.no_shuffle = true;
    else if (a == "--no-mask") o.no_mask = true;
    else if (a == "--in-flight") o.in_flight = std::max(1, std::atoi(value().c_str()));
    else if (a == "--threads") {
      o.threads.clear();
      std::string v = value();
      for (size_t p = 0; p < v.size();) {
        size_t q = v.find(',', p);
        if (q == std::string::npos) q = v.size();
        o.threads.push_back(std::max(1, std::atoi(v.substr(p, q - p).c_str())));
        p = q + 1;
      }
    } else usage(2);
  }
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

template <typename T>
root::Column column_of(const std::vector<T>& v, root::DType t) {
  root::Column c;
  c.dtype = t;
  c.entries = static_cast<int64_t>(v.size());
  c.values.resize(v.size() * sizeof(T));
  std::memcpy(c.values.data(), v.data(), c.values.size());
  return c;
}

// The 30 flat + 4 jagged layout from the generator's physics plus 22 derived floats.
void write_file(const std::string& path, gen::Process process, uint64_t seed, int64_t events,
                root::CompressionSettings compression) {
  using Kind = root::BranchSpec::Kind;
  using root::DType;
  std::vector<root::BranchSpec> specs = {
      {"nJet", DType::kInt32, Kind::kScalar, {}, ""},
      {"Jet_pt", DType::kFloat32, Kind::kCounted, {}, "nJet"},
      {"Jet_eta", DType::kFloat32, Kind::kCounted, {}, "nJet"},
      {"Jet_phi", DType::kFloat32, Kind::kCounted, {}, "nJet"},
      {"Jet_mass", DType::kFloat32, Kind::kCounted, {}, "nJet"},
      {"nMuon", DType::kInt32, Kind::kScalar, {}, ""},
      {"nElectron", DType::kInt32, Kind::kScalar, {}, ""},
      {"MET_pt", DType::kFloat32, Kind::kScalar, {}, ""},
      {"MET_phi", DType::kFloat32, Kind::kScalar, {}, ""},
      {"HT", DType::kFloat32, Kind::kScalar, {}, ""},
      {"nBJet", DType::kInt32, Kind::kScalar, {}, ""},
      {"mbb", DType::kFloat32, Kind::kScalar, {}, ""},
  };
  constexpr int kExtra = 22;
  for (int k = 0; k < kExtra; ++k) {
    char name[16];
    std::snprintf(name, sizeof name, "f%02d", k);
    specs.push_back({name, DType::kFloat32, Kind::kScalar, {}, ""});
  }
  auto pool = ThreadPool::for_total_threads(0);
  root::FileWriter file(path, compression);
  root::TreeWriter tree(file, "Events", "assembly_bench", specs, {32000, 0, pool.get()});
  const int64_t step = 50000;
  for (int64_t first = 0; first < events; first += step) {
    const int64_t n = std::min(step, events - first);
    auto g = gen::generate_chunk(process, gen::Layout::kNanoAOD, seed, first, n);
    // generate_chunk's order: run lumi event nJet Jet_pt eta phi mass btag nMuon ... nElectron ...
    // MET_pt MET_phi HT nBJet mbb.
    std::vector<root::Column> cols = {g[3], g[4], g[5], g[6], g[7], g[9], g[14],
                                      g[19], g[20], g[21], g[22], g[23]};
    const float* met = g[19].data<float>();
    const float* ht = g[21].data<float>();
    for (int k = 0; k < kExtra; ++k) {
      std::vector<float> v(n);
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t h = data::mix64((seed << 40) ^ (static_cast<uint64_t>(first + i) << 8) ^ k);
        const float u = static_cast<float>(h >> 40) / static_cast<float>(1 << 24);
        v[i] = (k % 2 ? met[i] : ht[i]) * (0.5f + u) + static_cast<float>(k);
      }
      cols.push_back(column_of(v, DType::kFloat32));
    }
    tree.append(cols);
  }
  tree.close();
  file.close();
}

struct Setup {
  std::vector<data::InputFile> files;
  data::Preprocess preproc;
  data::Params params;
  data::BranchPlan plan;
  data::Specs specs;
};

// The raw read: every block of every file, the columns dropped.
int64_t raw_read(const Setup& s, int64_t block, ThreadPool* pool) {
  int64_t events = 0;
  for (const data::InputFile& f : s.files) {
    std::vector<root::BranchRequest> req;
    for (const std::string& name : s.plan.read) {
      const root::BranchInfo* b = f.tree->find(name);
      req.push_back({b, root::interpret(*f.tree, *b)});
    }
    root::ChunkIterator it(*f.tree, req, block, 0, f.tree->entries(), pool);
    std::vector<root::Column> cols;
    int64_t a = 0, z = 0;
    while (it.next(a, z, cols)) events += z - a;
  }
  return events;
}

int64_t pipeline(const Setup& s, int threads, const std::vector<int64_t>& events, bool with_mask) {
  data::Params p = s.params;
  p.threads = threads;
  data::BatchProducer prod(s.files, s.plan, s.specs, s.preproc, p, events, {}, with_mask);
  data::Chunk c;
  int64_t n = 0;
  while (prod.next(c)) n += c.rows;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  // As the CLI: keep freed chunk memory in the process (page faults dominated on small VMs).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  try {
    Options o = parse_args(argc, argv);
    const std::string dir = o.dir.empty() ? std::filesystem::temp_directory_path().string() +
                                                "/m4h-assembly-bench-" + std::to_string(::getpid())
                                          : o.dir;
    std::filesystem::create_directories(dir);
    const root::CompressionSettings comp{gen::parse_codec(o.codec), o.codec == "none" ? 0 : o.level};
    const std::string tag = o.codec + std::to_string(o.level) + "-" + std::to_string(o.events);
    const std::string sig = dir + "/sig-" + tag + ".root", bkg = dir + "/bkg-" + tag + ".root";
    for (auto [path, proc, seed] : {std::tuple{sig, gen::Process::kSignal, uint64_t{1}},
                                    std::tuple{bkg, gen::Process::kBackground, uint64_t{2}}}) {
      if (std::filesystem::exists(path)) continue;
      std::fprintf(stderr, "writing %s (%lld events)\n", path.c_str(), static_cast<long long>(o.events));
      write_file(path, proc, seed, o.events, comp);
    }

    Setup s;
    s.params.chunk_size = o.chunk_size;
    s.params.shuffle = !o.no_shuffle;
    s.params.chunks_in_flight = o.in_flight;
    if (!o.preproc.empty()) s.preproc = data::Preprocess::from_file(o.preproc);
    s.files = data::open_inputs(data::make_dataset({sig, bkg}, {1, 0}, s.params));
    s.plan = data::plan_branches(*s.files[0].tree, s.params, s.preproc);
    {
      auto pool = ThreadPool::for_total_threads(0);
      auto t0 = Clock::now();
      s.specs = data::compute_specs(s.files, s.plan, s.preproc, s.params, pool.get());
      std::fprintf(stderr, "specs pass: %.2f s; %zu flat + %zu jagged features, width %lld\n",
                   seconds_since(t0), s.specs.fkeys.size(), s.specs.jkeys.size(),
                   static_cast<long long>(s.specs.width()));
    }
    std::vector<int64_t> events = data::events_after_cuts(s.files, s.plan, s.specs, s.preproc, nullptr);
    const int64_t total_entries = s.files[0].tree->entries() + s.files[1].tree->entries();
    // The block size the producer reads with (kMinBlockEntries unless a share is larger).
    data::ChunkPlanner probe(events, s.params.nevts, s.params.chunk_size);
    const int64_t block = std::max<int64_t>(32768, *std::max_element(probe.share().begin(), probe.share().end()));

    // Assembly alone, one thread: the raw blocks are read first (up to 400k events per file).
    double assembly_rate = 0, assembly_s = 0;
    int64_t assembly_events = 0;
    if (o.only != "pipeline" && o.only != "producer") {
      const int64_t cap = std::min<int64_t>(o.events, 400000);
      std::vector<std::vector<std::vector<root::Column>>> raw(s.files.size());
      std::vector<std::vector<std::pair<int64_t, int64_t>>> ranges(s.files.size());
      for (size_t f = 0; f < s.files.size(); ++f) {
        std::vector<root::BranchRequest> req;
        for (const std::string& name : s.plan.read) {
          const root::BranchInfo* b = s.files[f].tree->find(name);
          req.push_back({b, root::interpret(*s.files[f].tree, *b)});
        }
        root::ChunkIterator it(*s.files[f].tree, req, block, 0, cap, nullptr);
        std::vector<root::Column> cols;
        int64_t a = 0, z = 0;
        while (it.next(a, z, cols)) {
          raw[f].push_back(cols);
          ranges[f].push_back({a, z});
        }
      }
      data::FeatureLayout layout = data::FeatureLayout::from_specs(s.specs, s.params);
      data::Splitter splitter(s.params.seed, s.params.validation_fraction, s.params.test_fraction);
      data::ChunkContext ctx;
      ctx.layout = &layout;
      ctx.splitter = &splitter;
      ctx.seed = s.params.seed;
      ctx.shuffle = !o.no_shuffle;
      ctx.with_mask = !o.no_mask;
      for (const auto& f : s.files) {
        ctx.labels.push_back(f.label);
        ctx.file_keys.push_back(data::Splitter::file_key(f.name));
      }
      std::vector<double> rates;
      for (int round = 0; round < o.rounds + 1; ++round) {  // round 0 warms up
        std::vector<std::unique_ptr<data::BlockReader>> readers;
        for (const auto& f : s.files)
          readers.push_back(std::make_unique<data::BlockReader>(f, s.plan, s.preproc, block, nullptr));
        auto copies = raw;  // convert() takes the columns: copy them outside the timed region
        auto t0 = Clock::now();
        // Blocks after pre-processing, then the reference's mixing over them.
        std::vector<std::vector<std::shared_ptr<const data::Block>>> blocks(s.files.size());
        std::vector<int64_t> passed(s.files.size(), 0);
        for (size_t f = 0; f < s.files.size(); ++f)
          for (size_t b = 0; b < raw[f].size(); ++b) {
            blocks[f].push_back(readers[f]->convert(std::move(copies[f][b]), ranges[f][b].first,
                                                    ranges[f][b].second));
            passed[f] += blocks[f].back()->events;
          }
        data::ChunkPlanner planner(passed, -1, s.params.chunk_size);
        std::vector<data::Take> takes;
        std::vector<size_t> at(s.files.size(), 0);
        std::vector<int64_t> pos(s.files.size(), 0);
        data::Chunk chunk;
        data::ChunkStats stats;
        int64_t n = 0;
        for (int64_t index = 0; planner.next(takes); ++index) {
          std::vector<data::ChunkPart> parts;
          for (const data::Take& t : takes) {
            int64_t need = t.count;
            while (need > 0) {
              const auto& blk = blocks[t.file][at[t.file]];
              const int64_t k = std::min(need, blk->events - pos[t.file]);
              if (k > 0) parts.push_back({blk, t.file, pos[t.file], pos[t.file] + k});
              pos[t.file] += k;
              need -= k;
              if (pos[t.file] == blk->events) {
                ++at[t.file];
                pos[t.file] = 0;
              }
            }
          }
          data::assemble_chunk(ctx, index, parts, nullptr, chunk, stats);
          n += chunk.rows;
        }
        const double sec = seconds_since(t0);
        if (round > 0) rates.push_back(static_cast<double>(n) / sec);
        assembly_events = n;
        assembly_s = sec;
      }
      assembly_rate = median(rates);
      std::fprintf(stderr, "assembly alone: %lld events, %.3f s (last round)\n",
                   static_cast<long long>(assembly_events), assembly_s);
    }

    struct Row {
      int threads;
      std::vector<double> raw, pipe, ratio;
    };
    std::vector<Row> rows;
    if (o.only != "assembly")
      for (int t : o.threads) rows.push_back({t, {}, {}, {}});
    for (int round = 0; round < o.rounds + 1; ++round) {  // round 0 warms up
      for (Row& r : rows) {
        auto pool = ThreadPool::for_total_threads(static_cast<size_t>(r.threads));
        auto t0 = Clock::now();
        const int64_t n_raw = o.only == "producer" ? total_entries : raw_read(s, block, pool.get());
        const double raw_rate = static_cast<double>(n_raw) / seconds_since(t0);
        pool.reset();
        t0 = Clock::now();
        const int64_t n_pipe = pipeline(s, r.threads, events, !o.no_mask);
        const double pipe_rate = static_cast<double>(n_pipe) / seconds_since(t0);
        if (n_raw != total_entries || n_pipe != total_entries)
          throw Error(ErrorCode::kInternal, "bench: event counts differ");
        std::fprintf(stderr, "round %d, %d thread(s): raw %.0f ev/s, pipeline %.0f ev/s (%.1f%%)\n",
                     round, r.threads, raw_rate, pipe_rate, 100 * pipe_rate / raw_rate);
        if (round == 0) continue;
        r.raw.push_back(raw_rate);
        r.pipe.push_back(pipe_rate);
        r.ratio.push_back(pipe_rate / raw_rate);
      }
    }

    std::printf("assembly_bench: 2 files x %lld events, %s level %d, %zu flat + %zu jagged features "
                "(width %lld), chunks of %lld%s%s, %s pre-processing, %d rounds (medians)\n\n",
                static_cast<long long>(o.events), o.codec.c_str(), o.level, s.specs.fkeys.size(),
                s.specs.jkeys.size(), static_cast<long long>(s.specs.width()),
                static_cast<long long>(o.chunk_size), o.no_shuffle ? ", not shuffled" : "",
                o.no_mask ? ", no mask" : "", s.preproc.empty() ? "no" : "with", o.rounds);
    std::printf("| threads | raw read events/s | pipeline events/s | pipeline / raw |\n");
    std::printf("|--:|--:|--:|--:|\n");
    for (const Row& r : rows)
      std::printf("| %d | %.0f | %.0f | %.1f%% |\n", r.threads, median(r.raw), median(r.pipe),
                  100 * median(r.ratio));
    std::printf("\nassembly alone (pre-processing + normalisation + padding + mask + mixing + shuffle "
                "+ split), 1 thread, blocks in memory: %.0f events/s per core (%lld events)\n",
                assembly_rate, static_cast<long long>(assembly_events));
    if (o.dir.empty()) std::filesystem::remove_all(dir);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "assembly_bench: %s\n", e.what());
    return 1;
  }
}
