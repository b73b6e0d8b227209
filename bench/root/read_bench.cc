#include <malloc.h>
// read_bench: throughput of the TTree reader against the raw codec ceiling and jsroot.
//
//   read_bench [options] FILE[:TREE]...
//
// For each FILE:TREE (first TTree in the file when ":TREE" is left out) it reads every supported
// branch over all entries and reports, side by side:
//   * the ceiling: ROOT's compressed blocks of the same baskets decompressed by the codec library
//     alone (root::decompress_payload), from memory into one reused buffer, single thread; raw
//     baskets count as a memcpy;
//   * ours: root::read_branches over all entries with 1 thread (no pool: the calling thread) and
//     2 threads (ThreadPool::for_total_threads(2): the caller and one worker), as --threads 1/2;
//   * optionally jsroot (tools/oracle/bench.mjs) on the same tree.
// After a warm-up pass of every variant (page cache, allocator, codec contexts), --repeat rounds
// each time every variant once; one measurement loops over full passes until --min-time seconds
// have gone by and divides. MB/s are medians over the rounds; "% of ceiling" and "2T/1T" are
// medians of the per-round ratios (both sides measured back to back, under the same machine load).
// MB = 10^6 bytes of uncompressed basket payload (the decompressed TBasket buffers, entry-offset
// tables included), computed once up front by loading every basket of the branches read.
//
// Output: a markdown table on stdout (and a second table with diagnostics), progress on stderr.

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/coalesce.h"
#include "root/basket.h"
#include "root/branch_reader.h"
#include "root/compression.h"
#include "root/cursor.h"
#include "root/file.h"
#include "root/interpretation.h"
#include "root/tree.h"

