#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/source_options.h"
#include "cli/tree_spec.h"
#include "root/interpretation.h"

namespace m4h::cli {

namespace {

std::string fmt_cell(const std::string& text, int width) {
  std::string out = text;
  if (static_cast<int>(out.size()) < width) out.append(static_cast<std::size_t>(width) - out.size(), ' ');
  return out;
}

}  // namespace

void add_show(CLI::App& app) {
  auto* cmd = app.add_subcommand("show", "Describe a tree: entries, and per branch its C++ type, "
                                         "interpretation, bytes and baskets");
  auto spec = std::make_shared<std::string>();
  auto options = std::make_shared<io::SourceOptions>();
  cmd->add_option("file_tree", *spec, "FILE[:TREE]")->required();
  add_source_options(*cmd, *options);
  cmd->callback([spec, options] {
    auto tree = open_tree(split_tree_spec(*spec), *options);
    std::printf("tree: %s (%s)  title: \"%s\"  entries: %lld  branches: %zu\n", tree->path().c_str(),
                tree->class_name().c_str(), tree->title().c_str(),
                static_cast<long long>(tree->entries()), tree->all_branches().size());
    struct Row {
      std::string name, type, kind, note;
      long long zip, tot;
      std::size_t baskets;
      bool shared = false;  // a member of objects stored whole: the bytes are its parent's
    };
    std::vector<Row> rows;
    Row total{"(total)", "", "", "", 0, 0, 0};
    for (const auto* b : tree->all_branches()) {
      auto in = root::interpret(*tree, *b);
      // The reason ("unsupported: vector<TLorentzVector>") goes last, so the columns stay aligned.
      rows.push_back({b->path, in.cpp_type, in.kind_name(), in.layout == root::Layout::kUnsupported ? in.reason : "",
                      static_cast<long long>(b->zip_bytes), static_cast<long long>(b->tot_bytes), b->baskets.size()});
      if (b->object_member) {  // it reads its parent's baskets: their bytes are on the parent's row
        rows.back().shared = true;
        continue;
      }
      total.zip += rows.back().zip;
      total.tot += rows.back().tot;
      total.baskets += rows.back().baskets;
    }
    // Columns as wide as their longest cell (xAOD branch names run past 60 characters).
    int name_w = 6, type_w = 4, kind_w = 14;
    for (const Row& r : rows) {
      name_w = std::max(name_w, static_cast<int>(r.name.size()));
      type_w = std::max(type_w, static_cast<int>(r.type.size()));
      kind_w = std::max(kind_w, static_cast<int>(r.kind.size()));
    }
    auto print = [&](const Row& r, const char* zip, const char* tot, const char* baskets) {
      std::string line = fmt_cell(r.name, name_w) + " " + fmt_cell(r.type, type_w) + " " + fmt_cell(r.kind, kind_w);
      char numbers[64];
      std::snprintf(numbers, sizeof numbers, " %12s %12s %8s", zip, tot, baskets);
      line += numbers;
      if (!r.note.empty()) line += "  " + r.note;
      std::printf("%s\n", line.c_str());
    };
    print(Row{"branch", "type", "interpretation", "", 0, 0, 0}, "compressed", "uncompressed", "baskets");
    for (const Row& r : rows) {
      if (r.shared)
        print(r, "-", "-", "-");
      else
        print(r, std::to_string(r.zip).c_str(), std::to_string(r.tot).c_str(), std::to_string(r.baskets).c_str());
    }
    // As TTree::Print's header: the whole tree's bytes and its compression factor.
    char factor[32] = "-";
    if (total.zip > 0)
      std::snprintf(factor, sizeof factor, "%.2f", static_cast<double>(total.tot) / static_cast<double>(total.zip));
    print(total, std::to_string(total.zip).c_str(), std::to_string(total.tot).c_str(),
          std::to_string(total.baskets).c_str());
    std::printf("compression factor: %s\n", factor);
  });
}

}  // namespace m4h::cli
