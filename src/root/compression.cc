#include "root/compression.h"

#include <libdeflate.h>
#include <lz4.h>
#include <lz4hc.h>
#include <lzma.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace m4h::root {
namespace {

constexpr std::size_t kHeaderSize = 9;
constexpr std::size_t kChecksumSize = 8;  // "L4" blocks: big-endian XXH64 before the LZ4 data.
constexpr std::size_t kMaxBlockSize = 0xffffff;  // The 24-bit size fields cap a block.

// Method bytes as ROOT 6 writes them (seen in the real test files): Z_DEFLATED for zlib, 1 for
// LZ4 and zstd, 0 for lzma. The reader ignores the byte: the tag alone picks the codec, and a
// wrong method byte could only matter for a payload the codec then rejects anyway.
constexpr uint8_t kZlibMethod = 8;
constexpr uint8_t kLz4Method = 1;
constexpr uint8_t kZstdMethod = 1;
constexpr uint8_t kLzmaMethod = 0;

// liblzma allocates the dictionary the stream header asks for. xz preset 9 needs about 65 MiB to
// decode; the cap keeps a hostile header from making us reserve gigabytes.
constexpr uint64_t kLzmaMemLimit = uint64_t{256} << 20;

[[noreturn]] void corrupt(std::string message) {
  throw Error(ErrorCode::kCorrupt, std::move(message));
}

std::size_t read_u24(const uint8_t* p) {
  return std::size_t{p[0]} | std::size_t{p[1]} << 8 | std::size_t{p[2]} << 16;
}

void write_u24(uint8_t* p, std::size_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
}

// ---- Decoding: each codec on one unframed payload. Returns the bytes written to `out`; throws
// kCorrupt with a codec-level message (the framing layer adds the block and offset).

std::string_view deflate_result_name(libdeflate_result r) {
  switch (r) {
    case LIBDEFLATE_BAD_DATA: return "invalid or truncated stream";
    case LIBDEFLATE_SHORT_OUTPUT: return "stream shorter than expected";
    case LIBDEFLATE_INSUFFICIENT_SPACE: return "stream longer than the declared size";
    default: return "unknown libdeflate error";
  }
}

std::size_t decode_zlib(std::span<const uint8_t> in, std::span<uint8_t> out) {
  // The decompressor carries sizeable Huffman tables: allocate it once per thread, not per basket.
  struct Free {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  thread_local std::unique_ptr<libdeflate_decompressor, Free> decompressor(
      libdeflate_alloc_decompressor());
  if (!decompressor) throw Error(ErrorCode::kInternal, "cannot allocate a zlib decompressor");
  std::size_t produced = 0;
  libdeflate_result r = libdeflate_zlib_decompress(decompressor.get(), in.data(), in.size(),
                                                   out.data(), out.size(), &produced);
  if (r != LIBDEFLATE_SUCCESS) corrupt("zlib: " + std::string(deflate_result_name(r)));
  return produced;
}

std::size_t decode_lz4(std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (in.size() > INT_MAX) corrupt("LZ4: payload too large for one block");
  const int capacity = static_cast<int>(std::min<std::size_t>(out.size(), INT_MAX));
  const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data()),
                                    reinterpret_cast<char*>(out.data()),
                                    static_cast<int>(in.size()), capacity);
  if (n < 0) corrupt("LZ4: invalid block or output larger than the declared size");
  return static_cast<std::size_t>(n);
}

std::size_t decode_zstd(std::span<const uint8_t> in, std::span<uint8_t> out) {
  struct Free {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
  };
  thread_local std::unique_ptr<ZSTD_DCtx, Free> context(ZSTD_createDCtx());
  if (!context) throw Error(ErrorCode::kInternal, "cannot allocate a zstd context");
  const std::size_t n =
      ZSTD_decompressDCtx(context.get(), out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) corrupt("zstd: " + std::string(ZSTD_getErrorName(n)));
  return n;
}

