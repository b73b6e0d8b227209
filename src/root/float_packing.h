// Decoding of ROOT's packed floating-point types Double32_t and Float16_t (see FloatPacking).
#pragma once

#include <cstdint>
#include <cstring>

#include "root/streamer.h"

namespace m4h::root {

// Stored as (value - xmin) * factor in a uint32.
inline double unpack_with_factor(uint32_t stored, const FloatPacking& p) {
  return static_cast<double>(stored) / p.factor + p.xmin;
}

// Stored as an 8-bit exponent and a 16-bit word holding the top `nbits` mantissa bits and, just
// above them, the sign.
inline float unpack_with_nbits(uint8_t exponent, uint16_t mantissa, int nbits) {
  uint32_t bits = static_cast<uint32_t>(exponent) << 23;
  bits |= (static_cast<uint32_t>(mantissa) & ((1u << (nbits + 1)) - 1)) << (23 - nbits);
  float f;
  std::memcpy(&f, &bits, 4);
  if ((1u << (nbits + 1)) & mantissa) f = -f;
  return f;
}

// Bytes one packed value takes on disk.
inline int packed_size(const FloatPacking& p, bool is_float16) {
  if (p.factor != 0) return 4;
  if (p.nbits != 0) return 3;
  return is_float16 ? 3 : 4;  // Double32 without packing is a plain float
}

}  // namespace m4h::root
