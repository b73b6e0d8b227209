#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/source_options.h"
#include "cli/tree_spec.h"
#include "root/interpretation.h"

namespace m4h::cli {

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
    std::printf("%-40s %-36s %-14s %12s %12s %8s\n", "branch", "type", "interpretation",
                "compressed", "uncompressed", "baskets");
    long long zip = 0, tot = 0;
    std::size_t baskets = 0;
    for (const auto* b : tree->all_branches()) {
      auto in = root::interpret(*tree, *b);
      std::string kind = in.layout == root::Layout::kUnsupported ? in.reason : in.kind_name();
      std::printf("%-40s %-36s %-14s %12lld %12lld %8zu\n", b->path.c_str(), in.cpp_type.c_str(),
                  kind.c_str(), static_cast<long long>(b->zip_bytes),
                  static_cast<long long>(b->tot_bytes), b->baskets.size());
      zip += b->zip_bytes;
      tot += b->tot_bytes;
      baskets += b->baskets.size();
    }
    // As TTree::Print's header: the whole tree's bytes and its compression factor.
    char factor[32] = "-";
    if (zip > 0) std::snprintf(factor, sizeof factor, "%.2f", static_cast<double>(tot) / static_cast<double>(zip));
    std::printf("%-40s %-36s %-14s %12lld %12lld %8zu\n", "(total)", "", "", zip, tot, baskets);
    std::printf("compression factor: %s\n", factor);
  });
}

}  // namespace m4h::cli
