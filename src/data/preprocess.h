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
  // Events rejected, per cut, in the order the cuts are listed, named by where they stand in
  // preproc.json ("flat_cut.nLeptons.cut", "new_branch.log_E.cut_1"). A cut counts the events it
  // rejects among those that the cuts before it kept, so the counts add up to in - passed.
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

  // Adds the new branches to `table` (each after the new branches its definition uses), drops
  // the events that fail any cut (a flat cut keeps an event when its value is not 0; a jagged
  // cut applies "all" or "any" to the event's list: an empty list passes "all", fails "any"),
  // and removes the removed branches. Thread-safe (const). Throws m4h::Error naming the file and
  // the key: kNotFound for an unknown branch, kInvalidArgument when a definition's result does
  // not match its "type", a flat cut gives lists, or jagged operands differ in length.
  void apply(Table& table, PreprocessReport* report = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace m4h::data
