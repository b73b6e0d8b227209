// std::vector<std::vector<T>> of objects stored whole, as ATLAS xAOD stores its links
// (vector<vector<ElementLink<...>>>: a jet's ghost tracks, a truth particle's parents), read as
// one doubly jagged branch per numeric member ("parentLinks.m_persKey"). ElementLink has no
// ClassDef, so ROOT writes it and its base as version 0 and the class's checksum. Expected values
// from the jsroot oracle (tools/oracle/dump.mjs) and from the bytes decoded by hand.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
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

using Offsets = std::vector<std::vector<int64_t>>;

std::shared_ptr<Tree> xaod(const std::string& tree = "CollectionTree") {
  return Tree::load(File::open(test::testdata_file("uproot-issue-951.root")), tree);
}

TEST(ElementLinkVectors, LayoutHasAPlainAndAForeignForm) {
  M4H_REQUIRE_TESTDATA();
  auto file = File::open(test::testdata_file("uproot-issue-951.root"));
  auto l = fixed_stream_layout(file->streamers(), "ElementLink<DataVector<xAOD::TruthParticle_v1> >");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->version, 1);
  EXPECT_EQ(l->checksum, 0x3365bc9bu);
  // Plain: header 6, base ElementLinkBase (header 6, two uint32); foreign: each header 4 more.
  EXPECT_EQ(l->size, 20);
  EXPECT_EQ(l->foreign_size, 28);
  ASSERT_EQ(l->members.size(), 2u);
  EXPECT_EQ(l->members[0].name, "m_persKey");
  EXPECT_EQ(l->members[0].offset, 12);
  EXPECT_EQ(l->members[0].foreign_offset, 20);
  EXPECT_EQ(l->members[1].foreign_offset, 24);
  // A class with a ClassDef and a higher version has no foreign form.
  auto lv = fixed_stream_layout(File::open(test::testdata_file("uproot-HZZ-objects.root"))->streamers(), "TLorentzVector");
  ASSERT_TRUE(lv.has_value());
  EXPECT_EQ(lv->foreign_size, 0);
}

TEST(ElementLinkVectors, MembersAreDoublyJaggedBranches) {
  M4H_REQUIRE_TESTDATA();
  auto t = xaod();
  const BranchInfo* links = t->find("TruthBosonAuxDyn.parentLinks");
  ASSERT_NE(links, nullptr);
  std::vector<std::string> names;
  for (const auto& c : links->children) names.push_back(c->name);
  EXPECT_EQ(names, (std::vector<std::string>{"TruthBosonAuxDyn.parentLinks.m_persKey",
                                             "TruthBosonAuxDyn.parentLinks.m_persIndex"}));
  const Interpretation in = interpret(*t, *t->find("TruthBosonAuxDyn.parentLinks.m_persKey"));
  EXPECT_EQ(in.layout, Layout::kObjectMember);
  EXPECT_EQ(in.containers, 2);
  EXPECT_EQ(in.kind_name(), "nested jagged");
  EXPECT_EQ(in.cpp_type, "uint32_t[][]");
  // Split members of an aux container hold them too.
  EXPECT_NE(t->find("METAssoc_AnalysisMETAux.objectLinks.m_persIndex"), nullptr);
  EXPECT_NE(xaod("MetaData")->find("CutBookkeepersAux.childrenLinks.m_persKey"), nullptr);
}

// jsroot, entries 0 and 1 of TruthBosonAuxDyn.parentLinks: four bosons, one parent each:
//   m_persKey [[[660928181],[614719239],[660928181],[614719239]], (the same)]
//   m_persIndex [[[2],[0],[3],[2]], (the same)]
TEST(ElementLinkVectors, ValuesMatchTheOracle) {
  M4H_REQUIRE_TESTDATA();
  auto t = xaod();
  const Column key = read_branch(*t, *t->find("TruthBosonAuxDyn.parentLinks.m_persKey"), 0, 2);
  const Column index = read_branch(*t, *t->find("TruthBosonAuxDyn.parentLinks.m_persIndex"), 0, 2);
  EXPECT_EQ(key.offsets, (Offsets{{0, 4, 8}, {0, 1, 2, 3, 4, 5, 6, 7, 8}}));
  EXPECT_EQ(index.offsets, key.offsets);
  EXPECT_EQ(test::column_values<uint32_t>(key),
            (std::vector<uint32_t>{660928181, 614719239, 660928181, 614719239, 660928181, 614719239, 660928181,
                                   614719239}));
  EXPECT_EQ(test::column_values<uint32_t>(index), (std::vector<uint32_t>{2, 0, 3, 2, 2, 0, 3, 2}));
  // Vectors of empty vectors (jsroot: [[[],[]]]), a split member of the MetaData tree.
  auto meta = xaod("MetaData");
  const Column empty = read_branch(*meta, *meta->find("CutBookkeepersAux.childrenLinks.m_persIndex"), 0, 1);
  EXPECT_EQ(empty.offsets, (Offsets{{0, 2}, {0, 0, 0}}));
  EXPECT_EQ(empty.value_count(), 0);
}

