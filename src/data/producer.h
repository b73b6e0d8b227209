// The streaming batch producer: chunks of labelled, mixed, normalised and padded events made on a
// thread pool ahead of the consumer. A background thread reads each file's share of the next chunk
// (the files in parallel, baskets decompressed in parallel), pre-processes it, and assembles it
// (normalisation, padding, mask, shuffled rows, split; pieces of it in parallel), the pool's
// workers joining in at each step; at most `chunks_in_flight` chunks wait for the consumer,
// which bounds memory.
// Errors reach the consumer in chunk order; the destructor stops and joins everything.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "data/block_reader.h"
#include "data/chunk.h"
#include "data/branches.h"
#include "data/features.h"
#include "data/inputs.h"
#include "data/mixing.h"
#include "data/preprocess.h"
#include "data/specs.h"

namespace m4h::data {

struct ProducerReport {
  int64_t chunks = 0;
  int64_t events = 0;
  std::vector<int64_t> events_per_file;
  std::map<int64_t, std::array<int64_t, 3>> split_by_label;  // label -> train, validation, test
  AssemblyReport assembly;
  PreprocessReport preprocess;  // of the blocks read (may run past the last event used)
};

// Events after cuts of each file: the tree's entries when there is no pre-processing, else the
// specs' "events" when they list every file, else counted by a pass over the files.
std::vector<int64_t> events_after_cuts(const std::vector<InputFile>& files, const BranchPlan& plan,
                                       const Specs& specs, const Preprocess& preproc,
                                       ThreadPool* pool);

class BatchProducer {
 public:
  // `files`, `plan` and `preproc` must outlive the producer. `events`: events_after_cuts().
  // Starts the background work at once. Throws kInvalidArgument for inconsistent arguments.
  // `spares`: chunks of an earlier producer (release_spares()) whose buffers it reuses: a
  // training epoch after another then touches no fresh memory. `with_mask` false: the chunks
  // carry no mask (for models that take none: a fifth less to write per row).
  BatchProducer(const std::vector<InputFile>& files, const BranchPlan& plan, const Specs& specs,
                const Preprocess& preproc, const Params& params, std::vector<int64_t> events,
                std::vector<Chunk> spares = {}, bool with_mask = true);
  ~BatchProducer();
  BatchProducer(const BatchProducer&) = delete;
  BatchProducer& operator=(const BatchProducer&) = delete;

  // The next chunk, in order, into `out` (whose buffers are recycled); false after the last.
  // Rethrows the error of a failed chunk (and again on later calls). Call from one thread.
  bool next(Chunk& out);

  // The chunks handed back through next() and not reused (call after the last chunk).
  std::vector<Chunk> release_spares();

  const FeatureLayout& layout() const { return layout_; }
  const ChunkPlanner& planner() const { return planner_; }
  // Totals so far; complete once next() returned false. Thread-safe.
  ProducerReport report() const;

 private:
  struct FileStream;
  void run();
  Chunk assemble(int64_t index, std::vector<ChunkPart> parts);
  Chunk take_recycled();

  const std::vector<InputFile>& files_;
  const BranchPlan& plan_;
  const Preprocess& preproc_;
  FeatureLayout layout_;
  Params params_;
  ChunkPlanner planner_;
  Splitter splitter_;
  ChunkContext context_;
  std::unique_ptr<ThreadPool> pool_;  // destroyed after the coordinator is joined
  std::vector<std::unique_ptr<FileStream>> streams_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::future<Chunk>> ready_;
  int64_t in_flight_ = 0;
  bool stop_ = false;
  bool finished_ = false;  // the coordinator queued its last chunk (or an error)
  std::exception_ptr error_;  // the error handed to the consumer, rethrown on later calls
  std::vector<Chunk> recycled_;
  ProducerReport report_;
  std::thread coordinator_;
};

}  // namespace m4h::data