std::string_view lzma_result_name(lzma_ret r) {
  switch (r) {
    case LZMA_FORMAT_ERROR: return "not an xz stream";
    case LZMA_OPTIONS_ERROR: return "unsupported stream options";
    case LZMA_DATA_ERROR: return "invalid or truncated stream";
    case LZMA_BUF_ERROR: return "stream truncated or longer than the declared size";
    case LZMA_MEMLIMIT_ERROR: return "stream needs more than 256 MiB of memory";
    case LZMA_MEM_ERROR: return "out of memory";
    default: return "unknown liblzma error";
  }
}

std::size_t decode_lzma(std::span<const uint8_t> in, std::span<uint8_t> out) {
  uint64_t memlimit = kLzmaMemLimit;
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  const lzma_ret r = lzma_stream_buffer_decode(&memlimit, 0, nullptr, in.data(), &in_pos, in.size(),
                                               out.data(), &out_pos, out.size());
  if (r != LZMA_OK) corrupt("LZMA: " + std::string(lzma_result_name(r)));
  return out_pos;
}

[[noreturn]] void old_root_unsupported() {
  throw Error(ErrorCode::kUnsupported, "old ROOT compression algorithm (\"CS\") is not supported");
}

std::size_t decode_payload(Codec codec, std::span<const uint8_t> in, std::span<uint8_t> out) {
  switch (codec) {
    case Codec::kNone:
      if (in.size() > out.size()) corrupt("stored payload larger than the output");
      if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
      return in.size();
    case Codec::kZlib: return decode_zlib(in, out);
    case Codec::kLz4: return decode_lz4(in, out);
    case Codec::kZstd: return decode_zstd(in, out);
    case Codec::kLzma: return decode_lzma(in, out);
    case Codec::kOldRoot: old_root_unsupported();
  }
  throw Error(ErrorCode::kInvalidArgument, "unknown codec");
}

// ---- Framing.

struct BlockHeader {
  Codec codec;
  std::size_t compressed;  // Payload bytes after the 9-byte header (LZ4: checksum included).
  std::size_t uncompressed;
};

Codec codec_from_tag(uint8_t a, uint8_t b) {
  const char chars[2] = {static_cast<char>(a), static_cast<char>(b)};
  const std::string_view tag(chars, 2);
  if (tag == "ZL") return Codec::kZlib;
  if (tag == "XZ") return Codec::kLzma;
  if (tag == "L4") return Codec::kLz4;
  if (tag == "ZS") return Codec::kZstd;
  if (tag == "CS") return Codec::kOldRoot;
  // Printable tags read better in the message; anything else is shown as hex.
  auto show = [](uint8_t c) {
    static constexpr char kHex[] = "0123456789abcdef";
    if (c >= 0x20 && c < 0x7f) return std::string(1, static_cast<char>(c));
    return std::string{'\\', 'x', kHex[c >> 4], kHex[c & 15]};
  };
  corrupt("unknown compression tag \"" + show(a) + show(b) + "\"");
}

BlockHeader parse_header(std::span<const uint8_t> in) {
  if (in.size() < kHeaderSize) {
    corrupt("truncated block header (" + std::to_string(in.size()) + " of 9 bytes left)");
  }
  return {codec_from_tag(in[0], in[1]), read_u24(&in[3]), read_u24(&in[6])};
}

void verify_lz4_checksum(std::span<const uint8_t> payload) {
  if (payload.size() < kChecksumSize) corrupt("LZ4 block shorter than its 8-byte checksum");
  XXH64_canonical_t stored;
  std::memcpy(&stored, payload.data(), kChecksumSize);
  const auto data = payload.subspan(kChecksumSize);
  if (XXH64(data.data(), data.size(), 0) != XXH64_hashFromCanonical(&stored)) {
    corrupt("LZ4 checksum mismatch");
  }
}

