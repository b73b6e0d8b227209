#include "data/branches.h"

#include <algorithm>

#include "core/error.h"
#include "core/name_pattern.h"

namespace m4h::data {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// selected_branches and exclude_branches entries may be shell patterns ("HLT_*", "Jet_[pe]t*"),
// as the reference meant its "*" to be (it compared the name with the pattern's text, so a "*"
// entry never matched).
bool matches_any(const std::vector<std::string>& entries, const std::string& name) {
  return std::any_of(entries.begin(), entries.end(), [&](const std::string& e) { return name_matches(e, name); });
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (!contains(v, s)) v.push_back(s);
}

std::string where(const root::Tree& tree) {
  return tree.file().url() + ": tree '" + tree.path() + "'";
}

// The pre-processing's inputs that are not features are read too; each must be a tree branch.
void add_preprocess_inputs(const root::Tree& tree, const Preprocess& preproc, BranchPlan& plan) {
  for (const std::string& name : preproc.input_branches()) {
    if (contains(plan.read, name)) continue;
    if (!tree.find(name))
      throw Error(ErrorCode::kNotFound,
                  where(tree) + " has no branch '" + name + "' (used by the pre-processing)" +
                      tree.similar_names(name));
    plan.read.push_back(name);
  }
}

}  // namespace

BranchShape classify(const root::Interpretation& in, std::string* why) {
  using root::Layout;
  auto unusable = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return BranchShape::kUnusable;
  };
  if (!in.supported())
    return unusable(in.reason.empty() ? "holds no values of its own" : in.reason);
  if (in.innermost_strings() || in.dtype == root::DType::kChar)
    return unusable("strings cannot be features");
  switch (in.layout) {
    case Layout::kFlat: return in.shape.empty() ? BranchShape::kFlat : BranchShape::kJagged;
    case Layout::kCounted:
    case Layout::kVector: return BranchShape::kJagged;
    case Layout::kObjectMember:
      if (in.containers > 1) return unusable("nested lists cannot be features");
      return in.containers ? BranchShape::kJagged : BranchShape::kFlat;
    case Layout::kNested:
      if (in.containers == 1) return BranchShape::kJagged;
      return unusable("nested lists cannot be features");
    case Layout::kVectorVector: return unusable("nested lists cannot be features");
    case Layout::kRecord: return unusable("leaf lists (records) cannot be features");
    default: return unusable("a " + in.kind_name() + " branch cannot be a feature");
  }
}

std::vector<std::string> BranchPlan::features() const {
  std::vector<std::string> out = fkeys;
  out.insert(out.end(), jkeys.begin(), jkeys.end());
  return out;
}

BranchPlan plan_branches(const root::Tree& tree, const Params& params, const Preprocess& preproc) {
  BranchPlan plan;
  const std::vector<std::string> removed = preproc.removed_branches();
  const std::vector<std::string> created = preproc.new_branches();
  auto dropped = [&](const std::string& name) {
    return matches_any(params.exclude_branches, name) || contains(params.identifier, name) ||
           contains(removed, name) || contains(created, name);
  };
  auto take = [&](const std::string& name, BranchShape shape) {
    (shape == BranchShape::kFlat ? plan.fkeys : plan.jkeys).push_back(name);
    add_unique(plan.read, name);
  };
  // Every usable branch of the tree, in tree order, that `keep` accepts; unusable ones are
  // listed in plan.skipped. True when `keep` accepted any branch at all.
  auto take_listed = [&](const auto& keep) {
    bool any = false;
    for (const root::BranchInfo* b : tree.all_branches()) {
      root::Interpretation in = root::interpret(tree, *b);
      if (in.layout == root::Layout::kNone) continue;  // a parent of split members
      if (!keep(b->name)) continue;
      any = true;
      if (dropped(b->name) || contains(plan.read, b->name)) continue;
      std::string why;
      BranchShape shape = classify(in, &why);
      if (shape == BranchShape::kUnusable) {
        plan.skipped.emplace_back(b->name, why);
        continue;
      }
      take(b->name, shape);
    }
    return any;
  };

  if (!params.selected_branches.empty()) {
    for (const std::string& name : params.selected_branches) {
      if (contains(created, name)) continue;  // defined by the pre-processing, added below
      if (is_name_pattern(name) && !tree.find(name)) {
        if (!take_listed([&](const std::string& n) { return name_matches(name, n); }))
          throw Error(ErrorCode::kNotFound,
                      where(tree) + " has no branch that matches '" + name + "' (selected_branches)");
        continue;
      }
      const root::BranchInfo* b = tree.find(name);
      if (!b) throw Error(ErrorCode::kNotFound, where(tree) + " has no branch '" + name + "' (selected_branches)" +
                                    tree.similar_names(name));
      if (dropped(name)) continue;
      std::string why;
      BranchShape shape = classify(root::interpret(tree, *b), &why);
      if (shape == BranchShape::kUnusable)
        throw Error(ErrorCode::kUnsupported, where(tree) + ": branch '" + name + "': " + why);
      if (contains(plan.read, name)) continue;
      take(name, shape);
    }
  } else {
    take_listed([](const std::string&) { return true; });
  }
  for (const std::string& name : created) {
    if (contains(removed, name) || matches_any(params.exclude_branches, name)) continue;
    (preproc.new_branch_is_jagged(name) ? plan.jkeys : plan.fkeys).push_back(name);
  }
  add_preprocess_inputs(tree, preproc, plan);
  if (plan.fkeys.empty() && plan.jkeys.empty())
    throw Error(ErrorCode::kInvalidArgument,
                where(tree) + ": no branch is left to be a feature (check selected_branches, "
                              "exclude_branches, identifier and the pre-processing's removals)");
  return plan;
}

BranchPlan plan_from_keys(const root::Tree& tree, const std::vector<std::string>& fkeys,
                          const std::vector<std::string>& jkeys, const Params& params,
                          const Preprocess& preproc) {
  BranchPlan plan;
  const std::vector<std::string> created = preproc.new_branches();
  auto add = [&](const std::string& name, std::vector<std::string>& keys) {
    if (contains(params.identifier, name)) return;  // the reference's flat_keys() drops them
    keys.push_back(name);
    if (contains(created, name)) return;
    if (!tree.find(name))
      throw Error(ErrorCode::kNotFound, where(tree) + " has no branch '" + name +
                                            "' that the specs list as a feature" + tree.similar_names(name));
    add_unique(plan.read, name);
  };
  for (const std::string& k : fkeys) add(k, plan.fkeys);
  for (const std::string& k : jkeys) add(k, plan.jkeys);
  add_preprocess_inputs(tree, preproc, plan);
  if (plan.fkeys.empty() && plan.jkeys.empty())
    throw Error(ErrorCode::kInvalidArgument, "the specs list no features");
  return plan;
}

}  // namespace m4h::data
