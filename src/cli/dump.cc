#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/tree_spec.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "root/branch_reader.h"
#include "root/column_format.h"

namespace m4h::cli {

namespace {

struct DumpOptions {
  std::string spec;
  std::vector<std::string> branches;
  int64_t start = 0;
  int64_t stop = -1;
  std::string format = "json";
  int threads = 0;
};

void write_out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

void run_dump(const DumpOptions& o) {
  auto tree = open_tree(split_tree_spec(o.spec));
  int64_t entries = tree->entries();
  int64_t start = std::clamp<int64_t>(o.start, 0, entries);
  int64_t stop = o.stop < 0 ? entries : std::clamp<int64_t>(o.stop, start, entries);

  std::vector<std::string> keys;
  std::vector<root::BranchRequest> requests;
  if (o.branches.empty()) {
    for (const auto* b : tree->all_branches()) {
      auto in = root::interpret(*tree, *b);
      if (in.layout == root::Layout::kNone) continue;
      if (!in.supported()) {
        std::fprintf(stderr, "mlaas4hep: skipping branch '%s': %s\n", b->path.c_str(), in.reason.c_str());
        continue;
      }
      keys.push_back(b->name);
      requests.push_back({b, std::move(in)});
    }
  } else {
    for (const auto& name : o.branches) {
      const auto* b = tree->find(name);
      if (!b)
        throw Error(ErrorCode::kNotFound, tree->file().url() + ": tree '" + tree->path() +
                                              "' has no branch '" + name + "'");
      auto in = root::interpret(*tree, *b);
      if (!in.supported())
        throw Error(ErrorCode::kUnsupported,
                    tree->file().url() + ": branch '" + name + "': " +
                        (in.reason.empty() ? "holds no values of its own (a container of split members)" : in.reason));
      keys.push_back(name);
      requests.push_back({b, std::move(in)});
    }
  }

  auto pool = ThreadPool::for_total_threads(static_cast<std::size_t>(o.threads));
  auto columns = root::read_branches(*tree, requests, start, stop, pool.get());

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
  cmd->add_option("--start", o->start, "first entry (default 0)");
  cmd->add_option("--stop", o->stop, "one past the last entry (default: all)");
  cmd->add_option("--format", o->format, "json or csv")->check(CLI::IsMember({"json", "csv"}));
  cmd->add_option("--threads", o->threads, "threads reading and decompressing baskets, this one included (default 0: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->callback([o] { run_dump(*o); });
}

}  // namespace m4h::cli
