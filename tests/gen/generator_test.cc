// The event generator: reproducible bytes, consistent physics content, both layouts, every codec,
// and signal that a classifier can separate from background, but not perfectly.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/error.h"
#include "gen/event_generator.h"
#include "root/branch_reader.h"
#include "root/file.h"
#include "root/tree.h"

namespace {

using namespace m4h;

class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("m4h_gen_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string generate(const std::string& name, gen::Process p, uint64_t seed, int64_t events,
                       gen::Layout layout = gen::Layout::kNanoAOD,
                       root::CompressionSettings c = {root::Codec::kZlib, 1}, int threads = 1) {
    gen::GeneratorOptions o;
    o.threads = threads;
    o.process = p;
    o.seed = seed;
    o.events = events;
    o.layout = layout;
    o.compression = c;
    o.chunk_size = 700;  // several chunks
    o.basket_size = 4000;
    o.output = path(name);
    gen::generate_events(o);
    return o.output;
  }

  static std::string bytes_of(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::filesystem::path dir_;
};

root::Column read(const std::string& file, const std::string& branch) {
  auto f = root::File::open(file);
  auto t = root::Tree::load(f, "Events");
  const auto* b = t->find(branch);
  EXPECT_NE(b, nullptr) << branch;
  return root::read_branch(*t, *b, 0, t->entries());
}

TEST_F(GeneratorTest, SameSeedGivesTheSameBytes) {
  // The top directory record holds the file name: write the same name in two folders.
  std::filesystem::create_directories(dir_ / "x");
  std::filesystem::create_directories(dir_ / "y");
  auto a = generate("x/f.root", gen::Process::kSignal, 7, 3000);
  auto b = generate("y/f.root", gen::Process::kSignal, 7, 3000);
  auto ba = bytes_of(a), bb = bytes_of(b);
  EXPECT_GT(ba.size(), 10000u);
  EXPECT_TRUE(ba == bb) << "the two files differ";
}

TEST_F(GeneratorTest, ThreadCountDoesNotChangeTheBytes) {
  for (int threads : {1, 2, 4}) std::filesystem::create_directories(dir_ / std::to_string(threads));
  const auto one = bytes_of(generate("1/f.root", gen::Process::kBackground, 5, 5000, gen::Layout::kVector,
                                     {root::Codec::kZstd, 3}, 1));
  EXPECT_GT(one.size(), 10000u);
  for (int threads : {2, 4})
    EXPECT_TRUE(one == bytes_of(generate(std::to_string(threads) + "/f.root", gen::Process::kBackground, 5, 5000,
                                         gen::Layout::kVector, {root::Codec::kZstd, 3}, threads)))
        << threads << " threads";
}

TEST_F(GeneratorTest, DifferentSeedsAndProcessesDiffer) {
  auto a = read(generate("a.root", gen::Process::kSignal, 1, 500), "Jet_pt");
  auto b = read(generate("b.root", gen::Process::kSignal, 2, 500), "Jet_pt");
  auto c = read(generate("c.root", gen::Process::kBackground, 1, 500), "Jet_pt");
  EXPECT_FALSE(a == b);
  EXPECT_FALSE(a == c);
}

TEST_F(GeneratorTest, ContentIsConsistent) {
  auto f = generate("e.root", gen::Process::kBackground, 3, 4000);
  auto njet = read(f, "nJet"), pt = read(f, "Jet_pt"), eta = read(f, "Jet_eta"), ht = read(f, "HT");
  auto nb = read(f, "nBJet"), btag = read(f, "Jet_btagDeepB"), event = read(f, "event");
  ASSERT_EQ(njet.entries, 4000);
  ASSERT_EQ(pt.offsets.size(), 1u);
  for (int64_t i = 0; i < njet.entries; ++i) {
    int64_t lo = pt.offsets[0][i], hi = pt.offsets[0][i + 1];
    ASSERT_EQ(hi - lo, njet.value<int32_t>(i)) << "entry " << i;
    double sum = 0;
    int nbtag = 0;
    for (int64_t k = lo; k < hi; ++k) {
      float p = pt.value<float>(k);
      EXPECT_GE(p, 25.0f);
      if (k > lo) {
        EXPECT_LE(p, pt.value<float>(k - 1)) << "jets sorted by pt";
      }
      EXPECT_LT(std::abs(eta.value<float>(k)), 2.4f);
      float b = btag.value<float>(k);
      EXPECT_GE(b, 0.0f);
      EXPECT_LE(b, 1.0f);
      nbtag += b > 0.5f;
      sum += p;
    }
    EXPECT_NEAR(ht.value<float>(i), sum, 1e-3 * sum + 1e-3);
    EXPECT_EQ(nb.value<int32_t>(i), nbtag);
    EXPECT_EQ(event.value<uint64_t>(i), static_cast<uint64_t>(i + 1));
  }
}

TEST_F(GeneratorTest, BothLayoutsHoldTheSameValues) {
  auto nano = generate("n.root", gen::Process::kSignal, 5, 1500, gen::Layout::kNanoAOD);
  auto vec = generate("v.root", gen::Process::kSignal, 5, 1500, gen::Layout::kVector);
  for (const char* b : {"Jet_pt", "Jet_btagDeepB", "Muon_charge", "Electron_eta", "HT", "mbb"}) {
    auto a = read(nano, b), c = read(vec, b);
    EXPECT_EQ(a.values, c.values) << b;
    EXPECT_EQ(a.offsets, c.offsets) << b;
  }
  auto f = root::File::open(vec);
  auto t = root::Tree::load(f, "Events");
  EXPECT_EQ(root::interpret(*t, *t->find("Jet_pt")).cpp_type, "std::vector<float>");
}

TEST_F(GeneratorTest, EveryCodecReadsBackTheSameValues) {
  auto ref = read(generate("none.root", gen::Process::kBackground, 9, 2000, gen::Layout::kNanoAOD,
                           {root::Codec::kNone, 0}),
                  "Jet_pt");
  for (auto [codec, level] : {std::pair{root::Codec::kZlib, 6}, {root::Codec::kLz4, 4},
                              {root::Codec::kZstd, 5}, {root::Codec::kLzma, 2}}) {
    auto f = generate("c.root", gen::Process::kBackground, 9, 2000, gen::Layout::kNanoAOD, {codec, level});
    EXPECT_TRUE(read(f, "Jet_pt") == ref) << root::codec_name(codec);
    EXPECT_LT(std::filesystem::file_size(f), std::filesystem::file_size(path("none.root")));
  }
}

// Rank-based area under the ROC curve of `score` (higher = more signal-like).
double auc(std::vector<double> s, std::vector<double> b) {
  std::vector<std::pair<double, int>> all;
  for (double v : s) all.push_back({v, 1});
  for (double v : b) all.push_back({v, 0});
  std::sort(all.begin(), all.end());
  double rank_sum = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    double avg = (i + j + 1) / 2.0;
    for (std::size_t k = i; k < j; ++k)
      if (all[k].second) rank_sum += avg;
    i = j;
  }
  double ns = s.size(), nb = b.size();
  return (rank_sum - ns * (ns + 1) / 2) / (ns * nb);
}

