// One chunk of model inputs and how it is assembled from blocks of events: rows shuffled with a
// seed, each event normalised and padded into its row, with its label, split, file and entry.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "data/block_reader.h"
#include "data/features.h"
#include "data/mixing.h"

namespace m4h::data {

// One chunk, every array contiguous and row-major.
struct Chunk {
  int64_t index = 0;
  int64_t rows = 0;
  int64_t width = 0;
  std::vector<float> features;  // rows x width
  std::vector<uint8_t> mask;    // rows x width, see FeatureLayout (MaskConvention); empty
                                // when the consumer asked for none (ChunkContext::with_mask)
  std::vector<int64_t> labels;  // rows
  std::vector<uint8_t> split;   // rows, Split values (0 train, 1 validation, 2 test)
  std::vector<int32_t> file;    // rows: index of the event's file in the file list
  std::vector<int64_t> entry;   // rows: the event's entry in its file's tree
};

// Events [begin, end) of a block of file `file`.
struct ChunkPart {
  std::shared_ptr<const Block> block;
  int32_t file = 0;
  int64_t begin = 0, end = 0;
};

struct ChunkContext {
  const FeatureLayout* layout = nullptr;
  const Splitter* splitter = nullptr;
  std::vector<int64_t> labels;      // per file
  std::vector<uint64_t> file_keys;  // per file, Splitter::file_key
  uint64_t seed = 0;
  bool shuffle = true;
  // False: no mask is written (Chunk::mask stays empty), for consumers whose model takes none.
  bool with_mask = true;
};

// What assembling chunks did, summed.
struct ChunkStats {
  int64_t events = 0;
  std::vector<int64_t> events_per_file;
  std::map<int64_t, std::array<int64_t, 3>> split_by_label;  // label -> train, validation, test
  AssemblyReport assembly;
  void add(const ChunkStats& other);
};

// Fills `out` (reusing its buffers) with the parts' events in a seeded random row order (chunk
// `index`). Runs on `pool` and this thread (pool may be null). Adds to `stats`.
void assemble_chunk(const ChunkContext& ctx, int64_t index, std::span<const ChunkPart> parts,
                    ThreadPool* pool, Chunk& out, ChunkStats& stats);

}  // namespace m4h::data
