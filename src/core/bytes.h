// Byte buffers that are not zero-filled when resized: decompression overwrites every byte, and
// filling them first costs a pass over memory (and the page faults) for nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace m4h {

template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;  // default-initialise: no zeroing
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Bytes = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;
// The same for arrays of numbers that are written right after being sized (entry offsets).
template <typename T>
using UninitVector = std::vector<T, DefaultInitAllocator<T>>;

// libstdc++ copies and relocates elements with memmove only for std::allocator: with this
// allocator, Bytes::insert/assign and every reallocation of a growing Bytes copy byte by byte.
// Hot paths grow and fill Bytes with these instead.

// Resizes to n (new bytes uninitialised); on reallocation the old bytes move with memcpy and
// the capacity at least doubles.
inline void resize_bytes(Bytes& v, std::size_t n) {
  if (n <= v.capacity()) {
    v.resize(n);
    return;
  }
  Bytes bigger;
  bigger.reserve(std::max(n, 2 * v.capacity()));
  bigger.resize(n);
  if (!v.empty()) std::memcpy(bigger.data(), v.data(), v.size());
  v.swap(bigger);
}

// Appends n bytes.
inline void append_bytes(Bytes& dst, const uint8_t* src, std::size_t n) {
  if (n == 0) return;
  const std::size_t at = dst.size();
  resize_bytes(dst, at + n);
  std::memcpy(dst.data() + at, src, n);
}
inline void assign_bytes(Bytes& dst, const uint8_t* src, std::size_t n) {
  dst.clear();
  append_bytes(dst, src, n);
}

}  // namespace m4h