namespace {

using namespace m4h;
using Clock = std::chrono::steady_clock;

struct Options {
  int repeat = 5;
  double min_time = 0.3;
  bool jsroot = false;
  int jsroot_repeat = 7;
  std::string node = "node";
  std::string oracle = "tools/oracle/bench.mjs";
  std::string json_path;
  int64_t chunk = 0;  // > 0: ours reads in chunks of this many entries (ChunkIterator)
  std::string only;  // run just this measurement (for profilers): codec, memcpy, load, nodecode, 1t, 2t
  std::vector<std::string> targets;
};

[[noreturn]] void usage(int rc) {
  std::fprintf(rc ? stderr : stdout,
               "usage: read_bench [options] FILE[:TREE]...\n"
               "  --repeat N        rounds, each timing every variant once; medians reported (default 5)\n"
               "  --min-time S      each measurement loops full passes for at least S seconds (0.3)\n"
               "  --jsroot          also run `node tools/oracle/bench.mjs FILE TREE --repeat K`\n"
               "  --jsroot-repeat K passes jsroot times, its median is used (default 7)\n"
               "  --node PATH       node executable (default: node)\n"
               "  --oracle PATH     path of bench.mjs (default: tools/oracle/bench.mjs)\n"
               "  --json PATH       also write every measurement as JSON\n"
               "  --chunk N         ours reads through ChunkIterator, N entries a chunk, dropping each\n"
               "                    chunk's columns before the next (how a pipeline reads; default:\n"
               "                    all entries in one read_branches call)\n"
               "  --only WHAT       time only one of: codec memcpy load nodecode 1t 2t (to run under\n"
               "                    perf/callgrind; the table then shows '-' for the rest)\n");
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
    else if (a == "--repeat") o.repeat = std::max(1, std::atoi(value().c_str()));
    else if (a == "--min-time") o.min_time = std::max(0.0, std::atof(value().c_str()));
    else if (a == "--jsroot") o.jsroot = true;
    else if (a == "--jsroot-repeat") o.jsroot_repeat = std::max(1, std::atoi(value().c_str()));
    else if (a == "--node") o.node = value();
    else if (a == "--oracle") o.oracle = value();
    else if (a == "--json") o.json_path = value();
    else if (a == "--only") o.only = value();
    else if (a == "--chunk") o.chunk = std::max<int64_t>(0, std::atoll(value().c_str()));
    else if (!a.empty() && a[0] == '-') usage(2);
    else o.targets.push_back(a);
  }
  if (o.targets.empty()) usage(2);
  return o;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// Anything the optimiser must not drop accumulates here.
volatile uint64_t g_sink = 0;

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

// Minor page faults of the process so far (first touches of fresh memory).
long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Microseconds to fault in one fresh 4 KiB page of anonymous memory (median of 3 x 32 MiB). Any
// buffer a reader allocates fresh costs this per page on first touch; on some VMs it is ~50x the
// bare-metal cost and then dominates small reads.
double page_fault_us() {
  const std::size_t n = std::size_t{32} << 20, page = 4096;
  std::vector<double> v;
  for (int r = 0; r < 3; ++r) {
    auto t0 = Clock::now();
    void* m = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 0;
    auto* p = static_cast<volatile char*>(m);
    for (std::size_t i = 0; i < n; i += page) p[i] = 1;
    munmap(m, n);
    v.push_back(std::chrono::duration<double>(Clock::now() - t0).count() * 1e6 / (n / page));
  }
  return median(v);
}

// The 1-minute load average: the machine is shared, so every result records it.
double load_average() {
  std::ifstream f("/proc/loadavg");
  double l = -1;
  f >> l;
  return l;
}

struct Timing {
  double seconds = 0;  // median seconds per full pass
  double cpu = 0;      // median CPU seconds per full pass, all threads of the process
  double faults = 0;   // minor page faults per pass (all measurements)
  double spread = 0;   // (max - min) / median over the measurements
  int passes = 0;      // passes per measurement (last one)
  std::vector<double> samples;
  std::vector<double> cpu_samples;
};

// The variants of one FILE:TREE are measured in interleaved rounds: every round times each variant
// once, back to back, so that each round's ratios (ours / ceiling, 2T / 1T) compare runs that saw
// the same load on a shared machine. A measurement loops full passes until --min-time has gone by.
struct Variant {
  const char* name;  // for --only
  std::function<void()> pass;
  Timing* out;
  long faults = 0;
  long passes = 0;
};

void measure_rounds(const Options& o, std::vector<Variant>& variants) {
  std::vector<Variant*> active;
  for (auto& v : variants)
    if (o.only.empty() || o.only == v.name) active.push_back(&v);
  for (Variant* v : active) v->pass();  // warm-up: page cache, allocator, codec contexts
  for (int r = 0; r < o.repeat; ++r) {
    for (Variant* v : active) {
      int n = 0;
      const long f0 = minor_faults();
      const double c0 = cpu_now();
      auto t0 = Clock::now();
      double elapsed = 0;
      do {
        v->pass();
        ++n;
        elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      } while (elapsed < o.min_time);
      v->out->cpu_samples.push_back((cpu_now() - c0) / n);
      v->out->samples.push_back(elapsed / n);
      v->out->passes = n;
      v->faults += minor_faults() - f0;
      v->passes += n;
    }
  }
  for (Variant* v : active) {
    Timing& t = *v->out;
    t.faults = static_cast<double>(v->faults) / static_cast<double>(v->passes);
    t.seconds = median(t.samples);
    t.cpu = median(t.cpu_samples);
    auto [lo, hi] = std::minmax_element(t.samples.begin(), t.samples.end());
    t.spread = t.seconds > 0 ? (*hi - *lo) / t.seconds : 0;
  }
}

// Median over rounds of a.samples[r] / b.samples[r] (0 when either was not measured).
double median_ratio(const Timing& a, const Timing& b) {
  std::vector<double> v;
  for (std::size_t r = 0; r < a.samples.size() && r < b.samples.size(); ++r)
    if (b.samples[r] > 0) v.push_back(a.samples[r] / b.samples[r]);
  return median(v);
}

// ---- the raw-codec ceiling: the baskets' compressed blocks, in memory

struct Block {
  root::Codec codec = root::Codec::kNone;  // kNone: a raw (uncompressed) basket, timed as memcpy
  std::size_t buffer = 0;                  // index into Ceiling::stored
  std::size_t offset = 0;                  // payload start in that buffer (after header/checksum)
  std::size_t in_size = 0;
  std::size_t out_size = 0;
};

struct Ceiling {
  std::vector<Bytes> stored;  // each basket's bytes as stored in the file
  std::vector<Block> blocks;
  std::size_t max_out = 0;
  std::map<root::Codec, int64_t> uncompressed_by_codec;  // kNone = raw baskets
  int64_t compressed_bytes = 0;                          // payload bytes as stored (no keys)
};

std::size_t u24(const uint8_t* p) {
  return std::size_t{p[0]} | std::size_t{p[1]} << 8 | std::size_t{p[2]} << 16;
}

root::Codec codec_of_tag(const uint8_t* p) {
  if (p[0] == 'Z' && p[1] == 'L') return root::Codec::kZlib;
  if (p[0] == 'X' && p[1] == 'Z') return root::Codec::kLzma;
  if (p[0] == 'L' && p[1] == '4') return root::Codec::kLz4;
  if (p[0] == 'Z' && p[1] == 'S') return root::Codec::kZstd;
  if (p[0] == 'C' && p[1] == 'S') return root::Codec::kOldRoot;
  throw Error(ErrorCode::kCorrupt, "unknown compression tag");
}

// Splits one basket into blocks: walks ROOT's 9-byte headers tag(2) method(1) csize(3 LE)
// usize(3 LE); "L4" payloads start with an 8-byte xxhash64, which is skipped (not verified).
void add_basket(const root::File& file, const root::BasketRef& ref, Ceiling& c) {
  if (ref.embedded) {
    c.stored.emplace_back(ref.embedded->payload.begin(), ref.embedded->payload.end());
    const std::size_t n = c.stored.back().size();
    c.blocks.push_back({root::Codec::kNone, c.stored.size() - 1, 0, n, n});
    c.uncompressed_by_codec[root::Codec::kNone] += static_cast<int64_t>(n);
    c.compressed_bytes += static_cast<int64_t>(n);
    c.max_out = std::max(c.max_out, n);
    return;
  }
  c.stored.push_back(file.source().read(static_cast<uint64_t>(ref.seek),
                                        static_cast<uint64_t>(ref.bytes)));
  const std::size_t index = c.stored.size() - 1;
  const auto& s = c.stored.back();
  root::Cursor cur(s, static_cast<uint64_t>(ref.seek));
  root::Key key = root::parse_key(cur);
  const std::size_t keylen = static_cast<std::size_t>(key.keylen);
  const std::size_t objlen = static_cast<std::size_t>(key.objlen);
  c.compressed_bytes += static_cast<int64_t>(s.size() - keylen);
  if (!key.is_compressed()) {
    c.blocks.push_back({root::Codec::kNone, index, keylen, s.size() - keylen, s.size() - keylen});
    c.uncompressed_by_codec[root::Codec::kNone] += static_cast<int64_t>(s.size() - keylen);
    c.max_out = std::max(c.max_out, s.size() - keylen);
    return;
  }
  std::size_t in = keylen, out = 0;
  while (out < objlen) {
    if (in + 9 > s.size()) throw Error(ErrorCode::kCorrupt, "truncated block header");
    Block b;
    b.codec = codec_of_tag(&s[in]);
    std::size_t csize = u24(&s[in + 3]);
    b.out_size = u24(&s[in + 6]);
    b.buffer = index;
    b.offset = in + 9;
    b.in_size = csize;
    if (b.codec == root::Codec::kLz4) {
      b.offset += 8;
      b.in_size -= 8;
    }
    if (in + 9 + csize > s.size() || b.out_size == 0)
      throw Error(ErrorCode::kCorrupt, "block sizes do not fit the basket");
    c.blocks.push_back(b);
    c.uncompressed_by_codec[b.codec] += static_cast<int64_t>(b.out_size);
    c.max_out = std::max(c.max_out, b.out_size);
    in += 9 + csize;
    out += b.out_size;
  }
}

// ---- jsroot through tools/oracle/bench.mjs

struct JsResult {
  bool ok = false;
  std::string error;
  double seconds = 0;
  int64_t entries = 0;
  int64_t branches = 0;
  int64_t skipped = 0;
  int64_t bytes = 0;
  std::string mode;
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

// The value after "key": in a flat JSON object (numbers and strings are enough here).
std::optional<std::string> json_field(const std::string& js, const std::string& key) {
  auto p = js.find("\"" + key + "\"");
  if (p == std::string::npos) return std::nullopt;
  p = js.find(':', p);
  if (p == std::string::npos) return std::nullopt;
  ++p;
  while (p < js.size() && js[p] == ' ') ++p;
  if (p < js.size() && js[p] == '"') {
    auto e = js.find('"', p + 1);
    return js.substr(p + 1, e - p - 1);
  }
  auto e = js.find_first_of(",}", p);
  return js.substr(p, e - p);
}

JsResult run_jsroot(const Options& o, const std::string& file, const std::string& tree) {
  JsResult r;
  std::string cmd = shell_quote(o.node) + " " + shell_quote(o.oracle) + " " + shell_quote(file) +
                    " " + shell_quote(tree) + " --repeat " + std::to_string(o.jsroot_repeat) +
                    " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    r.error = "popen failed";
    return r;
  }
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  auto num = [&](const char* k) -> double {
    auto v = json_field(out, k);
    return v ? std::atof(v->c_str()) : 0;
  };
  if (rc != 0 || !json_field(out, "seconds")) {
    r.error = "bench.mjs exit status " + std::to_string(rc);
    return r;
  }
  r.seconds = num("seconds");
  r.entries = static_cast<int64_t>(num("entries"));
  r.branches = static_cast<int64_t>(num("branches"));
  r.skipped = static_cast<int64_t>(num("skipped_branches"));
  r.bytes = static_cast<int64_t>(num("bytes_uncompressed"));
  r.mode = json_field(out, "mode").value_or("");
  r.ok = r.seconds > 0;
  if (!r.ok) r.error = "no timed pass (no readable branch?)";
  return r;
}

// ---- one FILE:TREE

struct Result {
  std::string target, file, tree;
  std::string error;
  std::string codec;
  int64_t entries = 0;
  int branches_read = 0, branches_unsupported = 0, branches_failed = 0;
  std::vector<std::string> failures;
  int64_t baskets = 0;
  int64_t bytes = 0;             // uncompressed basket payload bytes of the branches read
  int64_t stored_bytes = 0;      // their stored payload bytes
  Timing codec_t, memcpy_t, load_t, nodecode_t, t1, t2;
  std::optional<JsResult> js;
  double load_before = -1, load_after = -1;  // 1-minute load average
  double pct_of_ceiling = 0;  // median over rounds of ceiling time / ours 1T time, in %
  double scaling = 0;         // median over rounds of 1T time / 2T time

