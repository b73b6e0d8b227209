// TreeWriter / FileWriter tests: a round-trip property test (random branch sets of every dtype and
// every kind, random chunking, basket sizes, codecs and directories, read back by our reader and
// compared bit for bit), edge cases, and the errors the writer must raise. Also the fixture
// writer for tests/oracle/writer_oracle.sh (jsroot reads what we write).
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "root/branch_reader.h"
#include "root/compression.h"
#include "root/file.h"
#include "root/file_writer.h"
#include "root/interpretation.h"
#include "root/tree.h"
#include "root/tree_writer.h"

namespace {

namespace fs = std::filesystem;
using namespace m4h::root;
using Kind = BranchSpec::Kind;

const DType kNumeric[] = {DType::kBool,   DType::kInt8,   DType::kUInt8,   DType::kInt16,
                          DType::kUInt16, DType::kInt32,  DType::kUInt32,  DType::kInt64,
                          DType::kUInt64, DType::kFloat32, DType::kFloat64};

// $TMPDIR, else /dev/shm when it has room (FileWriter::close() fsyncs: on tmpfs that is free),
// else the system temporary folder.
fs::path scratch_root() {
  if (const char* t = std::getenv("TMPDIR"); t && *t) return t;
  std::error_code ec;
  auto space = fs::space("/dev/shm", ec);
  if (!ec && space.available > (uint64_t{1} << 30) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return fs::temp_directory_path();
}

// A fresh folder per test, removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ = scratch_root() / ("m4h_writer_test_" + std::to_string(::getpid()) + "_" + tag);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

template <typename T>
void put(m4h::Bytes& out, T v) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.insert(out.end(), b, b + sizeof(T));
}

template <typename T>
Column flat_column(DType t, const std::vector<T>& values, std::vector<int> shape = {}) {
  Column c;
  c.dtype = t;
  c.shape = std::move(shape);
  int64_t per = 1;
  for (int d : c.shape) per *= d;
  c.entries = static_cast<int64_t>(values.size()) / per;
  c.values.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(c.values.data(), values.data(), c.values.size());
  return c;
}

// A jagged column from per-entry vectors.
template <typename T>
Column jagged_column(DType t, const std::vector<std::vector<T>>& entries) {
  Column c;
  c.dtype = t;
  c.entries = static_cast<int64_t>(entries.size());
  c.offsets.push_back({0});
  for (const auto& e : entries) c.offsets[0].push_back(c.offsets[0].back() + static_cast<int64_t>(e.size()));
  c.values.resize(static_cast<std::size_t>(c.offsets[0].back()) * sizeof(T));
  std::size_t at = 0;
  for (const auto& e : entries) {
    if (!e.empty()) std::memcpy(c.values.data() + at, e.data(), e.size() * sizeof(T));
    at += e.size() * sizeof(T);
  }
  return c;
}

Column string_column(const std::vector<std::string>& strings) {
  Column c;
  c.dtype = DType::kChar;
  c.entries = static_cast<int64_t>(strings.size());
  c.offsets.push_back({0});
  for (const auto& s : strings) {
    c.values.insert(c.values.end(), s.begin(), s.end());
    c.offsets[0].push_back(static_cast<int64_t>(c.values.size()));
  }
  return c;
}

// ------------------------------------------------------------------------------------------
// Random data.

struct Gen {
  std::mt19937_64 rng;
  // Values a JSON reader (the jsroot oracle, which goes through doubles) can check exactly:
  // 64-bit integers within 2^52 (negative ones above -2^31: jsroot 7.11 misreads larger negative
  // Long64 values inside std::vector) and printable ASCII strings. Our own round trips use
  // everything.
  bool json_safe = false;

  explicit Gen(uint64_t seed, bool json = false) : rng(seed), json_safe(json) {}
  uint64_t operator()() { return rng(); }
  int64_t uniform(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1)); }

  void value(DType t, m4h::Bytes& out) {
    uint64_t bits = rng();
    switch (t) {
      case DType::kBool: out.push_back(static_cast<uint8_t>(bits & 1)); return;
      case DType::kInt64:
      case DType::kUInt64: {
        if (bits % 9 == 0) {  // extremes
          const uint64_t ext[] = {0, 1, ~uint64_t{0}, uint64_t{1} << 63, (uint64_t{1} << 63) - 1};
          bits = ext[(bits >> 8) % 5];
        }
        if (json_safe)
          bits = t == DType::kInt64 ? static_cast<uint64_t>(static_cast<int64_t>(bits >> 12) - (int64_t{1} << 31))
                                    : bits >> 12;
        put(out, bits);
        return;
      }
      case DType::kFloat32: {
        float v;
        switch (bits % 8) {
          case 0: {
            const float sp[] = {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY, -0.0f,
                                std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(),
                                std::numeric_limits<float>::lowest(), std::numeric_limits<float>::signaling_NaN()};
            v = sp[(bits >> 8) % 8];
            break;
          }
          case 1:
          case 2: {  // arbitrary bit patterns: NaN payloads, denormals, anything
            uint32_t b = static_cast<uint32_t>(bits >> 16);
            std::memcpy(&v, &b, 4);
            break;
          }
          default:  // physics-like: quantized momenta
            v = static_cast<float>(static_cast<int64_t>((bits >> 20) % 200000) * 0.01 - 50.0);
        }
        put(out, v);
        return;
      }
      case DType::kFloat64: {
        double v;
        switch (bits % 8) {
          case 0: {
            const double sp[] = {std::numeric_limits<double>::quiet_NaN(), INFINITY, -INFINITY, -0.0,
                                 std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max(),
                                 std::numeric_limits<double>::lowest(), std::numeric_limits<double>::signaling_NaN()};
            v = sp[(bits >> 8) % 8];
            break;
          }
          case 1:
          case 2: {
            uint64_t b = rng();
            std::memcpy(&v, &b, 8);
            break;
          }
          default: v = std::ldexp(static_cast<double>(bits >> 11), -40) - 4096.0;
        }
        put(out, v);
        return;
      }
      default: {
        const int size = dtype_size(t);
        if (bits % 7 == 0) bits = (bits >> 3) % 2 ? ~uint64_t{0} : uint64_t{1} << (8 * size - 1);  // extremes
        uint8_t b[8];
        std::memcpy(b, &bits, 8);
        out.insert(out.end(), b, b + size);
      }
    }
  }

  std::string string() {
    std::size_t len;
    switch (rng() % 10) {
      case 0: len = 0; break;
      case 1: len = static_cast<std::size_t>(uniform(255, 700)); break;  // 4-byte length form
      case 2: {
        const std::size_t edge[] = {253, 254, 255, 256};
        len = edge[rng() % 4];
        break;
      }
      default: len = static_cast<std::size_t>(uniform(1, 20));
    }
    std::string s(len, ' ');
    for (auto& ch : s) ch = static_cast<char>(json_safe ? 32 + rng() % 95 : rng() % 256);
    return s;
  }
};

const char* kind_tag(Kind k) {
  switch (k) {
    case Kind::kScalar: return "s";
    case Kind::kFixedArray: return "a";
    case Kind::kCounted: return "c";
    case Kind::kVector: return "v";
    case Kind::kString: return "str";
  }
  return "?";
}

// Every dtype in every kind (fixed arrays 1-D and 2-D), two counters (int32 and uint32) and two
// string branches; the order is shuffled except that counters come first.
// Dimensions of 1 are included unless `min_dim` says otherwise (jsroot 7.11 reads a leaf of
// fLen 1, e.g. x[1] or x[1][1], as a scalar, and x[2][1] as 1-D).
std::vector<BranchSpec> all_kinds_specs(Gen& g, bool with_uint32_counter = true, int min_dim = 1) {
  std::vector<BranchSpec> specs = {{"n", DType::kInt32, Kind::kScalar, {}, ""}};
  if (with_uint32_counter) specs.push_back({"m", DType::kUInt32, Kind::kScalar, {}, ""});
  std::vector<BranchSpec> rest;
  for (DType t : kNumeric) {
    const std::string dt(dtype_name(t));
    rest.push_back({"s_" + dt, t, Kind::kScalar, {}, ""});
    rest.push_back({"a_" + dt, t, Kind::kFixedArray, {static_cast<int>(g.uniform(min_dim, 5))}, ""});
    rest.push_back({"f_" + dt, t, Kind::kFixedArray,
                    {static_cast<int>(g.uniform(min_dim, 3)), static_cast<int>(g.uniform(min_dim, 4))}, ""});
    rest.push_back({"c_" + dt, t, Kind::kCounted, {}, with_uint32_counter && g() % 2 ? "m" : "n"});
    rest.push_back({"v_" + dt, t, Kind::kVector, {}, ""});
  }
  rest.push_back({"str", DType::kChar, Kind::kString, {}, ""});
  rest.push_back({"str2", DType::kChar, Kind::kString, {}, ""});
  std::shuffle(rest.begin(), rest.end(), g.rng);
  specs.insert(specs.end(), rest.begin(), rest.end());
  return specs;
}

