// Reading a tree chunk by chunk from a local path or a URL (root://, http://), as an analysis job
// does: root::File::open with the remote options, then root::ChunkIterator over every supported
// branch (or the -b ones), columns decoded and dropped. Reports wall time, MB/s and the I/O the
// source did: backend requests, byte ranges and bytes per chunk (io::Source::stats()). Run by
// bench/remote_bench.sh against real XRootD and HTTP servers.
//
//   remote_read_bench [options] FILE_OR_URL[:TREE]...
//     --chunk N          entries per chunk (default 200000)
//     --threads K        threads decoding, this one included (default 2; 0: all cores)
//     --coalesce-gap B   merge ranges closer than B bytes (default -1: the backend's; 0: never)
//     --timeout S        seconds per remote request (default 60)
//     --retries R        retries of a failed remote request (default 3)
//     --repeat R         passes over each input; the median pass is reported (default 3)
//     --read-ahead       read the next chunk's baskets while the current one decodes
//                        (ChunkIterator::set_read_ahead)
//     -b BRANCH          read only this branch (repeatable)
//     --label TEXT       first column of the output rows (default: the input)
//     --header           print the table header first
//     --tsv              tab-separated fields instead of a markdown row (for scripts): label,
//                        branches, entries, chunks, stored MB, s, MB (uncompressed), requests per
//                        chunk, max requests in a chunk, ranges per chunk, KB per request, open
//                        requests, CPU s of this process
// One markdown row per input on stdout:
//   | label | branches | entries | chunks | stored MB | s | stored MB/s | MB/s (uncompressed) |
//   requests/chunk (max) | ranges/chunk | KB/request | open requests | CPU s |
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/source.h"
#include "root/branch_reader.h"
#include "root/file.h"
#include "root/interpretation.h"
#include "root/tree.h"

using namespace m4h;