// Decodes the block at the start of `in` into the start of `out`. Returns {bytes consumed,
// bytes produced}.
std::pair<std::size_t, std::size_t> decode_block(std::span<const uint8_t> in,
                                                 std::span<uint8_t> out) {
  const BlockHeader h = parse_header(in);
  if (h.codec == Codec::kOldRoot) old_root_unsupported();
  if (h.compressed > in.size() - kHeaderSize) {
    corrupt("compressed size " + std::to_string(h.compressed) + " overruns the input (" +
            std::to_string(in.size() - kHeaderSize) + " bytes left)");
  }
  // An empty block would make no progress; ROOT never writes one.
  if (h.uncompressed == 0) corrupt("block declares 0 uncompressed bytes");
  if (h.uncompressed > out.size()) {
    corrupt("uncompressed size " + std::to_string(h.uncompressed) + " overruns the output (" +
            std::to_string(out.size()) + " bytes left)");
  }
  auto payload = in.subspan(kHeaderSize, h.compressed);
  if (h.codec == Codec::kLz4) {
    verify_lz4_checksum(payload);
    payload = payload.subspan(kChecksumSize);
  }
  const std::size_t produced = decode_payload(h.codec, payload, out.first(h.uncompressed));
  if (produced != h.uncompressed) {
    corrupt(std::string(codec_name(h.codec)) + " produced " + std::to_string(produced) +
            " bytes, block header declares " + std::to_string(h.uncompressed));
  }
  return {kHeaderSize + h.compressed, produced};
}

// ---- Encoding.

// One codec at one level, reused across the blocks of a record. compress_block() returns the
// payload size written to `dst`, or 0 when the result does not fit in `dst` (the caller then
// stores the record raw, as ROOT does).
class BlockEncoder {
 public:
  explicit BlockEncoder(CompressionSettings s) : codec_(s.codec), level_(s.level), requested_level_(s.level) {
    if (codec_ == Codec::kZlib) {
      level_ = std::min(level_, 12);  // libdeflate's maximum.
      deflate_.reset(libdeflate_alloc_compressor(level_));
      if (!deflate_) throw Error(ErrorCode::kInternal, "cannot allocate a zlib compressor");
    } else if (codec_ == Codec::kLz4) {
      level_ = std::min(level_, LZ4HC_CLEVEL_MAX);
    } else if (codec_ == Codec::kZstd) {
      level_ = std::min(level_, ZSTD_maxCLevel());
    } else if (codec_ == Codec::kLzma) {
      level_ = std::min(level_, 9);  // xz presets are 0-9.
    }
  }

  // Whether this encoder was made for `s` (levels are clamped, so compare what was asked).
  bool matches(CompressionSettings s) const { return s.codec == codec_ && s.level == requested_level_; }

  // Checksum space reserved in front of the payload.
  std::size_t prefix_size() const { return codec_ == Codec::kLz4 ? kChecksumSize : 0; }

  std::size_t compress_block(std::span<const uint8_t> src, std::span<uint8_t> dst) {
    switch (codec_) {
      case Codec::kZlib:
        return libdeflate_zlib_compress(deflate_.get(), src.data(), src.size(), dst.data(),
                                        dst.size());
      case Codec::kLz4: return compress_lz4(src, dst);
      case Codec::kZstd: return compress_zstd(src, dst);
      case Codec::kLzma: return compress_lzma(src, dst);
      case Codec::kNone:
      case Codec::kOldRoot: break;
    }
    throw Error(ErrorCode::kInternal, "no encoder for codec");
  }

 private:
  std::size_t compress_lz4(std::span<const uint8_t> src, std::span<uint8_t> dst) const {
    auto* s = reinterpret_cast<const char*>(src.data());
    auto* d = reinterpret_cast<char*>(dst.data());
    const int n = static_cast<int>(src.size());  // <= kMaxBlockSize
    const int cap = static_cast<int>(dst.size());
    // ROOT switches to the high-compression variant from level 4 on.
    const int written =
        level_ >= 4 ? LZ4_compress_HC(s, d, n, cap, level_) : LZ4_compress_default(s, d, n, cap);
    return written > 0 ? static_cast<std::size_t>(written) : 0;
  }

