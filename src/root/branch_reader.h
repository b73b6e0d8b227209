// Reading branches into columns for an entry range [start, stop), touching only the baskets that
// overlap it. Baskets are loaded, decompressed and decoded in parallel on an optional pool.
#pragma once

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "core/thread_pool.h"
#include "root/basket.h"
#include "root/column.h"
#include "root/interpretation.h"
#include "root/tree.h"

namespace m4h::root {

// An empty column with the layout `in` produces.
Column make_column(const Interpretation& in);

// Appends entries [lo, hi) of a loaded basket to `out`. `counts` (may be null) gives the item
// count of each entry of the basket for jagged branches whose baskets carry no entry offsets.
// Throws kCorrupt when the bytes do not fit the interpretation.
void decode_basket(const Interpretation& in, const BasketData& basket, int64_t lo, int64_t hi,
                   Column& out, const std::vector<int64_t>* counts);

struct BranchRequest {
  const BranchInfo* branch = nullptr;
  Interpretation interpretation;
};

// Keeps decompressed baskets that reach past the current chunk so that the next chunk does not
// read and decompress them again, and the stored (still compressed) bytes of baskets read ahead.
// Thread-safe.
class BasketCache {
 public:
  std::shared_ptr<const BasketData> get(const BranchInfo* branch, std::size_t basket);
  void put(const BranchInfo* branch, std::size_t basket, std::shared_ptr<const BasketData> data);
  // Drops baskets that end at or before `entry`.
  void evict_before(int64_t entry);

  // Stored bytes read ahead (key included, as basket_from_stored takes them); `owner` keeps the
  // buffer that `bytes` points into alive. take_stored hands them out once.
  struct Stored {
    std::shared_ptr<const void> owner;
    std::span<const uint8_t> bytes;
  };
  void put_stored(const BranchInfo* branch, std::size_t basket, Stored stored);
  std::optional<Stored> take_stored(const BranchInfo* branch, std::size_t basket);
  bool has_stored(const BranchInfo* branch, std::size_t basket);

 private:
  struct Slot {
    const BranchInfo* branch;
    std::size_t basket;
    std::shared_ptr<const BasketData> data;
  };
  std::mutex mu_;
  std::vector<Slot> slots_;
  std::map<std::pair<const BranchInfo*, std::size_t>, Stored> stored_;
};

// Reads [start, stop) of each requested branch. `pool` may be null (read on this thread).
// Thread-safe for concurrent calls on the same tree. With a cache, baskets that extend past
// `stop` are kept there and reused.
std::vector<Column> read_branches(const Tree& tree, std::span<const BranchRequest> requests,
                                  int64_t start, int64_t stop, ThreadPool* pool,
                                  BasketCache* cache = nullptr);

Column read_branch(const Tree& tree, const BranchInfo& branch, int64_t start, int64_t stop,
                   ThreadPool* pool = nullptr);

// The branch whose baskets `b` reads: `b` itself, or, for a member of an object branch, the
// parent (read_branches decompresses those baskets once for all its members).
const BranchInfo* baskets_owner(const BranchInfo* b);

// Iterates over a tree in chunks of `chunk_size` entries (<= 0: everything in one chunk).
class ChunkIterator {
 public:
  ChunkIterator(const Tree& tree, std::vector<BranchRequest> requests, int64_t chunk_size,
                int64_t start, int64_t stop, ThreadPool* pool);
  ~ChunkIterator();
  // Read-ahead (off by default): while a chunk is decoded, a background thread reads the stored
  // bytes of the next chunk's baskets with one coalesced request, so that the next call finds
  // them in memory and only decompresses. A failed read-ahead is ignored (the chunk's own read
  // then reports the error).
  void set_read_ahead(bool on) { read_ahead_ = on; }
  // Fills the columns of the next chunk and its range; false at the end.
  bool next(int64_t& chunk_start, int64_t& chunk_stop, std::vector<Column>& columns);

 private:
  // Reads the stored bytes of the baskets that start in [from, to) into the cache.
  void prefetch(int64_t from, int64_t to);

  const Tree& tree_;
  std::vector<BranchRequest> requests_;
  std::vector<char> rides_;  // per request: decoded with an earlier one (it reads no baskets itself)
  int64_t chunk_size_;
  int64_t next_;
  int64_t stop_;
  ThreadPool* pool_;
  BasketCache cache_;
  bool read_ahead_ = false;
  std::future<void> ahead_;
};

}  // namespace m4h::root
