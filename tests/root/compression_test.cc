#include "root/compression.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "support/address_space.h"
#include "support/testdata.h"

namespace m4h::root {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr std::size_t kHeader = 9;
constexpr std::size_t kMaxBlock = 0xffffff;

Bytes random_bytes(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// Text-like data from a small vocabulary: every codec shrinks it several-fold, but it is not so
// regular that a block collapses to a few bytes.
Bytes compressible_bytes(std::size_t n, uint32_t seed) {
  static const char* const kWords[] = {"muon ", "electron ", "jet ",    "pt=",     "eta=", "phi=",
                                       "0.5 ",  "12.25 ",    "-3.125 ", "event\n", "MET ", "px "};
  std::mt19937 rng(seed);
  Bytes b;
  b.reserve(n + 16);
  while (b.size() < n) {
    const char* w = kWords[rng() % std::size(kWords)];
    b.insert(b.end(), w, w + std::char_traits<char>::length(w));
  }
  b.resize(n);
  return b;
}

std::size_t u24(const Bytes& b, std::size_t at) {
  return std::size_t{b[at]} | std::size_t{b[at + 1]} << 8 | std::size_t{b[at + 2]} << 16;
}

void set_u24(Bytes& b, std::size_t at, std::size_t v) {
  b[at] = static_cast<uint8_t>(v);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
  b[at + 2] = static_cast<uint8_t>(v >> 16);
}

// Runs fn and returns the m4h::Error it throws; fails the test when it throws nothing.
std::optional<Error> error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an m4h::Error";
  return std::nullopt;
}

void expect_corrupt(const Bytes& in, std::size_t out_size, const std::string& needle = "") {
  Bytes out(out_size);
  auto e = error_of([&] { decompress(in, out); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kCorrupt) << e->what();
  EXPECT_NE(e->message().find(needle), std::string::npos) << e->message();
}

Bytes decompress_to(const Bytes& in, std::size_t n) {
  Bytes out(n);
  decompress(in, out);
  return out;
}

// A framed record that the codec did shrink (so it is not stored raw).
Bytes framed(Codec codec, const Bytes& data, int level = 1) {
  Bytes rec = compress({codec, level}, data);
  EXPECT_LT(rec.size(), data.size()) << "test data should compress with " << codec_name(codec);
  return rec;
}

const Codec kCodecs[] = {Codec::kZlib, Codec::kLz4, Codec::kZstd, Codec::kLzma};

std::string codec_param_name(const testing::TestParamInfo<Codec>& info) {
  return std::string(codec_name(info.param));
}

// ---- Settings and names.

TEST(CompressionSettings, FromRootSplitsAlgorithmTimes100PlusLevel) {
  struct Case {
    int fcompress;
    Codec codec;
    int level;
  } cases[] = {{101, Codec::kZlib, 1},    {104, Codec::kZlib, 4}, {207, Codec::kLzma, 7},
               {301, Codec::kOldRoot, 1}, {404, Codec::kLz4, 4},  {505, Codec::kZstd, 5},
               {1, Codec::kZlib, 1},      {9, Codec::kZlib, 9}};
  for (const auto& c : cases) {
    const auto s = CompressionSettings::from_root(c.fcompress);
    EXPECT_EQ(s.codec, c.codec) << c.fcompress;
    EXPECT_EQ(s.level, c.level) << c.fcompress;
  }
}

TEST(CompressionSettings, FromRootLevelZeroMeansUncompressedForEveryAlgorithm) {
  for (int f : {0, 100, 200, 300, 400, 500}) {
    const auto s = CompressionSettings::from_root(f);
    EXPECT_EQ(s.codec, Codec::kNone) << f;
    EXPECT_EQ(s.level, 0) << f;
  }
}

TEST(CompressionSettings, FromRootRejectsNegativeAndUnknownAlgorithms) {
  auto neg = error_of([] { CompressionSettings::from_root(-1); });
  ASSERT_TRUE(neg);
  EXPECT_EQ(neg->code(), ErrorCode::kInvalidArgument);
  auto unknown = error_of([] { CompressionSettings::from_root(601); });
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->code(), ErrorCode::kUnsupported);
}

TEST(CompressionSettings, ToRootIsTheInverseOfFromRootForExplicitAlgorithms) {
  for (int f : {101, 109, 207, 301, 404, 505, 0}) {
    EXPECT_EQ(CompressionSettings::from_root(f).to_root(), f);
  }
  // "Global default" 0xx comes back as explicit zlib, which is what ROOT means by it.
  EXPECT_EQ(CompressionSettings::from_root(4).to_root(), 104);
  EXPECT_EQ((CompressionSettings{Codec::kNone, 5}).to_root(), 0);
}

TEST(CodecName, NamesEveryCodec) {
  EXPECT_EQ(codec_name(Codec::kNone), "none");
  EXPECT_EQ(codec_name(Codec::kZlib), "zlib");
  EXPECT_EQ(codec_name(Codec::kLz4), "lz4");
  EXPECT_EQ(codec_name(Codec::kZstd), "zstd");
  EXPECT_EQ(codec_name(Codec::kLzma), "lzma");
  EXPECT_EQ(codec_name(Codec::kOldRoot), "old-root");
}

// ---- Round trips.

struct CodecLevel {
  Codec codec;
  int level;
};

class RoundTrip : public testing::TestWithParam<CodecLevel> {};

TEST_P(RoundTrip, EverySizeDecodesBackOrIsStoredRaw) {
  const auto [codec, level] = GetParam();
  for (std::size_t n : {0, 1, 2, 17, 100, 4096, 100'000}) {
    for (bool random : {false, true}) {
      const Bytes data = random ? random_bytes(n, 7 + n) : compressible_bytes(n, 11 + n);
      const Bytes rec = compress({codec, level}, data);
      ASSERT_LE(rec.size(), data.size());
      if (rec.size() == data.size()) {
        EXPECT_EQ(rec, data) << "a record as large as the input must be the raw input";
        continue;
      }
      EXPECT_EQ(decompress_to(rec, n), data) << "n=" << n << " random=" << random;
    }
  }
}

TEST_P(RoundTrip, CompressibleDataShrinksAndHeaderDescribesIt) {
  const auto [codec, level] = GetParam();
  const Bytes data = compressible_bytes(50'000, 3);
  const Bytes rec = compress({codec, level}, data);
  ASSERT_LT(rec.size(), data.size() / 2);
  EXPECT_EQ(u24(rec, 3), rec.size() - kHeader) << "one block: payload size is the rest";
  EXPECT_EQ(u24(rec, 6), data.size());
  EXPECT_EQ(decompress_to(rec, data.size()), data);
}

TEST_P(RoundTrip, RandomDataIsReturnedUnchanged) {
  const auto [codec, level] = GetParam();
  const Bytes data = random_bytes(10'000, 5);
  EXPECT_EQ(compress({codec, level}, data), data);
}

std::string codec_level_name(const testing::TestParamInfo<CodecLevel>& info) {
  return std::string(codec_name(info.param.codec)) + "_" + std::to_string(info.param.level);
}

INSTANTIATE_TEST_SUITE_P(Codecs, RoundTrip,
                         testing::Values(CodecLevel{Codec::kZlib, 1}, CodecLevel{Codec::kZlib, 6},
                                         CodecLevel{Codec::kZlib, 9}, CodecLevel{Codec::kZlib, 12},
                                         CodecLevel{Codec::kLz4, 1}, CodecLevel{Codec::kLz4, 4},
                                         CodecLevel{Codec::kLz4, 9}, CodecLevel{Codec::kZstd, 1},
                                         CodecLevel{Codec::kZstd, 5}, CodecLevel{Codec::kZstd, 19},
                                         CodecLevel{Codec::kLzma, 1}, CodecLevel{Codec::kLzma, 4},
                                         CodecLevel{Codec::kLzma, 6}),
                         codec_level_name);

TEST(Compress, LevelZeroOrCodecNoneReturnsInputUnchanged) {
  const Bytes data = compressible_bytes(5000, 1);
  EXPECT_EQ(compress({Codec::kZlib, 0}, data), data);
  EXPECT_EQ(compress({Codec::kNone, 5}, data), data);
  EXPECT_EQ(compress({Codec::kNone, 0}, data), data);
}

TEST(Compress, OldRootAlgorithmIsUnsupportedForWriting) {
  auto e = error_of([] { compress({Codec::kOldRoot, 1}, compressible_bytes(100, 1)); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kUnsupported);
}

TEST(Compress, RecordIsAlwaysStrictlySmallerThanInputOrRaw) {
  // Sizes around the break-even point: an equal-size record would read back as raw data.
  for (Codec codec : kCodecs) {
    for (std::size_t n = 1; n < 120; ++n) {
      const Bytes data = compressible_bytes(n, static_cast<uint32_t>(n));
      const Bytes rec = compress({codec, 1}, data);
      if (rec != data) {
        ASSERT_LT(rec.size(), data.size()) << codec_name(codec) << " n=" << n;
        EXPECT_EQ(decompress_to(rec, n), data);
      }
    }
  }
}

class MultiBlock : public testing::TestWithParam<Codec> {};

TEST_P(MultiBlock, InputAbove16MiBIsSplitInto0xffffffByteBlocks) {
  const std::size_t n = kMaxBlock + (1 << 20);
  const Bytes data = compressible_bytes(n, 42);
  const Bytes rec = framed(GetParam(), data);
  // Walk the framing: two blocks, the first full.
  ASSERT_GE(rec.size(), kHeader);
  EXPECT_EQ(u24(rec, 6), kMaxBlock);
  const std::size_t second = kHeader + u24(rec, 3);
  ASSERT_LE(second + kHeader, rec.size());
  EXPECT_EQ(u24(rec, second + 6), n - kMaxBlock);
  EXPECT_EQ(second + kHeader + u24(rec, second + 3), rec.size());
  EXPECT_EQ(decompress_to(rec, n), data);
}

TEST_P(MultiBlock, DecompressRecordSizesTheOutputFromTheBlocks) {
  const std::size_t n = kMaxBlock + (1 << 20);
  const Bytes data = compressible_bytes(n, 43);
  const Bytes rec = framed(GetParam(), data);
  Bytes out{1, 2, 3};  // whatever it held is replaced
  decompress_record(rec, n, out);
  EXPECT_EQ(out, data);
  m4h::Bytes uninit;
  decompress_record(rec, n, uninit);
  ASSERT_EQ(uninit.size(), n);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), uninit.begin()));
}

INSTANTIATE_TEST_SUITE_P(Codecs, MultiBlock, testing::ValuesIn(kCodecs), codec_param_name);

TEST(Compress, IncompressibleInputAbove16MiBIsStoredRaw) {
  const Bytes data = random_bytes(kMaxBlock + 1000, 9);
  EXPECT_EQ(compress({Codec::kLz4, 1}, data), data);
}

// ---- Corruption and hostile input.

TEST(Decompress, FlippedLz4DataByteIsAChecksumMismatch) {
  Bytes rec = framed(Codec::kLz4, compressible_bytes(10'000, 2));
  rec[kHeader + 8 + 5] ^= 0x01;
  expect_corrupt(rec, 10'000, "compressed block 0 at offset 0: LZ4 checksum mismatch");
}

TEST(Decompress, FlippedLz4ChecksumByteIsAChecksumMismatch) {
  Bytes rec = framed(Codec::kLz4, compressible_bytes(10'000, 2));
  rec[kHeader + 7] ^= 0x80;  // The checksum's lowest byte (big-endian).
  expect_corrupt(rec, 10'000, "LZ4 checksum mismatch");
}

TEST(Decompress, ErrorNamesTheFailingBlockAndItsOffset) {
  const Bytes a = compressible_bytes(3000, 1);
  const Bytes b = compressible_bytes(4000, 2);
  const Bytes rec_a = framed(Codec::kLz4, a);
  Bytes rec_b = framed(Codec::kLz4, b);
  Bytes rec = rec_a;
  rec.insert(rec.end(), rec_b.begin(), rec_b.end());
  Bytes joined = a;
  joined.insert(joined.end(), b.begin(), b.end());
  ASSERT_EQ(decompress_to(rec, joined.size()), joined) << "blocks simply concatenate";

  rec[rec_a.size() + kHeader + 8 + 20] ^= 0x10;
  expect_corrupt(
      rec, joined.size(),
      "compressed block 1 at offset " + std::to_string(rec_a.size()) + ": LZ4 checksum mismatch");
}

class Corruption : public testing::TestWithParam<Codec> {
 protected:
  const Bytes data_ = compressible_bytes(10'000, 8);
  Bytes rec_ = framed(GetParam(), data_);
};

TEST_P(Corruption, TruncatedRecordIsCorrupt) {
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{8}, std::size_t{9},
                          std::size_t{10}, rec_.size() / 2, rec_.size() - 1}) {
    expect_corrupt(Bytes(rec_.begin(), rec_.begin() + cut), data_.size());
  }
  expect_corrupt(Bytes(rec_.begin(), rec_.begin() + 5), data_.size(), "truncated block header");
}

TEST_P(Corruption, UnknownTagIsCorrupt) {
  rec_[0] = 'Q';
  expect_corrupt(rec_, data_.size(), "compressed block 0 at offset 0: unknown compression tag");
  rec_[1] = 0x01;
  expect_corrupt(rec_, data_.size(), "\"Q\\x01\"");
}

TEST_P(Corruption, DeclaredUncompressedSizeTooLargeIsCorrupt) {
  set_u24(rec_, 6, data_.size() + 1);
  expect_corrupt(rec_, data_.size() + 1);
}

TEST_P(Corruption, DeclaredUncompressedSizeTooSmallIsCorrupt) {
  set_u24(rec_, 6, data_.size() - 1);
  expect_corrupt(rec_, data_.size() - 1);
}

TEST_P(Corruption, DeclaredCompressedSizeBeyondInputIsCorrupt) {
  set_u24(rec_, 3, u24(rec_, 3) + 1);
  expect_corrupt(rec_, data_.size(), "overruns the input");
}

TEST_P(Corruption, DeclaredCompressedSizeShortOfPayloadIsCorrupt) {
  set_u24(rec_, 3, u24(rec_, 3) - 1);
  expect_corrupt(rec_, data_.size());
}

TEST_P(Corruption, OutputLargerThanRecordIsCorrupt) {
  expect_corrupt(
      rec_, data_.size() + 10,
      "compressed block 1 at offset " + std::to_string(rec_.size()) + ": truncated block header");
}

TEST_P(Corruption, OutputSmallerThanBlockIsCorrupt) {
  expect_corrupt(rec_, data_.size() - 10, "overruns the output");
}

TEST_P(Corruption, BlockDeclaringZeroBytesIsCorrupt) {
  set_u24(rec_, 6, 0);
  expect_corrupt(rec_, data_.size(), "0 uncompressed bytes");
}

TEST_P(Corruption, TrailingBytesAfterTheLastBlockAreIgnoredLikeRoot) {
  rec_.insert(rec_.end(), {1, 2, 3, 'Z', 'L'});
  EXPECT_EQ(decompress_to(rec_, data_.size()), data_);
}

TEST_P(Corruption, RandomByteFlipsNeverCrash) {
  std::mt19937 rng(static_cast<uint32_t>(GetParam()));
  for (int i = 0; i < 500; ++i) {
    Bytes bad = rec_;
    for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k) {
      bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    }
    Bytes out(data_.size());
    try {
      decompress(bad, out);
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::kCorrupt || e.code() == ErrorCode::kUnsupported)
          << e.what();
    }
  }
}

TEST_P(Corruption, RawPayloadRoundTripsThroughDecompressPayload) {
  // Strip the framing (and LZ4's checksum) to get the codec's bare payload.
  const std::size_t skip = kHeader + (GetParam() == Codec::kLz4 ? 8 : 0);
  const Bytes payload(rec_.begin() + skip, rec_.end());
  Bytes out(data_.size() + 100);  // Extra room: the codec alone reports what it produced.
  EXPECT_EQ(decompress_payload(GetParam(), payload, out), data_.size());
  EXPECT_TRUE(std::equal(data_.begin(), data_.end(), out.begin()));

  const Bytes garbage = random_bytes(200, 3);
  auto e = error_of([&] { decompress_payload(GetParam(), garbage, out); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kCorrupt);
}

INSTANTIATE_TEST_SUITE_P(Codecs, Corruption, testing::ValuesIn(kCodecs), codec_param_name);

TEST(Decompress, OldRootAlgorithmIsUnsupported) {
  Bytes rec = {'C', 'S', 8, 4, 0, 0, 10, 0, 0, 1, 2, 3, 4};
  Bytes out(10);
  auto e = error_of([&] { decompress(rec, out); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kUnsupported);
  EXPECT_NE(e->message().find("compressed block 0 at offset 0"), std::string::npos);

  auto p = error_of([&] { decompress_payload(Codec::kOldRoot, rec, out); });
  ASSERT_TRUE(p);
  EXPECT_EQ(p->code(), ErrorCode::kUnsupported);
}

TEST(Decompress, EmptyOutputNeedsNoBlocks) {
  Bytes out;
  EXPECT_NO_THROW(decompress({}, out));
  EXPECT_NO_THROW(decompress(Bytes{1, 2, 3}, out));
}

TEST(DecompressRecord, BlocksDeclaringFewerBytesThanTheRecordAreCorrupt) {
  const Bytes data = compressible_bytes(5000, 7);
  const Bytes rec = framed(Codec::kZstd, data);
  Bytes out;
  auto e = error_of([&] { decompress_record(rec, data.size() + 1, out); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kCorrupt);
  EXPECT_NE(e->message().find("fewer bytes than the record's 5001"), std::string::npos) << e->message();
}

// The block headers of a few hundred bytes claim 2 GiB (a fuzzer found this: the record was
// allocated, and zero-filled, at the size claimed). With the address space capped at 1 GiB
// more than in use, allocating the claim would throw std::bad_alloc instead of the kCorrupt
// of the first block's failure.
TEST(DecompressRecord, AForgedSizeIsNotAllocatedBeforeTheBlocksDecode) {
  constexpr std::size_t kBlocks = 130;  // 130 x 16 MiB > 2 GiB
  Bytes rec;
  for (std::size_t i = 0; i < kBlocks; ++i) {
    const uint8_t header[kHeader] = {'Z', 'S', 1, 0, 0, 0, 0xff, 0xff, 0xff};
    rec.insert(rec.end(), std::begin(header), std::end(header));
  }
  const std::size_t claim = (std::size_t{1} << 31) - 1;
  std::optional<Error> e;
  try {
    test::AddressSpaceCap cap(std::size_t{1} << 30);
    Bytes out;
    decompress_record(rec, claim, out);
    m4h::Bytes uninit;
    decompress_record(rec, claim, uninit);
  } catch (const Error& err) {
    e = err;
  } catch (const std::bad_alloc&) {
    ADD_FAILURE() << "the claimed size was allocated";
  }
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kCorrupt);
  EXPECT_NE(e->message().find("compressed block 0 at offset 0"), std::string::npos) << e->message();
}

TEST(Decompress, GarbageInputNeverCrashes) {
  static const char* const kTags[] = {"ZL", "XZ", "L4", "ZS", "CS"};
  std::mt19937 rng(1234);
  for (int i = 0; i < 4000; ++i) {
    Bytes in = random_bytes(rng() % 80, rng());
    if (in.size() >= kHeader && rng() % 4 != 0) {
      // Mostly valid tags with plausible sizes, so the codecs themselves see the garbage.
      const char* tag = kTags[rng() % std::size(kTags)];
      in[0] = static_cast<uint8_t>(tag[0]);
      in[1] = static_cast<uint8_t>(tag[1]);
      const std::size_t room = in.size() - kHeader;
      if (rng() % 2) set_u24(in, 3, room - std::min<std::size_t>(rng() % 3, room));
      if (rng() % 2) set_u24(in, 6, rng() % 300);
    }
    // Half the time the output matches the declared size (capped: huge ones only slow the loop).
    const std::size_t declared = in.size() >= kHeader ? std::min<std::size_t>(u24(in, 6), 4096) : 0;
    Bytes out(rng() % 2 ? rng() % 300 : declared);
    try {
      decompress(in, out);
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::kCorrupt || e.code() == ErrorCode::kUnsupported)
          << e.what();
    }
  }
}

TEST(DecompressPayload, NoneCopiesWhenItFits) {
  const Bytes data = {1, 2, 3};
  Bytes out(5);
  EXPECT_EQ(decompress_payload(Codec::kNone, data, out), 3u);
  EXPECT_EQ(out, (Bytes{1, 2, 3, 0, 0}));
  Bytes small(2);
  auto e = error_of([&] { decompress_payload(Codec::kNone, data, small); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kCorrupt);
}

TEST(Decompress, ConcurrentCallsOnEveryCodecAreIndependent) {
  std::vector<Bytes> data;
  std::vector<Bytes> recs;
  for (Codec codec : kCodecs) {
    data.push_back(compressible_bytes(20'000 + recs.size(), static_cast<uint32_t>(recs.size())));
    recs.push_back(framed(codec, data.back()));
  }
  std::vector<int> ok(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const std::size_t k = (t + i) % recs.size();
        Bytes out(data[k].size());
        decompress(recs[k], out);
        ok[t] += out == data[k];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(ok[t], 40) << "thread " << t;
}

// ---- Real ROOT files. Without a TKey reader, find the codec's 9-byte headers by scanning: a
// tag, ROOT's method byte and sizes that keep the block inside the file.

Bytes read_whole_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

struct RealFile {
  const char* name;
  Codec codec;
  const char tag[3];
  uint8_t method;
  int min_blocks;  // TBasket keys of that codec listed in MANIFEST.md.
};

class RealRootFile : public testing::TestWithParam<RealFile> {};

TEST_P(RealRootFile, EveryBlockFoundByScanningDecodesToItsDeclaredSize) {
  M4H_REQUIRE_TESTDATA();
  const RealFile& rf = GetParam();
  const Bytes file = read_whole_file(m4h::test::testdata_file(rf.name));
  ASSERT_FALSE(file.empty()) << rf.name;
  int decoded = 0;
  for (std::size_t p = 0; p + kHeader <= file.size(); ++p) {
    if (file[p] != rf.tag[0] || file[p + 1] != rf.tag[1] || file[p + 2] != rf.method) continue;
    const std::size_t c = u24(file, p + 3);
    const std::size_t u = u24(file, p + 6);
    if (c == 0 || u == 0 || p + kHeader + c > file.size()) continue;
    // In these files the pattern never occurs by chance inside other data, so every hit is a
    // real record (for L4 this also checks our reading of ROOT's checksum).
    Bytes out(u);
    EXPECT_NO_THROW(decompress(std::span(file).subspan(p, kHeader + c), out))
        << rf.name << ": block at file offset " << p;
    ++decoded;
  }
  EXPECT_GE(decoded, rf.min_blocks) << rf.name;
}

TEST_P(RealRootFile, OurHeaderStartsWithTheSameTagAndMethodAsRoot) {
  const RealFile& rf = GetParam();
  const Bytes rec = framed(rf.codec, compressible_bytes(1000, 1));
  EXPECT_EQ(rec[0], rf.tag[0]);
  EXPECT_EQ(rec[1], rf.tag[1]);
  EXPECT_EQ(rec[2], rf.method);
}

std::string real_file_name(const testing::TestParamInfo<RealFile>& info) {
  std::string n = info.param.name;
  n = n.substr(0, n.find(".root"));
  std::replace_if(
      n.begin(), n.end(), [](char c) { return !std::isalnum(c); }, '_');
  return n;
}

INSTANTIATE_TEST_SUITE_P(
    Testdata, RealRootFile,
    testing::Values(RealFile{"uproot-HZZ-zlib.root", Codec::kZlib, "ZL", 8, 57},
                    RealFile{"uproot-HZZ-lz4.root", Codec::kLz4, "L4", 1, 51},
                    RealFile{"uproot-HZZ-lzma.root", Codec::kLzma, "XZ", 0, 57},
                    RealFile{"uproot-HZZ-zstd.root", Codec::kZstd, "ZS", 1, 57},
                    RealFile{"uproot-HZZ.root", Codec::kZlib, "ZL", 8, 57},
                    RealFile{"uproot-Zmumu-lz4.root", Codec::kLz4, "L4", 1, 19},
                    RealFile{"uproot-Zmumu-lzma.root", Codec::kLzma, "XZ", 0, 20},
                    RealFile{"uproot-Zmumu-zstd.root", Codec::kZstd, "ZS", 1, 20}),
    real_file_name);

}  // namespace
}  // namespace m4h::root
