#include "root/tree_writer.h"

#include "core/thread_pool.h"

#include <algorithm>

#include "core/error.h"
#include "root/cursor.h"
#include "root/known_streamers.h"
#include "root/object_writer.h"
#include "root/sink.h"

namespace m4h::root {

namespace {

constexpr int kEntryOffsetLen = 1000;  // what ROOT uses for variable-size branches

struct LeafType {
  const char* leaf_class;
  char code;  // the letter in "name/F"
  bool is_unsigned;
  int ctype;                 // ROOT's element type code, for vector<T> streamer infos
  const char* vector_name;   // "vector<float>"
};

LeafType leaf_type(DType t) {
  switch (t) {
    case DType::kBool: return {"TLeafO", 'O', false, 18, "vector<bool>"};
    case DType::kInt8: return {"TLeafB", 'B', false, 1, "vector<char>"};
    case DType::kUInt8: return {"TLeafB", 'b', true, 11, "vector<unsigned char>"};
    case DType::kInt16: return {"TLeafS", 'S', false, 2, "vector<short>"};
    case DType::kUInt16: return {"TLeafS", 's', true, 12, "vector<unsigned short>"};
    case DType::kInt32: return {"TLeafI", 'I', false, 3, "vector<int>"};
    case DType::kUInt32: return {"TLeafI", 'i', true, 13, "vector<unsigned int>"};
    case DType::kInt64: return {"TLeafL", 'L', false, 16, "vector<Long64_t>"};
    case DType::kUInt64: return {"TLeafL", 'l', true, 17, "vector<ULong64_t>"};
    case DType::kFloat32: return {"TLeafF", 'F', false, 5, "vector<float>"};
    case DType::kFloat64: return {"TLeafD", 'D', false, 8, "vector<double>"};
    case DType::kChar: return {"TLeafC", 'C', false, 0, ""};
  }
  return {"", '?', false, 0, ""};
}

// Appends n native values from src as big-endian bytes.
void put_values(std::vector<uint8_t>& out, const uint8_t* src, int64_t n, int size) {
  if (n <= 0) return;  // src may be null for an empty column
  std::size_t at = out.size();
  out.resize(at + static_cast<std::size_t>(n) * size);
  swap_copy(out.data() + at, src, n, size);
}

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  v = __builtin_bswap32(v);
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + 4);
}

ObjectPtr make(const std::string& cls, int version = 0) {
  auto o = std::make_shared<Object>();
  o->class_name = cls;
  o->version = version;
  return o;
}

ObjectPtr empty_array() { return make("TObjArray", 3); }

}  // namespace

struct TreeWriter::Branch {
  BranchSpec spec;
  Branch* counter = nullptr;
  bool variable = false;     // entries of different sizes: baskets carry entry offsets
  int64_t entry_size = 0;    // fixed-size entries
  std::vector<uint8_t> data;
  std::vector<int32_t> offsets;
  int64_t basket_entries = 0;
  std::vector<int64_t> basket_bytes, basket_entry{0}, basket_seek;
  int64_t entries = 0;
  int64_t tot_bytes = 0, zip_bytes = 0;
  int64_t max_count = 0;  // for counters: the largest count written
  bool is_counter = false;
  ObjectPtr leaf;
};

