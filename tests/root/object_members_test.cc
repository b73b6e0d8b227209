// Objects stored whole (TVector2, TVector3, vector<TLorentzVector>, TVector3 members of a split
// collection, std::map pairs, xAOD ElementLinks and keys) read as one branch per numeric member
// (root/object_layout.h). The expected values
// come from other files and readers: uproot-HZZ.root holds the same events as
// uproot-HZZ-objects.root in flat float branches (MANIFEST.md), and the jsroot oracle
// (tools/oracle/dump.mjs) gave the issue213 values pasted below.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "root/basket.h"
#include "root/branch_reader.h"
#include "root/file.h"
#include "root/interpretation.h"
#include "root/object_layout.h"
#include "root/tree.h"
#include "support/column_values.h"
#include "support/testdata.h"

namespace m4h::root {
namespace {

std::shared_ptr<Tree> load(const std::string& file, const std::string& tree) {
  return Tree::load(File::open(test::testdata_file(file)), tree);
}

Column read_all(const Tree& t, const std::string& name) {
  const BranchInfo* b = t.find(name);
  if (!b) throw std::runtime_error("no branch " + name);
  return read_branch(t, *b, 0, t.entries());
}

// The members of the objects file and the flat branches holding the same numbers.
const std::pair<const char*, const char*> kSameValues[] = {
    {"jetp4.fP.fX", "Jet_Px"},           {"jetp4.fP.fY", "Jet_Py"},
    {"jetp4.fP.fZ", "Jet_Pz"},           {"jetp4.fE", "Jet_E"},
    {"muonp4.fP.fX", "Muon_Px"},         {"muonp4.fP.fY", "Muon_Py"},
    {"muonp4.fP.fZ", "Muon_Pz"},         {"muonp4.fE", "Muon_E"},
    {"electronp4.fP.fX", "Electron_Px"}, {"electronp4.fE", "Electron_E"},
    {"photonp4.fP.fZ", "Photon_Pz"},     {"photonp4.fE", "Photon_E"},
    {"MET.fX", "MET_px"},                {"MET.fY", "MET_py"},
    {"MC_lepton.fX", "MClepton_px"},     {"MC_lepton.fZ", "MClepton_pz"},
    {"MC_neutrino.fY", "MCneutrino_py"}, {"MC_bquarkhadronic.fX", "MChadronicBottom_px"},
};

TEST(ObjectMembers, HzzObjectsEqualTheFlatHzzFile) {
  M4H_REQUIRE_TESTDATA();
  auto objects = load("uproot-HZZ-objects.root", "events");
  auto flat = load("uproot-HZZ.root", "events");
  ASSERT_EQ(objects->entries(), flat->entries());
  for (const auto& [member, branch] : kSameValues) {
    SCOPED_TRACE(member);
    const Column a = read_all(*objects, member);
    const Column b = read_all(*flat, branch);
    ASSERT_EQ(a.dtype, DType::kFloat64);
    ASSERT_EQ(b.dtype, DType::kFloat32);
    ASSERT_EQ(a.entries, objects->entries());
    ASSERT_EQ(a.offsets, b.offsets);  // the same objects per event (none for the flat ones)
    ASSERT_EQ(a.value_count(), b.value_count());
    ASSERT_GT(a.value_count(), 0);
    int64_t nonzero = 0;
    for (int64_t i = 0; i < a.value_count(); ++i) {
      // The objects hold the flat file's floats as doubles.
      ASSERT_EQ(static_cast<float>(a.value<double>(i)), b.value<float>(i)) << "value " << i;
      nonzero += a.value<double>(i) != 0;
    }
    // (The generator-level vectors of this sample are zero in both files.)
    if (!std::string(member).starts_with("MC_")) {
      EXPECT_GT(nonzero, 0);
    }
  }
  // Known values: the first muon's px and the first event's MET (uproot's HZZ tutorial).
  EXPECT_EQ(static_cast<float>(read_all(*objects, "muonp4.fP.fX").value<double>(0)), -52.899456f);
  EXPECT_EQ(static_cast<float>(read_all(*objects, "MET.fX").value<double>(0)), 5.912771f);
}

TEST(ObjectMembers, MembersAreBranchesNamedAsSplitMembers) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-HZZ-objects.root", "events");
  const BranchInfo* jet = t->find("jetp4");
  ASSERT_NE(jet, nullptr);
  Interpretation parent = interpret(*t, *jet);
  EXPECT_EQ(parent.layout, Layout::kNone);  // its data is read through its members
  std::vector<std::string> names;
  for (const auto& c : jet->children) names.push_back(c->name);
  EXPECT_EQ(names, (std::vector<std::string>{"jetp4.fP.fX", "jetp4.fP.fY", "jetp4.fP.fZ", "jetp4.fE"}));
  ASSERT_NE(t->find("jetp4/jetp4.fE"), nullptr);

