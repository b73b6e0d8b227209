// Writing throughput per codec against the codec alone on the same baskets.
//
//   write_bench [--events N] [--dir DIR]
//
// Columns come from the event generator (generated before timing). For each codec the tree is
// written with TreeWriter (timed: append + close + file close), then the baskets of an
// uncompressed copy are compressed with root::compress alone (timed) as the ceiling. Throughput
// is MB/s of uncompressed basket payload; the target is >= 80% of the ceiling.
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

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

double write_file(const std::string& path, root::CompressionSettings cs,
                  const std::vector<std::vector<root::Column>>& chunks) {
  double t0 = now();
  root::FileWriter file(path, cs);
  root::TreeWriter tree(file, "Events", "bench", gen::event_branches(gen::Layout::kNanoAOD));
  for (const auto& c : chunks) tree.append(c);
  tree.close();
  file.close();
  return now() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  int64_t events = 500000;
  std::string dir = std::filesystem::temp_directory_path().string();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--events" && i + 1 < argc) events = std::atoll(argv[++i]);
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else {
      std::fprintf(stderr, "usage: write_bench [--events N] [--dir DIR]\n");
      return 2;
    }
  }
  std::vector<std::vector<root::Column>> chunks;
  for (int64_t first = 0; first < events; first += 10000)
    chunks.push_back(gen::generate_chunk(gen::Process::kBackground, gen::Layout::kNanoAOD, 1, first,
                                         std::min<int64_t>(10000, events - first)));

  // The baskets' uncompressed payloads, from an uncompressed copy.
  const std::string raw_path = dir + "/write_bench_none.root";
  double t_none = write_file(raw_path, {root::Codec::kNone, 0}, chunks);
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
  std::printf("%lld events, %zu baskets, %.1f MB of basket payload\n\n", static_cast<long long>(events),
              baskets.size(), mb);
  std::printf("| codec | level | file MB | raw compress MB/s | ours write MB/s | ours / raw |\n");
  std::printf("|---|---|--:|--:|--:|--:|\n");
  std::printf("| none | 0 | %.1f | - | %.0f | - |\n", std::filesystem::file_size(raw_path) / 1e6, mb / t_none);
  struct Case {
    root::Codec codec;
    int level;
  } cases[] = {{root::Codec::kZlib, 1}, {root::Codec::kZlib, 6}, {root::Codec::kLz4, 1},
               {root::Codec::kZstd, 1}, {root::Codec::kZstd, 5}, {root::Codec::kLzma, 1}};
  for (const auto& c : cases) {
    root::CompressionSettings cs{c.codec, c.level};
    double raw_best = 1e30, ours_best = 1e30;
    const int reps = c.codec == root::Codec::kLzma ? 1 : 3;
    std::string path = dir + "/write_bench_" + std::string(root::codec_name(c.codec)) + ".root";
    for (int r = 0; r < reps; ++r) {
      double t0 = now();
      std::size_t sink = 0;
      for (const auto& b : baskets) sink += root::compress(cs, b.bytes).size();
      raw_best = std::min(raw_best, now() - t0);
      if (sink == 0) std::printf("?");
      ours_best = std::min(ours_best, write_file(path, cs, chunks));
    }
    std::printf("| %s | %d | %.1f | %.0f | %.0f | %.0f%% |\n", std::string(root::codec_name(c.codec)).c_str(),
                c.level, std::filesystem::file_size(path) / 1e6, mb / raw_best, mb / ours_best,
                100.0 * raw_best / ours_best);
    std::filesystem::remove(path);
  }
  std::filesystem::remove(raw_path);
  return 0;
}