TreeWriter::TreeWriter(FileWriter& file, std::string name, std::string title,
                       std::vector<BranchSpec> branches, TreeWriterOptions options)
    : file_(file), name_(std::move(name)), title_(std::move(title)), options_(options) {
  for (auto& spec : branches) {
    auto b = std::make_unique<Branch>();
    const std::string context = "tree '" + name_ + "' branch '" + spec.name + "'";
    if (spec.name.empty()) throw Error(ErrorCode::kInvalidArgument, "tree '" + name_ + "': empty branch name");
    for (const auto& other : branches_)
      if (other->spec.name == spec.name)
        throw Error(ErrorCode::kInvalidArgument, context + ": declared twice");
    int size = dtype_size(spec.dtype);
    switch (spec.kind) {
      case BranchSpec::Kind::kScalar:
      case BranchSpec::Kind::kFixedArray: {
        int64_t n = 1;
        for (int d : spec.shape) {
          if (d <= 0) throw Error(ErrorCode::kInvalidArgument, context + ": dimensions must be positive");
          n *= d;
        }
        if (spec.kind == BranchSpec::Kind::kScalar) spec.shape.clear(), n = 1;
        if (spec.dtype == DType::kChar) throw Error(ErrorCode::kInvalidArgument, context + ": char values need kString");
        b->entry_size = n * size;
        break;
      }
      case BranchSpec::Kind::kCounted: {
        for (const auto& other : branches_)
          if (other->spec.name == spec.counter) b->counter = other.get();
        if (!b->counter || b->counter->spec.kind != BranchSpec::Kind::kScalar ||
            (b->counter->spec.dtype != DType::kInt32 && b->counter->spec.dtype != DType::kUInt32))
          throw Error(ErrorCode::kInvalidArgument,
                      context + ": counter '" + spec.counter + "' must be an int32 scalar branch declared before it");
        b->counter->is_counter = true;
        b->variable = true;
        break;
      }
      case BranchSpec::Kind::kVector:
        if (spec.dtype == DType::kChar) throw Error(ErrorCode::kInvalidArgument, context + ": use kString for strings");
        b->variable = true;
        break;
      case BranchSpec::Kind::kString:
        spec.dtype = DType::kChar;
        b->variable = true;
        break;
    }
    b->spec = std::move(spec);
    branches_.push_back(std::move(b));
  }
}

TreeWriter::~TreeWriter() {
  try {
    close();
  } catch (...) {
  }
}

void TreeWriter::append(std::span<const Column> columns) {
  if (closed_) throw Error(ErrorCode::kInvalidArgument, "tree '" + name_ + "' is closed");
  if (columns.size() != branches_.size())
    throw Error(ErrorCode::kInvalidArgument, "tree '" + name_ + "': " + std::to_string(columns.size()) +
                                                 " columns for " + std::to_string(branches_.size()) + " branches");
  const int64_t n = columns.empty() ? 0 : columns[0].entries;
  // Validate everything before writing anything.
  for (std::size_t k = 0; k < columns.size(); ++k) {
    const Column& c = columns[k];
    const Branch& b = *branches_[k];
    const std::string context = "tree '" + name_ + "' branch '" + b.spec.name + "'";
    if (c.entries != n)
      throw Error(ErrorCode::kInvalidArgument, context + ": " + std::to_string(c.entries) +
                                                   " entries, the first column has " + std::to_string(n));
    if (c.dtype != b.spec.dtype)
      throw Error(ErrorCode::kInvalidArgument, context + ": column type " + std::string(dtype_name(c.dtype)) +
                                                   ", branch type " + std::string(dtype_name(b.spec.dtype)));
    bool jagged = b.variable;
    if (static_cast<int>(c.offsets.size()) != (jagged ? 1 : 0) ||
        (!jagged && c.shape != b.spec.shape) || (jagged && !c.shape.empty()))
      throw Error(ErrorCode::kInvalidArgument, context + ": column layout does not match the branch");
    if (jagged && static_cast<int64_t>(c.offsets[0].size()) != n + 1)
      throw Error(ErrorCode::kInvalidArgument, context + ": offsets do not have entries + 1 elements");
    if (jagged) {
      const auto& off = c.offsets[0];
      if (off.front() != 0 || !std::is_sorted(off.begin(), off.end()))
        throw Error(ErrorCode::kInvalidArgument, context + ": offsets must start at 0 and never decrease");
    }
    if (c.values.size() % dtype_size(c.dtype) != 0)
      throw Error(ErrorCode::kInvalidArgument, context + ": values are not a whole number of items");
    int64_t expected_values = jagged ? c.offsets[0].back() - c.offsets[0].front() : n * c.items_per_value();
    if (c.value_count() != expected_values)
      throw Error(ErrorCode::kInvalidArgument, context + ": " + std::to_string(c.value_count()) +
                                                   " values, the layout needs " + std::to_string(expected_values));
    if (b.counter) {
      std::size_t ci = 0;
      while (branches_[ci].get() != b.counter) ++ci;
      const Column& counts = columns[ci];
      for (int64_t i = 0; i < n; ++i) {
        int64_t want = counts.dtype == DType::kInt32 ? counts.value<int32_t>(i) : counts.value<uint32_t>(i);
        if (c.offsets[0][i + 1] - c.offsets[0][i] != want)
          throw Error(ErrorCode::kInvalidArgument,
                      context + ": entry " + std::to_string(entries_ + i) + " has " +
                          std::to_string(c.offsets[0][i + 1] - c.offsets[0][i]) + " values, counter '" +
                          b.counter->spec.name + "' says " + std::to_string(want));
      }
    }
  }
  for (std::size_t k = 0; k < columns.size(); ++k) {
    const Column& c = columns[k];
    Branch& b = *branches_[k];
    const int size = dtype_size(c.dtype);
    int64_t i = 0;
    while (i < n) {
      if (!b.variable) {
        // Fixed-size entries: convert as many as fit in the current basket at once.
        int64_t room = std::max<int64_t>(0, options_.basket_size - static_cast<int64_t>(b.data.size()));
        int64_t take = std::min(n - i, std::max<int64_t>(1, (room + b.entry_size - 1) / b.entry_size));
        int64_t per = c.items_per_value();
        put_values(b.data, c.values.data() + i * per * size, take * per, size);
        if (b.is_counter)
          for (int64_t e = i; e < i + take; ++e) {
            int64_t v = c.dtype == DType::kInt32 ? c.value<int32_t>(e) : c.value<uint32_t>(e);
            b.max_count = std::max(b.max_count, v);
          }
        b.basket_entries += take;
        b.entries += take;
        i += take;
      } else {
        b.offsets.push_back(static_cast<int32_t>(b.data.size()));
        int64_t lo = c.offsets[0][i], hi = c.offsets[0][i + 1];
        switch (b.spec.kind) {
          case BranchSpec::Kind::kVector:
            // Byte count (version + size + values), the vector's class version, the size.
            put_be32(b.data, static_cast<uint32_t>(2 + 4 + (hi - lo) * size) | kByteCountMask);
            b.data.push_back(0);
            b.data.push_back(6);
            put_be32(b.data, static_cast<uint32_t>(hi - lo));
            put_values(b.data, c.values.data() + lo * size, hi - lo, size);
            break;
          case BranchSpec::Kind::kString: {
            int64_t len = hi - lo;
            if (len < 255) {
              b.data.push_back(static_cast<uint8_t>(len));
            } else {
              b.data.push_back(255);
              put_be32(b.data, static_cast<uint32_t>(len));
            }
            b.data.insert(b.data.end(), c.values.begin() + lo, c.values.begin() + hi);
            break;
          }
          default:  // counted
            put_values(b.data, c.values.data() + lo * size, hi - lo, size);
        }
        ++b.basket_entries;
        ++b.entries;
        ++i;
      }
      if (static_cast<int64_t>(b.data.size()) >= options_.basket_size) flush(b);
    }
  }
  entries_ += n;
}