// Columns for `n` entries of `specs`; counter branches drive their counted branches.
std::vector<Column> random_chunk(Gen& g, const std::vector<BranchSpec>& specs, int64_t n) {
  std::map<std::string, std::vector<int64_t>> counts;
  for (const auto& s : specs)
    if (s.kind == Kind::kCounted && !counts.count(s.counter)) {
      auto& v = counts[s.counter];
      const int64_t max = g() % 5 == 0 ? 0 : g.uniform(1, 8);  // sometimes all zero
      for (int64_t i = 0; i < n; ++i) v.push_back(g.uniform(0, max));
    }
  std::vector<Column> cols;
  for (const auto& s : specs) {
    Column c;
    c.dtype = s.kind == Kind::kString ? DType::kChar : s.dtype;
    c.entries = n;
    auto it = counts.find(s.name);
    if (it != counts.end()) {  // a counter
      for (int64_t v : it->second) {
        if (s.dtype == DType::kInt32) put(c.values, static_cast<int32_t>(v));
        else put(c.values, static_cast<uint32_t>(v));
      }
    } else if (s.kind == Kind::kScalar || s.kind == Kind::kFixedArray) {
      c.shape = s.kind == Kind::kScalar ? std::vector<int>{} : s.shape;
      for (int64_t i = 0; i < n * c.items_per_value(); ++i) g.value(s.dtype, c.values);
    } else if (s.kind == Kind::kString) {
      std::vector<std::string> strs;
      for (int64_t i = 0; i < n; ++i) strs.push_back(g.string());
      c = string_column(strs);
    } else {
      c.offsets.push_back({0});
      const int64_t vmax = g() % 6 == 0 ? 0 : g.uniform(1, 12);
      for (int64_t i = 0; i < n; ++i) {
        int64_t len = s.kind == Kind::kCounted ? counts.at(s.counter)[i] : g.uniform(0, vmax);
        for (int64_t k = 0; k < len; ++k) g.value(s.dtype, c.values);
        c.offsets[0].push_back(c.offsets[0].back() + len);
      }
    }
    cols.push_back(std::move(c));
  }
  return cols;
}

// ------------------------------------------------------------------------------------------
// Reading back.

struct Opened {
  std::shared_ptr<File> file;
  std::shared_ptr<Tree> tree;
  std::vector<BranchRequest> requests;
};

Opened open_tree(const std::string& path, const std::string& tree_path) {
  Opened o;
  o.file = File::open(path);
  o.tree = Tree::load(o.file, tree_path);
  for (const auto& b : o.tree->branches()) o.requests.push_back({b.get(), interpret(*o.tree, *b)});
  return o;
}

std::vector<Column> read_all(const std::string& path, const std::string& tree_path,
                             m4h::ThreadPool* pool = nullptr) {
  auto o = open_tree(path, tree_path);
  return read_branches(*o.tree, o.requests, 0, o.tree->entries(), pool);
}

int64_t first_byte_difference(const m4h::Bytes& a, const m4h::Bytes& b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return static_cast<int64_t>(i);
  return static_cast<int64_t>(n);
}

// Equal as the reader returns them: dtype, shape, entry offsets and values bit for bit.
::testing::AssertionResult same_column(const Column& got, const Column& want) {
  if (got.dtype != want.dtype)
    return ::testing::AssertionFailure() << "dtype " << dtype_name(got.dtype) << " vs " << dtype_name(want.dtype);
  if (got.entries != want.entries)
    return ::testing::AssertionFailure() << "entries " << got.entries << " vs " << want.entries;
  if (got.shape != want.shape) return ::testing::AssertionFailure() << "shape differs";
  if (got.offsets.size() != want.offsets.size())
    return ::testing::AssertionFailure() << got.offsets.size() << " offset levels vs " << want.offsets.size();
  for (std::size_t l = 0; l < got.offsets.size(); ++l)
    if (got.offsets[l] != want.offsets[l]) {
      std::size_t i = 0;
      while (i < got.offsets[l].size() && i < want.offsets[l].size() && got.offsets[l][i] == want.offsets[l][i]) ++i;
      return ::testing::AssertionFailure() << "offsets level " << l << " differ at " << i << " (sizes "
                                           << got.offsets[l].size() << " vs " << want.offsets[l].size() << ")";
    }
  if (got.values != want.values)
    return ::testing::AssertionFailure() << "values differ at byte " << first_byte_difference(got.values, want.values)
                                         << " (sizes " << got.values.size() << " vs " << want.values.size() << ")";
  if (!(got == want)) return ::testing::AssertionFailure() << "operator== differs (fields?)";
  return ::testing::AssertionSuccess();
}

Layout expected_layout(Kind k) {
  switch (k) {
    case Kind::kScalar:
    case Kind::kFixedArray: return Layout::kFlat;
    case Kind::kCounted: return Layout::kCounted;
    case Kind::kVector: return Layout::kVector;
    case Kind::kString: return Layout::kString;
  }
  return Layout::kUnsupported;
}

std::vector<Column> concat(const std::vector<std::vector<Column>>& chunks, std::size_t nbranches) {
  std::vector<Column> whole;
  for (const auto& c : chunks) {
    if (whole.empty()) {
      whole = c;
      continue;
    }
    for (std::size_t k = 0; k < nbranches; ++k) whole[k].append(c[k]);
  }
  return whole;
}

void write_tree(FileWriter& file, const std::string& name, const std::vector<BranchSpec>& specs,
                const std::vector<std::vector<Column>>& chunks, TreeWriterOptions opt = {}) {
  TreeWriter t(file, name, "title of " + name, specs, opt);
  for (const auto& c : chunks) t.append(c);
  t.close();
}

template <typename Fn>
void expect_error(m4h::ErrorCode code, Fn&& fn, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << what << ": expected m4h::Error " << m4h::error_code_name(code) << ", nothing was thrown";
  } catch (const m4h::Error& e) {
    EXPECT_EQ(e.code(), code) << what << ": " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": expected m4h::Error, got std::exception: " << e.what();
  }
}

// ------------------------------------------------------------------------------------------
// The property test.

struct CodecCase {
  Codec codec;
  int level;
};
const CodecCase kCodecs[] = {{Codec::kNone, 0}, {Codec::kZlib, 1}, {Codec::kZlib, 6}, {Codec::kZlib, 9},
                             {Codec::kLz4, 1},  {Codec::kLz4, 9},  {Codec::kZstd, 1}, {Codec::kZstd, 5},
                             {Codec::kZstd, 19}, {Codec::kLzma, 1}, {Codec::kLzma, 4}, {Codec::kLzma, 6}};

class WriterProperty : public ::testing::TestWithParam<int> {};

