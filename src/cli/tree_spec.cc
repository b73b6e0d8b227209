#include "cli/tree_spec.h"

#include <filesystem>

#include "core/error.h"

namespace m4h::cli {

TreeSpec split_tree_spec(const std::string& arg) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) return {arg, ""};
  // The tree follows the last ':' unless that colon belongs to the URL (scheme or port).
  auto pos = arg.rfind(':');
  while (pos != std::string::npos) {
    std::string suffix = arg.substr(pos + 1);
    if (!suffix.empty() && suffix.front() != '/' && suffix.find("//") == std::string::npos)
      return {arg.substr(0, pos), suffix};
    if (pos == 0) break;
    pos = arg.rfind(':', pos - 1);
  }
  return {arg, ""};
}

std::shared_ptr<root::Tree> open_tree(const TreeSpec& spec) {
  auto file = root::File::open(spec.file);
  if (!spec.tree.empty()) return root::Tree::load(file, spec.tree);
  auto trees = root::tree_paths(*file);
  if (trees.size() == 1) return root::Tree::load(file, trees[0]);
  std::string list;
  for (const auto& t : trees) list += (list.empty() ? "" : ", ") + t;
  if (trees.empty()) throw Error(ErrorCode::kNotFound, spec.file + ": the file holds no TTree");
  throw Error(ErrorCode::kInvalidArgument,
              spec.file + ": the file holds several trees; name one as FILE:TREE (" + list + ")");
}

}  // namespace m4h::cli