  std::size_t compress_zstd(std::span<const uint8_t> src, std::span<uint8_t> dst) {
    if (!zstd_) {
      zstd_.reset(ZSTD_createCCtx());
      if (!zstd_) throw Error(ErrorCode::kInternal, "cannot allocate a zstd context");
    }
    const std::size_t n =
        ZSTD_compressCCtx(zstd_.get(), dst.data(), dst.size(), src.data(), src.size(), level_);
    return ZSTD_isError(n) ? 0 : n;
  }

  std::size_t compress_lzma(std::span<const uint8_t> src, std::span<uint8_t> dst) {
    // The streaming encoder, as ROOT uses it: its block headers carry no sizes, which some
    // readers (jsroot) require. CRC32 is the integrity check ROOT's own xz streams carry.
    // Re-initialising the same stream reuses its match-finder memory (megabytes) across blocks.
    lzma_stream& strm = *lzma_;
    if (lzma_easy_encoder(&strm, static_cast<uint32_t>(level_), LZMA_CHECK_CRC32) != LZMA_OK) return 0;
    strm.next_in = src.data();
    strm.avail_in = src.size();
    strm.next_out = dst.data();
    strm.avail_out = dst.size();
    lzma_ret r = lzma_code(&strm, LZMA_FINISH);
    std::size_t written = dst.size() - strm.avail_out;
    return r == LZMA_STREAM_END ? written : 0;
  }

  struct FreeDeflate {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  struct FreeZstd {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  struct EndLzma {
    void operator()(lzma_stream* s) const {
      lzma_end(s);
      delete s;
    }
  };

  Codec codec_;
  int level_;
  int requested_level_;
  std::unique_ptr<libdeflate_compressor, FreeDeflate> deflate_;
  std::unique_ptr<ZSTD_CCtx, FreeZstd> zstd_;
  std::unique_ptr<lzma_stream, EndLzma> lzma_{new lzma_stream(LZMA_STREAM_INIT)};
};

// Codec contexts (a zstd context, a libdeflate compressor, xz match-finder memory) are costly to
// set up for every 32 KB basket: each thread keeps the last one it used.
BlockEncoder& thread_encoder(CompressionSettings s) {
  thread_local std::unique_ptr<BlockEncoder> cached;
  if (!cached || !cached->matches(s)) cached = std::make_unique<BlockEncoder>(s);
  return *cached;
}

void write_header(uint8_t* p, Codec codec, std::size_t compressed, std::size_t uncompressed) {
  static constexpr struct {
    Codec codec;
    char tag[3];
    uint8_t method;
  } kTags[] = {{Codec::kZlib, "ZL", kZlibMethod},
               {Codec::kLz4, "L4", kLz4Method},
               {Codec::kZstd, "ZS", kZstdMethod},
               {Codec::kLzma, "XZ", kLzmaMethod}};
  for (const auto& t : kTags) {
    if (t.codec != codec) continue;
    p[0] = static_cast<uint8_t>(t.tag[0]);
    p[1] = static_cast<uint8_t>(t.tag[1]);
    p[2] = t.method;
  }
  write_u24(p + 3, compressed);
  write_u24(p + 6, uncompressed);
}

// Appends the framed block for `src` to `out`, keeping the whole record within `limit` bytes.
// Returns false when it does not fit.
void grow_to(std::vector<uint8_t>& v, std::size_t n) { v.resize(n); }
void grow_to(Bytes& v, std::size_t n) { resize_bytes(v, n); }  // no zero-fill

template <typename Out>
bool append_block(BlockEncoder& encoder, Codec codec, std::span<const uint8_t> src,
                  std::size_t limit, Out& out) {
  const std::size_t start = out.size();
  const std::size_t overhead = kHeaderSize + encoder.prefix_size();
  // Like ROOT, a block may not grow: its framed size stays within its input size.
  const std::size_t room = std::min(src.size(), limit - start);
  if (room <= overhead) return false;
  grow_to(out, start + room);
  const std::size_t written =
      encoder.compress_block(src, std::span(out).subspan(start + overhead, room - overhead));
  if (written == 0) return false;
  const std::size_t payload = encoder.prefix_size() + written;
  uint8_t* block = out.data() + start;
  if (codec == Codec::kLz4) {
    XXH64_canonical_t sum;
    XXH64_canonicalFromHash(&sum, XXH64(block + overhead, written, 0));
    std::memcpy(block + kHeaderSize, &sum, kChecksumSize);
  }
  write_header(block, codec, payload, src.size());
  out.resize(start + kHeaderSize + payload);
  return true;
}

}  // namespace

CompressionSettings CompressionSettings::from_root(int fcompress) {
  if (fcompress < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "negative compression setting " + std::to_string(fcompress));
  }
  const int algorithm = fcompress / 100;
  const int level = fcompress % 100;
  Codec codec;
  switch (algorithm) {
    case 0:  // "Use the global default", which is zlib in every ROOT version that wrote 0xx.
    case 1: codec = Codec::kZlib; break;
    case 2: codec = Codec::kLzma; break;
    case 3: codec = Codec::kOldRoot; break;
    case 4: codec = Codec::kLz4; break;
    case 5: codec = Codec::kZstd; break;
    default:
      throw Error(ErrorCode::kUnsupported,
                  "unknown compression algorithm in setting " + std::to_string(fcompress));
  }
  if (level == 0) return {Codec::kNone, 0};
  return {codec, level};
}

