// The feature vector as the reference lays it out (reader.py RootDataReader.next/columns): the
// flat keys, then each jagged key padded to its jdim; min-max normalisation (x - min) / (max - min),
// the raw value when max == min; names <branch> and <branch>_<i>. Assembly writes rows of a
// contiguous float32 [rows x width] array and a uint8 mask of the same shape, column by column
// over blocks of rows, with no per-event allocation.
//
// Conventions: a cell is "missing" when it is padding (the event's list is shorter than jdim) or
// its value is not finite (NaN, +-inf); a missing cell holds the padding value (default 0, as the
// reference's training replaced its NaN padding by 0) and is marked in the mask. The mask marks
// real values with 1 by default (MaskConvention::kValid), or missing cells with 1 as the
// reference did (MaskConvention::kPadded). Lists longer than jdim are truncated and counted.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/column_view.h"
#include "data/inputs.h"
#include "data/specs.h"

namespace m4h::data {

struct FeatureLayout {
  std::vector<std::string> fkeys, jkeys;
  std::vector<int64_t> jdim;    // per jagged key
  std::vector<int64_t> column;  // per feature (fkeys then jkeys): its first column
  std::vector<double> minv, maxv;  // per feature
  int64_t width = 0;
  float padding = 0.0f;
  MaskConvention mask = MaskConvention::kValid;

  static FeatureLayout from_specs(const Specs& specs, const Params& params);

  size_t features() const { return fkeys.size() + jkeys.size(); }
  std::vector<std::string> names() const;
  uint8_t valid_mark() const { return mask == MaskConvention::kValid ? 1 : 0; }
  uint8_t missing_mark() const { return mask == MaskConvention::kValid ? 0 : 1; }
  // The normalised value of x for feature k, as assembly computes it (for tests and tools).
  double normalise(size_t k, double x) const;
};

struct AssemblyReport {
  std::vector<int64_t> truncated;  // per jagged key: events whose list was cut to jdim
  std::vector<int64_t> nonfinite;  // per feature: values that were NaN or infinite
  void resize(const FeatureLayout& layout);
  void add(const AssemblyReport& other);
};

// Writes events [begin, end) of `views` (one per feature, in layout order, flat or jagged as the
// layout says) into rows dest_rows[0 .. end-begin) of `features` and `mask` (each
// rows x layout.width; `mask` may be null: no mask). Adds to `report` (sized by resize()).
// Thread-safe for disjoint rows.
void assemble(const FeatureLayout& layout, std::span<const ColumnView> views, int64_t begin,
              int64_t end, const int64_t* dest_rows, float* features, uint8_t* mask,
              AssemblyReport& report);

// The AVX2 kernels are used when the CPU has AVX2; tests turn them off to compare with the
// portable ones (both give the same bytes).
void set_simd_assembly(bool allowed);
bool simd_assembly_active();

}  // namespace m4h::data
