// StreamBatcher: an epoch's rows reach the trainer in stream order, in whole batches whatever the
// chunk sizes, with only the last batch short; masks travel with their rows.
#include "train/stream_batcher.h"

#include <gtest/gtest.h>

#include <numeric>
#include <stdexcept>
#include <vector>

namespace m4h::train {
namespace {

// Records what it is asked to train on: the batches the real trainer would step on.
class RecordingTrainer : public Trainer {
 public:
  const ModelInfo& info() const override { return info_; }
  LossSum train_rows(const Rows& r, int64_t batch_size) override {
    for (int64_t b = 0; b < r.rows; b += batch_size) batches.push_back(std::min(batch_size, r.rows - b));
    for (int64_t i = 0; i < r.rows; ++i) {
      labels.push_back(r.labels[i]);
      x.push_back(r.x[i * r.width]);
      if (r.mask) mask.push_back(r.mask[i * r.width + 1]);
    }
    LossSum s;
    s.rows = r.rows;
    return s;
  }
  LossSum predict(const Rows&, std::vector<float>&) override { throw std::logic_error("not used"); }
  void keep_best() override {}
  void restore_best() override {}
  void save_model(const std::string&) override {}
  void save_checkpoint(const std::string&) override {}
  void load_checkpoint(const std::string&) override {}

  std::vector<int64_t> batches, labels;
  std::vector<float> x;
  std::vector<uint8_t> mask;

 private:
  ModelInfo info_;
};

// Rows numbered from `first`: x[r][0] = number, mask[r][1] = number % 2, label = number.
struct Chunk {
  std::vector<float> x;
  std::vector<uint8_t> mask;
  std::vector<int64_t> y;
  Rows rows(int64_t width, bool with_mask = true) const {
    return Rows{x.data(), with_mask ? mask.data() : nullptr, y.data(), static_cast<int64_t>(y.size()), width};
  }
};
Chunk numbered(int64_t first, int64_t n, int64_t width) {
  Chunk c;
  c.x.assign(static_cast<size_t>(n * width), -1.f);
  c.mask.assign(static_cast<size_t>(n * width), 7);
  for (int64_t r = 0; r < n; ++r) {
    c.x[static_cast<size_t>(r * width)] = static_cast<float>(first + r);
    c.mask[static_cast<size_t>(r * width + 1)] = static_cast<uint8_t>((first + r) % 2);
    c.y.push_back(first + r);
  }
  return c;
}

TEST(StreamBatcher, WholeBatchesAcrossChunksInStreamOrder) {
  const int64_t width = 3, batch = 8;
  RecordingTrainer t;
  StreamBatcher b(t, batch, width, true);
  int64_t total = 0, trained = 0;
  // Chunks shorter than what the waiting batch needs, empty, exactly a batch, and longer.
  for (int64_t n : {10, 3, 0, 2, 8, 25, 1, 7}) {
    const Chunk c = numbered(total, n, width);
    trained += b.add(c.rows(width)).rows;
    total += n;
  }
  trained += b.finish().rows;
  EXPECT_EQ(trained, total);
  // ceil(56 / 8) steps, every one whole.
  EXPECT_EQ(t.batches, std::vector<int64_t>(7, batch));
  std::vector<int64_t> want(static_cast<size_t>(total));
  std::iota(want.begin(), want.end(), int64_t{0});
  EXPECT_EQ(t.labels, want);
  for (int64_t i = 0; i < total; ++i) {
    EXPECT_EQ(t.x[static_cast<size_t>(i)], static_cast<float>(i));
    EXPECT_EQ(t.mask[static_cast<size_t>(i)], i % 2);
  }
}

TEST(StreamBatcher, OnlyTheLastBatchIsShortAndFinishIsIdempotent) {
  const int64_t width = 2;
  RecordingTrainer t;
  StreamBatcher b(t, 4, width, false);
  const Chunk c1 = numbered(0, 6, width), c2 = numbered(6, 5, width);
  b.add(c1.rows(width, false));
  b.add(c2.rows(width, false));
  EXPECT_EQ(b.finish().rows, 3);
  EXPECT_EQ(b.finish().rows, 0);
  EXPECT_EQ(t.batches, (std::vector<int64_t>{4, 4, 3}));
  EXPECT_TRUE(t.mask.empty());  // no mask asked for, none passed on
}

}  // namespace
}  // namespace m4h::train