int CompressionSettings::to_root() const {
  const int l = std::clamp(level, 0, 99);
  switch (codec) {
    case Codec::kNone: return 0;
    case Codec::kZlib: return 100 + l;
    case Codec::kLzma: return 200 + l;
    case Codec::kOldRoot: return 300 + l;
    case Codec::kLz4: return 400 + l;
    case Codec::kZstd: return 500 + l;
  }
  return 0;
}

std::string_view codec_name(Codec codec) {
  switch (codec) {
    case Codec::kNone: return "none";
    case Codec::kZlib: return "zlib";
    case Codec::kLz4: return "lz4";
    case Codec::kZstd: return "zstd";
    case Codec::kLzma: return "lzma";
    case Codec::kOldRoot: return "old-root";
  }
  return "unknown";
}

uint64_t framed_size(std::span<const uint8_t> in) {
  uint64_t total = 0;
  std::size_t pos = 0;
  for (int block = 0; pos < in.size(); ++block) {
    if (in.size() - pos < 9)
      throw Error(ErrorCode::kCorrupt, "compressed block " + std::to_string(block) + " at offset " +
                                           std::to_string(pos) + ": truncated header");
    const uint8_t* h = in.data() + pos;
    uint64_t csize = h[3] | (h[4] << 8) | (uint64_t{h[5]} << 16);
    uint64_t usize = h[6] | (h[7] << 8) | (uint64_t{h[8]} << 16);
    if (csize > in.size() - pos - 9)
      throw Error(ErrorCode::kCorrupt, "compressed block " + std::to_string(block) + " at offset " +
                                           std::to_string(pos) + ": size runs past the record");
    total += usize;
    pos += 9 + csize;
  }
  return total;
}

void decompress(std::span<const uint8_t> in, std::span<uint8_t> out) {
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  // Bytes after the block that fills `out` are ignored, as ROOT's TKey/TBasket readers do.
  for (std::size_t block = 0; out_pos < out.size(); ++block) {
    try {
      const auto [consumed, produced] = decode_block(in.subspan(in_pos), out.subspan(out_pos));
      in_pos += consumed;
      out_pos += produced;
    } catch (const Error& e) {
      throw Error(e.code(), "compressed block " + std::to_string(block) + " at offset " +
                                std::to_string(in_pos) + ": " + e.message());
    }
  }
}

