// Properties of reading that must hold for every tree and every supported branch of a varied set
// of real files: reading in pieces equals reading whole, slicing equals reading the sub-range,
// chunked iteration equals one read, and thread pools do not change the result.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "root/branch_reader.h"
#include "root/column.h"
#include "root/file.h"
#include "root/interpretation.h"
#include "root/tree.h"
#include "support/testdata.h"

namespace m4h::root {
namespace {

// Varied: codecs, ROOT 4 to 6.26, embedded baskets, baskets without entry offsets, many tiny
// baskets, split objects, STL containers, strings, packed floats, subdirectories.
const char* const kFiles[] = {
    "uproot-HZZ-zlib.root",
    "uproot-Zmumu-lz4.root",
    "uproot-sample-6.20.04-lzma.root",
    "uproot-sample-5.23.02-zlib.root",
    "uproot-small-evnt-tree-fullsplit.root",
    "uproot-stl_containers.root",
    "uproot-vectorVectorDouble.root",
    "uproot-small-dy-nooffsets.root",
    "uproot-issue-750.root",
    "uproot-from-geant4.root",
    "uproot-issue-816.root",
    "uproot-foriter.root",
    "uproot-foriter2.root",
    "uproot-issue64.root",
    "uproot-demo-double32.root",
    "uproot-double32-float16.root",
    "uproot-nesteddirs.root",
    "uproot-issue-589.root",
    "uproot-leaflist.root",
};

struct LoadedTree {
  std::shared_ptr<Tree> tree;
  std::vector<BranchRequest> requests;  // every supported branch
};

std::vector<LoadedTree> load_all(const std::string& name) {
  auto file = File::open(test::testdata_file(name));
  std::vector<LoadedTree> out;
  for (const auto& path : tree_paths(*file)) {
    LoadedTree lt;
    lt.tree = Tree::load(file, path);
    for (const BranchInfo* b : lt.tree->all_branches()) {
      Interpretation in = interpret(*lt.tree, *b);
      if (in.supported()) lt.requests.push_back({b, std::move(in)});
    }
    out.push_back(std::move(lt));
  }
  return out;
}

std::string where(const Tree& t, const BranchRequest& r) {
  return t.file().url() + ":" + t.path() + " branch " + r.branch->path;
}

std::vector<Column> read(const Tree& t, const std::vector<BranchRequest>& reqs, int64_t a, int64_t b,
                         ThreadPool* pool = nullptr) {
  return read_branches(t, reqs, a, b, pool);
}

class Properties : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (test::testdata_dir().empty()) GTEST_SKIP() << "shared ROOT test data not found";
    trees_ = load_all(GetParam());
    ASSERT_FALSE(trees_.empty());
    const std::string name = GetParam();
    std::seed_seq seq(name.begin(), name.end());  // fixed seed per file
    rng_.seed(seq);
  }
  int64_t uniform(int64_t lo, int64_t hi) {  // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }

  std::vector<LoadedTree> trees_;
  std::mt19937_64 rng_;
};

TEST_P(Properties, EveryTreeHasReadableBranches) {
  int64_t branches = 0;
  for (const auto& lt : trees_) {
    branches += static_cast<int64_t>(lt.requests.size());
    std::vector<Column> whole;
    ASSERT_NO_THROW(whole = read(*lt.tree, lt.requests, 0, lt.tree->entries())) << lt.tree->path();
    for (std::size_t r = 0; r < whole.size(); ++r) {
      const Column& c = whole[r];
      const std::string w = where(*lt.tree, lt.requests[r]);
      EXPECT_EQ(c.entries, lt.tree->entries()) << w;
      EXPECT_EQ(c.dtype, lt.requests[r].interpretation.dtype) << w;
      // Offsets: entries+1 at level 0, non-decreasing, each level indexing the next.
      int64_t items = c.entries;
      for (const auto& off : c.offsets) {
        ASSERT_EQ(static_cast<int64_t>(off.size()), items + 1) << w;
        EXPECT_EQ(off.front(), 0) << w;
        EXPECT_TRUE(std::is_sorted(off.begin(), off.end())) << w;
        items = off.back();
      }
      if (c.fields.empty()) {
        EXPECT_EQ(c.value_count(), items * c.items_per_value()) << w;
      }
    }
  }
  EXPECT_GT(branches, 0) << GetParam();
}

TEST_P(Properties, PiecesConcatenateToTheWhole) {
  for (const auto& lt : trees_) {
    const Tree& t = *lt.tree;
    const int64_t n = t.entries();
    for (int round = 0; round < 3; ++round) {
      int64_t a = round == 0 ? 0 : uniform(0, n);
      int64_t b = round == 0 ? n : uniform(a, n);
      std::vector<int64_t> cuts{a, b};
      int pieces = static_cast<int>(uniform(1, 6));
      for (int k = 0; k < pieces; ++k) cuts.push_back(uniform(a, b));
      std::sort(cuts.begin(), cuts.end());  // repeated cut points give empty pieces
      std::vector<Column> joined;
      for (const auto& r : lt.requests) joined.push_back(make_column(r.interpretation));
      for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
        auto part = read(t, lt.requests, cuts[k], cuts[k + 1]);
        for (std::size_t r = 0; r < part.size(); ++r) {
          ASSERT_EQ(part[r].entries, cuts[k + 1] - cuts[k]) << where(t, lt.requests[r]);
          joined[r].append(part[r]);
        }
      }
      auto whole = read(t, lt.requests, a, b);
      for (std::size_t r = 0; r < whole.size(); ++r)
        EXPECT_TRUE(joined[r] == whole[r]) << where(t, lt.requests[r]) << " [" << a << ", " << b << ") in "
                                           << cuts.size() - 1 << " pieces";
    }
  }
}