TEST(ElementLinkVectors, AnyRangeInPiecesEqualsTheWholeWithOrWithoutEntryOffsets) {
  M4H_REQUIRE_TESTDATA();
  auto t = xaod();
  for (const char* name : {"AnalysisJetsAuxDyn.GhostTrack.m_persKey", "InDetTrackParticlesAuxDyn.TTVA_AMVFVertices.m_persIndex"}) {
    SCOPED_TRACE(name);
    const BranchInfo& b = *t->find(name);
    const Column whole = read_branch(*t, b, 0, t->entries());
    EXPECT_EQ(whole.entries, t->entries());
    EXPECT_GT(whole.value_count(), 0);
    for (int64_t step : {1, 3, 7}) {
      Column pieces = read_branch(*t, b, 0, step);
      for (int64_t at = step; at < t->entries(); at += step)
        pieces.append(read_branch(*t, b, at, std::min<int64_t>(at + step, t->entries())));
      EXPECT_TRUE(pieces == whole) << "pieces of " << step;
    }
    // The outer vectors' byte counts find the entries when the basket has no offsets.
    const Interpretation in = interpret(*t, b);
    const BasketData with = load_basket(t->file(), b, 0);
    BasketData without = with;
    without.offsets.clear();
    Column a = read_branch(*t, b, 0, 0), c = read_branch(*t, b, 0, 0);
    decode_basket(in, with, 1, with.entries, a, nullptr);
    decode_basket(in, without, 1, with.entries, c, nullptr);
    EXPECT_TRUE(a == c);
  }
}

// One entry of a vector<vector<ElementLink<DataVector<xAOD::TruthParticle_v1>>>> built by hand.
struct Link {
  uint32_t key, index;
};
struct Options {
  bool foreign = true;            // version 0 + checksum, else version 1
  uint32_t checksum = 0x3365bc9b;
  int byte_count_delta = 0;       // added to the first object's byte count
  int32_t inner_count_delta = 0;  // added to the last inner vector's count
};

BasketData one_entry(const std::vector<std::vector<Link>>& links, Options o = {}) {
  std::vector<uint8_t> body;
  auto put16 = [&](uint16_t v) {
    body.push_back(static_cast<uint8_t>(v >> 8));
    body.push_back(static_cast<uint8_t>(v));
  };
  auto put32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) body.push_back(static_cast<uint8_t>(v >> s));
  };
  put32(static_cast<uint32_t>(links.size()));
  bool first = true;
  for (std::size_t v = 0; v < links.size(); ++v) {
    put32(static_cast<uint32_t>(static_cast<int32_t>(links[v].size()) + (v + 1 == links.size() ? o.inner_count_delta : 0)));
    for (const Link& l : links[v]) {
      const uint32_t size = o.foreign ? 24 : 16;  // after the byte count
      put32(0x40000000u | static_cast<uint32_t>(static_cast<int>(size) + (first ? o.byte_count_delta : 0)));
      first = false;
      if (o.foreign) {
        put16(0);
        put32(o.checksum);
        put32(0x40000000u | 14);
        put16(0);
        put32(0xfeb3df9e);
      } else {
        put16(1);
        put32(0x40000000u | 10);
        put16(1);
      }
      put32(l.key);
      put32(l.index);
    }
  }
  BasketData d;
  auto put_header = [&](uint32_t count) {
    for (int s = 24; s >= 0; s -= 8) d.bytes.push_back(static_cast<uint8_t>(count >> s));
    d.bytes.insert(d.bytes.end(), {0, 9});  // the outer vector's version
  };
  put_header(0x40000000u | static_cast<uint32_t>(body.size() + 2));
  d.bytes.insert(d.bytes.end(), body.begin(), body.end());
  d.entries = 1;
  d.border = static_cast<int64_t>(d.bytes.size());
  d.offsets.assign({0, static_cast<int32_t>(d.bytes.size())});
  return d;
}

