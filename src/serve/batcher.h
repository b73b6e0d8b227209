// The dynamic batcher in front of one loaded model version: requests queue, one worker thread
// takes them until max_batch_rows rows or max_queue_delay after the first, runs the model once
// on the rows put together, and hands each request its own scores through its completion (or
// its future).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "serve/model.h"

namespace m4h::serve {

// A model's counters, added to by its batchers (one per version loaded over time).
struct CounterCells {
  std::atomic<int64_t> request_success{0}, request_failure{0};
  std::atomic<int64_t> inference_count{0}, execution_count{0};
  std::atomic<int64_t> queue_us{0}, compute_us{0};
  ModelCounters snapshot() const;
};

class Batcher {
 public:
  // Starts the worker (none when options.max_batch_rows is 0: requests then run on the
  // submitting thread). `counters` may be shared with other batchers of the same model.
  Batcher(std::shared_ptr<const Model> model, BatchingOptions options, std::shared_ptr<CounterCells> counters);
  ~Batcher();  // stop()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues `batch` (moved from) with `done` (moved from); false, with both untouched, once
  // stop() has begun. A batch of the wrong shape gets kInvalidArgument through `done`; a failed
  // execution gives each request of it its own error (rows are re-run singly first).
  // Thread-safe.
  bool try_submit(InputBatch& batch, ScoresDone& done);
  // The same with a future for `out`.
  bool try_submit(InputBatch& batch, std::future<std::vector<float>>& out);
  // The same; after stop() the future holds kCancelled.
  std::future<std::vector<float>> submit(InputBatch batch);

  // Refuses new requests, runs every queued one, and joins the worker. Thread-safe, idempotent.
  void stop();

  const std::shared_ptr<const Model>& model() const { return model_; }
  const BatchingOptions& options() const { return options_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Request {
    InputBatch batch;
    ScoresDone done;
    Clock::time_point queued;
  };

  void work();
  void execute(std::vector<Request>& requests, int64_t rows);
  // Runs one request on its own rows; false when it failed (its completion then had the error).
  bool run_one(Request& r);
  void count_execution(Clock::time_point start);

  std::shared_ptr<const Model> model_;
  BatchingOptions options_;
  std::shared_ptr<CounterCells> counters_;
  int64_t width_, outputs_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  int64_t queued_rows_ = 0;
  bool stopping_ = false;

  std::mutex join_mu_;
  std::thread worker_;
  // The worker's buffers for rows put together, kept from batch to batch.
  std::vector<float> x_, out_;
  std::vector<uint8_t> mask_;
};

}  // namespace m4h::serve
