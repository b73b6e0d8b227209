#include "root/tree_writer.h"

#include "core/thread_pool.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <atomic>
#include <cstring>

#include "core/error.h"
#include "root/cursor.h"
#include "root/entry_offsets.h"
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
void put_values(Bytes& out, const uint8_t* src, int64_t n, int size) {
  if (n <= 0) return;  // src may be null for an empty column
  std::size_t at = out.size();
  resize_bytes(out, at + static_cast<std::size_t>(n) * size);
  swap_copy(out.data() + at, src, n, size);
}

void store_be32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

void put_be32(Bytes& out, uint32_t v) {
  v = __builtin_bswap32(v);
  append_bytes(out, reinterpret_cast<const uint8_t*>(&v), 4);
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
  Bytes data;
  int keylen = 0;                 // of its baskets' keys
  UninitVector<int32_t> offsets;  // entries' positions in the basket's key (keylen + data offset)
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
    b->keylen = FileWriter::basket_key_length(b->spec.name, name_);
    branches_.push_back(std::move(b));
  }
}

TreeWriter::~TreeWriter() {
  try {
    close();
  } catch (...) {
  }
  wait_for_tasks();  // close() waits too, unless it was called before and threw
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
    if (jagged && c.offsets[0].front() != 0)
      throw Error(ErrorCode::kInvalidArgument, context + ": offsets must start at 0 and never decrease");
    if (c.values.size() % dtype_size(c.dtype) != 0)
      throw Error(ErrorCode::kInvalidArgument, context + ": values are not a whole number of items");
    int64_t expected_values = jagged ? c.offsets[0].back() - c.offsets[0].front() : n * c.items_per_value();
    if (c.value_count() != expected_values)
      throw Error(ErrorCode::kInvalidArgument, context + ": " + std::to_string(c.value_count()) +
                                                   " values, the layout needs " + std::to_string(expected_values));
    if (jagged) {
      // One branch-free pass over the offsets (they never decrease, and each entry's length is
      // its counter's value); the entry at fault is looked for only when one is.
      const int64_t* off = c.offsets[0].data();
      const Column* counts = nullptr;
      if (b.counter) {
        std::size_t ci = 0;
        while (branches_[ci].get() != b.counter) ++ci;
        counts = &columns[ci];
      }
      auto count_at = [&](int64_t i) -> int64_t {
        return counts->dtype == DType::kInt32 ? counts->value<int32_t>(i) : counts->value<uint32_t>(i);
      };
      const bool bad = counts ? !lengths_equal_counts(off, counts->values.data(), counts->dtype == DType::kInt32, n)
                              : !offsets_ascend(off, n);
      if (bad) {
        // Decreases first: past them offsets are >= 0 and ascending, so differences cannot overflow.
        for (int64_t i = 0; i < n; ++i) {
          if (off[i + 1] < off[i])
            throw Error(ErrorCode::kInvalidArgument, context + ": offsets must start at 0 and never decrease");
          if (counts && off[i + 1] - off[i] != count_at(i))
            throw Error(ErrorCode::kInvalidArgument,
                        context + ": entry " + std::to_string(entries_ + i) + " has " +
                            std::to_string(off[i + 1] - off[i]) + " values, counter '" + b.counter->spec.name +
                            "' says " + std::to_string(count_at(i)));
        }
        throw Error(ErrorCode::kInternal, context + ": offsets rejected, but no entry at fault found");
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
          b.max_count = std::max(b.max_count, largest_count(c.values.data() + 4 * i, c.dtype == DType::kInt32, take));
        b.basket_entries += take;
        b.entries += take;
        i += take;
      } else if (b.spec.kind == BranchSpec::Kind::kString) {
        b.offsets.push_back(static_cast<int32_t>(b.keylen + b.data.size()));
        const int64_t lo = c.offsets[0][i], len = c.offsets[0][i + 1] - lo;
        if (len < 255) {
          b.data.push_back(static_cast<uint8_t>(len));
        } else {
          b.data.push_back(255);
          put_be32(b.data, static_cast<uint32_t>(len));
        }
        append_bytes(b.data, c.values.data() + lo, static_cast<std::size_t>(len));
        ++b.basket_entries;
        ++b.entries;
        ++i;
      } else {
        // Lists of numbers: the entries up to the one that fills the basket are written at once
        // (one resize, one byte swap for a counted branch). The basket ends after the same
        // entry as when they were written one by one.
        const int64_t* off = c.offsets[0].data();
        const bool vector = b.spec.kind == BranchSpec::Kind::kVector;
        const int64_t header = vector ? 10 : 0;  // byte count, class version, size
        const int64_t room = options_.basket_size - static_cast<int64_t>(b.data.size());
        // Entries i..j-1 fill the basket: j is the first entry whose end reaches `room` (plus
        // one), found by bisection since the bytes up to an entry only grow.
        auto bytes_to = [&](int64_t e) { return header * (e - i) + (off[e] - off[i]) * size; };
        int64_t lo = i + 1, hi = n;  // the answer lies in [lo, hi]
        while (lo < hi) {
          const int64_t mid = lo + (hi - lo) / 2;
          if (bytes_to(mid) >= room) hi = mid;
          else lo = mid + 1;
        }
        const int64_t j = lo;
        const int64_t bytes = bytes_to(j);
        const std::size_t at = b.data.size();
        resize_bytes(b.data, at + static_cast<std::size_t>(bytes));
        uint8_t* p = b.data.data() + at;
        const std::size_t first_offset = b.offsets.size();
        b.offsets.resize(first_offset + static_cast<std::size_t>(j - i));
        int32_t* entry_at = b.offsets.data() + first_offset;
        if (!vector) {
          const int shift = size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;
          scaled_positions(entry_at, off + i, j - i, b.keylen + static_cast<int64_t>(at) - off[i] * size, shift);
          if (off[j] > off[i]) swap_copy(p, c.values.data() + off[i] * size, off[j] - off[i], size);
        } else {
          for (int64_t e = i; e < j; ++e) {
            entry_at[e - i] = static_cast<int32_t>(b.keylen + (p - b.data.data()));
            const int64_t count = off[e + 1] - off[e];
            store_be32(p, static_cast<uint32_t>(2 + 4 + count * size) | kByteCountMask);
            p[4] = 0;
            p[5] = 6;
            store_be32(p + 6, static_cast<uint32_t>(count));
            p += header;
            if (count > 0) swap_copy(p, c.values.data() + off[e] * size, count, size);
            p += count * size;
          }
        }
        b.basket_entries += j - i;
        b.entries += j - i;
        i = j;
      }
      if (static_cast<int64_t>(b.data.size()) >= options_.basket_size) flush(b);
    }
  }
  entries_ += n;
}