TEST(ElementLinkVectors, ForeignAndPlainHeadersBothRead) {
  M4H_REQUIRE_TESTDATA();
  auto t = xaod();
  const BranchInfo& b = *t->find("TruthBosonAuxDyn.parentLinks.m_persIndex");
  const Interpretation in = interpret(*t, b);
  const std::vector<std::vector<Link>> links{{{7, 1}, {7, 2}}, {}, {{9, 4294967295u}}};
  for (bool foreign : {true, false}) {
    Column out = read_branch(*t, b, 0, 0);
    Options o;
    o.foreign = foreign;
    decode_basket(in, one_entry(links, o), 0, 1, out, nullptr);
    EXPECT_EQ(out.offsets, (Offsets{{0, 3}, {0, 2, 2, 3}}));
    EXPECT_EQ(test::column_values<uint32_t>(out), (std::vector<uint32_t>{1, 2, 4294967295u}));
  }
}

TEST(ElementLinkVectors, DamagedObjectsAreErrorsNamingTheClass) {
  M4H_REQUIRE_TESTDATA();
  auto t = xaod();
  const BranchInfo& b = *t->find("TruthBosonAuxDyn.parentLinks.m_persKey");
  const Interpretation in = interpret(*t, b);
  const std::vector<std::vector<Link>> links{{{7, 1}, {7, 2}}, {{9, 3}}};
  Options wrong_checksum, wrong_size, too_many, too_few;
  wrong_checksum.checksum = 0x12345678;
  wrong_size.byte_count_delta = 4;
  too_many.inner_count_delta = 1000000;
  too_few.inner_count_delta = -1;
  for (const Options& o : {wrong_checksum, wrong_size, too_many, too_few}) {
    Column out = read_branch(*t, b, 0, 0);
    try {
      decode_basket(in, one_entry(links, o), 0, 1, out, nullptr);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
      EXPECT_NE(std::string(e.what()).find(
                  "ElementLink<DataVector<xAOD::TruthParticle_v1>> (version 1, 20 bytes; or version 0, checksum "
                  "0x3365bc9b, 28 bytes)"),
                std::string::npos)
          << e.what();
    }
  }
}

// Members read together whose values are not all of one byte-swapped size take the walk's
// generic path (here one member's values reinterpreted as floats widened to doubles): each still
// equals the member read alone with the same interpretation.
TEST(ElementLinkVectors, MembersOfMixedTypesReadTogetherEqualEachReadAlone) {
  M4H_REQUIRE_TESTDATA();
  auto t = xaod();
  const BranchInfo* key = t->find("AnalysisJetsAuxDyn.GhostTrack.m_persKey");
  const BranchInfo* index = t->find("AnalysisJetsAuxDyn.GhostTrack.m_persIndex");
  Interpretation widened = interpret(*t, *index);
  widened.dtype = DType::kFloat64;
  widened.packing = Packing::kFloatAsDouble;
  const std::vector<BranchRequest> both{{key, interpret(*t, *key)}, {index, widened}};
  const auto together = read_branches(*t, both, 0, t->entries(), nullptr);
  for (std::size_t i = 0; i < both.size(); ++i) {
    const auto alone = read_branches(*t, std::span(&both[i], 1), 0, t->entries(), nullptr);
    EXPECT_TRUE(together[i] == alone[0]) << i;
  }
  // The widened values are the plain member's bits read as floats.
  const Column plain = read_branch(*t, *index, 0, t->entries());
  ASSERT_EQ(together[1].value_count(), plain.value_count());
  ASSERT_GT(plain.value_count(), 0);
  for (int64_t i = 0; i < plain.value_count(); ++i) {
    const uint32_t bits = plain.value<uint32_t>(i);
    float f;
    std::memcpy(&f, &bits, 4);
    const double got = together[1].value<double>(i), expected = f;
    ASSERT_EQ(std::memcmp(&got, &expected, 8), 0) << i;
  }
}

}  // namespace
}  // namespace m4h::root
