// Byte buffers that are not zero-filled when resized: decompression overwrites every byte, and
// filling them first costs a pass over memory (and the page faults) for nothing.
#pragma once

#include <cstdint>
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

}  // namespace m4h
