#include "core/suggest.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace m4h {
namespace {

const std::vector<std::string_view> kKeys = {"chunk_size", "epochs", "batch_size", "seed", "learning_rate"};

TEST(DidYouMean, NearMissesWhateverTheCase) {
  EXPECT_EQ(did_you_mean("chunk_szie", kKeys), "; did you mean 'chunk_size'?");  // two edits in ten letters
  EXPECT_EQ(did_you_mean("epoch", kKeys), "; did you mean 'epochs'?");
  EXPECT_EQ(did_you_mean("EPOCHS", kKeys), "; did you mean 'epochs'?");
  EXPECT_EQ(did_you_mean("seeds", kKeys), "; did you mean 'seed'?");
  // Two neighbours swapped are one edit.
  EXPECT_EQ(did_you_mean("trian", {"train", "gen", "serve"}), "; did you mean 'train'?");
  EXPECT_EQ(did_you_mean("sede", kKeys), "; did you mean 'seed'?");
}

TEST(DidYouMean, FarNamesAreNotSuggested) {
  EXPECT_EQ(did_you_mean("hist", kKeys), "");
  EXPECT_EQ(did_you_mean("split", kKeys), "");
  EXPECT_EQ(did_you_mean("", kKeys), "");
  EXPECT_EQ(did_you_mean("x", {}), "");
  // One letter in four at most: "sed" is one edit from "seed", "sd" two.
  EXPECT_EQ(did_you_mean("sed", kKeys), "; did you mean 'seed'?");
  EXPECT_EQ(did_you_mean("sd", kKeys), "");
}

TEST(DidYouMean, PartsOfNamesRankAfterNearMissesAndTheListIsCut) {
  EXPECT_EQ(did_you_mean("size", kKeys), "; did you mean 'chunk_size' or 'batch_size'?");
  const std::vector<std::string_view> many = {"a_x", "a_y", "a_z", "a_e", "a_q", "a_r", "a_s"};
  EXPECT_EQ(did_you_mean("a_", many), "; did you mean 'a_x', 'a_y', 'a_z', 'a_e' or 'a_q' (or 2 more)?");
  // A name listed twice is suggested once.
  EXPECT_EQ(did_you_mean("epoch", {"epochs", "epochs"}), "; did you mean 'epochs'?");
}

}  // namespace
}  // namespace m4h
