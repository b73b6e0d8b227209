// Raw branch values (as in the ROOT file) -> the rows a bundle's model was trained on, with the
// data layer's own code: Preprocess::apply for preproc.json's new branches and cuts, and
// data::assemble for normalisation, padding and the mask. Rows equal the training pipeline's bit
// for bit when bundle.json lists the branches' value types (bundles since the serve layer).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/block_reader.h"
#include "data/features.h"
#include "data/preprocess.h"
#include "data/specs.h"
#include "serve/model.h"

namespace m4h::serve {

class Normaliser {
 public:
  // `types`: bundle.json's input.branches (the branches training read); empty for older
  // bundles: then features are float64 (a float32 branch may differ in the last bit) and a
  // branch that only the pre-processing reads is jagged when some event gives it != 1 value.
  Normaliser(const data::Specs& specs, const data::Params& params, data::Preprocess preproc,
             std::vector<data::BranchType> types);

  // Thread-safe. See Model::normalise.
  InputBatch run(const std::vector<RawEvent>& events, std::vector<int64_t>* kept) const;

  const std::vector<std::string>& branches() const { return branches_; }  // raw branches needed
  const data::FeatureLayout& layout() const { return layout_; }

 private:
  InputBatch assemble(const std::vector<data::ColumnView>& views, int64_t rows) const;
  InputBatch run_plain(const std::vector<RawEvent>& events) const;
  InputBatch run_preprocessed(const std::vector<RawEvent>& events, std::vector<int64_t>* kept) const;

  data::FeatureLayout layout_;
  data::Preprocess preproc_;
  std::vector<std::string> features_;          // fkeys then jkeys
  std::vector<data::ValueType> feature_type_;  // per feature, without pre-processing
  std::vector<std::string> branches_;          // raw branches read
  std::vector<int> branch_jagged_;             // per branch: 1 jagged, 0 flat, -1 unknown
};

}  // namespace m4h::serve
