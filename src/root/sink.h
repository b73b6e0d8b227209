// A growable big-endian byte buffer for writing ROOT records: the counterpart of Cursor, with
// ROOT's "byte count + version" object headers patched in once the object's size is known.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "root/cursor.h"

namespace m4h::root {

class Sink {
 public:
  // `origin` is added to positions for ROOT's reference-map keys (the key length when the
  // buffer is an object payload).
  explicit Sink(int64_t origin = 0) : origin_(origin) {}

  std::size_t size() const { return buf_.size(); }
  int64_t ref_pos() const { return static_cast<int64_t>(buf_.size()) + origin_; }
  std::vector<uint8_t>& bytes() { return buf_; }
  const std::vector<uint8_t>& bytes() const { return buf_; }

  template <typename T>
  void put(T v) {
    static_assert(std::is_arithmetic_v<T>);
    using U = std::conditional_t<sizeof(T) == 1, uint8_t,
              std::conditional_t<sizeof(T) == 2, uint16_t,
              std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
    U u;
    std::memcpy(&u, &v, sizeof(T));
    if constexpr (sizeof(U) == 2) u = __builtin_bswap16(u);
    if constexpr (sizeof(U) == 4) u = __builtin_bswap32(u);
    if constexpr (sizeof(U) == 8) u = __builtin_bswap64(u);
    std::size_t at = buf_.size();
    buf_.resize(at + sizeof(U));
    std::memcpy(buf_.data() + at, &u, sizeof(U));
  }
  void u8(uint8_t v) { put(v); }
  void i16(int16_t v) { put(v); }
  void u16(uint16_t v) { put(v); }
  void i32(int32_t v) { put(v); }
  void u32(uint32_t v) { put(v); }
  void i64(int64_t v) { put(v); }
  void f32(float v) { put(v); }
  void f64(double v) { put(v); }
  void bytes(std::span<const uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  void zeros(std::size_t n) { buf_.resize(buf_.size() + n, 0); }

  // ROOT's TString: one length byte, or 255 and a 4-byte length.
  void tstring(std::string_view s) {
    if (s.size() < 255) {
      u8(static_cast<uint8_t>(s.size()));
    } else {
      u8(255);
      u32(static_cast<uint32_t>(s.size()));
    }
    buf_.insert(buf_.end(), s.begin(), s.end());
  }
  void cstring(std::string_view s) {
    buf_.insert(buf_.end(), s.begin(), s.end());
    buf_.push_back(0);
  }

  // Starts an object with a byte count and `version`; returns the position to close it at.
  std::size_t begin_object(int version) {
    std::size_t at = buf_.size();
    u32(0);
    u16(static_cast<uint16_t>(version));
    return at;
  }
  // Writes the byte count of the object begun at `at`.
  void end_object(std::size_t at) { patch_u32(at, static_cast<uint32_t>(buf_.size() - at - 4) | kByteCountMask); }

  void patch_u32(std::size_t at, uint32_t v) {
    v = __builtin_bswap32(v);
    std::memcpy(buf_.data() + at, &v, 4);
  }

 private:
  std::vector<uint8_t> buf_;
  int64_t origin_ = 0;
};

}  // namespace m4h::root
