// Pre-processing as the reference MLaaS4HEP defines it in preproc.json: new branches computed
// from expressions ("new_branch"), cuts on flat branches ("flat_cut") and on jagged ones
// ("jagged_cut": an expression per element, then "all" or "any" over the event's list), and
// branches removed from the features ("remove", "keys_to_remove"). Applied to a chunk's Table,
// column at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/table.h"

namespace m4h::data {

// What one apply() (or a sum of them) did, for the run report.
struct PreprocessReport {
  int64_t events_in = 0;
  int64_t events_passed = 0;
  // Events rejected, per cut, in the order the cuts are listed (name as in preproc.json).
  std::vector<std::pair<std::string, int64_t>> rejected_by;
  void add(const PreprocessReport& other);
};

class Preprocess {
 public:
  // No pre-processing: apply() changes nothing.
  Preprocess();
  ~Preprocess();
  Preprocess(Preprocess&&) noexcept;
  Preprocess& operator=(Preprocess&&) noexcept;

  // Parses the JSON text of a preproc.json. `origin` names it in errors ("preproc.json").
  // Throws m4h::Error kInvalidArgument: malformed JSON, unknown keys, bad expressions (with the
  // column in the expression text).
  static Preprocess parse(std::string_view json_text, std::string_view origin = "preproc.json");
  static Preprocess from_file(const std::string& path);

  bool empty() const;
  // Branches that must be read from the files (referenced by definitions and cuts); the new
  // branches themselves are not among them.
  std::vector<std::string> input_branches() const;
  // Names of the branches that new_branch defines, in file order, and their kind.
  std::vector<std::string> new_branches() const;
  bool new_branch_is_jagged(std::string_view name) const;
  // Branches that must not become features ("remove": true, and keys_to_remove).
  std::vector<std::string> removed_branches() const;
  // A stable text of the whole definition (for the specs' provenance hash).
  std::string canonical() const;

  // Adds the new branches to `table`, drops the events that fail any cut, and removes the
  // removed branches. Thread-safe (const). Throws kNotFound naming an unknown branch.
  void apply(Table& table, PreprocessReport* report = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace m4h::data
