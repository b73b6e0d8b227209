#include <CLI/CLI.hpp>

#include <algorithm>
#include <limits>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/source_options.h"
#include "cli/tree_spec.h"
#include "core/error.h"
#include "core/name_pattern.h"
#include "core/thread_pool.h"
#include "root/branch_reader.h"
#include "root/column_format.h"

namespace m4h::cli {

namespace {

struct DumpOptions {
  std::string spec;
  std::vector<std::string> branches;
  std::optional<int64_t> start;  // negative: counted from the end, as Python slices (and uproot) do
  std::optional<int64_t> stop;
  std::string format = "json";
  int threads = 0;
  int64_t chunk_size = 0;
  bool read_ahead = false;
  bool verbose = false;
  io::SourceOptions source;
};

void write_out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

// Why a container branch cannot be dumped, naming its members (the branches to ask for instead).
std::string no_values_of_its_own(const root::BranchInfo& b) {
  std::string members;
  std::size_t shown = 0;
  for (const auto& c : b.children) {
    if (shown == 4) {
      members += ", ...";
      break;
    }
    members += (shown++ ? ", '" : "'") + c->name + "'";
  }
  if (members.empty()) return "holds no values of its own";
  return "holds no values of its own; its members are branches: " + members + " (-b '" + b.path +
         "/*' picks them all)";
}

// --verbose: the I/O of one step (opening, a chunk, everything) on stderr.
class IoReport {
 public:
  IoReport(const io::Source& source, bool on) : source_(source), on_(on) { mark(); }
  void mark() {
    last_ = source_.stats();
    t_ = std::chrono::steady_clock::now();
  }
  // Prints what happened since the last mark (or since `from`) and marks.
  void print(const std::string& what, const io::IoStats* from = nullptr) {
    if (!on_) return;
    const io::IoStats now = source_.stats(), base = from ? *from : last_;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_).count();
    std::fprintf(stderr, "mlaas4hep: %s: %llu requests, %llu ranges, %llu bytes, %llu retries",
                 what.c_str(), static_cast<unsigned long long>(now.requests - base.requests),
                 static_cast<unsigned long long>(now.ranges - base.ranges),
                 static_cast<unsigned long long>(now.bytes - base.bytes),
                 static_cast<unsigned long long>(now.retries - base.retries));
    if (!from) std::fprintf(stderr, " in %.3f s", s);
    std::fprintf(stderr, "\n");
    mark();
  }

