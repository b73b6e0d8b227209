// A bounds-checked big-endian reader over a byte buffer, for ROOT's serialised records.
// Every read past the end throws m4h::Error(kCorrupt) naming the absolute file offset (base + pos),
// so format errors point at the byte that was wrong.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "core/error.h"

namespace m4h::root {

// ROOT's byte-count and class-tag bits.
inline constexpr uint32_t kByteCountMask = 0x40000000;
inline constexpr uint32_t kClassMask = 0x80000000;
inline constexpr uint32_t kNewClassTag = 0xFFFFFFFF;
inline constexpr uint32_t kMapOffset = 2;

template <typename T>
inline T load_be(const uint8_t* p) {
  static_assert(std::is_arithmetic_v<T>);
  using U = std::conditional_t<sizeof(T) == 1, uint8_t,
            std::conditional_t<sizeof(T) == 2, uint16_t,
            std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
  U u;
  std::memcpy(&u, p, sizeof(U));
  if constexpr (std::endian::native == std::endian::little) {
    if constexpr (sizeof(U) == 2) u = __builtin_bswap16(u);
    if constexpr (sizeof(U) == 4) u = __builtin_bswap32(u);
    if constexpr (sizeof(U) == 8) u = __builtin_bswap64(u);
  }
  T t;
  std::memcpy(&t, &u, sizeof(T));
  return t;
}

// Copies n values of `size` bytes (1, 2, 4 or 8) from src to dst reversing each value's bytes:
// big-endian <-> native on little-endian hosts, the same operation both ways. Out of line
// (byte_order.cc) so that it can carry an AVX2 clone, chosen at load time: the baseline x86-64
// build does not vectorise byte swaps, and this loop is what every column passes through.
void swap_copy(uint8_t* dst, const uint8_t* src, int64_t n, int size);

class Cursor {
 public:
  // `base` is the absolute offset of data[0] in the file (or in the decompressed object) and is
  // only used in error messages; `origin` is subtracted from positions when computing ROOT's
  // reference-map keys (objects inside a key are numbered from the start of the key).
  Cursor(std::span<const uint8_t> data, uint64_t base = 0, int64_t origin = 0)
      : data_(data), base_(base), origin_(origin) {}

  std::size_t pos() const { return pos_; }
  std::size_t size() const { return data_.size(); }
  std::size_t remaining() const { return data_.size() - pos_; }
  uint64_t abs_pos() const { return base_ + pos_; }
  // Position as ROOT's TBuffer sees it (used for class-tag references).
  int64_t ref_pos() const { return static_cast<int64_t>(pos_) - origin_; }
  std::span<const uint8_t> data() const { return data_; }

  void seek(std::size_t p) {
    if (p > data_.size()) [[unlikely]]
      fail_seek(p);
    pos_ = p;
  }
  void skip(std::size_t n) {
    need(n);
    pos_ += n;
  }

  template <typename T>
  T read() {
    need(sizeof(T));
    T v = load_be<T>(data_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  uint8_t u8() { return read<uint8_t>(); }
  int16_t i16() { return read<int16_t>(); }
  uint16_t u16() { return read<uint16_t>(); }
  int32_t i32() { return read<int32_t>(); }
  uint32_t u32() { return read<uint32_t>(); }
  int64_t i64() { return read<int64_t>(); }
  uint64_t u64() { return read<uint64_t>(); }
  float f32() { return read<float>(); }
  double f64() { return read<double>(); }

  std::span<const uint8_t> bytes(std::size_t n) {
    need(n);
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  // ROOT's TString: one length byte, or 255 then a 4-byte length.
  std::string tstring() {
    std::size_t n = u8();
    if (n == 255) n = u32();
    auto b = bytes(n);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  void skip_tstring() {
    std::size_t n = u8();
    if (n == 255) n = u32();
    skip(n);
  }
  // A NUL-terminated C string (class names after a new-class tag).
  std::string cstring() {
    const uint8_t* begin = data_.data() + pos_;
    const void* end = std::memchr(begin, 0, remaining());
    if (!end) fail("unterminated class name");
    std::size_t n = static_cast<const uint8_t*>(end) - begin;
    std::string s(reinterpret_cast<const char*>(begin), n);
    pos_ += n + 1;
    return s;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::kCorrupt, what + " (at byte offset " + std::to_string(base_ + pos_) + ")");
  }

 private:
  void need(std::size_t n) const {
    if (n > data_.size() - pos_) [[unlikely]]
      fail_truncated(n);
  }
  // Out of line, so that need() stays small enough to inline into every read.
  [[noreturn, gnu::noinline]] void fail_seek(std::size_t p) const {
    fail("seek to " + std::to_string(p) + " past end of record");
  }
  [[noreturn, gnu::noinline]] void fail_truncated(std::size_t n) const {
    fail("record truncated: need " + std::to_string(n) + " bytes, " + std::to_string(data_.size() - pos_) + " left");
  }

  std::span<const uint8_t> data_;
  std::size_t pos_ = 0;
  uint64_t base_ = 0;
  int64_t origin_ = 0;
};

// The (byte count, version) prefix of a streamed object. `end` is where the object ends when a byte
// count was present (0 otherwise).
struct ObjectHeader {
  int version = 0;
  std::size_t start = 0;  // position of the header
  std::size_t end = 0;    // one past the object, if known
  bool has_byte_count = false;
  uint32_t checksum = 0;  // version 0 (classes without a ROOT version) is followed by one
};

inline ObjectHeader read_object_header(Cursor& c) {
  ObjectHeader h;
  h.start = c.pos();
  uint32_t first = c.u32();
  if (first & kByteCountMask) {
    uint32_t count = first & ~kByteCountMask;
    h.has_byte_count = true;
    h.end = h.start + 4 + count;
    if (h.end > c.size()) c.fail("object byte count " + std::to_string(count) + " overruns record");
    h.version = c.u16();
    if (h.version == 0 && h.end - c.pos() >= 4) h.checksum = c.u32();
  } else {
    c.seek(h.start);
    h.version = c.u16();
  }
  return h;
}

// Moves to the end of an object whose header carried a byte count.
inline void skip_to_end(Cursor& c, const ObjectHeader& h) {
  if (h.has_byte_count) c.seek(h.end);
}

}  // namespace m4h::root