namespace {

struct Options {
  int64_t chunk = 200000;
  int threads = 2;
  io::SourceOptions source;
  int repeat = 3;
  std::vector<std::string> branches;
  std::string label;
  bool header = false;
  bool tsv = false;
  bool read_ahead = false;
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

struct Pass {
  double seconds = 0;
  double cpu = 0;  // CPU seconds of this process (all threads)
  int64_t entries = 0;
  int64_t chunks = 0;
  std::size_t branches = 0;
  double stored_bytes = 0;        // compressed baskets of the branches read (from the tree metadata)
  double uncompressed_bytes = 0;  // their payloads
  io::IoStats open_io;            // opening the file and loading the tree
  io::IoStats chunk_io;           // all chunks together
  uint64_t max_requests_per_chunk = 0;
};

io::IoStats minus(const io::IoStats& a, const io::IoStats& b) {
  return {a.requests - b.requests, a.ranges - b.ranges, a.bytes - b.bytes, a.retries - b.retries};
}

// "URL:TREE" -> URL, TREE: the tree follows the last ':' unless that colon belongs to the URL
// (scheme, port) or the path.
std::pair<std::string, std::string> split(const std::string& arg) {
  auto pos = arg.rfind(':');
  if (pos == std::string::npos) return {arg, ""};
  std::string tail = arg.substr(pos + 1);
  if (tail.empty() || tail.find('/') != std::string::npos || tail.find('.') != std::string::npos ||
      std::all_of(tail.begin(), tail.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return {arg, ""};
  return {arg.substr(0, pos), tail};
}

Pass one_pass(const std::string& input, const Options& o) {
  auto [url, tree_path] = split(input);
  auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  auto file = root::File::open(url, o.source);
  if (tree_path.empty()) {
    auto trees = root::tree_paths(*file);
    if (trees.size() != 1) throw Error(ErrorCode::kInvalidArgument, url + ": name the tree as URL:TREE");
    tree_path = trees[0];
  }
  auto tree = root::Tree::load(file, tree_path);
  Pass p;
  std::vector<root::BranchRequest> requests;
  auto add = [&](const root::BranchInfo* b) {
    auto in = root::interpret(*tree, *b);
    if (!in.supported()) return false;
    p.stored_bytes += static_cast<double>(b->compressed_bytes());
    p.uncompressed_bytes += static_cast<double>(b->uncompressed_bytes());
    requests.push_back({b, std::move(in)});
    return true;
  };
  if (o.branches.empty()) {
    for (const auto* b : tree->all_branches()) add(b);
  } else {
    for (const auto& name : o.branches) {
      const auto* b = tree->find(name);
      if (!b || !add(b)) throw Error(ErrorCode::kNotFound, url + ": no readable branch '" + name + "'");
    }
  }
  p.branches = requests.size();
  p.open_io = file->source().stats();
  auto pool = ThreadPool::for_total_threads(static_cast<std::size_t>(o.threads));
  root::ChunkIterator it(*tree, std::move(requests), o.chunk, 0, tree->entries(), pool.get());
  it.set_read_ahead(o.read_ahead);
  int64_t lo = 0, hi = 0;
  std::vector<root::Column> columns;
  io::IoStats before = p.open_io;
  while (it.next(lo, hi, columns)) {
    io::IoStats now = file->source().stats();
    p.max_requests_per_chunk = std::max(p.max_requests_per_chunk, now.requests - before.requests);
    before = now;
    p.entries += hi - lo;
    ++p.chunks;
  }
  p.chunk_io = minus(file->source().stats(), p.open_io);
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  p.cpu = cpu_seconds() - cpu0;
  return p;
}

int usage() {
  std::fprintf(stderr,
               "usage: remote_read_bench [--chunk N] [--threads K] [--coalesce-gap B] [--timeout S] "
               "[--retries R] [--repeat R] [--read-ahead] [-b BRANCH]... [--label TEXT] [--header] [--tsv] FILE_OR_URL[:TREE]...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // As the CLI does (src/cli/main.cc): keep freed memory instead of returning every large column
  // and read buffer to the kernel, whose page faults would then dominate on small VMs.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  Options o;
  std::vector<std::string> inputs;
  for (int a = 1; a < argc; ++a) {
    std::string k = argv[a];
    auto next = [&]() -> std::string {
      if (a + 1 >= argc) std::exit(usage());
      return argv[++a];
    };
    if (k == "--chunk") o.chunk = std::stoll(next());
    else if (k == "--threads") o.threads = std::stoi(next());
    else if (k == "--coalesce-gap") o.source.coalesce_gap = std::stoll(next());
    else if (k == "--timeout") o.source.timeout_s = std::stod(next());
    else if (k == "--retries") o.source.retries = std::stoi(next());
    else if (k == "--repeat") o.repeat = std::max(1, std::stoi(next()));
    else if (k == "-b") o.branches.push_back(next());
    else if (k == "--label") o.label = next();
    else if (k == "--header") o.header = true;
    else if (k == "--tsv") o.tsv = true;
    else if (k == "--read-ahead") o.read_ahead = true;
    else if (!k.empty() && k[0] == '-') return usage();
    else inputs.push_back(k);
  }
  if (inputs.empty()) return usage();
  if (o.header && !o.tsv) {
    std::printf("| read | branches | entries | chunks | stored MB | s | stored MB/s | MB/s | requests/chunk (max) "
                "| ranges/chunk | KB/request | open requests | CPU s |\n");
    std::printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  }
  int rc = 0;
  for (const auto& input : inputs) {
    try {
      std::vector<Pass> passes;
      for (int r = 0; r < o.repeat; ++r) passes.push_back(one_pass(input, o));
      std::sort(passes.begin(), passes.end(), [](const Pass& a, const Pass& b) { return a.seconds < b.seconds; });
      const Pass& p = passes[passes.size() / 2];
      const double chunks = std::max<double>(1, static_cast<double>(p.chunks));
      const double requests = std::max<double>(1, static_cast<double>(p.chunk_io.requests));
      const std::string label = o.label.empty() ? input : o.label;
      const double req_per_chunk = static_cast<double>(p.chunk_io.requests) / chunks;
      const double ranges_per_chunk = static_cast<double>(p.chunk_io.ranges) / chunks;
      const double kb_per_request = static_cast<double>(p.chunk_io.bytes) / requests / 1e3;
      if (o.tsv) {
        std::printf("%s\t%zu\t%lld\t%lld\t%.3f\t%.4f\t%.3f\t%.2f\t%llu\t%.2f\t%.1f\t%llu\t%.3f\n", label.c_str(),
                    p.branches, static_cast<long long>(p.entries), static_cast<long long>(p.chunks),
                    p.stored_bytes / 1e6, p.seconds, p.uncompressed_bytes / 1e6, req_per_chunk,
                    static_cast<unsigned long long>(p.max_requests_per_chunk), ranges_per_chunk, kb_per_request,
                    static_cast<unsigned long long>(p.open_io.requests), p.cpu);
      } else {
        std::printf("| %s | %zu | %lld | %lld | %.1f | %.3f | %.1f | %.1f | %.1f (%llu) | %.1f | %.0f | %llu | %.2f |\n",
                    label.c_str(), p.branches, static_cast<long long>(p.entries), static_cast<long long>(p.chunks),
                    p.stored_bytes / 1e6, p.seconds, p.stored_bytes / 1e6 / p.seconds,
                    p.uncompressed_bytes / 1e6 / p.seconds, req_per_chunk,
                    static_cast<unsigned long long>(p.max_requests_per_chunk), ranges_per_chunk, kb_per_request,
                    static_cast<unsigned long long>(p.open_io.requests), p.cpu);
      }
      std::fflush(stdout);
    } catch (const Error& e) {
      std::fprintf(stderr, "remote_read_bench: error: %s\n", e.what());
      rc = 2;
    }
  }
  return rc;
}
