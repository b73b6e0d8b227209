#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>

namespace m4h {

std::size_t ThreadPool::hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

std::unique_ptr<ThreadPool> ThreadPool::for_total_threads(std::size_t threads) {
  if (threads == 0) threads = hardware_threads();
  if (threads <= 1) return nullptr;
  return std::make_unique<ThreadPool>(threads - 1);
}

namespace {

// State of one parallel_for, shared with helper tasks that may start after it returned.
struct ForState {
  explicit ForState(std::size_t n, const std::function<void(std::size_t)>* f) : count(n), fn(f) {}
  const std::size_t count;
  const std::function<void(std::size_t)>* fn;  // valid while the caller waits (closed == false or running > 0)
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable done;
  std::size_t running = 0;  // helpers inside drain()
  bool closed = false;      // the caller finished its share: late helpers must not start
  std::exception_ptr error;

  void drain() {
    for (;;) {
      std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= count || failed.load(std::memory_order_relaxed)) return;
      try {
        (*fn)(i);
      } catch (...) {
        std::lock_guard lock(mu);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  }
};

}  // namespace

void ThreadPool::parallel_for(std::size_t count, const std::function<void(std::size_t)>& fn) {
  if (count == 0) return;
  auto state = std::make_shared<ForState>(count, &fn);
  const std::size_t helpers = std::min(workers_.size(), count - 1);
  if (helpers > 0) {
    {
      std::lock_guard lock(mu_);
      for (std::size_t h = 0; h < helpers; ++h)
        queue_.emplace([state] {
          {
            std::lock_guard l(state->mu);
            if (state->closed) return;
            ++state->running;
          }
          state->drain();
          std::lock_guard l(state->mu);
          if (--state->running == 0) state->done.notify_all();
        });
    }
    if (helpers == 1) cv_.notify_one(); else cv_.notify_all();
  }
  state->drain();
  std::unique_lock lock(state->mu);
  state->closed = true;
  state->done.wait(lock, [&] { return state->running == 0; });
  if (state->error) std::rethrow_exception(state->error);
}

ThreadPool::ThreadPool(std::size_t threads) {
  if (threads == 0) threads = hardware_threads();
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop();
    }
    job();
  }
}

}  // namespace m4h
