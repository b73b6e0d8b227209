// Reading through sources that batch their reads (remote sources: one coalesced read per chunk
// before decoding in parallel) and with ChunkIterator's read-ahead gives the same columns as the
// plain local path, for every tree and supported branch of a set of test files; a chunk costs a
// batch source one vector read; a failing source fails the read (read-ahead errors are not lost).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "gen/event_generator.h"
#include "io/source.h"
#include "root/branch_reader.h"
#include "root/file.h"
#include "root/tree.h"
#include "support/testdata.h"

namespace m4h::root {
namespace {

// The file's bytes in memory, reporting itself as a remote-like source.
class BatchSource final : public io::Source {
 public:
  BatchSource(std::string name, std::vector<uint8_t> bytes, bool batch)
      : inner_(std::move(name), std::move(bytes)), batch_(batch) {}
  const std::string& url() const override { return inner_.url(); }
  uint64_t size() override { return inner_.size(); }
  void read_at(uint64_t offset, std::span<uint8_t> out) override {
    if (fail_after_ >= 0 && calls_.load() >= fail_after_) throw Error(ErrorCode::kIo, url() + ": injected failure");
    ++calls_;
    inner_.read_at(offset, out);
    count(1, 1, out.size());
  }
  void read_v(std::span<const io::ByteRange> ranges, std::span<const std::span<uint8_t>> outs) override {
    if (fail_after_ >= 0 && calls_.load() >= fail_after_) throw Error(ErrorCode::kIo, url() + ": injected failure");
    ++calls_;
    uint64_t bytes = 0;
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      inner_.read_at(ranges[i].offset, outs[i]);
      bytes += ranges[i].length;
    }
    count(1, ranges.size(), bytes);
  }
  io::SourceLimits limits() const override {
    io::SourceLimits l;
    l.batch_reads = batch_;
    l.coalesce_gap = 4096;
    return l;
  }
  std::atomic<int> calls_{0};
  int fail_after_ = -1;

 private:
  io::MemorySource inner_;
  bool batch_;
};

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<BranchRequest> supported(const Tree& tree) {
  std::vector<BranchRequest> reqs;
  for (const auto* b : tree.all_branches()) {
    auto in = interpret(tree, *b);
    if (in.layout == Layout::kNone || !in.supported()) continue;
    reqs.push_back({b, std::move(in)});
  }
  return reqs;
}

std::vector<Column> read_chunked(const Tree& tree, const std::vector<BranchRequest>& reqs, int64_t chunk,
                                 bool read_ahead, ThreadPool* pool) {
  std::vector<Column> all;
  for (const auto& r : reqs) all.push_back(make_column(r.interpretation));
  ChunkIterator it(tree, reqs, chunk, 0, tree.entries(), pool);
  it.set_read_ahead(read_ahead);
  int64_t a = 0, b = 0;
  std::vector<Column> cols;
  while (it.next(a, b, cols))
    for (std::size_t k = 0; k < cols.size(); ++k) all[k].append(cols[k]);
  return all;
}

TEST(BatchReads, SameColumnsWithBatchReadsAndReadAhead) {
  M4H_REQUIRE_TESTDATA();
  ThreadPool pool(2);
  int trees = 0;
  for (const char* name : {"uproot-HZZ-zlib.root", "nanoAOD_2015_CMS_Open_Data_ttbar.root", "uproot-small-dy-nooffsets.root",
                           "uproot-small-dy-withoffsets.root", "uproot-issue412.root", "uproot-Zmumu-lz4.root",
                           "uproot-sample-6.20.04-zlib.root", "uproot-nesteddirs.root"}) {
    const auto bytes = file_bytes(m4h::test::testdata_file(name));
    auto plain_file = std::make_shared<File>(std::make_unique<BatchSource>(name, bytes, false));
    auto batch_file = std::make_shared<File>(std::make_unique<BatchSource>(name, bytes, true));
    for (const auto& path : tree_paths(*plain_file)) {
      auto plain = Tree::load(plain_file, path);
      auto batch = Tree::load(batch_file, path);
      const auto reqs = supported(*plain), breqs = supported(*batch);
      ASSERT_EQ(reqs.size(), breqs.size());
      const auto expected = read_branches(*plain, reqs, 0, plain->entries(), &pool);
      const int64_t chunk = std::max<int64_t>(1, plain->entries() / 7);
      for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
        EXPECT_EQ(read_branches(*batch, breqs, 0, batch->entries(), p), expected) << name << ":" << path;
        EXPECT_EQ(read_chunked(*batch, breqs, chunk, false, p), expected) << name << ":" << path;
        EXPECT_EQ(read_chunked(*batch, breqs, chunk, true, p), expected) << name << ":" << path << " read-ahead";
        EXPECT_EQ(read_chunked(*plain, reqs, chunk, true, p), expected) << name << ":" << path << " read-ahead";
      }
      ++trees;
    }
  }
  EXPECT_GE(trees, 8);
}

