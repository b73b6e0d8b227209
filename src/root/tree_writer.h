// Writes a TTree column by column: the caller appends chunks of columns (the layout the reader
// returns), the writer fills baskets of a configured size, writes each full basket, and writes the
// tree object on close(). Not thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
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
  // basket on this thread as it fills). Compressed baskets are written, oldest first, by whichever
  // thread is free (a worker after its batch, or the caller when too much is in flight), so the
  // caller is not the only one writing; the order, and so the file's bytes, do not depend on the
  // thread count.
  ThreadPool* pool = nullptr;
  // With a pool: uncompressed bytes of sealed baskets in flight (compressing, or waiting to be
  // written) before the calling thread stops filling and helps (compresses, writes, or waits);
  // at least 4 baskets. Small enough that baskets are still in the CPU's cache when they are
  // compressed and written: with 2 threads writing LZ4, 32 MB was clearly slower than 1-8 MB
  // (bench/README.md, "How the writer spends its time").
  int64_t batch_bytes = 4 << 20;
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
  // then swallowed: call it explicitly). With a pool it waits for this writer's tasks there, so
  // it must not run inside a task of the same pool.
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
  void compress(Batch& batch);     // compresses a batch (an error is kept in it)
  void write_ready_batches();      // writes the oldest batches while they are compressed
  void drain(int64_t limit);       // helps until at most `limit` bytes are in flight (-1: none)
  void wait_for_tasks();           // until no pool task of this writer runs
  Bytes spare_buffer();            // an empty buffer, reused if one is spare
  void recycle(Sealed& s);         // keeps a written basket's buffers for reuse (mutex_ held)

  FileWriter& file_;
  std::string name_, title_;
  TreeWriterOptions options_;
  std::vector<std::unique_ptr<Branch>> branches_;
  int64_t entries_ = 0;
  bool closed_ = false;
  std::vector<Sealed> open_;  // sealed, not yet handed to the pool
  int64_t open_bytes_ = 0;

  // Shared with the pool's tasks (guarded by mutex_). A task compresses its batch, then writes
  // the oldest batches that are compressed; `writing_` lets one thread at a time do that.
  std::mutex mutex_;
  std::condition_variable progress_;  // a batch compressed or written, or a task ended
  std::deque<std::shared_ptr<Batch>> in_flight_;  // submitted and not written, oldest first
  int64_t in_flight_bytes_ = 0;
  bool writing_ = false;
  int tasks_running_ = 0;
  std::exception_ptr failure_;  // the first compression or write error; nothing more is written
  std::vector<Bytes> spare_;
};

}  // namespace m4h::root
