// NPY format version 1.0 (numpy.load reads it): magic, a header dict ('descr', 'fortran_order',
// 'shape') padded with spaces so the data starts at a multiple of 64 bytes, then the raw
// little-endian, C-order values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace m4h::data {

template <typename T>
constexpr std::string_view npy_descr();
template <>
constexpr std::string_view npy_descr<float>() { return "<f4"; }
template <>
constexpr std::string_view npy_descr<double>() { return "<f8"; }
template <>
constexpr std::string_view npy_descr<uint8_t>() { return "|u1"; }
template <>
constexpr std::string_view npy_descr<int32_t>() { return "<i4"; }
template <>
constexpr std::string_view npy_descr<int64_t>() { return "<i8"; }

// The header bytes (magic through the final newline) for an array of `shape`.
std::string npy_header(std::string_view descr, std::span<const int64_t> shape);

// Writes an NPY file of `shape` whose values are `bytes` (C order). Throws m4h::Error kIo.
void write_npy(const std::string& path, std::string_view descr, std::span<const int64_t> shape,
               const void* data, uint64_t bytes);

template <typename T>
void write_npy(const std::string& path, std::span<const int64_t> shape, const T* data) {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  write_npy(path, npy_descr<T>(), shape, data, n * sizeof(T));
}

}  // namespace m4h::data