void TreeWriter::flush(Branch& b) {
  if (b.basket_entries == 0) return;
  const int keylen = FileWriter::basket_key_length(b.spec.name, name_);
  const std::size_t data_size = b.data.size();
  if (b.variable) {  // entry offsets follow the data in the same buffer
    put_be32(b.data, static_cast<uint32_t>(b.basket_entries + 1));
    for (int32_t o : b.offsets) put_be32(b.data, static_cast<uint32_t>(o + keylen));
    put_be32(b.data, 0);
  }
  Sealed s;
  s.branch = &b;
  Sink fields;
  fields.u16(3);  // TBasket version
  fields.i32(static_cast<int32_t>(std::max<int64_t>(options_.basket_size, static_cast<int64_t>(b.data.size()) + keylen)));
  fields.i32(b.variable ? kEntryOffsetLen : static_cast<int32_t>(b.entry_size));
  fields.i32(static_cast<int32_t>(b.basket_entries));
  fields.i32(static_cast<int32_t>(keylen + data_size));
  fields.u8(0);
  s.fields.assign(fields.bytes().begin(), fields.bytes().end());
  s.payload = std::move(b.data);
  b.data = {};
  b.data.reserve(static_cast<std::size_t>(options_.basket_size) + 64);
  b.basket_entry.push_back(b.entries);
  b.offsets.clear();
  b.basket_entries = 0;
  sealed_bytes_ += static_cast<int64_t>(s.payload.size());
  sealed_.push_back(std::move(s));
  // Without a pool each basket is written as it fills; with one, batches big enough to keep
  // every thread busy (and memory bounded).
  const bool compressing = file_.compression().codec != Codec::kNone && file_.compression().level > 0;
  if (!options_.pool || !compressing || sealed_bytes_ >= options_.batch_bytes) write_sealed();
}

