#include "data/npy.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace m4h::data {

static_assert(std::endian::native == std::endian::little, "NPY data is written in native order");

std::string npy_header(std::string_view descr, std::span<const int64_t> shape) {
  std::string dict = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) dict += ", ";
    dict += std::to_string(shape[i]);
  }
  if (shape.size() == 1) dict += ",";  // a Python 1-tuple
  dict += "), }";
  // magic (6) + version (2) + header length (2) + dict + padding + '\n', a multiple of 64.
  const size_t unpadded = 10 + dict.size() + 1;
  const size_t total = (unpadded + 63) / 64 * 64;
  dict.append(total - unpadded, ' ');
  dict += '\n';
  const size_t len = dict.size();
  if (len > 65535) throw Error(ErrorCode::kInvalidArgument, "npy: header too long");
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  out += dict;
  return out;
}

void write_npy(const std::string& path, std::string_view descr, std::span<const int64_t> shape,
               const void* data, uint64_t bytes) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) throw Error(ErrorCode::kIo, path + ": cannot create: " + std::strerror(errno));
  const std::string header = npy_header(descr, shape);
  bool ok = std::fwrite(header.data(), 1, header.size(), f.get()) == header.size();
  ok = ok && (bytes == 0 || std::fwrite(data, 1, bytes, f.get()) == bytes);
  ok = std::fflush(f.get()) == 0 && ok;
  if (!ok) throw Error(ErrorCode::kIo, path + ": write failed: " + std::strerror(errno));
}

}  // namespace m4h::data
