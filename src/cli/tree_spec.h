// "FILE:TREE" arguments: splitting them (URLs with ports and '//' paths included) and opening
// the tree, picking the only tree when none is named.
#pragma once

#include <memory>
#include <string>

#include "io/source.h"
#include "root/tree.h"

namespace m4h::cli {

struct TreeSpec {
  std::string file;
  std::string tree;  // empty: the only tree in the file
};

// An existing local file is taken whole. Otherwise the tree follows the last ':' of the path part
// (for a URL, after scheme://host[:port]), so "root://host:1094//store/f.root:Events" is
// {"root://host:1094//store/f.root", "Events"} and the port's colon never splits.
TreeSpec split_tree_spec(const std::string& arg);

// Throws m4h::Error kNotFound (no tree, listing candidates) or kInvalidArgument (several trees).
std::shared_ptr<root::Tree> open_tree(const TreeSpec& spec, const io::SourceOptions& options = {});

}  // namespace m4h::cli
