#include <cstring>

#include "root/cursor.h"

namespace m4h::root {

namespace {

template <typename T>
T byte_swapped(T v) {
  if constexpr (sizeof(T) == 2) return __builtin_bswap16(v);
  else if constexpr (sizeof(T) == 4) return __builtin_bswap32(v);
  else return __builtin_bswap64(v);
}

template <typename T>
inline void swap_values(uint8_t* dst, const uint8_t* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + sizeof(T) * i, sizeof(T));
    v = byte_swapped(v);
    std::memcpy(dst + sizeof(T) * i, &v, sizeof(T));
  }
}

}  // namespace

// 5-10x faster with AVX2 on cache-resident data (measured: 4.5 against 42 GB/s for 4-byte values).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
void swap_copy(uint8_t* dst, const uint8_t* src, int64_t n, int size) {
  if (n <= 0) return;
  switch (size) {
    case 1: std::memcpy(dst, src, static_cast<std::size_t>(n)); return;
    case 2: swap_values<uint16_t>(dst, src, n); return;
    case 4: swap_values<uint32_t>(dst, src, n); return;
    case 8: swap_values<uint64_t>(dst, src, n); return;
  }
}

}  // namespace m4h::root