TEST_F(GeneratorTest, SignalIsSeparableButNotTrivially) {
  auto sig = generate("s.root", gen::Process::kSignal, 11, 20000);
  auto bkg = generate("b.root", gen::Process::kBackground, 12, 20000);
  auto score = [&](const std::string& f) {
    auto nb = read(f, "nBJet"), ht = read(f, "HT");
    std::vector<double> out;
    for (int64_t i = 0; i < nb.entries; ++i) out.push_back(nb.value<int32_t>(i) + ht.value<float>(i) / 300.0);
    return out;
  };
  double a = auc(score(sig), score(bkg));
  EXPECT_GT(a, 0.6);
  EXPECT_LT(a, 0.95);
}

TEST_F(GeneratorTest, BadOptionsAreClearErrors) {
  gen::GeneratorOptions o;
  o.output = path("x.root");
  o.events = -1;
  EXPECT_THROW(gen::generate_events(o), m4h::Error);
  EXPECT_THROW(gen::parse_codec("gzip"), m4h::Error);
  EXPECT_THROW(gen::parse_process("higgs"), m4h::Error);
  EXPECT_THROW(gen::parse_layout("flat"), m4h::Error);
  o.events = 10;
  for (int level : {-1, 10, 99}) {
    o.compression = {root::Codec::kZstd, level};
    try {
      gen::generate_events(o);
      FAIL() << "expected an error for level " << level;
    } catch (const m4h::Error& e) {
      EXPECT_EQ(e.code(), m4h::ErrorCode::kInvalidArgument) << level;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(o.output));
  o.compression = {root::Codec::kZlib, 1};
  o.output = "/nonexistent-dir/x.root";
  try {
    gen::generate_events(o);
    FAIL() << "expected an error";
  } catch (const m4h::Error& e) {
    EXPECT_EQ(e.code(), m4h::ErrorCode::kIo);
  }
  EXPECT_FALSE(std::filesystem::exists("/nonexistent-dir/x.root"));
}

}  // namespace
