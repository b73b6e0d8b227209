// Coalesced reading: many small ranges (the baskets of a chunk) merged into fewer, larger backend
// requests. Ranges closer than `max_gap` bytes are read as one block, the gap included; reading a
// few unneeded bytes is cheaper than another request (a system call locally, a round trip remotely).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "io/source.h"

namespace m4h::io {

struct CoalescedRead {
  Bytes buffer;                                 // the merged blocks, back to back
  std::vector<std::span<const uint8_t>> parts;  // parts[i] holds ranges[i]: inside buffer, or
                                                // inside the source's mapping (Source::view)
  std::vector<ByteRange> blocks;                // what was asked of the source
};

// Plans the merged blocks for `ranges` (any order, overlaps allowed): sorted by offset, a range
// joins the previous block when it starts at most max_gap bytes after the block's end and the
// block stays within the source's per-range limit. With `coalesce` false only overlapping ranges
// share a block (each basket is its own request; max_gap is ignored).
std::vector<ByteRange> plan_blocks(std::span<const ByteRange> ranges, uint64_t max_gap,
                                   uint64_t max_block_bytes, bool coalesce = true);

// Reads every range with as few requests as the plan allows (one read_v call per
// limits().max_ranges_per_request blocks; no merging beyond overlaps when limits().coalesce is
// false). Errors are the source's.
CoalescedRead read_coalesced(Source& source, std::span<const ByteRange> ranges, uint64_t max_gap);

}  // namespace m4h::io
