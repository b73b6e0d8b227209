// ROOT's compressed-record framing and the codecs behind it. A compressed object or basket is one
// or more blocks, each a 9-byte header (2-letter algorithm tag, method byte, 3-byte little-endian
// compressed and uncompressed sizes) followed by the codec's payload; "L4" blocks carry an 8-byte
// big-endian xxhash64 of the payload before it. Blocks hold at most 16 MiB - 1 uncompressed bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace m4h::root {

enum class Codec { kNone, kZlib, kLz4, kZstd, kLzma, kOldRoot };

// ROOT's fCompress setting: algorithm * 100 + level (level 0 = uncompressed).
struct CompressionSettings {
  Codec codec = Codec::kZlib;
  int level = 1;
  static CompressionSettings from_root(int fcompress);
  int to_root() const;
};

std::string_view codec_name(Codec codec);

// Decompresses the framed record `in` into `out`, whose size must be the record's uncompressed
// length (TKey fObjlen). Thread-safe. Throws m4h::Error kCorrupt naming the block and its byte
// offset within `in` (bad tag, sizes that do not add up, codec failure, LZ4 checksum mismatch),
// kUnsupported for "CS" (old ROOT algorithm).
// Blocks are numbered from 0 in messages. Bytes after the block that fills `out` are ignored, as
// ROOT does. A record stored raw (in.size() == out.size()) is not framed: the caller copies it.
void decompress(std::span<const uint8_t> in, std::span<uint8_t> out);

// Decompresses the framed record `in`, `size` bytes uncompressed (TKey fObjlen), into `out`
// (resized to `size`). Same errors as decompress(), and kCorrupt when the blocks declare fewer
// bytes than `size`. Memory follows the blocks as they decode: a forged fObjlen or block header
// costs at most one block (16 MiB) before the error, not the size it claims.
void decompress_record(std::span<const uint8_t> in, std::size_t size, Bytes& out);
void decompress_record(std::span<const uint8_t> in, std::size_t size, std::vector<uint8_t>& out);

// The uncompressed size the block headers of a framed record declare, walking only the headers.
// Lets callers check a key's fObjlen before allocating it. Throws kCorrupt on a malformed frame.
uint64_t framed_size(std::span<const uint8_t> in);

// Frames `in` as ROOT does: blocks of at most 0xffffff bytes. If compression does not make the
// data smaller, returns the input unchanged (ROOT's rule: stored size == object size means raw).
std::vector<uint8_t> compress(CompressionSettings settings, std::span<const uint8_t> in);
// The same into a reused buffer (no zero-fill, no copy of data that does not compress): true
// with the framed record in `out`, false when the record is the input itself (no compression,
// or it would not come out smaller). Thread-safe.
bool compress_into(CompressionSettings settings, std::span<const uint8_t> in, Bytes& out);

// The codec alone on one unframed payload (the benchmark ceiling). Returns bytes written to out.
std::size_t decompress_payload(Codec codec, std::span<const uint8_t> in, std::span<uint8_t> out);

}  // namespace m4h::root
