#include "io/coalesce.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace m4h::io {

namespace {

std::vector<std::size_t> by_offset(std::span<const ByteRange> ranges) {
  std::vector<std::size_t> order(ranges.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return ranges[a].offset < ranges[b].offset; });
  return order;
}

uint64_t end_of(const ByteRange& r) { return r.offset + r.length; }

}  // namespace

std::vector<ByteRange> plan_blocks(std::span<const ByteRange> ranges, uint64_t max_gap,
                                   uint64_t max_block_bytes, bool coalesce) {
  std::vector<ByteRange> blocks;
  for (std::size_t i : by_offset(ranges)) {
    const ByteRange& r = ranges[i];
    if (r.length == 0) continue;
    if (!blocks.empty()) {
      ByteRange& b = blocks.back();
      const uint64_t b_end = end_of(b);
      const uint64_t new_end = std::max(b_end, end_of(r));
      const bool near = coalesce ? r.offset <= b_end + max_gap : r.offset < b_end;
      if (near && (new_end - b.offset <= max_block_bytes || !coalesce)) {
        b.length = new_end - b.offset;
        continue;
      }
    }
    blocks.push_back(r);
  }
  return blocks;
}

// The block that holds range r: the last one starting at or before it.
static std::size_t block_of(const std::vector<ByteRange>& blocks, const ByteRange& r) {
  auto it = std::upper_bound(blocks.begin(), blocks.end(), r.offset,
                             [](uint64_t off, const ByteRange& b) { return off < b.offset; });
  if (it == blocks.begin()) throw Error(ErrorCode::kInternal, "coalesced read lost a range");
  const std::size_t k = static_cast<std::size_t>(it - blocks.begin()) - 1;
  if (end_of(r) > end_of(blocks[k])) throw Error(ErrorCode::kInternal, "coalesced read lost a range");
  return k;
}

CoalescedRead read_coalesced(Source& source, std::span<const ByteRange> ranges, uint64_t max_gap) {
  const SourceLimits limits = source.limits();
  CoalescedRead out;
  out.blocks = plan_blocks(ranges, max_gap, limits.max_bytes_per_range, limits.coalesce);
  out.parts.resize(ranges.size());
  if (out.blocks.empty()) return out;

  // A mapped file: the parts point into the mapping and nothing is copied.
  if (auto first = source.view(out.blocks[0].offset, out.blocks[0].length); !first.empty()) {
    std::vector<std::span<const uint8_t>> views{first};
    views.reserve(out.blocks.size());
    for (std::size_t k = 1; k < out.blocks.size(); ++k)
      views.push_back(source.view(out.blocks[k].offset, out.blocks[k].length));
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      const ByteRange& r = ranges[i];
      if (r.length == 0) continue;
      const std::size_t k = block_of(out.blocks, r);
      out.parts[i] = views[k].subspan(r.offset - out.blocks[k].offset, r.length);
    }
    return out;
  }

  uint64_t total = 0;
  std::vector<uint64_t> at(out.blocks.size());  // where each block lies in the buffer
  for (std::size_t k = 0; k < out.blocks.size(); ++k) {
    at[k] = total;
    total += out.blocks[k].length;
  }
  out.buffer.resize(total);
  std::vector<std::span<uint8_t>> outs;
  outs.reserve(out.blocks.size());
  for (std::size_t k = 0; k < out.blocks.size(); ++k)
    outs.emplace_back(out.buffer.data() + at[k], out.blocks[k].length);
  const std::size_t per_call = std::max<std::size_t>(1, limits.max_ranges_per_request);
  for (std::size_t k = 0; k < out.blocks.size(); k += per_call) {
    const std::size_t n = std::min(per_call, out.blocks.size() - k);
    source.read_v(std::span<const ByteRange>(out.blocks).subspan(k, n),
                  std::span<const std::span<uint8_t>>(outs).subspan(k, n));
  }
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const ByteRange& r = ranges[i];
    if (r.length == 0) continue;
    const std::size_t k = block_of(out.blocks, r);
    out.parts[i] = std::span<const uint8_t>(out.buffer.data() + at[k] + (r.offset - out.blocks[k].offset), r.length);
  }
  return out;
}

}  // namespace m4h::io
