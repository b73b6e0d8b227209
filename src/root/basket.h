// Loading one basket of a branch: read its key, decompress its payload, and split off the
// entry-offset array that jagged branches carry after their data.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "root/file.h"
#include "root/tree.h"

namespace m4h::root {

struct BasketData {
  Bytes bytes;                  // decompressed payload; entry data is bytes[0, border)
  int64_t border = 0;
  int64_t entries = 0;          // fNevBuf
  UninitVector<int32_t> offsets;  // entries + 1 starts of entries in bytes, or empty if fixed size
};

// Thread-safe. Throws m4h::Error (kCorrupt/kIo) naming the branch, basket number and file offset.
BasketData load_basket(const File& file, const BranchInfo& branch, std::size_t basket_index);

// The same from stored bytes (key included) already read, e.g. by a coalesced read: checks them
// against the branch's basket table. Errors as load_basket's.
BasketData basket_from_stored(const File& file, const BranchInfo& branch, std::size_t basket_index,
                              std::span<const uint8_t> stored);
// The same into `d`, reusing the capacity of its buffers: a reader that parses basket after
// basket into one BasketData allocates nothing once it has grown. `d` is unspecified on error.
void basket_from_stored_into(const File& file, const BranchInfo& branch, std::size_t basket_index,
                             std::span<const uint8_t> stored, BasketData& d);

// Turns the stored bytes of a basket (key included) into BasketData; `at` is the file offset used
// in messages. Exposed for fuzzing.
BasketData parse_basket(std::span<const uint8_t> stored, uint64_t at);
void parse_basket_into(std::span<const uint8_t> stored, uint64_t at, BasketData& d);

}  // namespace m4h::root