  Interpretation e = interpret(*t, *t->find("jetp4.fE"));
  EXPECT_EQ(e.layout, Layout::kObjectMember);
  EXPECT_EQ(e.kind_name(), "jagged");
  EXPECT_EQ(e.cpp_type, "double[]");
  EXPECT_EQ(e.object_class, "TLorentzVector");
  EXPECT_EQ(e.object_size, 64);  // header 6, TObject 10, fP (6 + 10 + 3 x 8), fE 8

  Interpretation x = interpret(*t, *t->find("MET.fX"));
  EXPECT_EQ(x.kind_name(), "flat");
  EXPECT_EQ(x.cpp_type, "double");
  EXPECT_EQ(x.object_size, 32);  // header 6, TObject 10, fX and fY
  EXPECT_EQ(x.member_offset, 16);

  // TObject's bookkeeping members are not features.
  EXPECT_EQ(t->find("MET.fUniqueID"), nullptr);
  EXPECT_EQ(t->find("MET.fBits"), nullptr);
}

TEST(ObjectMembers, LayoutFromStreamerInfos) {
  M4H_REQUIRE_TESTDATA();
  auto file = File::open(test::testdata_file("uproot-HZZ-objects.root"));
  auto lv = fixed_stream_layout(file->streamers(), "TLorentzVector");
  ASSERT_TRUE(lv.has_value());
  EXPECT_EQ(lv->size, 64);
  ASSERT_EQ(lv->members.size(), 4u);
  EXPECT_EQ(lv->members[0].name, "fP.fX");
  EXPECT_EQ(lv->members[0].offset, 6 + 10 + 6 + 10);
  EXPECT_EQ(lv->members[3].name, "fE");
  EXPECT_EQ(lv->members[3].offset, 56);
  EXPECT_FALSE(fixed_stream_layout(file->streamers(), "NoSuchClass").has_value());
}

TEST(ObjectMembers, TVector3MembersOfASplitCollectionMatchTheOracle) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-issue213.root", "T");
  const Column x = read_branch(*t, *t->find("fMCHits.fPosition.fX"), 5, 12);
  const Column y = read_branch(*t, *t->find("fMCHits.fMomentumIn.fY"), 5, 12);
  // jsroot: fPosition.fX [[], [], [42.17024612426758,50.63192367553711], [], [], [], [43.292755126953125]]
  //         fMomentumIn.fY [[], [], [0,128.85813903808594], [], [], [], [0]]
  ASSERT_EQ(x.offsets, (std::vector<std::vector<int64_t>>{{0, 0, 0, 2, 2, 2, 2, 3}}));
  EXPECT_EQ(x.value<double>(0), 42.17024612426758);
  EXPECT_EQ(x.value<double>(1), 50.63192367553711);
  EXPECT_EQ(x.value<double>(2), 43.292755126953125);
  ASSERT_EQ(y.offsets, x.offsets);
  EXPECT_EQ(y.value<double>(0), 0);
  EXPECT_EQ(y.value<double>(1), 128.85813903808594);
  // The hits per event agree with the collection's other (split) members.
  const Column energy = read_all(*t, "fMCHits.fEneDep");
  EXPECT_EQ(read_all(*t, "fMCHits.fPosition.fZ").offsets, energy.offsets);
}

TEST(ObjectMembers, AnyRangeInPiecesEqualsTheWhole) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-HZZ-objects.root", "events");
  for (const char* name : {"muonp4.fE", "MET.fY"}) {
    SCOPED_TRACE(name);
    const BranchInfo& b = *t->find(name);
    const Column whole = read_branch(*t, b, 0, t->entries());
    for (int64_t step : {1, 7, 333, 1000}) {
      Column pieces = read_branch(*t, b, 0, std::min<int64_t>(step, t->entries()));
      for (int64_t at = step; at < t->entries(); at += step)
        pieces.append(read_branch(*t, b, at, std::min<int64_t>(at + step, t->entries())));
      EXPECT_TRUE(pieces == whole) << "pieces of " << step;
    }
  }
}

