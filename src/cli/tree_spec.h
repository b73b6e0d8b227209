// "FILE:TREE" arguments: splitting them (URLs with ports and '//' paths included) and opening
// the tree, picking the only tree when none is named.
#pragma once

#include <memory>
#include <string>

#include "root/tree.h"

namespace m4h::cli {

struct TreeSpec {
  std::string file;
  std::string tree;  // empty: the only tree in the file
};

TreeSpec split_tree_spec(const std::string& arg);

// Throws m4h::Error kNotFound (no tree, listing candidates) or kInvalidArgument (several trees).
std::shared_ptr<root::Tree> open_tree(const TreeSpec& spec);

}  // namespace m4h::cli
