// Transparent huge pages for large, long-lived buffers (chunks, kept validation rows). On the
// virtual machines this project runs on, a 4 KiB page fault costs tens of microseconds: filling a
// fresh 150 MB buffer ran at ~100 MB/s with 4 KiB pages and ~1.4 GB/s with 2 MiB pages. The
// kernel's THP mode is commonly "madvise", so buffers must ask for them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace m4h {

// Advises huge pages for the 2 MiB-aligned part of [data, data + bytes); a no-op below 4 MiB,
// where a huge page would mostly be zeroing and waste.
void advise_huge_pages(const void* data, std::size_t bytes);

// v.reserve(n) that advises huge pages when it allocates (call before the first write).
// (V: a std::vector of any allocator.)
template <typename V>
void reserve_huge(V& v, std::size_t n) {
  if (v.capacity() >= n) return;
  v.reserve(n);
  advise_huge_pages(v.data(), v.capacity() * sizeof(typename V::value_type));
}

// v.resize(n) over storage from reserve_huge.
template <typename V>
void resize_huge(V& v, std::size_t n) {
  reserve_huge(v, n);
  v.resize(n);
}

// v.resize(n) for appends: the storage grows geometrically, advised as reserve_huge's.
template <typename V>
void grow_huge(V& v, std::size_t n) {
  if (n > v.capacity()) reserve_huge(v, std::max(n, 2 * v.capacity()));
  v.resize(n);
}

}  // namespace m4h
