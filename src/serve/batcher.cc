#include "serve/batcher.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace m4h::serve {

namespace {

int64_t micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

void finish(ScoresDone& done, const Error& e) {
  std::vector<float> none;
  done(none, std::make_exception_ptr(e));
}

template <typename T>
std::future<T> failed(const Error& e) {
  std::promise<T> p;
  p.set_exception(std::make_exception_ptr(e));
  return p.get_future();
}

}  // namespace

ModelCounters CounterCells::snapshot() const {
  ModelCounters c;
  c.request_success = request_success.load(std::memory_order_relaxed);
  c.request_failure = request_failure.load(std::memory_order_relaxed);
  c.inference_count = inference_count.load(std::memory_order_relaxed);
  c.execution_count = execution_count.load(std::memory_order_relaxed);
  c.queue_us = queue_us.load(std::memory_order_relaxed);
  c.compute_us = compute_us.load(std::memory_order_relaxed);
  return c;
}

Batcher::Batcher(std::shared_ptr<const Model> model, BatchingOptions options, std::shared_ptr<CounterCells> counters)
    : model_(std::move(model)),
      options_(options),
      counters_(counters ? std::move(counters) : std::make_shared<CounterCells>()),
      width_(model_->width()),
      outputs_(model_->outputs()) {
  if (options_.max_batch_rows > 0) worker_ = std::thread([this] { work(); });
}

Batcher::~Batcher() { stop(); }

bool Batcher::try_submit(InputBatch& batch, ScoresDone& done) {
  if (batch.width != width_ || batch.rows < 0 || batch.x.size() != static_cast<size_t>(batch.rows * batch.width) ||
      (!batch.mask.empty() && batch.mask.size() != batch.x.size())) {
    counters_->request_failure.fetch_add(1, std::memory_order_relaxed);
    finish(done, Error(ErrorCode::kInvalidArgument,
                       "model " + model_->metadata().name + " takes rows of width " + std::to_string(width_) +
                           ": got " + std::to_string(batch.rows) + " rows of width " + std::to_string(batch.width) +
                           " with " + std::to_string(batch.x.size()) + " values and " +
                           std::to_string(batch.mask.size()) + " mask values"));
    return true;
  }
  Request r;
  r.queued = Clock::now();
  if (options_.max_batch_rows <= 0) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopping_) return false;
    }
    r.batch = std::move(batch);
    r.done = std::move(done);
    run_one(r);
    return true;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return false;
    const bool was_empty = queue_.empty();
    r.batch = std::move(batch);
    r.done = std::move(done);
    queued_rows_ += r.batch.rows;
    queue_.push_back(std::move(r));
    // The worker sleeps until a first request, or until the delay ends unless the batch fills.
    if (!was_empty && queued_rows_ < options_.max_batch_rows) return true;
  }
  cv_.notify_one();
  return true;
}

bool Batcher::try_submit(InputBatch& batch, std::future<std::vector<float>>& out) {
  auto [done, future] = completion_with_future();
  if (!try_submit(batch, done)) return false;
  out = std::move(future);
  return true;
}

std::future<std::vector<float>> Batcher::submit(InputBatch batch) {
  std::future<std::vector<float>> f;
  if (!try_submit(batch, f))
    return failed<std::vector<float>>(
        Error(ErrorCode::kCancelled, "model " + model_->metadata().name + " version " +
                                         model_->metadata().version + " is being unloaded"));
  return f;
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::lock_guard<std::mutex> lk(join_mu_);
  if (worker_.joinable()) worker_.join();
}

void Batcher::work() {
  std::vector<Request> batch;
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued has run
    const auto deadline = queue_.front().queued + options_.max_queue_delay;
    while (!stopping_ && queued_rows_ < options_.max_batch_rows && Clock::now() < deadline)
      cv_.wait_until(lk, deadline);
    batch.clear();
    int64_t rows = 0;
    // A request larger than max_batch_rows runs alone; requests are never split.
    while (!queue_.empty() && (batch.empty() || rows + queue_.front().batch.rows <= options_.max_batch_rows)) {
      rows += queue_.front().batch.rows;
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_rows_ -= rows;
    lk.unlock();
    execute(batch, rows);
    lk.lock();
  }
}

void Batcher::count_execution(Clock::time_point start) {
  counters_->execution_count.fetch_add(1, std::memory_order_relaxed);
  counters_->compute_us.fetch_add(micros(Clock::now() - start), std::memory_order_relaxed);
}

bool Batcher::run_one(Request& r) {
  const auto start = Clock::now();
  counters_->queue_us.fetch_add(micros(start - r.queued), std::memory_order_relaxed);
  const InputBatch& b = r.batch;
  std::vector<float> out;
  std::exception_ptr error;
  try {
    out.resize(static_cast<size_t>(b.rows * outputs_));
    if (b.rows > 0) {
      model_->infer_into(b.x.data(), b.mask.empty() ? nullptr : b.mask.data(), b.rows, out.data());
      count_execution(start);
    }
    counters_->request_success.fetch_add(1, std::memory_order_relaxed);
    counters_->inference_count.fetch_add(b.rows, std::memory_order_relaxed);
  } catch (...) {
    if (b.rows > 0) count_execution(start);
    counters_->request_failure.fetch_add(1, std::memory_order_relaxed);
    error = std::current_exception();
    out.clear();
  }
  r.done(out, error);  // outside the try: a completion is called once, whatever it does
  return !error;
}

void Batcher::execute(std::vector<Request>& requests, int64_t rows) {
  if (requests.size() == 1 || rows == 0) {
    for (Request& r : requests) run_one(r);
    return;
  }
  const auto start = Clock::now();
  const bool masked = std::any_of(requests.begin(), requests.end(), [](const Request& r) { return !r.batch.mask.empty(); });
  x_.resize(static_cast<size_t>(rows * width_));
  out_.resize(static_cast<size_t>(rows * outputs_));
  if (masked) mask_.resize(x_.size());
  size_t at = 0;
  for (const Request& r : requests) {
    const InputBatch& b = r.batch;
    std::memcpy(x_.data() + at, b.x.data(), b.x.size() * sizeof(float));
    if (masked) {
      // A request without a mask: every value is real.
      if (b.mask.empty()) std::fill_n(mask_.begin() + static_cast<std::ptrdiff_t>(at), b.x.size(), uint8_t{1});
      else std::memcpy(mask_.data() + at, b.mask.data(), b.mask.size());
    }
    at += b.x.size();
  }
  try {
    model_->infer_into(x_.data(), masked ? mask_.data() : nullptr, rows, out_.data());
  } catch (...) {
    count_execution(start);
    // One bad request must not fail the others: each runs alone and gets its own outcome.
    for (Request& r : requests) run_one(r);
    return;
  }
  count_execution(start);
  size_t from = 0;
  for (Request& r : requests) {
    counters_->queue_us.fetch_add(micros(start - r.queued), std::memory_order_relaxed);
    const size_t n = static_cast<size_t>(r.batch.rows * outputs_);
    std::vector<float> scores(out_.begin() + static_cast<std::ptrdiff_t>(from),
                              out_.begin() + static_cast<std::ptrdiff_t>(from + n));
    from += n;
    counters_->request_success.fetch_add(1, std::memory_order_relaxed);
    counters_->inference_count.fetch_add(r.batch.rows, std::memory_order_relaxed);
    r.done(scores, nullptr);
  }
}

}  // namespace m4h::serve