TEST_P(Properties, SliceEqualsReadingTheSubRange) {
  for (const auto& lt : trees_) {
    const Tree& t = *lt.tree;
    const int64_t n = t.entries();
    auto whole = read(t, lt.requests, 0, n);
    std::vector<std::pair<int64_t, int64_t>> ranges{{0, n}, {0, 0}, {n, n}, {0, std::min<int64_t>(1, n)}};
    for (int k = 0; k < 4; ++k) {
      int64_t a = uniform(0, n);
      ranges.emplace_back(a, uniform(a, n));
    }
    for (auto [a, b] : ranges) {
      auto sub = read(t, lt.requests, a, b);
      for (std::size_t r = 0; r < sub.size(); ++r)
        EXPECT_TRUE(whole[r].slice(a, b) == sub[r]) << where(t, lt.requests[r]) << " [" << a << ", " << b << ")";
    }
  }
}

TEST_P(Properties, ChunkIteratorEqualsOneRead) {
  for (const auto& lt : trees_) {
    const Tree& t = *lt.tree;
    const int64_t n = t.entries();
    for (int64_t chunk : {int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{0}, int64_t{-3}}) {
      // Keep the number of chunks (each one reloads its baskets) modest.
      int64_t span = chunk == 1 ? 150 : chunk == 7 ? 2000 : n;
      int64_t start = uniform(0, std::max<int64_t>(0, n - std::min(span, n)));
      int64_t stop = std::min(n, start + span);
      if (chunk > 7) {
        start = 0;
        stop = n;
      }
      std::vector<Column> joined;
      for (const auto& r : lt.requests) joined.push_back(make_column(r.interpretation));
      ChunkIterator it(t, lt.requests, chunk, start, stop, nullptr);
      int64_t cs = -1, ce = -1, expect_start = start, chunks = 0;
      std::vector<Column> cols;
      while (it.next(cs, ce, cols)) {
        ASSERT_EQ(cs, expect_start);
        ASSERT_GT(ce, cs);
        if (chunk > 0) {
          ASSERT_LE(ce - cs, chunk);
          if (ce < stop) {
            ASSERT_EQ(ce - cs, chunk);
          }
        }
        ASSERT_EQ(cols.size(), lt.requests.size());
        for (std::size_t r = 0; r < cols.size(); ++r) {
          ASSERT_EQ(cols[r].entries, ce - cs) << where(t, lt.requests[r]);
          joined[r].append(cols[r]);
        }
        expect_start = ce;
        ++chunks;
      }
      EXPECT_EQ(expect_start, stop) << t.path() << " chunk " << chunk;
      if (chunk <= 0) {
        EXPECT_EQ(chunks, stop > start ? 1 : 0);
      } else {
        EXPECT_EQ(chunks, (stop - start + chunk - 1) / chunk);
      }
      auto once = read(t, lt.requests, start, stop);
      for (std::size_t r = 0; r < once.size(); ++r)
        EXPECT_TRUE(joined[r] == once[r]) << where(t, lt.requests[r]) << " chunk size " << chunk << " over ["
                                          << start << ", " << stop << ")";
    }
  }
}

