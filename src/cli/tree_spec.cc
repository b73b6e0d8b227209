#include "cli/tree_spec.h"

#include <filesystem>

#include "core/error.h"

namespace m4h::cli {

TreeSpec split_tree_spec(const std::string& arg) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) return {arg, ""};
  // The tree follows the last ':' of the path: for a URL, colons up to the end of
  // scheme://host:port are the URL's own.
  std::size_t path_start = 0;
  if (auto sep = arg.find("://"); sep != std::string::npos && sep > 0 &&
                                  arg.find_first_of("/.", 0) >= sep) {  // a scheme, not a path like ./a://b
    path_start = arg.find('/', sep + 3);
    if (path_start == std::string::npos) return {arg, ""};
  }
  auto pos = arg.rfind(':');
  while (pos != std::string::npos && (path_start == 0 || pos > path_start)) {
    std::string suffix = arg.substr(pos + 1);
    if (!suffix.empty() && suffix.front() != '/' && suffix.find("//") == std::string::npos)
      return {arg.substr(0, pos), suffix};
    if (pos == 0) break;
    pos = arg.rfind(':', pos - 1);
  }
  return {arg, ""};
}

std::shared_ptr<root::Tree> open_tree(const TreeSpec& spec, const io::SourceOptions& options) {
  auto file = root::File::open(spec.file, options);
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