// Collections streamed member-wise (each member for every item in turn, after the items' class
// version and checksum): a std::map's pairs, xAOD ElementLinks. Values from the jsroot oracle.
TEST(ObjectMembers, MemberWiseCollectionsMatchTheOracle) {
  M4H_REQUIRE_TESTDATA();
  auto stl = load("uproot-stl_containers.root", "tree");
  // jsroot: map_int32_int16.first and .second: [[1], [1,2], [1,2,3], [1,2,3,4], [1,2,3,4,5]]
  const Column first = read_all(*stl, "map_int32_int16.first");
  const Column second = read_all(*stl, "map_int32_int16.second");
  EXPECT_EQ(first.dtype, DType::kInt32);
  EXPECT_EQ(second.dtype, DType::kInt16);
  EXPECT_EQ(first.offsets, (std::vector<std::vector<int64_t>>{{0, 1, 3, 6, 10, 15}}));
  EXPECT_EQ(second.offsets, first.offsets);
  EXPECT_EQ(test::column_values<int32_t>(first), (std::vector<int32_t>{1, 1, 2, 1, 2, 3, 1, 2, 3, 4, 1, 2, 3, 4, 5}));
  EXPECT_EQ(test::column_values<int16_t>(second), (std::vector<int16_t>{1, 1, 2, 1, 2, 3, 1, 2, 3, 4, 1, 2, 3, 4, 5}));
  // Maps whose keys or values vary in size (strings, containers) are read as nested parts
  // (map_parts_test.cc).
  EXPECT_EQ(interpret(*stl, *stl->find("map_string_int16.first")).layout, Layout::kNested);

  auto xaod = load("uproot-issue-951.root", "CollectionTree");
  // jsroot, entries 0 and 1:
  //   METAssoc_AnalysisMETAux.jetLink.m_persKey [[452794649 x 9, 0], [452794649 x 7, 0]]
  //   METAssoc_AnalysisMETAux.jetLink.m_persIndex [[0,1,...,8,4294967295], [0,1,...,6,4294967295]]
  const Column key = read_branch(*xaod, *xaod->find("METAssoc_AnalysisMETAux.jetLink.m_persKey"), 0, 2);
  const Column index = read_branch(*xaod, *xaod->find("METAssoc_AnalysisMETAux.jetLink.m_persIndex"), 0, 2);
  EXPECT_EQ(key.offsets, (std::vector<std::vector<int64_t>>{{0, 10, 18}}));
  EXPECT_EQ(index.offsets, key.offsets);
  std::vector<uint32_t> k(18, 452794649u), i{0, 1, 2, 3, 4, 5, 6, 7, 8, 4294967295u, 0, 1, 2, 3, 4, 5, 6, 4294967295u};
  k[9] = k[17] = 0;
  EXPECT_EQ(test::column_values<uint32_t>(key), k);
  EXPECT_EQ(test::column_values<uint32_t>(index), i);
}

// The top of an xAOD object branch without sub-branches holds the members alone (no byte count
// or version). Values from the jsroot oracle: BunchConfKey.m_id [2906127984, 2906127984],
// TrigConfKeys.m_hltpsk [2581517153, 2581517153].
TEST(ObjectMembers, BareMembersOfAnXaodObjectMatchTheOracle) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-issue-951.root", "CollectionTree");
  const Column id = read_branch(*t, *t->find("BunchConfKey.m_id"), 0, 2);
  EXPECT_TRUE(id.offsets.empty());
  EXPECT_EQ(test::column_values<uint32_t>(id), (std::vector<uint32_t>{2906127984u, 2906127984u}));
  const Column hlt = read_branch(*t, *t->find("TrigConfKeys.m_hltpsk"), 0, 2);
  EXPECT_EQ(test::column_values<uint32_t>(hlt), (std::vector<uint32_t>{2581517153u, 2581517153u}));
  EXPECT_EQ(read_all(*t, "TrigConfKeys.m_smk").entries, t->entries());
}

// Entries are found without the entry-offset table too: by the objects' fixed size, or by each
// vector's byte count (baskets of the file, their offsets dropped).
TEST(ObjectMembers, BasketsWithoutEntryOffsetsGiveTheSameValues) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-HZZ-objects.root", "events");
  for (const char* name : {"MET.fY", "jetp4.fE", "muonp4.fP.fX"}) {
    SCOPED_TRACE(name);
    const BranchInfo& b = *t->find(name);
    const Interpretation in = interpret(*t, b);
    const BasketData with = load_basket(t->file(), b, 0);
    ASSERT_FALSE(with.offsets.empty());
    BasketData without = with;
    without.offsets.clear();
    for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, with.entries}, {5, 20}, {with.entries - 1, with.entries}}) {
      Column a = read_branch(*t, b, 0, 0), c = read_branch(*t, b, 0, 0);
      decode_basket(in, with, lo, hi, a, nullptr);
      decode_basket(in, without, lo, hi, c, nullptr);
      EXPECT_TRUE(a == c) << "entries [" << lo << ", " << hi << ")";
      EXPECT_EQ(a.entries, hi - lo);
    }
  }
}

