#include "train/stream_batcher.h"

#include <algorithm>

namespace m4h::train {

Rows RowBuffers::view(std::size_t first, std::size_t n, int64_t width, bool with_mask) const {
  const auto w = static_cast<std::size_t>(width);
  return Rows{x.data() + first * w, with_mask ? mask.data() + first * w : nullptr, y.data() + first,
              static_cast<int64_t>(n), width};
}

void RowBuffers::release() {
  UninitVector<float>().swap(x);
  UninitVector<uint8_t>().swap(mask);
  UninitVector<int64_t>().swap(y);
}

namespace {

// Rows [from, from + n) of r.
Rows slice(const Rows& r, int64_t from, int64_t n) {
  const int64_t w = r.width;
  return Rows{r.x + from * w, r.mask ? r.mask + from * w : nullptr, r.labels + from, n, w};
}

}  // namespace

StreamBatcher::StreamBatcher(Trainer& trainer, int64_t batch_size, int64_t width, bool with_mask)
    : trainer_(trainer), batch_(std::max<int64_t>(1, batch_size)), width_(width), with_mask_(with_mask) {}

LossSum StreamBatcher::add(const Rows& r) {
  LossSum s;
  int64_t at = 0;
  if (waiting_ > 0) {
    at = std::min(batch_ - waiting_, r.rows);
    keep(r, 0, at);
    if (waiting_ < batch_) return s;
    s += trainer_.train_rows(waiting(), batch_);
    waiting_ = 0;
  }
  const int64_t whole = (r.rows - at) / batch_ * batch_;
  if (whole > 0) s += trainer_.train_rows(slice(r, at, whole), batch_);
  keep(r, at + whole, r.rows - at - whole);
  return s;
}

LossSum StreamBatcher::finish() {
  LossSum s;
  if (waiting_ > 0) s = trainer_.train_rows(waiting(), batch_);
  waiting_ = 0;
  return s;
}

Rows StreamBatcher::waiting() const {
  return rows_.view(0, static_cast<std::size_t>(waiting_), width_, with_mask_);
}

void StreamBatcher::keep(const Rows& r, int64_t from, int64_t n) {
  if (n <= 0) return;
  const auto w = static_cast<std::size_t>(width_);
  const auto at = static_cast<std::size_t>(waiting_), count = static_cast<std::size_t>(n);
  rows_.x.resize((at + count) * w);
  rows_.y.resize(at + count);
  std::copy_n(r.x + from * width_, count * w, rows_.x.data() + at * w);
  std::copy_n(r.labels + from, count, rows_.y.data() + at);
  if (with_mask_) {
    rows_.mask.resize((at + count) * w);
    std::copy_n(r.mask + from * width_, count * w, rows_.mask.data() + at * w);
  }
  waiting_ += n;
}

}  // namespace m4h::train