namespace {

// Stored records rarely expand more than this; a record claiming more is sized block by block.
constexpr uint64_t kPlausibleExpansion = 64;

template <typename Vec>
void decompress_record_into(std::span<const uint8_t> in, std::size_t size, Vec& out) {
  if (framed_size(in) < size)
    corrupt("the compressed blocks hold fewer bytes than the record's " + std::to_string(size));
  out.clear();
  if (size == 0) return;
  // One allocation when the claim is plausible or fits the first block (the usual case). A
  // larger claim grows as blocks decode, so a forged size costs at most one block (16 MiB)
  // before the error, never the gigabytes it names.
  const uint64_t first = parse_header(in).uncompressed;
  out.reserve(static_cast<std::size_t>(std::min<uint64_t>(size, std::max(first, kPlausibleExpansion * in.size()))));
  std::size_t in_pos = 0;
  for (std::size_t block = 0; out.size() < size; ++block) {
    const std::size_t at = out.size();
    try {
      const uint64_t declared = parse_header(in.subspan(in_pos)).uncompressed;
      grow_to(out, at + static_cast<std::size_t>(std::min<uint64_t>(declared, size - at)));
      in_pos += decode_block(in.subspan(in_pos), std::span<uint8_t>(out).subspan(at)).first;
    } catch (const Error& e) {
      throw Error(e.code(), "compressed block " + std::to_string(block) + " at offset " +
                                std::to_string(in_pos) + ": " + e.message());
    }
  }
}

}  // namespace

void decompress_record(std::span<const uint8_t> in, std::size_t size, Bytes& out) {
  decompress_record_into(in, size, out);
}

void decompress_record(std::span<const uint8_t> in, std::size_t size, std::vector<uint8_t>& out) {
  decompress_record_into(in, size, out);
}

bool compress_into(CompressionSettings settings, std::span<const uint8_t> in, Bytes& out) {
  out.clear();
  if (settings.codec == Codec::kNone || settings.level <= 0 || in.empty()) return false;
  if (settings.codec == Codec::kOldRoot) {
    throw Error(ErrorCode::kUnsupported, "cannot write the old ROOT compression algorithm");
  }
  BlockEncoder& encoder = thread_encoder(settings);
  const std::size_t limit = in.size() - 1;  // see compress()
  for (std::size_t pos = 0; pos < in.size(); pos += kMaxBlockSize) {
    const auto src = in.subspan(pos, std::min(kMaxBlockSize, in.size() - pos));
    if (!append_block(encoder, settings.codec, src, limit, out)) return false;
  }
  return true;
}

std::vector<uint8_t> compress(CompressionSettings settings, std::span<const uint8_t> in) {
  auto raw = [in] { return std::vector<uint8_t>(in.begin(), in.end()); };
  if (settings.codec == Codec::kNone || settings.level <= 0 || in.empty()) return raw();
  if (settings.codec == Codec::kOldRoot) {
    throw Error(ErrorCode::kUnsupported, "cannot write the old ROOT compression algorithm");
  }
  BlockEncoder& encoder = thread_encoder(settings);
  std::vector<uint8_t> out;
  // A framed record as large as the object would read back as raw (stored == object size), so
  // the record must come out strictly smaller.
  const std::size_t limit = in.size() - 1;
  for (std::size_t pos = 0; pos < in.size(); pos += kMaxBlockSize) {
    const auto src = in.subspan(pos, std::min(kMaxBlockSize, in.size() - pos));
    if (!append_block(encoder, settings.codec, src, limit, out)) return raw();
  }
  return out;
}

std::size_t decompress_payload(Codec codec, std::span<const uint8_t> in, std::span<uint8_t> out) {
  return decode_payload(codec, in, out);
}

}  // namespace m4h::root