TEST_P(WriterProperty, EveryTypeAndKindReadsBackBitForBit) {
  const int seed = GetParam();
  Gen g(static_cast<uint64_t>(seed) * 7919 + 17);
  const CodecCase cc = kCodecs[seed % std::size(kCodecs)];
  // Basket sizes log-uniform in [16 B, 64 kB]; from 8 kB for lzma, whose encoder setup per basket
  // (a dictionary of MBs) makes thousands of tiny baskets take minutes under ASan.
  const double min_basket = cc.codec == Codec::kLzma ? 8192.0 : 16.0;
  const int64_t basket = static_cast<int64_t>(
      std::exp(std::uniform_real_distribution<double>(std::log(min_basket), std::log(65536.0))(g.rng)));
  SCOPED_TRACE("seed " + std::to_string(seed) + ", codec " + std::string(codec_name(cc.codec)) + "-" +
               std::to_string(cc.level) + ", basket " + std::to_string(basket) + " bytes");
  TempDir dir("prop" + std::to_string(seed));
  const std::string path = dir.file("f.root");

  const auto specs = all_kinds_specs(g);
  std::vector<std::vector<Column>> chunks;
  const int appends = static_cast<int>(g.uniform(1, 5));
  const int64_t max_chunk = basket < 128 ? 150 : 500;  // tiny baskets: one per entry already
  for (int a = 0; a < appends; ++a)
    chunks.push_back(random_chunk(g, specs, g() % 9 == 0 ? 0 : g.uniform(1, max_chunk)));  // some empty appends
  const auto whole = concat(chunks, specs.size());
  const int64_t entries = whole[0].entries;

  // Where the tree goes: the top directory, a subdirectory, or a nested one; a second, smaller
  // tree goes elsewhere so that directories hold more than one key.
  const int where = (seed + seed / 12) % 3;  // each codec meets each placement over the seeds
  std::string tree_path = "T";
  {
    FileWriter file(path, {cc.codec, cc.level});
    int d = 0;
    if (where == 1) d = file.mkdir("sub"), tree_path = "sub/T";
    if (where == 2) d = file.mkdir("inner", file.mkdir("outer")), tree_path = "outer/inner/T";
    const int other_dir = where == 0 ? file.mkdir("other") : 0;
    std::vector<BranchSpec> small = {{"x", DType::kInt32, Kind::kScalar, {}, ""}};
    write_tree(file, "Small", small, {{flat_column<int32_t>(DType::kInt32, {1, 2, 3})}}, {64, other_dir});
    write_tree(file, "T", specs, chunks, {basket, d});
    file.close();
  }

  auto o = open_tree(path, tree_path);
  ASSERT_EQ(o.tree->entries(), entries);
  ASSERT_EQ(o.tree->branches().size(), specs.size());
  for (std::size_t k = 0; k < specs.size(); ++k) {
    const auto& br = *o.tree->branches()[k];
    const auto& in = o.requests[k].interpretation;
    EXPECT_EQ(br.name, specs[k].name);
    EXPECT_EQ(br.entries, entries) << specs[k].name;
    EXPECT_EQ(in.layout, expected_layout(specs[k].kind)) << specs[k].name << ": " << in.kind_name();
    if (specs[k].kind == Kind::kCounted) {
      ASSERT_NE(in.counter, nullptr) << specs[k].name;
      EXPECT_EQ(in.counter->name, specs[k].counter) << specs[k].name;
    }
    int64_t basket_entries = 0;
    for (const auto& b : br.baskets) basket_entries += b.entries;
    EXPECT_EQ(basket_entries, entries) << specs[k].name;
  }

  // Everything at once, single-threaded.
  auto all = read_branches(*o.tree, o.requests, 0, entries, nullptr);
  ASSERT_EQ(all.size(), whole.size());
  for (std::size_t k = 0; k < whole.size(); ++k)
    EXPECT_TRUE(same_column(all[k], whole[k])) << specs[k].name << " (" << kind_tag(specs[k].kind) << ")";

  // In random pieces on a pool, concatenated.
  m4h::ThreadPool pool(3);
  std::vector<int64_t> cuts = {0, entries};
  for (int i = 0; i < 3; ++i) cuts.push_back(g.uniform(0, entries));
  std::sort(cuts.begin(), cuts.end());
  std::vector<Column> pieces;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    auto part = read_branches(*o.tree, o.requests, cuts[i], cuts[i + 1], &pool);
    for (std::size_t k = 0; k < whole.size(); ++k)
      EXPECT_TRUE(same_column(part[k], whole[k].slice(cuts[i], cuts[i + 1])))
          << specs[k].name << " [" << cuts[i] << ", " << cuts[i + 1] << ")";
    if (pieces.empty()) pieces = std::move(part);
    else
      for (std::size_t k = 0; k < whole.size(); ++k) pieces[k].append(part[k]);
  }
  for (std::size_t k = 0; k < whole.size(); ++k)
    EXPECT_TRUE(same_column(pieces[k], whole[k])) << specs[k].name << " (pieces)";

  // Through the chunk iterator (basket cache) on the pool.
  if (entries > 0) {
    const int64_t chunk = g.uniform(1, std::max<int64_t>(1, entries / 2));
    ChunkIterator it(*o.tree, o.requests, chunk, 0, entries, &pool);
    int64_t lo = 0, hi = 0, expect_lo = 0;
    std::vector<Column> cols;
    while (it.next(lo, hi, cols)) {
      ASSERT_EQ(lo, expect_lo);
      for (std::size_t k = 0; k < whole.size(); ++k)
        ASSERT_TRUE(same_column(cols[k], whole[k].slice(lo, hi))) << specs[k].name << " chunk [" << lo << ", " << hi << ")";
      expect_lo = hi;
    }
    EXPECT_EQ(expect_lo, entries);
  }

  // A branch read alone: a counted one without its counter in the request.
  for (std::size_t k = 0; k < specs.size(); ++k)
    if (specs[k].kind == Kind::kCounted) {
      EXPECT_TRUE(same_column(read_branch(*o.tree, *o.tree->branches()[k], 0, entries), whole[k])) << specs[k].name;
      break;
    }
  auto small = read_all(path, where == 0 ? "other/Small" : "Small");
  EXPECT_TRUE(same_column(small[0], flat_column<int32_t>(DType::kInt32, {1, 2, 3})));
}

INSTANTIATE_TEST_SUITE_P(Seeds, WriterProperty, ::testing::Range(1, 31));

// Every codec at every level it accepts here writes a file our reader reads back.
TEST(WriterCodecs, EveryCodecAndLevel) {
  TempDir dir("codecs");
  Gen g(99);
  const auto specs = all_kinds_specs(g);
  const auto chunk = random_chunk(g, specs, 300);
  struct {
    Codec codec;
    std::vector<int> levels;
  } const cases[] = {{Codec::kNone, {0}},
                     {Codec::kZlib, {1, 2, 3, 4, 5, 6, 7, 8, 9}},
                     {Codec::kLz4, {1, 4, 9}},
                     {Codec::kZstd, {1, 3, 9, 19}},
                     {Codec::kLzma, {1, 6}}};
  for (const auto& c : cases)
    for (int level : c.levels) {
      SCOPED_TRACE(std::string(codec_name(c.codec)) + "-" + std::to_string(level));
      const std::string path = dir.file("c.root");
      {
        FileWriter file(path, {c.codec, level});
        write_tree(file, "T", specs, {chunk}, {16000, 0});
        file.close();
      }
      auto f = File::open(path);
      EXPECT_EQ(CompressionSettings::from_root(f->header().compress).codec, c.codec);
      auto back = read_all(path, "T");
      for (std::size_t k = 0; k < specs.size(); ++k) EXPECT_TRUE(same_column(back[k], chunk[k])) << specs[k].name;
    }
}

// ------------------------------------------------------------------------------------------
// Edge cases.

TEST(WriterEdgeCase, ZeroEntriesTree) {
  TempDir dir("zero");
  const std::string path = dir.file("z.root");
  Gen g(5);
  const auto specs = all_kinds_specs(g);
  {
    FileWriter file(path, {Codec::kZstd, 3});
    { TreeWriter t(file, "Never", "", specs); t.close(); }         // no append at all
    write_tree(file, "Empty", specs, {random_chunk(g, specs, 0)});  // one empty append
    file.close();
  }
  for (const char* name : {"Never", "Empty"}) {
    auto o = open_tree(path, name);
    EXPECT_EQ(o.tree->entries(), 0) << name;
    ASSERT_EQ(o.tree->branches().size(), specs.size());
    auto cols = read_branches(*o.tree, o.requests, 0, 0, nullptr);
    for (std::size_t k = 0; k < specs.size(); ++k) {
      EXPECT_EQ(o.requests[k].interpretation.layout, expected_layout(specs[k].kind)) << name << " " << specs[k].name;
      EXPECT_EQ(cols[k].entries, 0);
      EXPECT_TRUE(cols[k].values.empty());
      EXPECT_TRUE(o.tree->branches()[k]->baskets.empty()) << name << " " << specs[k].name;
    }
  }
}

