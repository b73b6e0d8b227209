// Labelled mixing and the split, as plain arithmetic:
//  - ChunkPlanner: which events of which file go into each chunk, with the reference's rule
//    (generator.py RootDataGenerator.__init__ and next_mix_files): every file gives its share
//    round(events_f / total * chunk_size) per chunk (with nevts: the file's quota
//    round(events_f / total * nevts), at least 1, and round(quota_f / nevts * chunk_size) per
//    chunk), the last file topped up so the chunk has exactly chunk_size events; rounding is
//    Python's (half to even).
//  - Splitter: train / validation / test decided per event from (file, tree entry, seed) alone,
//    so an event never changes split between chunks, epochs or runs.
//  - shuffle_rows: a seeded permutation of a chunk's rows, the same on every platform.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace m4h::data {

// Python 3's round(): halves go to the even neighbour.
int64_t round_half_even(double x);

// Events [begin, begin + count) of one file, counted after cuts.
struct Take {
  int32_t file = 0;
  int64_t begin = 0;
  int64_t count = 0;
};

class ChunkPlanner {
 public:
  // `events`: per file, events after cuts. `nevts`: -1 or the total budget. `chunk_size`: -1 =
  // everything in one chunk.
  ChunkPlanner(std::vector<int64_t> events, int64_t nevts, int64_t chunk_size);

  // Events used from each file: the reference's quota, capped at the file's events (the
  // reference started the file over instead).
  const std::vector<int64_t>& quota() const { return quota_; }
  // The reference's evts_toread: each file's share of a chunk.
  const std::vector<int64_t>& share() const { return share_; }
  int64_t total() const;

  // The next chunk's takes (at most one per file, in file order); false when nothing is left.
  // The last chunk is the one where some file cannot give its share again: it takes what is
  // left of every file. (The reference took the rest of that file and the files after it, and
  // dropped what was left of the files before it; we drop nothing.)
  bool next(std::vector<Take>& takes);

 private:
  std::vector<int64_t> events_, quota_, share_, pos_;
  int64_t chunk_size_;
  bool done_ = false;
};

enum class Split : uint8_t { kTrain = 0, kValidation = 1, kTest = 2 };

class Splitter {
 public:
  Splitter(uint64_t seed, double validation_fraction, double test_fraction);

  // A stable key for a file: its name as given (FNV-1a), so reordering the list changes nothing.
  static uint64_t file_key(std::string_view name);

  // Within a file, successive entries walk a golden-ratio (Weyl) sequence from a start drawn from
  // (file, seed): any run of entries is split in the requested fractions to within a few events,
  // and since each file has one label, every class is too (stratified).
  Split of(uint64_t file_key, int64_t entry) const {
    const uint64_t u = start(file_key) + static_cast<uint64_t>(entry) * kGolden;
    return u < test_ ? Split::kTest : (u - test_ < validation_ ? Split::kValidation : Split::kTrain);
  }

 private:
  static constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio
  uint64_t start(uint64_t file_key) const;

  uint64_t seed_;
  uint64_t test_, validation_;  // thresholds as fractions of 2^64
};

// 64-bit mixing function (SplitMix64's finaliser).
uint64_t mix64(uint64_t x);

// perm[i] = the row where the i-th event of the chunk goes: a Fisher-Yates permutation drawn
// from (seed, chunk index) with a platform-independent generator; the identity when !shuffle.
void shuffle_rows(int64_t rows, uint64_t seed, int64_t chunk_index, bool shuffle,
                  std::vector<int64_t>& perm);

}  // namespace m4h::data