// A basket of two TVector2 entries built by hand: header, TObject, fX, fY (big-endian).
BasketData two_vectors(uint32_t second_count, uint16_t second_version) {
  BasketData d;
  auto put32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) d.bytes.push_back(static_cast<uint8_t>(v >> s));
  };
  auto put_double = [&](double x) {
    uint64_t u;
    std::memcpy(&u, &x, 8);
    put32(static_cast<uint32_t>(u >> 32));
    put32(static_cast<uint32_t>(u));
  };
  for (int k = 0; k < 2; ++k) {
    put32(k == 0 ? 0x40000000u | 28 : second_count);
    const uint16_t version = k == 0 ? 3 : second_version;
    d.bytes.push_back(static_cast<uint8_t>(version >> 8));
    d.bytes.push_back(static_cast<uint8_t>(version));
    d.bytes.insert(d.bytes.end(), {0, 1, 0, 0, 0, 0, 2, 0, 0, 0});  // TObject
    put_double(1.5 + k);
    put_double(-2.25 - k);
  }
  d.entries = 2;
  d.border = static_cast<int64_t>(d.bytes.size());
  d.offsets.assign({0, 32, 64});
  return d;
}

TEST(ObjectMembers, AnObjectOfAnotherSizeOrVersionIsAnErrorNotAMisread) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-HZZ-objects.root", "events");
  const Interpretation in = interpret(*t, *t->find("MET.fY"));
  {
    Column out = read_branch(*t, *t->find("MET.fY"), 0, 0);
    decode_basket(in, two_vectors(0x40000000u | 28, 3), 0, 2, out, nullptr);
    ASSERT_EQ(out.value_count(), 2);
    EXPECT_EQ(out.value<double>(0), -2.25);
    EXPECT_EQ(out.value<double>(1), -3.25);
  }
  for (auto [count, version] : {std::pair<uint32_t, uint16_t>{0x40000000u | 30, 3}, {0x40000000u | 28, 4}, {28, 3}}) {
    Column out = read_branch(*t, *t->find("MET.fY"), 0, 0);
    try {
      decode_basket(in, two_vectors(count, version), 0, 2, out, nullptr);
      ADD_FAILURE() << "no error for byte count " << count << ", version " << version;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
      EXPECT_NE(std::string(e.what()).find("TVector2 (version 3, 32 bytes)"), std::string::npos) << e.what();
    }
  }
}

// Members of one object branch read in one call share its baskets: the first member's decode
// decompresses each basket once and decodes every sibling from it. Whatever the order, the
// threads, the chunks and the read-ahead, each equals the member read alone.
TEST(ObjectMembers, SiblingMembersReadTogetherEqualEachReadAlone) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-HZZ-objects.root", "events");
  const std::vector<std::string> names{"jetp4.fE", "MET.fX", "jetp4.fP.fX", "muonp4.fE", "jetp4.fP.fY",
                                       "MET.fY", "jetp4.fE"};
  std::vector<BranchRequest> requests;
  std::vector<Column> alone;
  for (const auto& n : names) {
    const BranchInfo* b = t->find(n);
    ASSERT_NE(b, nullptr) << n;
    requests.push_back({b, interpret(*t, *b)});
    alone.push_back(read_all(*t, n));
  }
  ThreadPool pool(2);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    const auto together = read_branches(*t, requests, 0, t->entries(), p);
    ASSERT_EQ(together.size(), names.size());
    for (std::size_t i = 0; i < names.size(); ++i) EXPECT_TRUE(together[i] == alone[i]) << names[i];
    for (bool ahead : {false, true}) {
      ChunkIterator chunks(*t, requests, 333, 0, t->entries(), p);
      chunks.set_read_ahead(ahead);
      std::vector<Column> joined(names.size()), columns;
      int64_t lo = 0, hi = 0;
      bool first = true;
      while (chunks.next(lo, hi, columns)) {
        for (std::size_t i = 0; i < names.size(); ++i) {
          if (first) joined[i] = std::move(columns[i]);
          else joined[i].append(columns[i]);
        }
        first = false;
      }
      for (std::size_t i = 0; i < names.size(); ++i)
        EXPECT_TRUE(joined[i] == alone[i]) << names[i] << (ahead ? " (read-ahead)" : "");
    }
  }
}

}  // namespace
}  // namespace m4h::root