TEST(WriterEdgeCase, OneEntry) {
  TempDir dir("one");
  Gen g(6);
  const auto specs = all_kinds_specs(g);
  for (const auto cc : {CodecCase{Codec::kNone, 0}, CodecCase{Codec::kLz4, 4}, CodecCase{Codec::kLzma, 1}}) {
    const std::string path = dir.file("one.root");
    const auto chunk = random_chunk(g, specs, 1);
    {
      FileWriter file(path, {cc.codec, cc.level});
      write_tree(file, "T", specs, {chunk});
      file.close();
    }
    auto back = read_all(path, "T");
    for (std::size_t k = 0; k < specs.size(); ++k) EXPECT_TRUE(same_column(back[k], chunk[k])) << specs[k].name;
  }
}

// One basket far past a compression block (16 MiB - 1): the record is several framed blocks.
TEST(WriterEdgeCase, HugeBasketSpansSeveralCompressionBlocks) {
  TempDir dir("huge");
  // 2.2M float64 (17.6 MB) in one basket: just past one block of 16 MiB - 1.
  const int64_t n = 2'200'000;
  std::vector<double> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = std::round(std::sin(0.001 * static_cast<double>(i)) * 1e4) / 100.0;
  const Column big = flat_column(DType::kFloat64, x);
  // Vectors: 2000 entries of 100 floats plus a single entry of 4.5M floats (18 MB).
  std::vector<std::vector<float>> vec(2000, std::vector<float>(100));
  for (std::size_t i = 0; i < vec.size(); ++i)
    for (std::size_t j = 0; j < 100; ++j) vec[i][j] = static_cast<float>(i % 1000) + 0.25f * static_cast<float>(j % 8);
  vec[1234].assign(4'500'000, 1.5f);
  vec[1234][4'499'999] = -2.0f;
  std::vector<double> xs(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(vec.size()));
  std::vector<BranchSpec> specs = {{"x", DType::kFloat64, Kind::kScalar, {}, ""},
                                   {"v", DType::kFloat32, Kind::kVector, {}, ""}};
  const std::vector<Column> chunk = {flat_column(DType::kFloat64, xs), jagged_column(DType::kFloat32, vec)};
  for (const auto cc : {CodecCase{Codec::kNone, 0}, CodecCase{Codec::kZlib, 1}, CodecCase{Codec::kLz4, 1},
                        CodecCase{Codec::kZstd, 1}}) {
    SCOPED_TRACE(std::string(codec_name(cc.codec)));
    const std::string path = dir.file("huge.root");
    {
      FileWriter file(path, {cc.codec, cc.level});
      write_tree(file, "T", specs, {chunk}, {int64_t{1} << 28, 0});  // everything in one basket
      write_tree(file, "Big", {specs[0]}, {{big}}, {int64_t{1} << 28, 0});
      file.close();
    }
    auto o = open_tree(path, "T");
    ASSERT_EQ(o.tree->branches()[0]->baskets.size(), 1u);
    ASSERT_EQ(o.tree->branches()[1]->baskets.size(), 1u);
    auto back = read_branches(*o.tree, o.requests, 0, o.tree->entries(), nullptr);
    EXPECT_TRUE(same_column(back[0], chunk[0]));
    EXPECT_TRUE(same_column(back[1], chunk[1]));
    auto ob = open_tree(path, "Big");
    ASSERT_EQ(ob.tree->branches()[0]->baskets.size(), 1u);
    EXPECT_TRUE(same_column(read_branches(*ob.tree, ob.requests, 0, n, nullptr)[0], big));
    if (cc.codec != Codec::kNone) {  // the basket record holds two compression blocks
      auto f = File::open(path);
      const auto& ref = ob.tree->branches()[0]->baskets[0];
      std::vector<uint8_t> raw(static_cast<std::size_t>(ref.bytes));
      f->source().read_at(static_cast<uint64_t>(ref.seek), raw);
      const std::size_t keylen = (std::size_t{raw[14]} << 8) | raw[15];
      int blocks = 0;
      uint64_t usize = 0;
      for (std::size_t at = keylen; at + 9 <= raw.size(); ++blocks) {
        const uint64_t c = raw[at + 3] | (raw[at + 4] << 8) | (uint64_t{raw[at + 5]} << 16);
        usize += raw[at + 6] | (raw[at + 7] << 8) | (uint64_t{raw[at + 8]} << 16);
        at += 9 + c;
      }
      EXPECT_EQ(blocks, 2);
      EXPECT_EQ(usize, static_cast<uint64_t>(n) * 8);
    }
  }
}

// NaN payloads, signalling NaN, infinities, -0.0 and denormals keep their exact bits, in every
// kind of branch.
TEST(WriterEdgeCase, SpecialFloatsPreservedBitForBit) {
  TempDir dir("floats");
  auto f32 = [](uint32_t b) {
    float v;
    std::memcpy(&v, &b, 4);
    return v;
  };
  auto f64 = [](uint64_t b) {
    double v;
    std::memcpy(&v, &b, 8);
    return v;
  };
  const std::vector<float> fs = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                                 std::numeric_limits<float>::signaling_NaN(), f32(0x7fc12345), f32(0xffbfffff),
                                 INFINITY, -INFINITY, 0.0f, -0.0f, std::numeric_limits<float>::denorm_min(),
                                 -std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(),
                                 std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(),
                                 std::numeric_limits<float>::epsilon(), 1.0f / 3.0f};
  const std::vector<double> ds = {std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::quiet_NaN(),
                                  std::numeric_limits<double>::signaling_NaN(), f64(0x7ff8dead0000beefULL),
                                  f64(0xfff0000000000001ULL), INFINITY, -INFINITY, 0.0, -0.0,
                                  std::numeric_limits<double>::denorm_min(), -std::numeric_limits<double>::denorm_min(),
                                  std::numeric_limits<double>::min(), std::numeric_limits<double>::max(),
                                  std::numeric_limits<double>::lowest(), std::numeric_limits<double>::epsilon(), 0.1};
  const int64_t n = static_cast<int64_t>(fs.size());
  std::vector<BranchSpec> specs = {{"n", DType::kInt32, Kind::kScalar, {}, ""},
                                   {"f", DType::kFloat32, Kind::kScalar, {}, ""},
                                   {"d", DType::kFloat64, Kind::kScalar, {}, ""},
                                   {"fa", DType::kFloat32, Kind::kFixedArray, {2, 2}, ""},
                                   {"dc", DType::kFloat64, Kind::kCounted, {}, "n"},
                                   {"fv", DType::kFloat32, Kind::kVector, {}, ""},
                                   {"dv", DType::kFloat64, Kind::kVector, {}, ""}};
  std::vector<int32_t> counts;
  std::vector<float> fa;
  std::vector<std::vector<double>> dc;
  std::vector<std::vector<float>> fv;
  std::vector<std::vector<double>> dv;
  for (int64_t i = 0; i < n; ++i) {
    counts.push_back(static_cast<int32_t>(i % 4));
    for (int k = 0; k < 4; ++k) fa.push_back(fs[(i + k) % n]);
    dc.emplace_back();
    for (int k = 0; k < i % 4; ++k) dc.back().push_back(ds[(i + 3 * k) % n]);
    fv.push_back(fs);
    dv.push_back(std::vector<double>(ds.begin() + i, ds.end()));
  }
  const std::vector<Column> chunk = {flat_column(DType::kInt32, counts), flat_column(DType::kFloat32, fs),
                                     flat_column(DType::kFloat64, ds),   flat_column(DType::kFloat32, fa, {2, 2}),
                                     jagged_column(DType::kFloat64, dc), jagged_column(DType::kFloat32, fv),
                                     jagged_column(DType::kFloat64, dv)};
  for (const auto cc : {CodecCase{Codec::kNone, 0}, CodecCase{Codec::kZlib, 6}, CodecCase{Codec::kZstd, 3}}) {
    const std::string path = dir.file("f.root");
    {
      FileWriter file(path, {cc.codec, cc.level});
      write_tree(file, "T", specs, {chunk, chunk}, {100, 0});
      file.close();
    }
    auto back = read_all(path, "T");
    for (std::size_t k = 0; k < specs.size(); ++k) {
      Column want = chunk[k];
      want.append(chunk[k]);
      EXPECT_TRUE(same_column(back[k], want)) << specs[k].name << " " << codec_name(cc.codec);
    }
    // Spot-check explicitly: -0.0 has its sign, the NaN payload survived.
    uint64_t bits;
    std::memcpy(&bits, back[2].values.data() + 8 * 8, 8);
    EXPECT_EQ(bits, 0x8000000000000000ULL);
    std::memcpy(&bits, back[2].values.data() + 3 * 8, 8);
    EXPECT_EQ(bits, 0x7ff8dead0000beefULL);
  }
}