  double mbps(const Timing& t) const { return t.seconds > 0 ? bytes / t.seconds / 1e6 : 0; }
  double cpu_mbps(const Timing& t) const { return t.cpu > 0 ? bytes / t.cpu / 1e6 : 0; }
};

std::string codec_label(const Ceiling& c) {
  int64_t total = 0;
  for (auto& [k, v] : c.uncompressed_by_codec) total += v;
  std::vector<std::pair<int64_t, root::Codec>> by;
  for (auto& [k, v] : c.uncompressed_by_codec) by.push_back({v, k});
  std::sort(by.rbegin(), by.rend());
  std::string s;
  for (auto& [v, k] : by) {
    if (total > 0 && v * 100 < total) continue;  // under 1 %
    if (!s.empty()) s += "+";
    s += k == root::Codec::kNone ? std::string("none") : std::string(root::codec_name(k));
  }
  return s.empty() ? "none" : s;
}

void split_target(const std::string& t, std::string& file, std::string& tree) {
  // FILE:TREE, split at the last ':' that is not part of "scheme://".
  auto p = t.rfind(':');
  if (p == std::string::npos || t.compare(p, 3, "://") == 0) {
    file = t;
    tree.clear();
  } else {
    file = t.substr(0, p);
    tree = t.substr(p + 1);
  }
}

Result bench_one(const Options& o, const std::string& target) {
  Result res;
  res.target = target;
  split_target(target, res.file, res.tree);
  auto file = root::File::open(res.file);
  if (res.tree.empty()) {
    auto paths = root::tree_paths(*file);
    if (paths.empty()) throw Error(ErrorCode::kNotFound, "no TTree in " + res.file);
    res.tree = paths[0];
  }
  auto tree = root::Tree::load(file, res.tree);
  res.load_before = load_average();
  res.entries = tree->entries();
  std::cerr << "== " << res.file << ":" << res.tree << " (" << res.entries << " entries)\n";

  // Branches: every supported one that also reads back without an error on its own.
  std::vector<root::BranchRequest> requests;
  for (const root::BranchInfo* b : tree->all_branches()) {
    root::Interpretation in;
    try {
      in = root::interpret(*tree, *b);
    } catch (const std::exception& e) {
      ++res.branches_unsupported;
      continue;
    }
    if (!in.supported()) {
      if (in.layout != root::Layout::kNone) ++res.branches_unsupported;
      continue;
    }
    root::BranchRequest req{b, std::move(in)};
    try {
      (void)root::read_branches(*tree, std::span<const root::BranchRequest>(&req, 1), 0,
                                tree->entries(), nullptr);
    } catch (const std::exception& e) {
      ++res.branches_failed;
      res.failures.push_back(b->path + ": " + e.what());
      continue;
    }
    requests.push_back(std::move(req));
  }
  res.branches_read = static_cast<int>(requests.size());
  for (auto& f : res.failures) std::cerr << "   read error (branch left out): " << f << "\n";

  // Members of one object branch (MET.fX, MET.fY) read its baskets: each basket counts once, as
  // read_branches decompresses it once for all of them.
  std::vector<const root::BranchInfo*> owners;  // per request: whose baskets it reads, or null
  {
    std::set<const root::BranchInfo*> seen;
    for (auto& r : requests) {
      owners.push_back(seen.insert(root::baskets_owner(r.branch)).second ? r.branch : nullptr);
    }
  }
  // Bytes read, and the same baskets' stored bytes for the ceiling.
  Ceiling ceiling;
  std::vector<root::BasketData> loaded;  // decompressed baskets: source of the memcpy pass
  for (std::size_t k = 0; k < requests.size(); ++k) {
    auto& r = requests[k];
    if (!owners[k]) continue;
    for (std::size_t i = 0; i < r.branch->baskets.size(); ++i) {
      const auto& ref = r.branch->baskets[i];
      if (ref.entries <= 0) continue;  // read_branches skips it too
      loaded.push_back(root::load_basket(*file, *r.branch, i));
      res.bytes += static_cast<int64_t>(loaded.back().bytes.size());
      add_basket(*file, ref, ceiling);
      ++res.baskets;
    }
  }
  res.stored_bytes = ceiling.compressed_bytes;
  res.codec = codec_label(ceiling);
  int64_t ceiling_bytes = 0;
  for (auto& [k, v] : ceiling.uncompressed_by_codec) ceiling_bytes += v;
  if (ceiling_bytes != res.bytes)
    std::cerr << "   warning: blocks hold " << ceiling_bytes << " bytes, load_basket gave "
              << res.bytes << "\n";
  std::cerr << "   " << res.branches_read << " branches, " << res.baskets << " baskets, "
            << res.bytes << " bytes uncompressed, " << res.stored_bytes << " stored, codec "
            << res.codec << "\n";
  if (requests.empty()) {
    res.error = "no readable branch";
    return res;
  }

  // 1. ceiling: the codec alone over every block, into one reused buffer
  std::vector<uint8_t> out(std::max<std::size_t>(ceiling.max_out, 1));
  for (const Block& b : ceiling.blocks) {  // check once that the walk is right
    if (b.codec == root::Codec::kNone) continue;
    std::span<const uint8_t> in(ceiling.stored[b.buffer].data() + b.offset, b.in_size);
    if (root::decompress_payload(b.codec, in, std::span(out).first(b.out_size)) != b.out_size)
      throw Error(ErrorCode::kCorrupt, "decompress_payload produced a wrong size");
  }
  auto codec_pass = [&] {
    uint64_t s = 0;
    for (const Block& b : ceiling.blocks) {
      const uint8_t* src = ceiling.stored[b.buffer].data() + b.offset;
      if (b.codec == root::Codec::kNone) {
        std::memcpy(out.data(), src, b.out_size);
      } else {
        s += root::decompress_payload(b.codec, std::span(src, b.in_size),
                                      std::span(out).first(b.out_size));
      }
      s += out[b.out_size - 1];
    }
    g_sink = g_sink + s;
  };
  // memcpy of the same uncompressed bytes (what an uncompressed or LZ4 file can approach)
  auto memcpy_pass = [&] {
    uint64_t s = 0;
    for (const auto& d : loaded) {
      if (d.bytes.empty()) continue;
      std::memcpy(out.data(), d.bytes.data(), d.bytes.size());
      s += out[d.bytes.size() - 1];
    }
    g_sink = g_sink + s;
  };
  // load_basket alone (pread + key + decompress framing + offsets), no decoding into columns
  auto load_pass = [&] {
    uint64_t s = 0;
    for (std::size_t k = 0; k < requests.size(); ++k)
      for (std::size_t i = 0; owners[k] && i < owners[k]->baskets.size(); ++i) {
        const auto& ref = owners[k]->baskets[i];
        if (ref.entries <= 0) continue;  // read_branches skips it too
        s += root::load_basket(*file, *owners[k], i).bytes.size();
      }
    g_sink = g_sink + s;
  };

  // Our read path without its decoding: every basket's stored bytes in one coalesced read (as
  // read_branches does for one thread), each decompressed into one reused BasketData. The gap
  // between this and "1t" is what decoding into columns costs.
  std::vector<io::ByteRange> ranges;
  std::vector<std::pair<const root::BranchInfo*, std::size_t>> ranged, separate;
  for (std::size_t k = 0; k < requests.size(); ++k)
    for (std::size_t i = 0; owners[k] && i < owners[k]->baskets.size(); ++i) {
      const auto& ref = owners[k]->baskets[i];
      if (ref.entries <= 0) continue;
      if (ref.embedded || ref.bytes <= 0 || ref.seek < 0) {
        separate.emplace_back(owners[k], i);
      } else {
        ranges.push_back({static_cast<uint64_t>(ref.seek), static_cast<uint64_t>(ref.bytes)});
        ranged.emplace_back(owners[k], i);
      }
    }
  root::BasketData scratch;
  auto nodecode_pass = [&] {
    uint64_t s = 0;
    const auto read = io::read_coalesced(file->source(), ranges, file->source().limits().coalesce_gap);
    for (std::size_t k = 0; k < ranged.size(); ++k) {
      root::basket_from_stored_into(*file, *ranged[k].first, ranged[k].second, read.parts[k], scratch);
      s += scratch.bytes.size();
    }
    for (const auto& [branch, i] : separate) s += root::load_basket(*file, *branch, i).bytes.size();
    g_sink = g_sink + s;
  };

  // 2. ours: read_branches over all entries
  auto read_all = [&](ThreadPool* pool) {
    return [&, pool] {
      uint64_t s = 0;
      if (o.chunk > 0) {
        root::ChunkIterator it(*tree, requests, o.chunk, 0, tree->entries(), pool);
        int64_t a = 0, b = 0;
        std::vector<root::Column> cols;
        while (it.next(a, b, cols))
          for (auto& c : cols) s += c.values.size() + static_cast<uint64_t>(c.entries);
      } else {
        auto cols = root::read_branches(*tree, requests, 0, tree->entries(), pool);
        for (auto& c : cols) s += c.values.size() + static_cast<uint64_t>(c.entries);
      }
      g_sink = g_sink + s;
    };
  };
  auto pool1 = ThreadPool::for_total_threads(1), pool2 = ThreadPool::for_total_threads(2);
  std::vector<Variant> variants = {
      {"codec", codec_pass, &res.codec_t}, {"memcpy", memcpy_pass, &res.memcpy_t},
      {"load", load_pass, &res.load_t},    {"nodecode", nodecode_pass, &res.nodecode_t},
      {"1t", read_all(pool1.get()), &res.t1},
      {"2t", read_all(pool2.get()), &res.t2},
  };
  measure_rounds(o, variants);
  res.pct_of_ceiling = 100 * median_ratio(res.codec_t, res.t1);
  res.scaling = median_ratio(res.t1, res.t2);
  std::cerr << "   raw codec   " << res.mbps(res.codec_t) << " MB/s\n"
            << "   load_basket " << res.mbps(res.load_t) << " MB/s\n"
            << "   no decoding " << res.mbps(res.nodecode_t) << " MB/s\n"
            << "   ours 1T     " << res.mbps(res.t1) << " MB/s (" << res.pct_of_ceiling
            << "% of the ceiling)\n"
            << "   ours 2T     " << res.mbps(res.t2) << " MB/s (" << res.scaling << "x 1T)\n";
  res.load_after = load_average();

  // 3. jsroot
  if (o.jsroot) {
    res.js = run_jsroot(o, res.file, res.tree);
    if (res.js->ok)
      std::cerr << "   jsroot      " << res.js->bytes / res.js->seconds / 1e6 << " MB/s ("
                << res.js->branches << " branches)\n";
    else
      std::cerr << "   jsroot failed: " << res.js->error << "\n";
  }
  return res;
}

// ---- output

std::string fmt(double v, int prec) {
  if (!std::isfinite(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// 3 significant digits, no exponent.
std::string sig3(double v) {
  if (!std::isfinite(v) || v <= 0) return "-";
  int prec = v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : 3;
  return fmt(v, prec);
}

std::string base_name(const std::string& p) {
  auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

double js_mbps(const Result& r) {
  return r.js && r.js->ok && r.js->seconds > 0 ? r.js->bytes / r.js->seconds / 1e6 : 0;
}

void print_tables(const Options& o, const std::vector<Result>& results) {
  std::cout << "| file:tree | codec | entries | MB uncompressed | raw-codec MB/s | ours 1T MB/s "
               "(% of ceiling) | ours 2T MB/s (2T/1T) | events/s 1T | jsroot MB/s | speedup vs "
               "jsroot |\n";
  std::cout << "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n";
  for (const auto& r : results) {
    std::string name = base_name(r.file) + ":" + r.tree;
    if (!r.error.empty()) {
      std::cout << "| " << name << " | " << (r.codec.empty() ? "-" : r.codec)
                << " | | | | error: " << r.error << " | | | | |\n";
      continue;
    }
    double c = r.mbps(r.codec_t), a = r.mbps(r.t1), b = r.mbps(r.t2), j = js_mbps(r);
    std::cout << "| " << name << " | " << r.codec << " | " << r.entries << " | "
              << fmt(r.bytes / 1e6, 2) << " | " << sig3(c) << " | " << sig3(a) << " ("
              << fmt(r.pct_of_ceiling, 0) << "%) | " << sig3(b) << " (" << fmt(r.scaling, 2) << "x) | "
              << fmt(r.entries / r.t1.seconds, 0) << " | ";
    if (!o.jsroot) std::cout << "- | - |\n";
    else if (j <= 0) std::cout << "failed | - |\n";
    else std::cout << sig3(j) << " | " << fmt(a / j, 1) << "x |\n";
  }

  std::cout << "\nDetails. MB/s are of the same uncompressed bytes. \"CPU\" columns divide by the "
               "process CPU time instead of wall time (robust to other load on a shared machine; "
               "2T CPU counts both threads). Spread = (max-min)/median of the wall-time "
               "measurements. Load = 1-minute load average before/after.\n\n";
  std::cout << "| file:tree | branches read / unsupported / failed | baskets | stored MB | "
               "memcpy MB/s | load_basket MB/s | ours without decoding MB/s (% of ceiling) | raw-codec CPU MB/s | ours "
               "1T CPU MB/s (% of ceiling) | 2T/1T CPU | page faults/pass 1T (KB/fault) | 1T spread | 2T spread | load | jsroot "
               "branches (skipped) | jsroot MB | jsroot ms/pass | ours 1T ms/pass |\n";
  std::cout << "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
  for (const auto& r : results) {
    if (!r.error.empty()) continue;
    double cc = r.cpu_mbps(r.codec_t), c1 = r.cpu_mbps(r.t1);
    std::cout << "| " << base_name(r.file) << ":" << r.tree << " | " << r.branches_read << " / "
              << r.branches_unsupported << " / " << r.branches_failed << " | " << r.baskets
              << " | " << fmt(r.stored_bytes / 1e6, 2) << " | " << sig3(r.mbps(r.memcpy_t))
              << " | " << sig3(r.mbps(r.load_t)) << " | " << sig3(r.mbps(r.nodecode_t)) << " ("
              << fmt(100 * median_ratio(r.codec_t, r.nodecode_t), 0) << "%) | "
              << sig3(cc) << " | " << sig3(c1) << " (" << fmt(100 * c1 / cc, 0) << "%) | "
              << fmt(r.t2.cpu / r.t1.cpu, 2) << " | " << fmt(r.t1.faults, 0) << " ("
              << (r.t1.faults > 0 ? fmt(r.bytes / r.t1.faults / 1e3, 1) : std::string("-"))
              << ") | " << fmt(100 * r.t1.spread, 0) << "% | "
              << fmt(100 * r.t2.spread, 0) << "% | " << fmt(r.load_before, 1) << "/"
              << fmt(r.load_after, 1) << " | ";
    if (r.js && r.js->ok)
      std::cout << r.js->branches << " (" << r.js->skipped << ") | " << fmt(r.js->bytes / 1e6, 2)
                << " | " << fmt(r.js->seconds * 1e3, 2) << " | ";
    else
      std::cout << "- | - | - | ";
    std::cout << fmt(r.t1.seconds * 1e3, 3) << " |\n";
  }

  // Targets of the issue.
  std::cout << "\nTargets: zlib/zstd/lzma 1T >= 80% of the raw-codec ceiling; 2T >= 1.7x 1T; "
               ">= 5x jsroot.\n\n";
  for (const auto& r : results) {
    if (!r.error.empty()) continue;
    double a = r.mbps(r.t1), j = js_mbps(r);
    // The codec that holds most of the bytes decides (a few baskets may be stored raw).
    const std::string main_codec = r.codec.substr(0, r.codec.find('+'));
    bool checked_codec = main_codec == "zlib" || main_codec == "zstd" || main_codec == "lzma";
    std::cout << "- " << base_name(r.file) << ":" << r.tree << ": ";
    if (checked_codec)
      std::cout << "ceiling " << fmt(r.pct_of_ceiling, 0) << "% "
                << (r.pct_of_ceiling >= 80 ? "met" : "MISSED") << "; ";
    std::cout << "2T/1T " << fmt(r.scaling, 2) << "x " << (r.scaling >= 1.7 ? "met" : "MISSED");
    if (o.jsroot)
      std::cout << "; vs jsroot " << (j > 0 ? fmt(a / j, 1) + "x " + (a >= 5 * j ? "met" : "MISSED")
                                            : std::string("n/a"));
    std::cout << "\n";
  }
}

void write_json(const std::string& path, const Options& o, const std::vector<Result>& results) {
  std::ofstream f(path);
  auto timing = [&](const Result& r, const Timing& t) {
    std::ostringstream s;
    s << "{\"seconds\": " << t.seconds << ", \"mbps\": " << r.mbps(t) << ", \"cpu_seconds\": "
      << t.cpu << ", \"faults_per_pass\": " << t.faults << ", \"passes\": " << t.passes << ", \"samples\": [";
    for (std::size_t i = 0; i < t.samples.size(); ++i) s << (i ? ", " : "") << t.samples[i];
    s << "], \"cpu_samples\": [";
    for (std::size_t i = 0; i < t.cpu_samples.size(); ++i)
      s << (i ? ", " : "") << t.cpu_samples[i];
    s << "]}";
    return s.str();
  };
  auto q = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;
      out += c;
    }
    return out + "\"";
  };
  f << "{\"repeat\": " << o.repeat << ", \"min_time\": " << o.min_time << ", \"results\": [\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    f << "  {\"file\": " << q(r.file) << ", \"tree\": " << q(r.tree) << ", \"error\": " << q(r.error)
      << ", \"codec\": " << q(r.codec) << ", \"entries\": " << r.entries
      << ", \"bytes_uncompressed\": " << r.bytes << ", \"bytes_stored\": " << r.stored_bytes
      << ", \"baskets\": " << r.baskets << ", \"branches_read\": " << r.branches_read
      << ", \"branches_unsupported\": " << r.branches_unsupported
      << ", \"branches_failed\": " << r.branches_failed << ", \"load_before\": " << r.load_before
      << ", \"load_after\": " << r.load_after;
    if (r.error.empty()) {
      f << ",\n   \"raw_codec\": " << timing(r, r.codec_t) << ",\n   \"memcpy\": "
        << timing(r, r.memcpy_t) << ",\n   \"load_basket\": " << timing(r, r.load_t)
        << ",\n   \"no_decoding\": " << timing(r, r.nodecode_t)
        << ",\n   \"ours_1t\": "
        << timing(r, r.t1) << ",\n   \"ours_2t\": " << timing(r, r.t2);
    }
    if (r.js) {
      f << ",\n   \"jsroot\": {\"ok\": " << (r.js->ok ? "true" : "false") << ", \"error\": "
        << q(r.js->error) << ", \"seconds\": " << r.js->seconds << ", \"branches\": "
        << r.js->branches << ", \"skipped\": " << r.js->skipped << ", \"bytes_uncompressed\": "
        << r.js->bytes << ", \"mode\": " << q(r.js->mode) << "}";
    }
    f << "}" << (i + 1 < results.size() ? "," : "") << "\n";
  }
  f << "]}\n";
}

}  // namespace

int main(int argc, char** argv) {
  // Same allocator settings as the mlaas4hep CLI: freed column memory stays in the process.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  Options o = parse_args(argc, argv);
  const double fault_us = page_fault_us();
  const double load0 = load_average();
  std::vector<Result> results;
  int failures = 0;
  for (const auto& t : o.targets) {
    try {
      results.push_back(bench_one(o, t));
    } catch (const std::exception& e) {
      Result r;
      r.target = t;
      split_target(t, r.file, r.tree);
      r.error = e.what();
      std::cerr << "error: " << t << ": " << e.what() << "\n";
      results.push_back(std::move(r));
      ++failures;
    }
  }
  std::cout << "Machine: " << sysconf(_SC_NPROCESSORS_ONLN) << " CPUs online; 1-minute load average "
            << fmt(load0, 1) << " at the start, " << fmt(load_average(), 1)
            << " at the end; fresh-page fault " << fmt(fault_us, 2) << " us per 4 KiB page. "
            << o.repeat << " interleaved rounds, each timing every variant once for >= " << o.min_time
            << " s; MB/s are medians over the rounds, \"% of ceiling\" and \"2T/1T\" are medians of "
               "the per-round ratios. MB = 10^6 bytes of uncompressed basket payload.\n\n";
  print_tables(o, results);
  if (!o.json_path.empty()) write_json(o.json_path, o, results);
  return failures ? 1 : 0;
}
