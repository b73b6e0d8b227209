// Rows on their way to the optimiser: buffers that hold them, and batches over a stream of
// chunks (the standard mode batches an epoch as one sequence of rows).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/bytes.h"
#include "train/trainer.h"

namespace m4h::train {

// Buffers of rows that are written right after being sized: not zero-filled first, which would
// be a second pass over (and the first touch of) memory the copy writes anyway.
struct RowBuffers {
  UninitVector<float> x;
  UninitVector<uint8_t> mask;
  UninitVector<int64_t> y;
  // Rows [first, first + n) as the trainer takes them.
  Rows view(std::size_t first, std::size_t n, int64_t width, bool with_mask) const;
  void release();  // gives the memory back
};

// Batches over the whole stream (the standard mode): the rows at the end of a chunk that do not
// fill a batch wait for the next chunk's first rows, as a data loader over the epoch batches
// them. Batching each chunk alone would end every chunk with a short batch: one more optimiser
// step per chunk, on a few rows (with chunks of 10,000 events and batches of 1,024, 12% more
// steps than rows / batch size).
class StreamBatcher {
 public:
  StreamBatcher(Trainer& trainer, int64_t batch_size, int64_t width, bool with_mask);

  // Trains on every whole batch that r's rows complete, in row order; keeps the rest (copied)
  // for the next call.
  LossSum add(const Rows& r);
  // The pass's last, short batch (if any rows wait).
  LossSum finish();

 private:
  Rows waiting() const;
  void keep(const Rows& r, int64_t from, int64_t n);

  Trainer& trainer_;
  int64_t batch_, width_;
  bool with_mask_;
  RowBuffers rows_;
  int64_t waiting_ = 0;  // rows in rows_
};

}  // namespace m4h::train