TEST(BatchReads, LargeReadsComeInWavesReadAheadOfDecoding) {
  // ~20 MB of stored baskets: read in waves of half of it, the second read while the first decodes.
  const auto path = std::filesystem::temp_directory_path() / ("m4h-waves-" + std::to_string(::getpid()) + ".root");
  gen::GeneratorOptions g;
  g.events = 120000;
  g.compression = {Codec::kNone, 0};
  g.output = path.string();
  g.threads = 1;
  gen::generate_events(g);
  const auto bytes = file_bytes(path.string());
  std::filesystem::remove(path);
  auto plain_file = std::make_shared<File>(std::make_unique<BatchSource>("waves", bytes, false));
  auto source = std::make_unique<BatchSource>("waves", bytes, true);
  auto* src = source.get();
  auto batch_file = std::make_shared<File>(std::move(source));
  auto plain = Tree::load(plain_file, "Events");
  auto batch = Tree::load(batch_file, "Events");
  ThreadPool pool(2);
  const auto expected = read_branches(*plain, supported(*plain), 0, plain->entries(), &pool);
  const io::IoStats before = src->stats();
  EXPECT_EQ(read_branches(*batch, supported(*batch), 0, batch->entries(), &pool), expected);
  const io::IoStats after = src->stats();
  EXPECT_GT(after.bytes - before.bytes, uint64_t{16} << 20);
  EXPECT_GE(after.requests - before.requests, 2u);
  EXPECT_LE(after.requests - before.requests, 3u);
  // Chunked, with and without read-ahead, and single-threaded.
  const auto reqs = supported(*batch);
  EXPECT_EQ(read_chunked(*batch, reqs, 50000, true, &pool), expected);
  EXPECT_EQ(read_chunked(*batch, reqs, 50000, false, nullptr), expected);
  // A source that dies after the first wave: the second wave's error is the call's.
  src->fail_after_ = src->calls_.load() + 1;
  try {
    read_branches(*batch, reqs, 0, batch->entries(), &pool);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("injected failure"), std::string::npos) << e.what();
  }
}

TEST(BatchReads, OneVectorReadPerChunk) {
  M4H_REQUIRE_TESTDATA();
  const std::string name = "nanoAOD_2015_CMS_Open_Data_ttbar.root";
  auto source = std::make_unique<BatchSource>(name, file_bytes(m4h::test::testdata_file(name)), true);
  auto* src = source.get();
  auto file = std::make_shared<File>(std::move(source));
  auto tree = Tree::load(file, "Events");
  const auto reqs = supported(*tree);
  ASSERT_GT(reqs.size(), 50u);
  ThreadPool pool(3);
  const io::IoStats before = src->stats();
  read_branches(*tree, reqs, 0, tree->entries(), &pool);
  const io::IoStats after = src->stats();
  // Every basket of this small file fits one wave: one vector read (embedded baskets aside).
  EXPECT_EQ(after.requests - before.requests, 1u);
  EXPECT_GT(after.ranges - before.ranges, 0u);
}

TEST(BatchReads, FailingSourceFailsTheChunkEvenWithReadAhead) {
  M4H_REQUIRE_TESTDATA();
  const std::string name = "uproot-HZZ-zlib.root";
  for (bool read_ahead : {false, true}) {
    auto source = std::make_unique<BatchSource>(name, file_bytes(m4h::test::testdata_file(name)), true);
    auto* src = source.get();
    auto file = std::make_shared<File>(std::move(source));
    auto tree = Tree::load(file, "events");
    const auto reqs = supported(*tree);
    ThreadPool pool(2);
    src->fail_after_ = src->calls_.load() + 1;  // the first chunk reads, then the source dies
    ChunkIterator it(*tree, reqs, 500, 0, tree->entries(), &pool);
    it.set_read_ahead(read_ahead);
    int64_t a = 0, b = 0;
    std::vector<Column> cols;
    try {
      while (it.next(a, b, cols)) {
      }
      ADD_FAILURE() << "no error (read-ahead " << read_ahead << ")";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kIo) << e.what();
      EXPECT_NE(std::string(e.what()).find("injected failure"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace m4h::root
