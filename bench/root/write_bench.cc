// Writing throughput per codec against the codec alone on the same baskets.
//
//   write_bench [--events N] [--dir DIR] [--reps R] [--only CODEC[-LEVEL]] [--layout nanoaod|vector]
//
// Columns come from the event generator (physics-like: quantised float32 momenta, angles and
// b-tag scores in flat branches and in NanoAOD-style counted or std::vector jagged branches),
// generated before any timing. For each codec the tree is written with TreeWriter (timed: append +
// tree close + file close, best of R), then the uncompressed baskets of the same tree are compressed
// with root::compress alone (timed, best of R, one thread) as the ceiling. Ours is timed with one
// thread and with two (TreeWriterOptions::pool: baskets compressed in batches on both threads). MB/s are of uncompressed basket
// payload (10^6 bytes); the target is ours >= 80% of the ceiling. "writer s" is ours minus the raw
// codec time: the writer's own cost (serialisation, keys, file writes), which is what caps the fast
// codecs. The file goes to DIR (default /dev/shm when writable, else the temporary folder): on
// a disk the fsync of close() would add the device's write speed to every row.
// "file write alone" is the other ceiling: the same compressed baskets written with write(2)
// into a new file in DIR, closed and renamed, as the writer does (the kernel's page-cache
// allocation and copy, which no writer avoids). A one-thread writer pays codec + file write;
// with two threads the best it can do is the slower of the two ("ceiling").
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "gen/event_generator.h"
#include "root/basket.h"
#include "root/compression.h"
#include "root/file.h"
#include "root/file_writer.h"
#include "root/tree.h"
#include "root/tree_writer.h"

using namespace m4h;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Writes the buffers into a new file (a temporary name, renamed over `path`): the file system's
// share of writing them. Returns seconds.
double write_buffers(const std::string& path, const std::vector<std::vector<uint8_t>>& buffers) {
  const std::string tmp = path + ".tmp";
  double t0 = now();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 1e30;
  bool ok = true;
  for (const auto& b : buffers) ok = ok && ::write(fd, b.data(), b.size()) == static_cast<ssize_t>(b.size());
  ok = ::close(fd) == 0 && ok;
  ok = ok && std::rename(tmp.c_str(), path.c_str()) == 0;
  const double t = now() - t0;
  std::filesystem::remove(path);
  return ok ? t : 1e30;
}

double write_file(const std::string& path, root::CompressionSettings cs, gen::Layout layout,
                  const std::vector<std::vector<root::Column>>& chunks, ThreadPool* pool) {
  // The previous round's file goes first, untimed: renaming over it would free its pages inside
  // the timing, a cost the file-write ceiling (which removes its file after timing) does not pay.
  std::filesystem::remove(path);
  double t0 = now();
  root::FileWriter file(path, cs);
  root::TreeWriter tree(file, "Events", "bench", gen::event_branches(layout), {32000, 0, pool});
  for (const auto& c : chunks) tree.append(c);
  tree.close();
  file.close();
  return now() - t0;
}

