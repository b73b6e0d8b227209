#include "data/mixing.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace m4h::data {

int64_t round_half_even(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

ChunkPlanner::ChunkPlanner(std::vector<int64_t> events, int64_t nevts, int64_t chunk_size)
    : events_(std::move(events)), chunk_size_(chunk_size) {
  if (events_.empty()) throw Error(ErrorCode::kInvalidArgument, "mixing: no files");
  if (chunk_size == 0 || chunk_size < -1 || nevts == 0 || nevts < -1)
    throw Error(ErrorCode::kInvalidArgument, "mixing: chunk_size and nevts must be -1 or positive");
  const double total = static_cast<double>(std::accumulate(events_.begin(), events_.end(), int64_t{0}));
  const size_t n = events_.size();
  quota_.assign(n, 0);
  share_.assign(n, 0);
  pos_.assign(n, 0);
  if (total == 0) {
    done_ = true;
    return;
  }
  for (size_t f = 0; f < n; ++f) {
    const double e = static_cast<double>(events_[f]);
    if (nevts != -1) {
      int64_t q = round_half_even(e / total * static_cast<double>(nevts));
      if (q == 0) q = 1;  // as the reference, every file gives at least one event
      quota_[f] = std::min(q, events_[f]);
      if (chunk_size > 0)
        share_[f] = round_half_even(static_cast<double>(q) / static_cast<double>(nevts) *
                                    static_cast<double>(chunk_size));
    } else {
      quota_[f] = events_[f];
      if (chunk_size > 0) share_[f] = round_half_even(e / total * static_cast<double>(chunk_size));
    }
  }
  if (chunk_size < 0) share_ = quota_;
}

int64_t ChunkPlanner::total() const {
  return std::accumulate(quota_.begin(), quota_.end(), int64_t{0});
}

bool ChunkPlanner::next(std::vector<Take>& takes) {
  takes.clear();
  if (done_) return false;
  const size_t n = quota_.size();
  std::vector<int64_t> count(n, 0);
  bool finish = chunk_size_ < 0;
  int64_t taken = 0;
  for (size_t f = 0; f < n && !finish; ++f) {
    int64_t evts = share_[f];
    if (evts + pos_[f] >= quota_[f]) {
      finish = true;
      break;
    }
    if (evts == 0) continue;
    if (f == n - 1 && taken + evts != chunk_size_)  // the reference's top-up
      evts = std::max<int64_t>(0, chunk_size_ - taken);
    evts = std::min(evts, quota_[f] - pos_[f]);
    count[f] = evts;
    taken += evts;
  }
  // Shares that round to nothing would never end the plan.
  if (taken == 0) finish = true;
  if (finish) {
    for (size_t f = 0; f < n; ++f) count[f] = quota_[f] - pos_[f];
    done_ = true;
  }
  for (size_t f = 0; f < n; ++f) {
    if (count[f] <= 0) continue;
    takes.push_back(Take{static_cast<int32_t>(f), pos_[f], count[f]});
    pos_[f] += count[f];
  }
  if (takes.empty()) {
    done_ = true;
    return false;
  }
  return true;
}

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

namespace {

uint64_t threshold(double fraction) {
  if (fraction <= 0) return 0;
  if (fraction >= 1) return ~uint64_t{0};
  return static_cast<uint64_t>(std::ldexp(fraction, 64));
}

}  // namespace

Splitter::Splitter(uint64_t seed, double validation_fraction, double test_fraction)
    : seed_(seed), test_(threshold(test_fraction)), validation_(threshold(validation_fraction)) {
  if (validation_fraction < 0 || test_fraction < 0 || validation_fraction + test_fraction > 1)
    throw Error(ErrorCode::kInvalidArgument, "split fractions must be >= 0 and add up to at most 1");
}

uint64_t Splitter::file_key(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t Splitter::start(uint64_t file_key) const { return mix64(file_key ^ mix64(seed_)); }

void shuffle_rows(int64_t rows, uint64_t seed, int64_t chunk_index, bool shuffle,
                  std::vector<int64_t>& perm) {
  perm.resize(rows);
  std::iota(perm.begin(), perm.end(), int64_t{0});
  if (!shuffle) return;
  uint64_t state = mix64(seed) ^ mix64(static_cast<uint64_t>(chunk_index) + 0x632BE59BD9B4E019ull);
  for (int64_t i = rows - 1; i > 0; --i) {
    state = mix64(state);
    // Lemire's multiply-shift: a draw in [0, i] without division.
    const int64_t j = static_cast<int64_t>(
        (static_cast<unsigned __int128>(state) * static_cast<unsigned __int128>(i + 1)) >> 64);
    std::swap(perm[i], perm[j]);
  }
}

}  // namespace m4h::data