TEST(WriterEdgeCase, IntegerExtremes) {
  TempDir dir("ints");
  const std::string path = dir.file("i.root");
  using L = std::numeric_limits<int64_t>;
  using U = std::numeric_limits<uint64_t>;
  const std::vector<int64_t> i64 = {L::min(), L::min() + 1, -1, 0, 1, L::max() - 1, L::max(),
                                    int64_t{1} << 53, (int64_t{1} << 53) + 1, -(int64_t{1} << 53) - 1};
  const std::vector<uint64_t> u64 = {0, 1, U::max(), U::max() - 1, uint64_t{1} << 63, (uint64_t{1} << 63) - 1,
                                     uint64_t{1} << 53, (uint64_t{1} << 53) + 1, 12345678901234567890ULL, 42};
  const std::vector<int32_t> i32 = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX, INT32_MAX - 1, 7, -7, 0};
  const std::vector<uint32_t> u32 = {0, UINT32_MAX, 1u << 31, (1u << 31) - 1, 1, 2, 3, 4, 5, 6};
  const std::vector<int16_t> i16 = {INT16_MIN, INT16_MAX, -1, 0, 1, 2, 3, 4, 5, 6};
  const std::vector<uint16_t> u16 = {0, UINT16_MAX, 1u << 15, 1, 2, 3, 4, 5, 6, 7};
  const std::vector<int8_t> i8 = {INT8_MIN, INT8_MAX, -1, 0, 1, 2, 3, 4, 5, 0};
  const std::vector<uint8_t> u8 = {0, 255, 128, 127, 1, 2, 3, 4, 5, 6};
  const std::vector<uint8_t> bools = {0, 1, 1, 0, 1, 0, 0, 1, 1, 1};
  std::vector<BranchSpec> specs;
  std::vector<Column> chunk;
  auto add = [&](const std::string& name, DType t, const auto& vals) {
    using T = typename std::decay_t<decltype(vals)>::value_type;
    specs.push_back({"s_" + name, t, Kind::kScalar, {}, ""});
    chunk.push_back(flat_column(t, vals));
    specs.push_back({"a_" + name, t, Kind::kFixedArray, {2, 5}, ""});
    std::vector<T> twice(vals);
    std::reverse(twice.begin(), twice.end());
    twice.insert(twice.end(), vals.begin(), vals.end());
    std::vector<T> fixed;
    for (int r = 0; r < 5; ++r) fixed.insert(fixed.end(), twice.begin(), twice.end());
    chunk.push_back(flat_column(t, fixed, {2, 5}));
    specs.push_back({"v_" + name, t, Kind::kVector, {}, ""});
    std::vector<std::vector<T>> vv;
    for (std::size_t i = 0; i < vals.size(); ++i) vv.emplace_back(vals.begin() + static_cast<std::ptrdiff_t>(i), vals.end());
    chunk.push_back(jagged_column(t, vv));
  };
  add("i64", DType::kInt64, i64);
  add("u64", DType::kUInt64, u64);
  add("i32", DType::kInt32, i32);
  add("u32", DType::kUInt32, u32);
  add("i16", DType::kInt16, i16);
  add("u16", DType::kUInt16, u16);
  add("i8", DType::kInt8, i8);
  add("u8", DType::kUInt8, u8);
  add("bool", DType::kBool, bools);
  {
    FileWriter file(path, {Codec::kLz4, 1});
    write_tree(file, "T", specs, {chunk});
    file.close();
  }
  auto back = read_all(path, "T");
  for (std::size_t k = 0; k < specs.size(); ++k) EXPECT_TRUE(same_column(back[k], chunk[k])) << specs[k].name;
  EXPECT_EQ(back[0].value<int64_t>(0), L::min());
  EXPECT_EQ(back[0].value<int64_t>(6), L::max());
  EXPECT_EQ(back[3].value<uint64_t>(2), U::max());
}

TEST(WriterEdgeCase, Strings) {
  TempDir dir("strings");
  const std::string path = dir.file("s.root");
  std::vector<std::string> strs = {"", "a", std::string(254, 'x'), std::string(255, 'y'), std::string(256, 'z'),
                                   "", std::string("nul\0inside", 10), std::string(100000, 'q'), "", "end"};
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  strs.push_back(all_bytes);
  const Column col = string_column(strs);
  const Column empties = string_column(std::vector<std::string>(strs.size(), ""));
  std::vector<BranchSpec> specs = {{"s", DType::kChar, Kind::kString, {}, ""},
                                   {"e", DType::kChar, Kind::kString, {}, ""}};
  for (int64_t basket : {int64_t{16}, int64_t{300}, int64_t{1} << 20}) {
    {
      FileWriter file(path, {Codec::kZlib, 1});
      write_tree(file, "T", specs, {{col, empties}}, {basket, 0});
      file.close();
    }
    auto back = read_all(path, "T");
    EXPECT_TRUE(same_column(back[0], col)) << "basket " << basket;
    EXPECT_TRUE(same_column(back[1], empties)) << "basket " << basket;
  }
}

// Counted branches: two sharing one counter, a uint32 counter, a counter that is always 0.
TEST(WriterEdgeCase, CountedBranches) {
  TempDir dir("counted");
  const std::string path = dir.file("c.root");
  std::vector<BranchSpec> specs = {{"n", DType::kInt32, Kind::kScalar, {}, ""},
                                   {"m", DType::kUInt32, Kind::kScalar, {}, ""},
                                   {"z", DType::kInt32, Kind::kScalar, {}, ""},
                                   {"pt", DType::kFloat32, Kind::kCounted, {}, "n"},
                                   {"eta", DType::kFloat32, Kind::kCounted, {}, "n"},
                                   {"id", DType::kInt64, Kind::kCounted, {}, "m"},
                                   {"none", DType::kFloat64, Kind::kCounted, {}, "z"}};
  const int64_t n = 1000;
  std::vector<int32_t> cn, cz(n, 0);
  std::vector<uint32_t> cm;
  std::vector<std::vector<float>> pt, eta;
  std::vector<std::vector<int64_t>> id;
  std::vector<std::vector<double>> none(n);
  for (int64_t i = 0; i < n; ++i) {
    cn.push_back(static_cast<int32_t>(i % 7));
    cm.push_back(static_cast<uint32_t>(i % 3 == 0 ? 40 : 0));
    pt.emplace_back();
    eta.emplace_back();
    for (int k = 0; k < i % 7; ++k) pt.back().push_back(static_cast<float>(i + k)), eta.back().push_back(-static_cast<float>(k));
    id.emplace_back(cm.back(), i);
  }
  std::vector<Column> chunk = {flat_column(DType::kInt32, cn),      flat_column(DType::kUInt32, cm),
                               flat_column(DType::kInt32, cz),      jagged_column(DType::kFloat32, pt),
                               jagged_column(DType::kFloat32, eta), jagged_column(DType::kInt64, id),
                               jagged_column(DType::kFloat64, none)};
  {
    FileWriter file(path, {Codec::kZstd, 3});
    TreeWriter t(file, "T", "", specs, {512, 0});
    t.append(std::vector<Column>(chunk));
    for (auto& c : chunk) c = c.slice(0, 0);
    t.append(chunk);  // an empty append in between
    t.close();
    file.close();
  }
  chunk = {flat_column(DType::kInt32, cn),      flat_column(DType::kUInt32, cm),
           flat_column(DType::kInt32, cz),      jagged_column(DType::kFloat32, pt),
           jagged_column(DType::kFloat32, eta), jagged_column(DType::kInt64, id),
           jagged_column(DType::kFloat64, none)};
  auto o = open_tree(path, "T");
  for (std::size_t k = 3; k < specs.size(); ++k) {
    ASSERT_EQ(o.requests[k].interpretation.layout, Layout::kCounted) << specs[k].name;
    EXPECT_EQ(o.requests[k].interpretation.counter->name, specs[k].counter);
  }
  auto back = read_branches(*o.tree, o.requests, 0, n, nullptr);
  for (std::size_t k = 0; k < specs.size(); ++k) EXPECT_TRUE(same_column(back[k], chunk[k])) << specs[k].name;
  EXPECT_EQ(o.tree->find("pt")->leaves.at(0).count_leaf, "n");
}