struct Case {
  root::Codec codec;
  int level;
  std::string label() const { return std::string(root::codec_name(codec)) + "-" + std::to_string(level); }
};

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  int64_t events = 500000;
  int reps = 3;
  std::string dir, only;
  gen::Layout layout = gen::Layout::kNanoAOD;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--events" && i + 1 < argc) events = std::atoll(argv[++i]);
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--layout" && i + 1 < argc) layout = gen::parse_layout(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: write_bench [--events N] [--dir DIR] [--reps R] [--only CODEC[-LEVEL]] "
                   "[--layout nanoaod|vector]\n");
      return 2;
    }
  }
  if (dir.empty())
    dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : std::filesystem::temp_directory_path().string();

  std::vector<std::vector<root::Column>> chunks;
  for (int64_t first = 0; first < events; first += 10000)
    chunks.push_back(gen::generate_chunk(gen::Process::kBackground, layout, 1, first,
                                         std::min<int64_t>(10000, events - first)));
  const auto specs = gen::event_branches(layout);
  int flat = 0, jagged = 0;
  for (const auto& s : specs)
    (s.kind == root::BranchSpec::Kind::kScalar || s.kind == root::BranchSpec::Kind::kFixedArray ? flat : jagged)++;

  // The baskets' uncompressed payloads, from an uncompressed copy.
  const std::string raw_path = dir + "/write_bench_" + std::to_string(::getpid()) + "_none.root";
  double t_none = 1e30;
  auto pool2 = ThreadPool::for_total_threads(2);
  double t_none2 = 1e30;
  for (int r = 0; r < reps; ++r) {
    t_none2 = std::min(t_none2, write_file(raw_path, {root::Codec::kNone, 0}, layout, chunks, pool2.get()));
    t_none = std::min(t_none, write_file(raw_path, {root::Codec::kNone, 0}, layout, chunks, nullptr));
  }
  std::vector<root::BasketData> baskets;
  uint64_t payload = 0;
  {
    auto f = root::File::open(raw_path);
    auto t = root::Tree::load(f, "Events");
    for (const auto* b : t->all_branches())
      for (std::size_t i = 0; i < b->baskets.size(); ++i) {
        baskets.push_back(root::load_basket(*f, *b, i));
        payload += baskets.back().bytes.size();
      }
  }
  const double mb = payload / 1e6;
  std::printf("%lld events (%s layout: %d flat, %d jagged branches), %zu baskets of <= 32000 B, %.1f MB of "
              "basket payload; files in %s; best of %d\n\n",
              static_cast<long long>(events), layout == gen::Layout::kNanoAOD ? "NanoAOD" : "std::vector", flat,
              jagged, baskets.size(), mb, dir.c_str(), reps);
  std::printf("| codec | file MB | ratio | raw compress MB/s (1 thread) | ours 1T write MB/s (%% of raw) | ours 2T "
              "write MB/s (%% of raw) | 2T/1T | codec s | writer 1T s | file write alone MB/s | ours 2T %% of "
              "ceiling |\n");
  std::printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  const double none_mb = std::filesystem::file_size(raw_path) / 1e6;
  if (only.empty() || only == "none" || only == "none-0") {
    std::vector<std::vector<uint8_t>> stored;
    for (const auto& b : baskets) stored.emplace_back(b.bytes.begin(), b.bytes.end());
    double t_fs = 1e30;
    for (int r = 0; r < reps; ++r) t_fs = std::min(t_fs, write_buffers(dir + "/write_bench_fs.root", stored));
    std::printf("| none | %.1f | 1.00 | - | %.0f | %.0f | %.2fx | 0 | %.3f | %.0f | %.0f%% |\n", none_mb, mb / t_none,
                mb / t_none2, t_none / t_none2, t_none, mb / t_fs, 100.0 * t_fs / t_none2);
  }
  const Case cases[] = {{root::Codec::kZlib, 1}, {root::Codec::kZlib, 6}, {root::Codec::kLz4, 1},
                        {root::Codec::kZstd, 1}, {root::Codec::kZstd, 5}, {root::Codec::kLzma, 1}};
  for (const auto& c : cases) {
    if (!only.empty() && only != c.label() && only != root::codec_name(c.codec)) continue;
    root::CompressionSettings cs{c.codec, c.level};
    double raw_best = 1e30, ours_best = 1e30, ours2_best = 1e30;
    const int n = c.codec == root::Codec::kLzma ? 1 : reps;
    const std::string path = dir + "/write_bench_" + std::to_string(::getpid()) + "_" + c.label() + ".root";
    std::vector<std::vector<uint8_t>> stored(baskets.size());
    double fs_best = 1e30;
    for (int r = 0; r < n; ++r) {
      double t0 = now();
      std::size_t sink = 0;
      for (std::size_t i = 0; i < baskets.size(); ++i) {
        stored[i] = root::compress(cs, baskets[i].bytes);
        sink += stored[i].size();
      }
      raw_best = std::min(raw_best, now() - t0);
      if (sink == 0) std::printf("?");
      fs_best = std::min(fs_best, write_buffers(dir + "/write_bench_fs.root", stored));
      ours_best = std::min(ours_best, write_file(path, cs, layout, chunks, nullptr));
      ours2_best = std::min(ours2_best, write_file(path, cs, layout, chunks, pool2.get()));
    }
    const double file_mb = std::filesystem::file_size(path) / 1e6;
    std::printf("| %s | %.1f | %.2f | %.0f | %.0f (%.0f%%) | %.0f (%.0f%%) | %.2fx | %.3f | %.3f | %.0f | %.0f%% |\n",
                c.label().c_str(), file_mb, none_mb / file_mb, mb / raw_best, mb / ours_best,
                100.0 * raw_best / ours_best, mb / ours2_best, 100.0 * raw_best / ours2_best,
                ours_best / ours2_best, raw_best, ours_best - raw_best, mb / fs_best,
                100.0 * std::max(raw_best, fs_best) / ours2_best);
    std::fflush(stdout);
    std::filesystem::remove(path);
  }
  std::filesystem::remove(raw_path);
  return 0;
}
