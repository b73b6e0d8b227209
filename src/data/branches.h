// Which branches a run reads and which become features, decided as the reference decides them:
// selected_branches (or every branch of the tree), minus exclude_branches, minus the identifier
// branches, minus what the pre-processing removes, plus the pre-processing's new branches; flat
// keys and jagged keys each in tree order, new branches after the tree's.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "data/inputs.h"
#include "data/preprocess.h"
#include "root/interpretation.h"
#include "root/tree.h"

namespace m4h::data {

enum class BranchShape { kFlat, kJagged, kUnusable };

// Flat: one number per event. Jagged: a list per event (x[n], std::vector<T>, and fixed arrays
// x[k], which the reference cannot pad). Unusable: strings, nested lists, leaf lists (`why` says).
BranchShape classify(const root::Interpretation& in, std::string* why = nullptr);

struct BranchPlan {
  std::vector<std::string> fkeys;  // flat features, in order
  std::vector<std::string> jkeys;  // jagged features, in order
  // Tree branches read from every file: the features that are tree branches, then the branches
  // the pre-processing needs that are not features.
  std::vector<std::string> read;
  // Branches left out without being asked (every branch taken): name and reason.
  std::vector<std::pair<std::string, std::string>> skipped;

  std::vector<std::string> features() const;  // fkeys then jkeys
};

// The plan from the first file's tree. Throws m4h::Error kNotFound naming a selected branch or a
// pre-processing input that the tree lacks, kUnsupported for a selected branch that cannot be a
// feature, kInvalidArgument when nothing is left to be a feature.
BranchPlan plan_branches(const root::Tree& tree, const Params& params, const Preprocess& preproc);

// The plan for features fixed by a specs file (fkeys/jkeys, identifier branches dropped as the
// reference's flat_keys() does). Throws kNotFound for a feature that is neither a tree branch nor
// a new branch of the pre-processing.
BranchPlan plan_from_keys(const root::Tree& tree, const std::vector<std::string>& fkeys,
                          const std::vector<std::string>& jkeys, const Params& params,
                          const Preprocess& preproc);

}  // namespace m4h::data
