// Reads one input file in blocks of entries and turns each into the feature columns of the events
// that pass the pre-processing: the reader's columns are viewed as they are when there is no
// pre-processing, and go through the float64 Table and Preprocess::apply otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "data/branches.h"
#include "data/column_view.h"
#include "data/inputs.h"
#include "data/preprocess.h"
#include "data/table.h"
#include "root/branch_reader.h"

namespace m4h::data {

// The events of one block of entries after pre-processing. Immutable once read; views point into
// `columns` or `table`, so a Block is shared (shared_ptr) and not copied.
struct Block {
  int64_t first_entry = 0;  // the block covers entries [first_entry, first_entry + raw_entries)
  int64_t raw_entries = 0;
  int64_t events = 0;  // events that passed the cuts
  std::vector<root::Column> columns;  // the reader's columns (no pre-processing)
  Table table;                        // float64 columns (pre-processing, or columns to convert)
  std::vector<ColumnView> features;   // one per feature, fkeys then jkeys
  // Tree entry of each event when cuts dropped some; empty when every entry passed.
  std::vector<int64_t> entries;

  int64_t entry(int64_t i) const { return entries.empty() ? first_entry + i : entries[i]; }
};

// How BlockReader hands a branch of plan.read to the feature assembly when there is no
// pre-processing: the value type of its view (the reader's type when the column is viewed as it
// is, float64 when it goes through to_array) and whether it is jagged. A model bundle records
// these so that the inference layer rebuilds the same views from raw values: a float32 branch
// is normalised in float there too, and served rows equal trained rows bit for bit.
struct BranchType {
  std::string name;
  ValueType type = ValueType::kF64;
  bool jagged = false;
};

// For each branch of plan.read in `file`'s tree, from its interpretation (nothing is read).
// Throws kNotFound for a branch the tree lacks.
std::vector<BranchType> read_branch_types(const InputFile& file, const BranchPlan& plan);

class BlockReader {
 public:
  // Reads `plan.read` from entries [start, stop) of `file`'s tree (stop < 0: to the end),
  // `block_size` entries at a time. `pool` (may be null) decompresses baskets in parallel.
  // Throws kNotFound naming the file and a branch the plan needs that its tree lacks.
  BlockReader(const InputFile& file, const BranchPlan& plan, const Preprocess& preproc,
              int64_t block_size, ThreadPool* pool, int64_t start = 0, int64_t stop = -1);
  ~BlockReader();

  // The next block, or nullptr at the end. Throws m4h::Error (read, pre-processing, or a feature
  // that is flat in one file and jagged in another) with the file named.
  std::shared_ptr<const Block> next();

  // The block of entries [first, stop) from the reader's columns of plan.read (what next() does
  // after reading; benchmarks time it alone). Not thread-safe (the report).
  std::shared_ptr<const Block> convert(std::vector<root::Column> columns, int64_t first,
                                       int64_t stop);

  const PreprocessReport& report() const { return report_; }

 private:
  const InputFile& file_;
  const BranchPlan& plan_;
  const Preprocess& preproc_;
  std::vector<std::string> features_;
  std::vector<bool> jagged_;
  // For each feature, its index in plan_.read, or -1 for a new branch of the pre-processing.
  std::vector<int> read_index_;
  std::unique_ptr<root::ChunkIterator> chunks_;
  PreprocessReport report_;
};

}  // namespace m4h::data
