// Builds the seed corpora of the fuzzers from real ROOT files (not a fuzzer itself):
//   make_seeds FILE_CORPUS_DIR BASKET_CORPUS_DIR [--max-file-bytes N] FILE...
// Files up to N bytes (default 512 KiB) are copied into FILE_CORPUS_DIR; the stored bytes of
// keyed baskets (TKey + TBasket header + payload) of every tree go to BASKET_CORPUS_DIR, a few per
// branch. Files the reader rejects are reported and skipped (exit status stays 0).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <span>
#include <vector>

#include "core/error.h"
#include "root/file.h"
#include "root/tree.h"

namespace fs = std::filesystem;

namespace {

constexpr int kBasketsPerBranch = 2;
constexpr int kBasketsPerFile = 40;
constexpr std::size_t kObjectBranchesPerTree = 8;
constexpr int64_t kMaxBasketBytes = 64 * 1024;

void write_file(const fs::path& p, std::span<const uint8_t> bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s FILE_CORPUS_DIR BASKET_CORPUS_DIR [--max-file-bytes N] FILE...\n",
                 argv[0]);
    return 2;
  }
  fs::path file_dir = argv[1], basket_dir = argv[2];
  fs::create_directories(file_dir);
  fs::create_directories(basket_dir);
  uint64_t max_file_bytes = 512 * 1024;
  int files = 0, baskets = 0;
  for (int i = 3; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--max-file-bytes" && i + 1 < argc) {
      max_file_bytes = std::strtoull(argv[++i], nullptr, 10);
      continue;
    }
    fs::path path(arg);
    std::error_code ec;
    if (fs::file_size(path, ec) <= max_file_bytes && !ec) {
      fs::copy_file(path, file_dir / path.filename(), fs::copy_options::overwrite_existing, ec);
      if (!ec) ++files;
    }
    try {
      auto file = m4h::root::File::open(arg);
      int in_file = 0;
      for (const auto& tree_path : m4h::root::tree_paths(*file)) {
        std::shared_ptr<m4h::root::Tree> tree;
        try {
          tree = m4h::root::Tree::load(file, tree_path);
        } catch (const m4h::Error& e) {
          std::fprintf(stderr, "make_seeds: %s:%s: %s\n", arg.c_str(), tree_path.c_str(), e.what());
          continue;
        }
        // The baskets of objects stored whole first (a few per file), whose layouts the first
        // branches of a file seldom have.
        std::vector<const m4h::root::BranchInfo*> order;
        for (const auto* b : tree->all_branches())
          if (!b->children.empty() && b->children.front()->object_member && order.size() < kObjectBranchesPerTree)
            order.push_back(b);
        for (const auto* b : tree->all_branches()) order.push_back(b);
        for (const auto* b : order) {
          int taken = 0;
          for (const auto& ref : b->baskets) {
            if (taken >= kBasketsPerBranch || in_file >= kBasketsPerFile) break;
            if (ref.embedded || ref.seek <= 0 || ref.bytes <= 0 || ref.bytes > kMaxBasketBytes) continue;
            auto bytes = file->source().read(static_cast<uint64_t>(ref.seek),
                                             static_cast<uint64_t>(ref.bytes));
            write_file(basket_dir / (path.stem().string() + "-" + std::to_string(ref.seek)), bytes);
            ++taken, ++in_file, ++baskets;
          }
        }
      }
    } catch (const m4h::Error& e) {
      std::fprintf(stderr, "make_seeds: %s: %s\n", arg.c_str(), e.what());
    }
  }
  std::printf("make_seeds: %d files, %d baskets\n", files, baskets);
  return 0;
}