 private:
  const io::Source& source_;
  bool on_;
  io::IoStats last_;
  std::chrono::steady_clock::time_point t_;
};

void run_dump(const DumpOptions& o) {
  auto tree = open_tree(split_tree_spec(o.spec), o.source);
  io::Source& source = tree->file().source();
  IoReport report(source, o.verbose);
  if (o.verbose)
    std::fprintf(stderr, "mlaas4hep: %s: %llu bytes, coalescing gap %llu bytes%s\n", source.url().c_str(),
                 static_cast<unsigned long long>(source.size()),
                 static_cast<unsigned long long>(source.limits().coalesce_gap),
                 source.limits().coalesce ? "" : " (coalescing off)");
  const io::IoStats none{};
  report.print("open (header, streamers, tree)", &none);
  int64_t entries = tree->entries();
  // Python's slice rules: -k is k entries from the end; out of range is clamped, never an error.
  auto entry_at = [entries](std::optional<int64_t> v, int64_t otherwise) {
    if (!v) return otherwise;
    return std::clamp<int64_t>(*v < 0 ? entries + *v : *v, 0, entries);
  };
  const int64_t start = entry_at(o.start, 0);
  const int64_t stop = std::max(start, entry_at(o.stop, entries));

  std::vector<std::string> keys;
  std::vector<root::BranchRequest> requests;
  // A branch found by listing (all of them, or a pattern's): one that holds no values of its own
  // is left out quietly, an unsupported one with a line, one already picked is not repeated.
  auto add_listed = [&](const root::BranchInfo* b) {
    auto in = root::interpret(*tree, *b);
    if (in.layout == root::Layout::kNone) return;
    if (!in.supported()) {
      std::fprintf(stderr, "mlaas4hep: skipping branch '%s': %s\n", b->path.c_str(), in.reason.c_str());
      return;
    }
    if (std::any_of(requests.begin(), requests.end(), [b](const auto& r) { return r.branch == b; })) return;
    keys.push_back(b->name);
    requests.push_back({b, std::move(in)});
  };
  if (o.branches.empty()) {
    for (const auto* b : tree->all_branches()) add_listed(b);
  } else {
    for (const auto& name : o.branches) {
      // A pattern ("Muon_*", "Jet_P?") picks the branches whose name or path it matches, in
      // tree order, as uproot's filter_name does.
      if (is_name_pattern(name) && !tree->find(name)) {
        bool matched = false;
        for (const auto* b : tree->all_branches()) {
          if (!name_matches(name, b->name) && !name_matches(name, b->path)) continue;
          matched = true;
          add_listed(b);
        }
        if (!matched)
          throw Error(ErrorCode::kNotFound, tree->file().url() + ": tree '" + tree->path() +
                                                "' has no branch that matches '" + name + "'");
        continue;
      }
      if (std::find(keys.begin(), keys.end(), name) != keys.end()) continue;  // one key each
      const auto* b = tree->find(name);
      if (!b)
        throw Error(ErrorCode::kNotFound, tree->file().url() + ": tree '" + tree->path() +
                                              "' has no branch '" + name + "'" + tree->similar_names(name));
      auto in = root::interpret(*tree, *b);
      if (!in.supported())
        throw Error(ErrorCode::kUnsupported, tree->file().url() + ": branch '" + name + "': " +
                                                 (in.reason.empty() ? no_values_of_its_own(*b) : in.reason));
      keys.push_back(name);
      requests.push_back({b, std::move(in)});
    }
  }

  auto pool = ThreadPool::for_total_threads(static_cast<std::size_t>(o.threads));
  const io::IoStats before_read = source.stats();
  std::vector<root::Column> columns;
  if (o.chunk_size > 0 && stop > start) {
    for (const auto& r : requests) columns.push_back(root::make_column(r.interpretation));
    root::ChunkIterator chunks(*tree, requests, o.chunk_size, start, stop, pool.get());
    chunks.set_read_ahead(o.read_ahead);
    int64_t a = 0, b = 0;
    std::vector<root::Column> chunk;
    for (int n = 0; chunks.next(a, b, chunk); ++n) {
      for (std::size_t k = 0; k < columns.size(); ++k) columns[k].append(chunk[k]);
      report.print("chunk " + std::to_string(n) + " entries [" + std::to_string(a) + ", " + std::to_string(b) + ")");
    }
  } else {
    columns = root::read_branches(*tree, requests, start, stop, pool.get());
    report.print("entries [" + std::to_string(start) + ", " + std::to_string(stop) + ")");
  }
  report.print("read in total", &before_read);

  std::string out;
  if (o.format == "csv") {
    for (std::size_t k = 0; k < keys.size(); ++k) {
      if (k) out += ',';
      out += keys[k];
    }
    out += '\n';
    for (int64_t i = 0; i < stop - start; ++i) {
      for (std::size_t k = 0; k < columns.size(); ++k) {
        if (k) out += ',';
        root::append_csv_cell(out, columns[k], i);
      }
      out += '\n';
      if (out.size() > (1 << 20)) {
        write_out(out);
        out.clear();
      }
    }
    write_out(out);
    return;
  }
  out += "{\"tree\": ";
  root::append_json_string(out, tree->path());
  out += ", \"entries\": " + std::to_string(entries) + ", \"start\": " + std::to_string(start) +
         ", \"stop\": " + std::to_string(stop) + ", \"branches\": {";
  for (std::size_t k = 0; k < keys.size(); ++k) {
    if (k) out += ", ";
    root::append_json_string(out, keys[k]);
    out += ": [";
    for (int64_t i = 0; i < columns[k].entries; ++i) {
      if (i) out += ", ";
      root::append_json_entry(out, columns[k], i);
      if (out.size() > (1 << 20)) {
        write_out(out);
        out.clear();
      }
    }
    out += "]";
  }
  out += "}}\n";
  write_out(out);
}

}  // namespace

void add_dump(CLI::App& app) {
  auto* cmd = app.add_subcommand("dump", "Print branch values of a tree as JSON or CSV");
  auto o = std::make_shared<DumpOptions>();
  cmd->add_option("file_tree", o->spec, "FILE[:TREE]")->required();
  cmd->add_option("-b,--branch", o->branches, "branch name or parent/child path (repeatable); default: all");
  cmd->add_option("--start", o->start, "first entry (default 0; negative: from the end)");
  cmd->add_option("--stop", o->stop, "one past the last entry (default: all; negative: from the end)");
  cmd->add_option("--format", o->format, "json or csv")->check(CLI::IsMember({"json", "csv"}));
  cmd->add_option("--threads", o->threads, "threads reading and decompressing baskets, this one included (default 0: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--chunk-size", o->chunk_size,
                  "read this many entries at a time (default 0: the whole range in one read)")
      ->check(CLI::Range(int64_t{0}, std::numeric_limits<int64_t>::max()));
  cmd->add_flag("--read-ahead", o->read_ahead,
                "with --chunk-size: read the next chunk's baskets in the background while this one is decoded");
  cmd->add_flag("-v,--verbose", o->verbose,
                "after reading, print on stderr the I/O statistics (requests, ranges, bytes, retries) "
                "of opening, of each chunk and in total");
  add_source_options(*cmd, o->source);
  cmd->callback([o] { run_dump(*o); });
}

}  // namespace m4h::cli
