// Loops the writer runs over every entry of a jagged column (checking its offsets against its
// counter, turning them into positions in a basket): branch-free, in their own file compiled
// with -O3 so that they vectorise (see src/CMakeLists.txt). Written one entry at a time they
// cost the writer as much as LZ4 compressing the same entries.
#pragma once

#include <cstdint>

namespace m4h::root {

// True when off[0..n] never decreases and holds no negative value.
bool offsets_ascend(const int64_t* off, int64_t n);

// True when each entry's length, off[i + 1] - off[i], equals counts[i] (n native int32 values,
// or uint32 when !counts_signed, at any alignment) and no offset is negative.
bool lengths_equal_counts(const int64_t* off, const uint8_t* counts, bool counts_signed, int64_t n);

// The largest of n native int32 (or uint32) counts; 0 when n == 0.
int64_t largest_count(const uint8_t* counts, bool counts_signed, int64_t n);

// out[k] = base + (off[k] << shift) for k < n: entries' byte positions in a basket. The caller
// ensures they fit in int32.
void scaled_positions(int32_t* out, const int64_t* off, int64_t n, int64_t base, int shift);

}  // namespace m4h::root
