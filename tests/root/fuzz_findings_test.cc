// What the fuzzers found, kept as tests: each case rebuilds the damaged file from a shared test
// file and the bytes libFuzzer changed (offset: new value), then reads every branch the way
// fuzz/root_file_fuzz.cc does. Only m4h::Error may come out: no crash, no sanitizer report, and no
// allocation sized by a damaged count (std::bad_alloc, or ASan's "allocator is out of memory").
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/source.h"
#include "root/branch_reader.h"
#include "root/file.h"
#include "root/interpretation.h"
#include "root/tree.h"
#include "support/testdata.h"

namespace m4h::test {
namespace {

// Reads everything; returns how many m4h::Errors were met (others propagate and fail the test).
int read_everything(std::vector<uint8_t> bytes) {
  int errors = 0;
  std::shared_ptr<root::File> file;
  try {
    file = std::make_shared<root::File>(std::make_unique<io::MemorySource>("damaged.root", std::move(bytes)));
    for (const std::string& path : root::tree_paths(*file)) {
      auto tree = root::Tree::load(file, path);
      for (const auto* branch : tree->all_branches()) {
        try {
          if (root::interpret(*tree, *branch).supported()) (void)root::read_branch(*tree, *branch, 0, tree->entries());
        } catch (const Error&) {
          ++errors;
        }
      }
    }
  } catch (const Error&) {
    ++errors;
  }
  return errors;
}

std::vector<uint8_t> damaged(const std::string& name, const std::map<size_t, uint8_t>& changes) {
  std::ifstream in(testdata_file(name), std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& [offset, value] : changes) {
    EXPECT_LT(offset, bytes.size());
    if (offset < bytes.size()) bytes[offset] = value;
  }
  return bytes;
}

// root_file_fuzz, CI run of 2026-11-27: a flat branch's basket claiming ~30 GB of entries made the
// reader size its output before checking the basket held them.
TEST(FuzzFindings, AFlatBasketsEntryCountIsCheckedBeforeTheOutputIsSized) {
  M4H_REQUIRE_TESTDATA();
  // cmp -l offsets are 1-based, values octal: here 0-based offsets and decimal values.
  const auto bytes = damaged("uproot-sample-6.20.04-uncompressed.root",
                             {{28041, 0142}, {49495, 040}, {50295, 01}, {53285, 0106}, {60188, 0112},
                              {60189, 0113}, {60190, 072}, {60192, 0300}, {60193, 0140}});
  EXPECT_GT(read_everything(bytes), 0);  // the damaged branch is reported, not read
}

}  // namespace
}  // namespace m4h::test
