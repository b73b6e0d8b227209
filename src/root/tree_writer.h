// Writes a TTree column by column: the caller appends chunks of columns (the layout the reader
// returns), the writer fills baskets of a configured size, writes each full basket, and writes the
// tree object on close(). Not thread-safe.
#pragma once

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "root/column.h"
#include "root/file_writer.h"

namespace m4h {
class ThreadPool;
}

namespace m4h::root {

struct BranchSpec {
  enum class Kind {
    kScalar,      // one value per entry (a flat column)
    kFixedArray,  // `shape` values per entry, e.g. x[3] or x[2][4]
    kCounted,     // a variable array x[counter]; `counter` names an int32 scalar branch before it
    kVector,      // std::vector<T>
    kString,      // std::string (dtype kChar)
  };
  std::string name;
  DType dtype = DType::kFloat64;
  Kind kind = Kind::kScalar;
  std::vector<int> shape;
  std::string counter;
};

struct TreeWriterOptions {
  int64_t basket_size = 32000;  // bytes of entry data per basket before it is written
  int directory = 0;            // FileWriter::mkdir id
  // Compresses full baskets on this pool while the calling thread goes on filling (nullptr: each
  // basket on this thread as it fills). Baskets are written in the order they filled, at points
  // that depend only on their sizes, so the file's bytes do not depend on the thread count.
  ThreadPool* pool = nullptr;
  // With a pool: uncompressed bytes of sealed baskets in flight (compressing or waiting) before
  // the oldest are written; the calling thread compresses them itself if no worker has yet.
  int64_t batch_bytes = 32 << 20;
};

class TreeWriter {
 public:
  // Throws kInvalidArgument for an unsupported or inconsistent spec (a counter that is not an
  // integer scalar branch declared before the branch it counts).
  TreeWriter(FileWriter& file, std::string name, std::string title, std::vector<BranchSpec> branches,
             TreeWriterOptions options = {});
  ~TreeWriter();

  // Appends entries: one column per branch, in spec order, with equal entry counts. A counted
  // branch's entry lengths must equal its counter's values. Throws kInvalidArgument.
  void append(std::span<const Column> columns);
  int64_t entries() const { return entries_; }

  // Writes the last baskets and the tree object. Called by the destructor if needed (errors are
  // then swallowed: call it explicitly).
  void close();

 private:
  struct Branch;
  // A full basket waiting to be compressed and written.
  struct Sealed {
    Branch* branch = nullptr;
    Bytes payload;                // data, then entry offsets
    std::vector<uint8_t> fields;  // the 19 basket bytes after the key fields
    Bytes stored;                 // compressed payload, when `compressed`
    bool compressed = false;      // else the payload is stored as it is
  };
  struct Batch;  // sealed baskets compressed together, by a worker or by this thread
  void flush(Branch& b);           // seals b's current basket (if any)
  void write(Sealed& s);           // writes one compressed basket and records where it went
  void submit_open_batch();        // hands the open baskets to the pool
  void write_oldest_batch();       // waits for (or does) its compression, then writes it
  Bytes spare_buffer();            // an empty buffer, reused if one is spare
  void recycle(Sealed& s);         // keeps a written basket's buffers for reuse

  FileWriter& file_;
  std::string name_, title_;
  TreeWriterOptions options_;
  std::vector<std::unique_ptr<Branch>> branches_;
  int64_t entries_ = 0;
  bool closed_ = false;
  std::vector<Sealed> open_;  // sealed, not yet handed to the pool
  int64_t open_bytes_ = 0;
  std::deque<std::shared_ptr<Batch>> in_flight_;
  int64_t in_flight_bytes_ = 0;
  std::vector<Bytes> spare_;
};

}  // namespace m4h::root
