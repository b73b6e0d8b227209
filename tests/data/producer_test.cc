// The streaming batch producer end to end on generated files: every row checked against the raw
// branch values of its (file, entry), each event used once, labels, chunk composition, a split
// that does not depend on chunking or threads, determinism, and errors reaching the consumer.
#include "data/producer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "core/error.h"
#include "data/data_test_util.h"

namespace m4h::data {
namespace {

using test::Scratch;

struct Setup {
  std::vector<InputFile> files;
  Preprocess preproc;
  BranchPlan plan;
  Specs specs;
  Params params;
};

std::unique_ptr<Setup> setup(const std::vector<std::string>& names, std::vector<int64_t> labels,
                             Params params) {
  auto s = std::make_unique<Setup>();
  s->params = params;
  s->files = open_inputs(make_dataset(names, std::move(labels), params));
  s->plan = plan_branches(*s->files[0].tree, params, s->preproc);
  s->specs = compute_specs(s->files, s->plan, s->preproc, params, nullptr);
  return s;
}

std::vector<int64_t> entries_of(const Setup& s) {
  std::vector<int64_t> e;
  for (const auto& f : s.files) e.push_back(f.tree->entries());
  return e;
}

class ProducerOnGenerated : public ::testing::Test {
 protected:
  void SetUp() override {
    sig_ = test::generate(dir_, "sig.root", true, 2000, 21);
    bkg_ = test::generate(dir_, "bkg.root", false, 3000, 22);
  }
  Scratch dir_;
  std::string sig_, bkg_;
};

Params chunked(int64_t chunk_size, int threads) {
  Params p;
  p.chunk_size = chunk_size;
  p.threads = threads;
  return p;
}

TEST_F(ProducerOnGenerated, RowsMatchRawValuesAndEveryEventIsUsedOnce) {
  const Params params = chunked(1000, 2);
  auto s = setup({sig_, bkg_}, {1, 0}, params);
  BatchProducer producer(s->files, s->plan, s->specs, s->preproc, params, entries_of(*s));
  const FeatureLayout& l = producer.layout();

  const std::vector<std::string> names{sig_, bkg_};
  std::map<std::string, test::Raw> met, jet;
  for (const auto& n : names) {
    met[n] = test::read_raw(n, "Events", "MET_pt");
    jet[n] = test::read_raw(n, "Events", "Jet_pt");
  }
  const size_t k_met = 3, k_jet = l.fkeys.size();  // MET_pt is the 4th flat key, Jet_pt the 1st jagged
  ASSERT_EQ(l.fkeys[k_met], "MET_pt");
  ASSERT_EQ(l.jkeys[0], "Jet_pt");
  const double met_min = s->specs.minv[k_met], met_max = s->specs.maxv[k_met];
  const double jet_min = s->specs.minv[k_jet], jet_max = s->specs.maxv[k_jet];
  const int64_t jdim = l.jdim[0], col = l.column[k_jet];

  std::set<std::pair<int32_t, int64_t>> seen;
  Chunk c;
  int64_t chunks = 0;
  while (producer.next(c)) {
    EXPECT_EQ(c.index, chunks);
    // 2000 : 3000 mixed 400 : 600 in every chunk of 1000.
    EXPECT_EQ(c.rows, 1000);
    EXPECT_EQ(std::count(c.labels.begin(), c.labels.end(), 1), 400);
    for (int64_t r = 0; r < c.rows; ++r) {
      const int32_t f = c.file[r];
      const int64_t e = c.entry[r];
      EXPECT_TRUE(seen.insert({f, e}).second) << "event used twice: " << f << " " << e;
      EXPECT_EQ(c.labels[r], f == 0 ? 1 : 0);
      const float* row = c.features.data() + r * c.width;
      const uint8_t* mask = c.mask.data() + r * c.width;
      const std::string& n = names[f];
      EXPECT_FLOAT_EQ(row[k_met], static_cast<float>((met[n].at(e) - met_min) / (met_max - met_min)));
      const int64_t len = jet[n].length(e);
      for (int64_t j = 0; j < jdim; ++j) {
        if (j < len) {
          EXPECT_FLOAT_EQ(row[col + j],
                          static_cast<float>((jet[n].at(e, j) - jet_min) / (jet_max - jet_min)));
          EXPECT_EQ(mask[col + j], 1);
        } else {
          EXPECT_EQ(row[col + j], 0.0f);
          EXPECT_EQ(mask[col + j], 0);
        }
      }
    }
    ++chunks;
  }
  EXPECT_EQ(chunks, 5);
  EXPECT_EQ(seen.size(), 5000u);
  ProducerReport rep = producer.report();
  EXPECT_EQ(rep.events, 5000);
  EXPECT_EQ(rep.events_per_file, (std::vector<int64_t>{2000, 3000}));
  // Stratified: each class split 64/16/20 to within a few events.
  for (const auto& [label, n] : rep.split_by_label) {
    const double total = static_cast<double>(n[0] + n[1] + n[2]);
    EXPECT_NEAR(n[2], 0.2 * total, 4) << label;
    EXPECT_NEAR(n[1], 0.16 * total, 4) << label;
  }
  EXPECT_FALSE(producer.next(c));  // stays at the end
}

// Everything the consumer sees about one event, keyed by (file, entry).
using Seen = std::map<std::pair<int32_t, int64_t>, std::tuple<uint8_t, int64_t, std::vector<float>>>;

Seen consume(const Setup& s, const Params& params, std::vector<std::vector<int64_t>>* order = nullptr) {
  BatchProducer producer(s.files, s.plan, s.specs, s.preproc, params, entries_of(s));
  Seen out;
  Chunk c;
  while (producer.next(c)) {
    if (order) order->push_back(c.entry);
    for (int64_t r = 0; r < c.rows; ++r)
      out[{c.file[r], c.entry[r]}] = {c.split[r], c.labels[r],
                                      std::vector<float>(c.features.begin() + r * c.width,
                                                         c.features.begin() + (r + 1) * c.width)};
  }
  return out;
}

TEST_F(ProducerOnGenerated, SplitAndValuesDoNotDependOnChunkingOrThreads) {
  Params a;
  a.chunk_size = 700;
  a.threads = 2;
  auto s = setup({sig_, bkg_}, {1, 0}, a);
  Seen base = consume(*s, a);
  ASSERT_EQ(base.size(), 5000u);
  for (auto [chunk, threads, in_flight] : {std::tuple{3000, 1, 1}, std::tuple{-1, 2, 1},
                                           std::tuple{128, 3, 4}}) {
    Params b = a;
    b.chunk_size = chunk;
    b.threads = threads;
    b.chunks_in_flight = in_flight;
    EXPECT_EQ(consume(*s, b), base) << "chunk_size " << chunk << " threads " << threads;
  }
}

// A consumer whose model takes no mask gets the same chunks without one.
TEST_F(ProducerOnGenerated, WithoutAMaskTheChunksAreTheSameAndCarryNone) {
  const Params p = chunked(900, 2);
  auto s = setup({sig_, bkg_}, {1, 0}, p);
  BatchProducer with(s->files, s->plan, s->specs, s->preproc, p, entries_of(*s));
  BatchProducer without(s->files, s->plan, s->specs, s->preproc, p, entries_of(*s), {}, false);
  Chunk a, b;
  int64_t rows = 0;
  while (with.next(a)) {
    ASSERT_TRUE(without.next(b));
    EXPECT_EQ(a.mask.size(), a.features.size());
    EXPECT_TRUE(b.mask.empty());
    EXPECT_EQ(a.features, b.features);
    EXPECT_EQ(a.entry, b.entry);
    EXPECT_EQ(a.split, b.split);
    rows += b.rows;
  }
  EXPECT_FALSE(without.next(b));
  EXPECT_EQ(rows, 5000);
}

TEST_F(ProducerOnGenerated, SameSeedSameRowsOtherSeedOtherOrder) {
  Params p;
  p.chunk_size = 1000;
  auto s = setup({sig_, bkg_}, {1, 0}, p);
  std::vector<std::vector<int64_t>> o1, o2, o3, o4;
  consume(*s, p, &o1);
  consume(*s, p, &o2);
  EXPECT_EQ(o1, o2);
  Params q = p;
  q.seed = 99;
  consume(*s, q, &o3);
  EXPECT_NE(o1, o3);
  Params unshuffled = p;
  unshuffled.shuffle = false;
  consume(*s, unshuffled, &o4);
  // Unshuffled rows come file by file, in entry order.
  EXPECT_EQ(o4[0][0], 0);
  EXPECT_EQ(o4[0][1], 1);
  EXPECT_EQ(o4[0][400], 0);  // the first background event follows the 400 signal ones
}

TEST_F(ProducerOnGenerated, NevtsBudget) {
  Params p;
  p.chunk_size = 100;
  p.nevts = 1000;  // 400 from the signal file, 600 from the background one
  auto s = setup({sig_, bkg_}, {1, 0}, p);
  BatchProducer producer(s->files, s->plan, s->specs, s->preproc, p, entries_of(*s));
  Chunk c;
  int64_t rows = 0, chunks = 0;
  while (producer.next(c)) {
    rows += c.rows;
    ++chunks;
    for (int64_t r = 0; r < c.rows; ++r)
      EXPECT_LT(c.entry[r], c.file[r] == 0 ? 400 : 600);  // the first events of each file
  }
  EXPECT_EQ(rows, 1000);
  EXPECT_EQ(chunks, 10);
  EXPECT_EQ(producer.report().events_per_file, (std::vector<int64_t>{400, 600}));
}

TEST_F(ProducerOnGenerated, ReadErrorsReachTheConsumerAndRepeat) {
  Params p;
  p.chunk_size = 500;
  auto s = setup({sig_, bkg_}, {1, 0}, p);
  // Cut the background file short after it was opened: its baskets can no longer be read.
  std::filesystem::resize_file(bkg_, std::filesystem::file_size(bkg_) / 3);
  BatchProducer producer(s->files, s->plan, s->specs, s->preproc, p, entries_of(*s));
  Chunk c;
  bool threw = false;
  try {
    while (producer.next(c)) {
    }
  } catch (const Error& e) {
    threw = true;
    EXPECT_NE(std::string(e.what()).find("bkg.root"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(threw);
  EXPECT_THROW(producer.next(c), Error);
}

TEST_F(ProducerOnGenerated, DestroyedMidStream) {
  Params p;
  p.chunk_size = 100;
  p.chunks_in_flight = 3;
  auto s = setup({sig_, bkg_}, {1, 0}, p);
  for (int taken : {0, 1, 7}) {
    BatchProducer producer(s->files, s->plan, s->specs, s->preproc, p, entries_of(*s));
    Chunk c;
    for (int i = 0; i < taken; ++i) ASSERT_TRUE(producer.next(c));
  }
}

TEST_F(ProducerOnGenerated, JdimMaxTruncatesAndCounts) {
  Params p;
  p.chunk_size = -1;
  p.jdim_max = 4;
  auto s = setup({sig_, bkg_}, {1, 0}, p);
  BatchProducer producer(s->files, s->plan, s->specs, s->preproc, p, entries_of(*s));
  EXPECT_EQ(producer.layout().jdim[0], 4);
  Chunk c;
  ASSERT_TRUE(producer.next(c));
  EXPECT_EQ(c.rows, 5000);
  int64_t over = 0;
  for (const std::string& f : {sig_, bkg_})
    for (double n : test::read_raw(f, "Events", "nJet").values) over += n > 4;
  EXPECT_EQ(producer.report().assembly.truncated[0], over);
  EXPECT_EQ(s->specs.truncated[0], over);
}

}  // namespace
}  // namespace m4h::data