// Several trees in one file, written interleaved (their baskets alternate in the file), in
// several directories.
// Three trees filled in turn into one file, in three directories; with a pool shared by all
// three, their baskets are written by the workers as well, into the same FileWriter at once.
TEST(WriterEdgeCase, SeveralTreesInterleaved) {
  m4h::ThreadPool pool(2);
  for (m4h::ThreadPool* p : {static_cast<m4h::ThreadPool*>(nullptr), &pool}) {
    SCOPED_TRACE(p ? "on a pool of 2" : "one thread");
    TempDir dir("several");
    const std::string path = dir.file("s.root");
    Gen g(77);
    std::vector<std::vector<BranchSpec>> specs;
    std::vector<std::vector<std::vector<Column>>> chunks(3);
    for (int t = 0; t < 3; ++t) specs.push_back(all_kinds_specs(g, t != 1));
    {
      FileWriter file(path, {Codec::kZlib, 1});
      int sub = file.mkdir("sub");
      int sub2 = file.mkdir("sub2");
      int deep = file.mkdir("deep", sub);
      TreeWriter a(file, "A", "", specs[0], {200, 0, p, 1500});
      TreeWriter b(file, "B", "", specs[1], {300, sub, p, 1500});
      TreeWriter c(file, "A", "", specs[2], {1000, deep, p, 1500});  // same name, another directory
      TreeWriter* trees[] = {&a, &b, &c};
      for (int round = 0; round < 6; ++round)
        for (int t = 0; t < 3; ++t) {
          chunks[t].push_back(random_chunk(g, specs[t], g.uniform(0, 120)));
          trees[t]->append(chunks[t].back());
        }
      c.close();
      a.close();
      b.close();
      (void)sub2;  // an empty directory
      file.close();
    }
    auto f = File::open(path);
    std::vector<std::string> paths = tree_paths(*f);
    std::sort(paths.begin(), paths.end());
    EXPECT_EQ(paths, (std::vector<std::string>{"A", "sub/B", "sub/deep/A"}));
    const char* where[] = {"A", "sub/B", "sub/deep/A"};
    for (int t = 0; t < 3; ++t) {
      const auto whole = concat(chunks[t], specs[t].size());
      auto back = read_all(path, where[t]);
      for (std::size_t k = 0; k < specs[t].size(); ++k)
        EXPECT_TRUE(same_column(back[k], whole[k])) << where[t] << " " << specs[t][k].name;
    }
    EXPECT_EQ(File::open(path)->find("sub/deep/A").cycle, 1);
  }
}

