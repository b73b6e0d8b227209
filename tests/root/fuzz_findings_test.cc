// What the fuzzers found, kept as tests: each case rebuilds the damaged file from a shared test
// file and the bytes libFuzzer changed (offset: new value), then reads every branch the way
// fuzz/root_file_fuzz.cc does. Only m4h::Error may come out: no crash, no sanitizer report, and no
// allocation sized by a damaged count (std::bad_alloc, or ASan's "allocator is out of memory").
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <new>
#include <optional>
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
#include "root/basket.h"
#include "root/tree.h"
#include "support/address_space.h"
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

// root_file_fuzz, 2026-11-29: a fixed array's dimension damaged to 88 million together with a
// basket table claiming gigabytes of stored bytes made the output of 30 entries look plausible
// (2.6 GB against 256 times the claimed bytes), and it was sized before the basket was checked.
// No basket is larger than the file: with the claim bounded by it, the branch is decoded basket by
// basket and reported. (With the address space capped 1 GiB above use, the allocation throws.)
TEST(FuzzFindings, ABasketTableClaimingMoreThanTheFileDoesNotSizeTheOutput) {
  M4H_REQUIRE_TESTDATA();
  // cmp -l offsets are 1-based, values octal: here 0-based offsets and octal values.
  const auto bytes = damaged("uproot-sample-6.20.04-uncompressed.root",
                             {{3565, 0130}, {37448, 010}, {39827, 00}, {39828, 0144}, {42703, 025},
                              {42706, 0100}, {42818, 045}, {45875, 052}, {46781, 0100}, {46783, 00},
                              {48914, 061}, {77181, 056}});
  int errors = 0;
  try {
    AddressSpaceCap cap(std::size_t{1} << 30);
    errors = read_everything(bytes);
  } catch (const std::bad_alloc&) {
    ADD_FAILURE() << "an output was sized from the damaged basket table";
  }
  EXPECT_GT(errors, 0);
}

// Shapes come from the file (leaf titles, fLen, streamer elements' fMaxIndex): one that cannot
// be real is the branch's error, found before any size is computed from it.
TEST(HostileShapes, DimensionsPastIntRangeAreMarkedCorrupt) {
  EXPECT_EQ(root::dims_from_title("x[3][2]/F"), (std::vector<int>{3, 2}));
  EXPECT_EQ(root::dims_from_title("Jet_pt[nJet]/F"), (std::vector<int>{}));
  EXPECT_EQ(root::dims_from_title("x[2147483647]/B"), (std::vector<int>{2147483647}));
  EXPECT_EQ(root::dims_from_title("x[2147483648]/B"), (std::vector<int>{-1}));
  EXPECT_EQ(root::dims_from_title("x[99999999999999999999][3]/D"), (std::vector<int>{-1, 3}));
}

TEST(HostileShapes, AZeroDimensionInALeafTitleIsReportedNotRead) {
  M4H_REQUIRE_TESTDATA();
  // The uncompressed sample holds the titles "ab[3]/O" (branch) and "ab[3]" (leaf) in the clear.
  auto bytes = damaged("uproot-sample-6.20.04-uncompressed.root", {});
  const std::string from = "ab[3]";
  int replaced = 0;
  for (auto it = bytes.begin(); (it = std::search(it, bytes.end(), from.begin(), from.end())) != bytes.end(); ++replaced)
    *(it + 3) = '0';
  ASSERT_EQ(replaced, 2);
  auto file = std::make_shared<root::File>(std::make_unique<io::MemorySource>("damaged.root", std::move(bytes)));
  auto tree = root::Tree::load(file, "sample");
  const auto* ab = tree->find("ab");
  ASSERT_NE(ab, nullptr);
  const auto in = root::interpret(*tree, *ab);
  EXPECT_FALSE(in.supported());
  EXPECT_NE(in.reason.find("corrupt shape (dimension 0)"), std::string::npos) << in.reason;
  const auto* ai4 = tree->find("ai4");  // its neighbours read as before
  ASSERT_NE(ai4, nullptr);
  EXPECT_EQ(root::read_branch(*tree, *ai4, 0, tree->entries()).entries, 30);
}

// A basket with entry offsets and a shape of 64 Mi doubles per entry (which no data backs): the
// output was sized at 4 entries x 512 MiB before the first entry's size was compared with the
// shape. With the address space capped 1 GiB above use, that allocation would throw bad_alloc.
TEST(HostileShapes, AFlatBasketWithOffsetsIsCheckedBeforeTheOutputIsSized) {
  root::Interpretation in;
  in.layout = root::Layout::kFlat;
  in.dtype = in.disk = root::DType::kFloat64;
  in.shape = {1 << 26};
  root::BasketData d;
  d.entries = 4;
  d.border = 32;
  d.bytes.resize(48);
  d.offsets = {0, 8, 16, 24, 32};
  std::optional<Error> e;
  try {
    AddressSpaceCap cap(std::size_t{1} << 30);
    auto out = root::make_column(in);
    root::decode_basket(in, d, 0, 4, out, nullptr);
  } catch (const Error& err) {
    e = err;
  } catch (const std::bad_alloc&) {
    ADD_FAILURE() << "the output was sized from the shape before the data was checked";
  }
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kCorrupt);
  EXPECT_NE(e->message().find("fewer than 4 entries"), std::string::npos) << e->message();
}

}  // namespace
}  // namespace m4h::test