TEST_P(Properties, ThreadPoolsGiveIdenticalColumns) {
  ThreadPool one(1), two(2);
  for (const auto& lt : trees_) {
    const Tree& t = *lt.tree;
    const int64_t n = t.entries();
    int64_t a = uniform(0, n), b = uniform(a, n);
    for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, n}, {a, b}}) {
      auto plain = read(t, lt.requests, lo, hi, nullptr);
      auto with_one = read(t, lt.requests, lo, hi, &one);
      auto with_two = read(t, lt.requests, lo, hi, &two);
      for (std::size_t r = 0; r < plain.size(); ++r) {
        EXPECT_TRUE(plain[r] == with_one[r]) << where(t, lt.requests[r]) << " 1 thread [" << lo << ", " << hi << ")";
        EXPECT_TRUE(plain[r] == with_two[r]) << where(t, lt.requests[r]) << " 2 threads [" << lo << ", " << hi << ")";
      }
      // Single-branch reads agree with the batched read.
      for (std::size_t r = 0; r < plain.size(); r += std::max<std::size_t>(1, plain.size() / 8))
        EXPECT_TRUE(read_branch(t, *lt.requests[r].branch, lo, hi, &two) == plain[r]) << where(t, lt.requests[r]);
    }
  }
}

TEST_P(Properties, ConcurrentReadsOfOneTreeAgree) {
  // read_branches is documented thread-safe for concurrent calls on the same tree.
  ThreadPool pool(2);
  for (const auto& lt : trees_) {
    const Tree& t = *lt.tree;
    auto expected = read(t, lt.requests, 0, t.entries());
    std::vector<std::vector<Column>> got(3);
    std::vector<std::string> errors(3);
    std::vector<std::thread> threads;
    for (int k = 0; k < 3; ++k)
      threads.emplace_back([&, k] {
        try {
          got[k] = read(t, lt.requests, 0, t.entries(), k == 0 ? nullptr : &pool);
        } catch (const std::exception& e) {
          errors[k] = e.what();
        }
      });
    for (auto& th : threads) th.join();
    for (int k = 0; k < 3; ++k) {
      ASSERT_EQ(errors[k], "") << t.path();
      ASSERT_EQ(got[k].size(), expected.size());
      for (std::size_t r = 0; r < expected.size(); ++r)
        EXPECT_TRUE(got[k][r] == expected[r]) << where(t, lt.requests[r]) << " reader " << k;
    }
  }
}

// A thread decompresses basket after basket into buffers it reuses, across branches and calls:
// branches in any order, together or alone, give the same columns.
TEST_P(Properties, BranchOrderDoesNotChangeColumns) {
  for (const auto& lt : trees_) {
    const Tree& t = *lt.tree;
    const int64_t n = t.entries();
    auto forward = read(t, lt.requests, 0, n);
    std::vector<std::size_t> order(lt.requests.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = order.size() - 1 - i;
    for (int round = 0; round < 2; ++round) {
      if (round == 1) std::shuffle(order.begin(), order.end(), rng_);
      std::vector<BranchRequest> reordered;
      for (std::size_t i : order) reordered.push_back(lt.requests[i]);
      auto got = read(t, reordered, 0, n);
      for (std::size_t i = 0; i < order.size(); ++i)
        EXPECT_TRUE(got[i] == forward[order[i]]) << where(t, lt.requests[order[i]]) << (round ? " shuffled" : " reversed");
    }
    for (std::size_t i : order)
      EXPECT_TRUE(read_branch(t, *lt.requests[i].branch, 0, n, nullptr) == forward[i]) << where(t, lt.requests[i]) << " alone";
  }
}

std::string test_name(const ::testing::TestParamInfo<const char*>& info) {
  std::string s;
  for (const char* p = info.param; *p; ++p) s += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
  if (s.size() > 5 && s.ends_with("_root")) s.resize(s.size() - 5);
  return s;
}

INSTANTIATE_TEST_SUITE_P(RealFiles, Properties, ::testing::ValuesIn(kFiles), test_name);

// Column::append and Column::slice on their own, with the algebra they must satisfy.
TEST(ColumnAlgebra, SliceOfAppendedPiecesRoundTrips) {
  if (test::testdata_dir().empty()) GTEST_SKIP() << "shared ROOT test data not found";
  auto trees = load_all("uproot-vectorVectorDouble.root");
  const Tree& t = *trees[0].tree;
  Column whole = read_branch(t, *t.find("x"), 0, t.entries());
  for (int64_t cut = 0; cut <= t.entries(); ++cut) {
    Column left = whole.slice(0, cut), right = whole.slice(cut, t.entries());
    Column joined = left;
    joined.append(right);
    EXPECT_TRUE(joined == whole) << "cut " << cut;
    EXPECT_EQ(left.entries + right.entries, whole.entries);
  }
  Column empty = make_column(trees[0].requests[0].interpretation);
  Column copy = empty;
  copy.append(whole);
  EXPECT_TRUE(copy == whole);
  Column other_type = whole;
  other_type.dtype = DType::kFloat32;
  EXPECT_THROW(other_type.append(whole), Error);
}

}  // namespace
}  // namespace m4h::root
