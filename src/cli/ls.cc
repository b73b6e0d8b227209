#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/source_options.h"
#include "root/file.h"

namespace m4h::cli {

void add_ls(CLI::App& app) {
  auto* cmd = app.add_subcommand("ls", "List every key of a ROOT file recursively: path, class, cycle");
  auto file = std::make_shared<std::string>();
  auto options = std::make_shared<io::SourceOptions>();
  cmd->add_option("file", *file, "ROOT file (path or URL)")->required();
  add_source_options(*cmd, *options);
  cmd->callback([file, options] {
    auto f = root::File::open(*file, *options);
    for (const auto& e : f->list_recursive())
      std::printf("%s\t%s\t%d\n", e.path.c_str(), e.key.class_name.c_str(), e.key.cycle);
  });
}

}  // namespace m4h::cli
