// Fuzzes the whole read path on an in-memory "file": header, keys (recursively), streamer infos,
// every TTree, the interpretation of every branch and the full read of every supported branch.
// Only m4h::Error may escape the library; any other exception, crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/source.h"
#include "root/branch_reader.h"
#include "root/file.h"
#include "root/interpretation.h"
#include "root/tree.h"

namespace {

// Trees claiming more entries are skipped: reading them would only measure the allocator.
constexpr int64_t kMaxEntries = 100000;

void read_tree(const std::shared_ptr<m4h::root::File>& file, const std::string& path) {
  std::shared_ptr<m4h::root::Tree> tree;
  try {
    tree = m4h::root::Tree::load(file, path);
  } catch (const m4h::Error&) {
    return;
  }
  if (tree->entries() < 0 || tree->entries() > kMaxEntries) return;
  std::vector<m4h::root::BranchRequest> readable;
  std::vector<m4h::root::Column> alone;
  for (const auto* branch : tree->all_branches()) {
    try {
      auto in = m4h::root::interpret(*tree, *branch);
      if (!in.supported()) continue;
      alone.push_back(m4h::root::read_branch(*tree, *branch, 0, tree->entries()));
      readable.push_back({branch, std::move(in)});
    } catch (const m4h::Error&) {
      // A corrupt branch must not stop the others from being tried.
    }
  }
  // The branches read alone, read together, must give the same columns (members of one object
  // branch then share its baskets and one walk over its objects).
  std::vector<m4h::root::Column> together;
  try {
    together = m4h::root::read_branches(*tree, readable, 0, tree->entries(), nullptr);
  } catch (const m4h::Error& e) {
    std::fprintf(stderr, "branches read alone fail together: %s\n", e.what());
    std::abort();
  }
  for (std::size_t i = 0; i < alone.size(); ++i)
    if (!(together[i] == alone[i])) {
      std::fprintf(stderr, "branch '%s' read together differs from it read alone\n", readable[i].branch->path.c_str());
      std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::shared_ptr<m4h::root::File> file;
  try {
    file = std::make_shared<m4h::root::File>(std::make_unique<m4h::io::MemorySource>(
        "fuzz.root", std::vector<uint8_t>(data, data + size)));
  } catch (const m4h::Error&) {
    return 0;
  }
  std::vector<m4h::root::KeyEntry> keys;
  try {
    keys = file->list_recursive();
  } catch (const m4h::Error&) {
    return 0;
  }
  for (const auto& e : keys) {
    try {
      (void)file->find(e.path);
    } catch (const m4h::Error&) {
    }
  }
  std::vector<std::string> trees;
  try {
    trees = m4h::root::tree_paths(*file);
  } catch (const m4h::Error&) {
    return 0;
  }
  for (const auto& path : trees) read_tree(file, path);
  return 0;
}
