// Specs: the first pass over the input files that finds, for every feature branch (after the
// pre-processing: new branches included, cut events left out), its minimum, maximum and, for
// jagged branches, the longest list (jdim). Written as JSON in the reference's key layout
// (jdim, minv, maxv, fkeys, jkeys, nans, events) so reference users can reuse theirs, plus
// per-file specs, feature names, a report (jdim before the cap, events truncated by jdim_max,
// non-finite values) and a provenance block: the files (sizes, modification times), branches,
// pre-processing and params the specs were computed from, so stale specs are recomputed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_pool.h"
#include "data/branches.h"
#include "data/column_view.h"
#include "data/inputs.h"
#include "data/preprocess.h"

namespace m4h::data {

// The reference's min/max when a branch has no values at all (min_max_arr's fallback).
inline constexpr double kNoValuesMin = -1e15;
inline constexpr double kNoValuesMax = 1e15;

struct BranchStats {
  double minv = 0, maxv = 0;  // over finite values; meaningful when values > 0
  int64_t values = 0;         // finite values seen
  int64_t nonfinite = 0;      // NaN and infinities (left out of min/max, masked as missing)
  int64_t jdim = 0;           // the longest list (jagged branches)
  int64_t over_cap = 0;       // events whose list is longer than the cap given to accumulate()

  void merge(const BranchStats& o);
  double min_or_default() const { return values ? minv : kNoValuesMin; }
  double max_or_default() const { return values ? maxv : kNoValuesMax; }
};

// Adds events [begin, end) of `view` to `stats`. `cap` < 0: no cap. Thread-compatible.
void accumulate(const ColumnView& view, int64_t begin, int64_t end, int64_t cap, BranchStats& stats);

struct FileSpecs {
  std::string name;
  int64_t entries = 0;  // entries of the tree
  int64_t events = 0;   // events that pass the cuts
  std::vector<BranchStats> stats;  // per feature (fkeys then jkeys); empty when loaded from JSON
};

struct Specs {
  std::vector<std::string> fkeys, jkeys;
  std::vector<double> minv, maxv;       // per feature, fkeys then jkeys
  std::vector<int64_t> jdim;            // per jagged key: the padded length (after jdim_max)
  std::vector<int64_t> jdim_measured;   // per jagged key: the longest list seen
  std::vector<int64_t> truncated;       // per jagged key: events longer than jdim
  std::vector<int64_t> nonfinite;       // per feature
  int64_t jdim_max = -1;
  std::vector<FileSpecs> files;         // per input file, in order
  int64_t total_events = 0;
  std::string provenance;               // JSON text; empty for specs written by the reference

  std::vector<std::string> features() const;  // fkeys then jkeys
  // The reference's columns(): flat keys, then <key>_<i> for i < jdim of each jagged key.
  std::vector<std::string> feature_names() const;
  int64_t width() const;
  // Events after cuts recorded for `file`, if any.
  std::optional<int64_t> events_of(const std::string& file) const;

  std::string to_json() const;
  // Throws kInvalidArgument (malformed JSON, missing reference keys, inconsistent values).
  static Specs from_json(std::string_view text, std::string_view origin = "specs.json");
  static Specs load(const std::string& path);
  // Writes through a temporary file renamed into place. Throws kIo.
  void save(const std::string& path) const;
};

// The reference's "nans": the normalised value of 0; global specs use max when max == min
// (generator.py global_specs), per-file specs 0 (reader.py normalize(key, 0)).
double global_nan_value(double minv, double maxv);
double file_nan_value(double minv, double maxv);

// What the specs depend on, as canonical JSON text: files (name, size, mtime), tree, planned
// branches, the pre-processing's canonical text, jdim_max.
std::string provenance_of(const std::vector<InputFile>& files, const BranchPlan& plan,
                          const Preprocess& preproc, const Params& params);

// Entries read per block in the first pass.
inline constexpr int64_t kSpecsBlockEntries = 100000;

// The first pass over every file. `progress` (may be empty) gets the entries read so far.
// Throws what reading and pre-processing throw, naming the file.
Specs compute_specs(const std::vector<InputFile>& files, const BranchPlan& plan,
                    const Preprocess& preproc, const Params& params, ThreadPool* pool,
                    const std::function<void(int64_t)>& progress = {});

}  // namespace m4h::data