void TreeWriter::write_sealed() {
  if (sealed_.empty()) return;
  const CompressionSettings cs = file_.compression();
  auto compress_one = [&](std::size_t i) { sealed_[i].stored = compress(cs, sealed_[i].payload); };
  if (options_.pool && sealed_.size() > 1) {
    options_.pool->parallel_for(sealed_.size(), compress_one);
  } else {
    for (std::size_t i = 0; i < sealed_.size(); ++i) compress_one(i);
  }
  for (auto& s : sealed_) {
    Branch& b = *s.branch;
    auto w = file_.write_compressed_basket(b.spec.name, name_, options_.directory, s.fields, s.stored,
                                           static_cast<int64_t>(s.payload.size()));
    b.basket_bytes.push_back(w.nbytes);
    b.basket_seek.push_back(w.seek);
    b.tot_bytes += w.objlen + w.keylen;
    b.zip_bytes += w.nbytes;
  }
  sealed_.clear();
  sealed_bytes_ = 0;
}

void TreeWriter::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& b : branches_) flush(*b);
  write_sealed();

  const auto& known = known_streamers();
  for (const char* cls : {"TObject", "TNamed", "TAttLine", "TAttFill", "TAttMarker",
                          "ROOT::TIOFeatures", "TTree", "TBranch", "TLeaf"})
    file_.add_streamer(*known.find(cls));

  auto branches = empty_array();
  auto leaves = empty_array();
  int64_t tot = 0, zip = 0;
  for (auto& bp : branches_) {
    Branch& b = *bp;
    const LeafType lt = leaf_type(b.spec.dtype);
    const bool element = b.spec.kind == BranchSpec::Kind::kVector || b.spec.kind == BranchSpec::Kind::kString;
    std::string dims;
    for (int d : b.spec.shape) dims += "[" + std::to_string(d) + "]";
    if (b.spec.kind == BranchSpec::Kind::kCounted) dims = "[" + b.spec.counter + "]";

    // The leaf.
    auto leaf = make(element ? "TLeafElement" : lt.leaf_class);
    leaf->set("fName", b.spec.name);
    leaf->set("fTitle", b.spec.name + dims);
    int64_t len = 1;
    for (int d : b.spec.shape) len *= d;
    leaf->set("fLen", len);
    leaf->set("fLenType", element ? int64_t{0} : int64_t{dtype_size(b.spec.dtype)});
    leaf->set("fOffset", int64_t{0});
    leaf->set("fIsRange", int64_t{b.is_counter ? 1 : 0});
    leaf->set("fIsUnsigned", int64_t{lt.is_unsigned ? 1 : 0});
    leaf->set("fLeafCount", b.counter ? b.counter->leaf : ObjectPtr{});
    if (element) {
      leaf->set("fID", int64_t{-1});
      leaf->set("fType", int64_t{-1});
    } else {
      leaf->set("fMinimum", int64_t{0});
      leaf->set("fMaximum", b.is_counter ? b.max_count : int64_t{0});
    }
    b.leaf = leaf;
    file_.add_streamer(*known.find(leaf->class_name));

    // The branch.
    auto br = make(element ? "TBranchElement" : "TBranch");
    br->set("fName", b.spec.name);
    br->set("fTitle", element ? b.spec.name : b.spec.name + dims + "/" + std::string(1, lt.code));
    br->set("fFillColor", int64_t{0});
    br->set("fFillStyle", int64_t{1001});
    br->set("fCompress", int64_t{file_.compression().to_root()});
    br->set("fBasketSize", options_.basket_size);
    br->set("fEntryOffsetLen", int64_t{b.variable ? kEntryOffsetLen : 0});
    const int64_t nbaskets = static_cast<int64_t>(b.basket_seek.size());
    br->set("fWriteBasket", nbaskets);
    br->set("fEntryNumber", b.entries);
    auto io = make("ROOT::TIOFeatures");
    io->set("fIOBits", int64_t{0});
    br->set("fIOFeatures", io);
    br->set("fOffset", int64_t{0});
    const int64_t max_baskets = std::max<int64_t>(10, nbaskets + 1);
    br->set("fMaxBaskets", max_baskets);
    br->set("fSplitLevel", int64_t{element ? 99 : 0});
    br->set("fEntries", b.entries);
    br->set("fFirstEntry", int64_t{0});
    br->set("fTotBytes", b.tot_bytes);
    br->set("fZipBytes", b.zip_bytes);
    br->set("fBranches", empty_array());
    auto branch_leaves = empty_array();
    branch_leaves->items.push_back(leaf);
    br->set("fLeaves", branch_leaves);
    br->set("fBaskets", empty_array());
    std::vector<int64_t> bytes(max_baskets, 0), entry(max_baskets, 0), seek(max_baskets, 0);
    for (int64_t i = 0; i < nbaskets; ++i) {
      bytes[i] = b.basket_bytes[i];
      seek[i] = b.basket_seek[i];
    }
    for (int64_t i = 0; i <= nbaskets; ++i) entry[i] = b.basket_entry[i];
    br->set("fBasketBytes", bytes);
    br->set("fBasketEntry", entry);
    br->set("fBasketSeek", seek);
    br->set("fFileName", std::string());
    if (element) {
      const bool is_string = b.spec.kind == BranchSpec::Kind::kString;
      std::string cls = is_string ? "string" : lt.vector_name;
      br->set("fClassName", cls);
      br->set("fParentName", std::string());
      br->set("fClonesName", std::string());
      br->set("fCheckSum", int64_t{is_string ? 3464614887LL : stl_checksum(cls)});
      br->set("fClassVersion", int64_t{is_string ? 2 : 6});
      br->set("fID", int64_t{-1});
      br->set("fType", int64_t{0});
      br->set("fStreamerType", int64_t{-1});
      br->set("fMaximum", int64_t{0});
      file_.add_streamer(*known.find("TBranchElement"));
      if (!is_string) file_.add_streamer(stl_streamer_info(cls, lt.ctype));
    }
    branches->items.push_back(br);
    leaves->items.push_back(leaf);
    tot += b.tot_bytes;
    zip += b.zip_bytes;
  }

  auto tree = make("TTree", 20);
  tree->set("fName", name_);
  tree->set("fTitle", title_);
  tree->set("fLineColor", int64_t{602});
  tree->set("fLineStyle", int64_t{1});
  tree->set("fLineWidth", int64_t{1});
  tree->set("fFillColor", int64_t{0});
  tree->set("fFillStyle", int64_t{1001});
  tree->set("fMarkerColor", int64_t{1});
  tree->set("fMarkerStyle", int64_t{1});
  tree->set("fMarkerSize", 1.0);
  tree->set("fEntries", entries_);
  tree->set("fTotBytes", tot);
  tree->set("fZipBytes", zip);
  tree->set("fSavedBytes", zip);
  tree->set("fFlushedBytes", zip);
  tree->set("fWeight", 1.0);
  tree->set("fTimerInterval", int64_t{0});
  tree->set("fScanField", int64_t{25});
  tree->set("fUpdate", int64_t{0});
  tree->set("fDefaultEntryOffsetLen", int64_t{kEntryOffsetLen});
  tree->set("fNClusterRange", int64_t{0});
  tree->set("fMaxEntries", int64_t{1000000000000});
  tree->set("fMaxEntryLoop", int64_t{1000000000000});
  tree->set("fMaxVirtualSize", int64_t{0});
  tree->set("fAutoSave", int64_t{-300000000});
  tree->set("fAutoFlush", int64_t{-30000000});
  tree->set("fEstimate", int64_t{1000000});
  auto io = make("ROOT::TIOFeatures");
  io->set("fIOBits", int64_t{0});
  tree->set("fIOFeatures", io);
  tree->set("fBranches", branches);
  tree->set("fLeaves", leaves);
  tree->set("fIndexValues", make("TArrayD"));
  tree->set("fIndex", make("TArrayI"));

  const StreamerRegistry& reg = known;
  file_.write_object("TTree", name_, title_, options_.directory, [&](int keylen) {
    Sink s(keylen);
    ObjectWriter w(s, reg);
    w.write_object("TTree", *tree);
    return std::move(s.bytes());
  });
}

}  // namespace m4h::root