TEST(WriterEdgeCase, CyclesOfTheSameName) {
  TempDir dir("cycles");
  const std::string path = dir.file("c.root");
  std::vector<BranchSpec> specs = {{"x", DType::kInt32, Kind::kScalar, {}, ""}};
  {
    FileWriter file(path, {Codec::kZstd, 3});
    int sub = file.mkdir("d");
    for (int cycle = 1; cycle <= 3; ++cycle) {
      std::vector<int32_t> v(static_cast<std::size_t>(cycle) * 10, cycle);
      write_tree(file, "T", specs, {{flat_column(DType::kInt32, v)}});
      write_tree(file, "T", specs, {{flat_column(DType::kInt32, std::vector<int32_t>(cycle, -cycle))}}, {32000, sub});
    }
    file.close();
  }
  auto f = File::open(path);
  std::vector<int> cycles;
  for (const auto& k : f->keys())
    if (k.name == "T") cycles.push_back(k.cycle);
  std::sort(cycles.begin(), cycles.end());
  EXPECT_EQ(cycles, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(f->find("T").cycle, 3);
  EXPECT_EQ(Tree::load(f, "T")->entries(), 30);  // highest cycle without ";N"
  for (int cycle = 1; cycle <= 3; ++cycle) {
    auto t = Tree::load(f, "T;" + std::to_string(cycle));
    EXPECT_EQ(t->entries(), cycle * 10);
    auto col = read_branch(*t, *t->branches()[0], 0, t->entries());
    EXPECT_EQ(col.value<int32_t>(0), cycle);
    EXPECT_EQ(Tree::load(f, "d/T;" + std::to_string(cycle))->entries(), cycle);
  }
  EXPECT_EQ(Tree::load(f, "d/T")->entries(), 3);
  expect_error(m4h::ErrorCode::kNotFound, [&] { Tree::load(f, "T;4"); }, "missing cycle");
}

// The same input gives the same bytes (fixed timestamps, no uninitialised padding).
TEST(WriterEdgeCase, OutputIsReproducible) {
  TempDir dir("repro");
  Gen g1(3), g2(3);
  const auto s1 = all_kinds_specs(g1);
  const auto c1 = random_chunk(g1, s1, 200);
  const auto s2 = all_kinds_specs(g2);
  const auto c2 = random_chunk(g2, s2, 200);
  auto slurp = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  // Same file name (the top directory is named after it), in two folders.
  for (const char* name : {"a", "b"}) {
    fs::create_directories(dir.path() / name);
    FileWriter file((dir.path() / name / "f.root").string(), {Codec::kZlib, 4});
    write_tree(file, "T", name[0] == 'a' ? s1 : s2, {name[0] == 'a' ? c1 : c2}, {1000, file.mkdir("d")});
    file.close();
  }
  const std::string a = slurp((dir.path() / "a" / "f.root").string());
  EXPECT_GT(a.size(), 1000u);
  EXPECT_TRUE(a == slurp((dir.path() / "b" / "f.root").string()));
}

// Baskets compressed on a pool are written in the order they filled: the same bytes as one
// thread, for every codec, with many small baskets, several chunks and several pool sizes.
TEST(WriterEdgeCase, PoolWritesTheSameBytesAsOneThread) {
  TempDir dir("pool");
  Gen g(11);
  const auto specs = all_kinds_specs(g);
  std::vector<std::vector<Column>> chunks;
  for (int64_t n : {300, 1, 777, 50}) chunks.push_back(random_chunk(g, specs, n));
  auto slurp = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  m4h::ThreadPool pool1(1), pool3(3);
  for (Codec codec : {Codec::kNone, Codec::kZlib, Codec::kLz4, Codec::kZstd, Codec::kLzma}) {
    std::string reference;
    int k = 0;
    for (m4h::ThreadPool* pool : {static_cast<m4h::ThreadPool*>(nullptr), &pool1, &pool3}) {
      fs::create_directories(dir.path() / std::to_string(k));
      const std::string path = (dir.path() / std::to_string(k++) / "f.root").string();
      FileWriter file(path, {codec, codec == Codec::kNone ? 0 : 1});
      write_tree(file, "T", specs, chunks, {500, 0, pool, 3000});  // many small batches
      file.close();
      const std::string bytes = slurp(path);
      if (reference.empty()) {
        reference = bytes;
        auto back = read_all(path, "T");
        int64_t total = 0;
        for (const auto& c : chunks) total += c[0].entries;
        EXPECT_EQ(back[0].entries, total);
      } else {
        EXPECT_TRUE(bytes == reference) << "codec " << static_cast<int>(codec) << " pool " << k - 1;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------
// Errors.

std::vector<BranchSpec> counted_specs() {
  return {{"n", DType::kInt32, Kind::kScalar, {}, ""},
          {"x", DType::kFloat32, Kind::kCounted, {}, "n"},
          {"a", DType::kInt16, Kind::kFixedArray, {2, 3}, ""},
          {"v", DType::kFloat64, Kind::kVector, {}, ""},
          {"s", DType::kChar, Kind::kString, {}, ""}};
}

// Two valid entries for counted_specs().
std::vector<Column> counted_chunk() {
  return {flat_column<int32_t>(DType::kInt32, {2, 0}),
          jagged_column<float>(DType::kFloat32, {{1.f, 2.f}, {}}),
          flat_column<int16_t>(DType::kInt16, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 3}),
          jagged_column<double>(DType::kFloat64, {{}, {3.0}}),
          string_column({"ab", ""})};
}

TEST(WriterRejects, InvalidBranchSpecs) {
  TempDir dir("badspecs");
  FileWriter file(dir.file("x.root"), {Codec::kZlib, 1});
  using E = m4h::ErrorCode;
  auto spec_error = [&](std::vector<BranchSpec> specs, const std::string& what) {
    expect_error(E::kInvalidArgument, [&] { TreeWriter t(file, "T", "", specs); }, what);
  };
  spec_error({{"x", DType::kFloat32, Kind::kCounted, {}, "n"}, {"n", DType::kInt32, Kind::kScalar, {}, ""}},
             "counter declared after the counted branch");
  spec_error({{"x", DType::kFloat32, Kind::kCounted, {}, "n"}}, "counter missing");
  spec_error({{"x", DType::kFloat32, Kind::kCounted, {}, ""}}, "no counter named");
  spec_error({{"x", DType::kFloat32, Kind::kCounted, {}, "x"}}, "branch counting itself");
  for (DType t : {DType::kInt8, DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kInt64, DType::kUInt64,
                  DType::kFloat32, DType::kFloat64, DType::kBool})
    spec_error({{"n", t, Kind::kScalar, {}, ""}, {"x", DType::kFloat32, Kind::kCounted, {}, "n"}},
               "counter of type " + std::string(dtype_name(t)));
  spec_error({{"n", DType::kInt32, Kind::kFixedArray, {2}, ""}, {"x", DType::kFloat32, Kind::kCounted, {}, "n"}},
             "counter is a fixed array");
  spec_error({{"n", DType::kInt32, Kind::kVector, {}, ""}, {"x", DType::kFloat32, Kind::kCounted, {}, "n"}},
             "counter is a vector");
  spec_error({{"n", DType::kInt32, Kind::kScalar, {}, ""},
              {"c", DType::kInt32, Kind::kCounted, {}, "n"},
              {"x", DType::kFloat32, Kind::kCounted, {}, "c"}},
             "counter is itself counted");
  spec_error({{"x", DType::kFloat32, Kind::kScalar, {}, ""}, {"x", DType::kFloat64, Kind::kScalar, {}, ""}},
             "duplicate name");
  spec_error({{"", DType::kFloat32, Kind::kScalar, {}, ""}}, "empty name");
  spec_error({{"x", DType::kFloat32, Kind::kFixedArray, {0}, ""}}, "zero dimension");
  spec_error({{"x", DType::kFloat32, Kind::kFixedArray, {3, -1}, ""}}, "negative dimension");
  spec_error({{"x", DType::kChar, Kind::kScalar, {}, ""}}, "char scalar");
  spec_error({{"x", DType::kChar, Kind::kVector, {}, ""}}, "vector of char");
  // The file is still usable after the rejected specs.
  write_tree(file, "T", counted_specs(), {counted_chunk()});
  file.close();
  auto back = read_all(dir.file("x.root"), "T");
  auto want = counted_chunk();
  for (std::size_t k = 0; k < want.size(); ++k) EXPECT_TRUE(same_column(back[k], want[k])) << k;
}

TEST(WriterRejects, InvalidAppendsAndNothingUnderTheFinalName) {
  TempDir dir("badappend");
  const std::string path = dir.file("bad.root");
  using E = m4h::ErrorCode;
  {
    FileWriter file(path, {Codec::kZlib, 1});
    TreeWriter t(file, "T", "", counted_specs(), {64, 0});
    auto bad = [&](const std::string& what, auto&& mutate) {
      auto cols = counted_chunk();
      mutate(cols);
      expect_error(E::kInvalidArgument, [&] { t.append(cols); }, what);
    };
    bad("too few columns", [](auto& c) { c.pop_back(); });
    bad("too many columns", [](auto& c) { c.push_back(c[0]); });
    bad("mismatched entry counts", [](auto& c) { c[2] = c[2].slice(0, 1); });
    bad("mismatched entry field", [](auto& c) { c[3].entries = 3; });
    bad("wrong dtype (counter)", [](auto& c) { c[0].dtype = DType::kUInt32; });
    bad("wrong dtype (fixed)", [](auto& c) { c[2].dtype = DType::kUInt16; });
    bad("wrong dtype (vector)", [](auto& c) { c[3].dtype = DType::kFloat32; c[3].values.resize(4); });
    bad("wrong dtype (string)", [](auto& c) { c[4].dtype = DType::kUInt8; });
    bad("jagged column for a scalar", [](auto& c) { c[0] = jagged_column<int32_t>(DType::kInt32, {{2}, {0}}); });
    bad("flat column for a vector", [](auto& c) { c[3] = flat_column<double>(DType::kFloat64, {1.0, 2.0}); });
    bad("flat column for a string", [](auto& c) { c[4] = flat_column<char>(DType::kChar, {'a', 'b'}); });
    bad("wrong fixed shape", [](auto& c) { c[2].shape = {3, 2}; });
    bad("no shape for a fixed array", [](auto& c) {
      c[2].shape = {};
      c[2].values.resize(2 * 2);
    });
    bad("shape on a jagged column", [](auto& c) { c[1].shape = {1}; });
    bad("two offset levels", [](auto& c) { c[3].offsets.push_back({0, 1}); });
    bad("offsets of the wrong length", [](auto& c) { c[3].offsets[0].push_back(1); });
    bad("too few values", [](auto& c) { c[2].values.resize(c[2].values.size() - 2); });
    bad("too many values", [](auto& c) { c[3].values.resize(c[3].values.size() + 8); });
    bad("counts disagree with the counter", [](auto& c) { c[0] = flat_column<int32_t>(DType::kInt32, {1, 1}); });
    bad("negative count", [](auto& c) { c[0] = flat_column<int32_t>(DType::kInt32, {-1, 3}); });
    // A rejected append changes nothing: valid data after it reads back alone.
    t.append(counted_chunk());
    t.close();
    expect_error(E::kInvalidArgument, [&] { t.append(counted_chunk()); }, "append after close");
    // No file.close(): the FileWriter goes away with the tree written into the temporary file.
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(dir.path())) << "the temporary file was left behind";

  // The same appends, then closed: the valid data only.
  {
    FileWriter file(path, {Codec::kZlib, 1});
    TreeWriter t(file, "T", "", counted_specs(), {64, 0});
    auto cols = counted_chunk();
    cols[0] = flat_column<int32_t>(DType::kInt32, {1, 1});
    expect_error(E::kInvalidArgument, [&] { t.append(cols); }, "counts disagree");
    t.append(counted_chunk());
    t.close();
    file.close();
  }
  auto back = read_all(path, "T");
  auto want = counted_chunk();
  for (std::size_t k = 0; k < want.size(); ++k) EXPECT_TRUE(same_column(back[k], want[k])) << k;
}

// Columns whose offsets are not a valid jagged layout (not starting at 0, decreasing), or whose
// value bytes are not a whole number of values, must be rejected, not read out of bounds.
TEST(WriterRejects, MalformedColumns) {
  TempDir dir("badoffsets");
  FileWriter file(dir.file("o.root"), {Codec::kNone, 0});
  TreeWriter t(file, "T", "", {{"v", DType::kFloat64, Kind::kVector, {}, ""},
                               {"s", DType::kChar, Kind::kString, {}, ""},
                               {"x", DType::kFloat64, Kind::kScalar, {}, ""}});
  auto good = [] {
    return std::vector<Column>{jagged_column<double>(DType::kFloat64, {{1.0}, {2.0}}), string_column({"a", "b"}),
                               flat_column<double>(DType::kFloat64, {1.0, 2.0})};
  };
  auto cols = good();
  cols[0].offsets[0] = {1, 2, 3};  // 2 values as the counts say, but indexed from 1
  expect_error(m4h::ErrorCode::kInvalidArgument, [&] { t.append(cols); }, "vector offsets from 1");
  cols = good();
  cols[0].offsets[0] = {0, 3, 2};  // decreasing
  expect_error(m4h::ErrorCode::kInvalidArgument, [&] { t.append(cols); }, "decreasing vector offsets");
  cols = good();
  cols[1].offsets[0] = {0, 3, 2};
  expect_error(m4h::ErrorCode::kInvalidArgument, [&] { t.append(cols); }, "decreasing string offsets");
  cols = good();
  cols[2].values.resize(17);  // two float64 and one stray byte
  expect_error(m4h::ErrorCode::kInvalidArgument, [&] { t.append(cols); }, "17 value bytes for 2 float64");
}

// Closing the file before its trees: the tree's close() (or destructor) must not write through
// the closed FileWriter.
TEST(WriterRejects, TreeClosedAfterItsFile) {
  TempDir dir("order");
  FileWriter file(dir.file("o.root"), {Codec::kZlib, 1});
  TreeWriter t(file, "T", "", {{"x", DType::kFloat64, Kind::kScalar, {}, ""}});
  t.append(std::vector<Column>{flat_column<double>(DType::kFloat64, {1.0})});
  try {
    file.close();  // either refuses while a tree is open ...
  } catch (const m4h::Error& e) {
    EXPECT_EQ(e.code(), m4h::ErrorCode::kInvalidArgument) << e.what();
    t.close();
    file.close();
    EXPECT_EQ(read_all(dir.file("o.root"), "T")[0].value<double>(0), 1.0);
    return;
  }
  // ... or the late tree close is an error, not a crash.
  expect_error(m4h::ErrorCode::kInvalidArgument, [&] { t.close(); }, "tree closed after its file");
}

// Two writers of the same path at once (one process) each write their own temporary file; the
// last to close wins, whole, and no temporary file is left behind.
TEST(WriterEdgeCase, TwoWritersOfOnePath) {
  TempDir dir("twowriters");
  const std::string path = dir.file("same.root");
  {
    FileWriter a(path, {Codec::kZlib, 1});
    FileWriter b(path, {Codec::kZstd, 1});
    TreeWriter ta(a, "A", "", {{"x", DType::kFloat64, Kind::kScalar, {}, ""}});
    TreeWriter tb(b, "B", "", {{"y", DType::kInt32, Kind::kScalar, {}, ""}});
    for (int k = 0; k < 50; ++k) {
      ta.append(std::vector<Column>{flat_column<double>(DType::kFloat64, std::vector<double>(1000, 1.5 * k))});
      tb.append(std::vector<Column>{flat_column<int32_t>(DType::kInt32, std::vector<int32_t>(1000, k))});
    }
    ta.close();
    tb.close();
    a.close();
    b.close();
  }
  auto back = read_all(path, "B");
  ASSERT_EQ(back[0].entries, 50000);
  EXPECT_EQ(back[0].value<int32_t>(49999), 49);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1) << "temporary files left behind";
}

TEST(WriterRejects, NoFileUnderTheFinalNameWithoutClose) {
  TempDir dir("noclose");
  const std::string path = dir.file("x.root");
  // An older file under the name stays as it was.
  { std::ofstream(path) << "previous contents"; }
  {
    FileWriter file(path, {Codec::kZstd, 3});
    Gen g(1);
    const auto specs = all_kinds_specs(g);
    TreeWriter t(file, "T", "", specs, {100, file.mkdir("d")});
    t.append(random_chunk(g, specs, 300));
    // TreeWriter's destructor closes the tree; the file is never closed.
  }
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  EXPECT_EQ(s, "previous contents");
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    ++n;
    EXPECT_EQ(e.path().string(), path);
  }
  EXPECT_EQ(n, 1u) << "the temporary file was left behind";
  // And close() replaces it.
  {
    FileWriter file(path, {Codec::kNone, 0});
    write_tree(file, "T", {{"x", DType::kInt8, Kind::kScalar, {}, ""}}, {{flat_column<int8_t>(DType::kInt8, {5})}});
    file.close();
  }
  EXPECT_EQ(read_all(path, "T")[0].value<int8_t>(0), 5);
}

TEST(WriterRejects, UnwritablePlacesAreIoErrors) {
  using E = m4h::ErrorCode;
  TempDir dir("unwritable");
  expect_error(E::kIo, [] { FileWriter f("/nonexistent-m4h-dir/x.root", {Codec::kZlib, 1}); }, "missing directory");
  expect_error(E::kIo, [] { FileWriter f("/proc/m4h-x.root", {Codec::kZlib, 1}); }, "/proc");
  { std::ofstream(dir.file("plain")) << "x"; }
  expect_error(E::kIo, [&] { FileWriter f(dir.file("plain") + "/x.root", {Codec::kZlib, 1}); }, "parent is a file");
  if (::geteuid() != 0) {  // root ignores permission bits
    fs::create_directories(dir.path() / "ro");
    fs::permissions(dir.path() / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    expect_error(E::kIo, [&] { FileWriter f((dir.path() / "ro" / "x.root").string(), {Codec::kZlib, 1}); },
                 "read-only directory");
    fs::permissions(dir.path() / "ro", fs::perms::owner_all);
  }
}

// A write that fails with a pool (the file passes RLIMIT_FSIZE, as on a full disk; a worker or
// the caller may be the one writing) reaches the caller as an I/O error naming the file, from
// append() or close(); the writer's tasks are waited for, and nothing is left under the final
// name or the temporary one.
TEST(WriterRejects, AWriteFailingWithAPoolIsReportedAndNothingIsLeft) {
  TempDir dir("fsize");
  const std::string path = dir.file("full.root");
  Gen g(5);
  const auto specs = all_kinds_specs(g);
  std::vector<std::vector<Column>> chunks;
  for (int i = 0; i < 40; ++i) chunks.push_back(random_chunk(g, specs, 200));
  m4h::ThreadPool pool(2);
  struct rlimit before {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // else the write past the limit kills us
  struct rlimit capped = before;
  capped.rlim_cur = 64 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &capped), 0);
  std::string error;
  try {
    FileWriter file(path, {Codec::kLz4, 1});  // random values: stored almost as they are
    TreeWriter t(file, "T", "", specs, {512, 0, &pool, 4096});
    for (const auto& c : chunks) t.append(c);
    t.close();
    file.close();
  } catch (const m4h::Error& e) {
    EXPECT_EQ(e.code(), m4h::ErrorCode::kIo) << e.what();
    error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(error.find("full.root"), std::string::npos) << "no I/O error, or not naming the file: " << error;
  EXPECT_NE(error.find("write failed"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(dir.path())) << "the temporary file was left behind";
}

// ------------------------------------------------------------------------------------------
// Fixtures for tests/oracle/writer_oracle.sh: one file per codec with every dtype in every kind,
// several baskets per branch, a second tree in a subdirectory. Skipped unless
// M4H_WRITER_FIXTURES names the output folder.
TEST(WriterJsrootFixtures, WriteFiles) {
  const char* out = std::getenv("M4H_WRITER_FIXTURES");
  if (!out || !*out) GTEST_SKIP() << "set M4H_WRITER_FIXTURES (tests/oracle/writer_oracle.sh does)";
  const CodecCase codecs[] = {{Codec::kNone, 0}, {Codec::kZlib, 1}, {Codec::kZlib, 6}, {Codec::kLz4, 4},
                              {Codec::kZstd, 5}, {Codec::kLzma, 6}};
  for (const auto& cc : codecs) {
    Gen g(42 + static_cast<uint64_t>(cc.level), /*json=*/true);
    auto specs = all_kinds_specs(g, true, 2);
    const std::string path = std::string(out) + "/written-" + std::string(codec_name(cc.codec)) + "-" +
                             std::to_string(cc.level) + ".root";
    FileWriter file(path, {cc.codec, cc.level});
    std::vector<std::vector<Column>> chunks;
    for (int a = 0; a < 4; ++a) chunks.push_back(random_chunk(g, specs, g.uniform(1, 200)));
    write_tree(file, "T", specs, chunks, {1500, 0});
    auto sub_specs = all_kinds_specs(g, false, 2);
    write_tree(file, "T2", sub_specs, {random_chunk(g, sub_specs, 50)}, {32000, file.mkdir("sub")});
    file.close();
  }
}

}  // namespace