void TreeWriter::flush(Branch& b) {
  if (b.basket_entries == 0) return;
  const int keylen = b.keylen;
  const std::size_t data_size = b.data.size();
  if (b.variable) {  // entry offsets follow the data in the same buffer
    const std::size_t at = b.data.size();
    resize_bytes(b.data, at + 4 * (b.offsets.size() + 2));
    uint8_t* p = b.data.data() + at;
    store_be32(p, static_cast<uint32_t>(b.basket_entries + 1));
    swap_copy(p + 4, reinterpret_cast<const uint8_t*>(b.offsets.data()), static_cast<int64_t>(b.offsets.size()), 4);
    store_be32(p + 4 + 4 * b.offsets.size(), 0);
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
  b.data = spare_buffer();
  b.basket_entry.push_back(b.entries);
  b.offsets.clear();
  b.basket_entries = 0;
  const bool compressing = file_.compression().codec != Codec::kNone && file_.compression().level > 0;
  if (!options_.pool || !compressing) {
    s.stored = spare_buffer();
    s.compressed = compress_into(file_.compression(), s.payload, s.stored);
    write(s);
    std::lock_guard lock(mutex_);
    recycle(s);  // its buffers, warm in cache, take the next basket
    return;
  }
  open_bytes_ += static_cast<int64_t>(s.payload.size());
  open_.push_back(std::move(s));
  // Tasks of batch_bytes / 8 (512 KB by default, at most 1 MB): enough to amortise a hand-off,
  // small enough to keep both threads busy.
  if (open_bytes_ >= std::clamp<int64_t>(options_.batch_bytes / 8, 1, 1 << 20)) submit_open_batch();
  drain(std::max(options_.batch_bytes, 4 * options_.basket_size));
}

struct TreeWriter::Batch {
  std::vector<Sealed> baskets;
  int64_t bytes = 0;
  CompressionSettings cs;
  std::atomic<bool> taken{false};  // by a worker or by the calling thread, whoever comes first
  bool compressed = false;         // (or failed: `error`) guarded by the writer's mutex_
  std::exception_ptr error;
};

void TreeWriter::compress(Batch& batch) {
  std::exception_ptr error;
  try {
    for (auto& s : batch.baskets) s.compressed = compress_into(batch.cs, s.payload, s.stored);
  } catch (...) {
    error = std::current_exception();
  }
  std::lock_guard lock(mutex_);
  batch.error = error;
  batch.compressed = true;
  progress_.notify_all();
}

void TreeWriter::submit_open_batch() {
  if (open_.empty()) return;
  auto batch = std::make_shared<Batch>();
  batch->baskets = std::move(open_);
  for (auto& s : batch->baskets) s.stored = spare_buffer();  // the workers allocate nothing
  batch->bytes = open_bytes_;
  batch->cs = file_.compression();
  open_.clear();
  open_bytes_ = 0;
  {
    std::lock_guard lock(mutex_);
    in_flight_bytes_ += batch->bytes;
    in_flight_.push_back(batch);
    ++tasks_running_;
  }
  // The task may outlive the batch's turn (the caller took it), never the writer: close() and
  // the destructor wait for every task.
  try {
    options_.pool->submit([this, batch] {
      if (!batch->taken.exchange(true)) compress(*batch);
      write_ready_batches();
      std::lock_guard lock(mutex_);
      --tasks_running_;
      progress_.notify_all();
    });
  } catch (...) {
    std::lock_guard lock(mutex_);
    --tasks_running_;  // the batch stays in flight, for the caller to compress
    throw;
  }
}

void TreeWriter::write_ready_batches() {
  std::unique_lock lock(mutex_);
  if (writing_) return;  // that thread looks at the next batch before it stops
  writing_ = true;
  while (!failure_ && !in_flight_.empty() && in_flight_.front()->compressed) {
    std::shared_ptr<Batch> batch = in_flight_.front();
    lock.unlock();
    std::exception_ptr error = batch->error;
    if (!error) {
      try {
        for (auto& s : batch->baskets) write(s);
      } catch (...) {
        error = std::current_exception();
      }
    }
    lock.lock();
    in_flight_.pop_front();
    in_flight_bytes_ -= batch->bytes;
    for (auto& s : batch->baskets) recycle(s);
    if (error) failure_ = error;
    progress_.notify_all();
  }
  writing_ = false;
}

void TreeWriter::drain(int64_t limit) {
  std::unique_lock lock(mutex_);
  while (!failure_ && !in_flight_.empty() && in_flight_bytes_ > limit) {
    // Compress the oldest batch no worker has started: do not wait for one.
    std::shared_ptr<Batch> todo;
    for (auto& b : in_flight_)
      if (!b->taken.exchange(true)) {
        todo = b;
        break;
      }
    if (todo) {
      lock.unlock();
      compress(*todo);
      write_ready_batches();
      lock.lock();
    } else if (!writing_ && in_flight_.front()->compressed) {
      lock.unlock();
      write_ready_batches();
      lock.lock();
    } else {
      progress_.wait(lock);  // workers are compressing or writing everything in flight
    }
  }
  if (failure_) std::rethrow_exception(failure_);
}

void TreeWriter::wait_for_tasks() {
  std::unique_lock lock(mutex_);
  progress_.wait(lock, [&] { return tasks_running_ == 0; });
}

Bytes TreeWriter::spare_buffer() {
  {
    std::lock_guard lock(mutex_);
    if (!spare_.empty()) {
      Bytes b = std::move(spare_.back());
      spare_.pop_back();
      b.clear();
      return b;
    }
  }
  Bytes b;
  b.reserve(static_cast<std::size_t>(options_.basket_size) * 5 / 4 + 64);  // data + entry offsets
  return b;
}

void TreeWriter::recycle(Sealed& s) {
  // Enough for every basket in flight: buffers are reused instead of freed and faulted in again.
  const std::size_t keep = 2 * static_cast<std::size_t>(options_.batch_bytes / std::max<int64_t>(options_.basket_size, 1)) + 32;
  for (Bytes* b : {&s.payload, &s.stored})
    if (spare_.size() < keep && b->capacity() > 0) spare_.push_back(std::move(*b));
}

void TreeWriter::write(Sealed& s) {
  Branch& b = *s.branch;
  auto w = file_.write_compressed_basket(b.spec.name, name_, options_.directory, s.fields,
                                         s.compressed ? std::span<const uint8_t>(s.stored) : s.payload,
                                         static_cast<int64_t>(s.payload.size()));
  // Only the writing thread touches these, and close() reads them after the last write.
  b.basket_bytes.push_back(w.nbytes);
  b.basket_seek.push_back(w.seek);
  b.tot_bytes += w.objlen + w.keylen;
  b.zip_bytes += w.nbytes;
}

void TreeWriter::close() {
  if (closed_) return;
  closed_ = true;
  if (options_.pool) {
    try {
      for (auto& b : branches_) flush(*b);
      submit_open_batch();
      drain(-1);
    } catch (...) {
      wait_for_tasks();
      throw;
    }
    wait_for_tasks();
  } else {
    for (auto& b : branches_) flush(*b);
  }

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
    for (int d : b.spec.shape) dims.append("[").append(std::to_string(d)).append("]");  // (+ trips g++ 12's -Wrestrict)
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
