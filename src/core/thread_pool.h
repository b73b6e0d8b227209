// A fixed-size pool of worker threads with a FIFO queue. submit() is thread-safe and returns a
// std::future; an exception thrown by the task is delivered through that future. parallel_for()
// runs an index range on the workers and the calling thread together.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <type_traits>
#include <vector>

namespace m4h {

class ThreadPool {
 public:
  // threads == 0 means one per hardware core.
  explicit ThreadPool(std::size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t size() const { return workers_.size(); }

  template <typename Fn>
  auto submit(Fn&& fn) -> std::future<std::invoke_result_t<Fn>> {
    using R = std::invoke_result_t<Fn>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<Fn>(fn));
    auto fut = task->get_future();
    {
      std::lock_guard lock(mu_);
      queue_.emplace([task] { (*task)(); });
    }
    cv_.notify_one();
    return fut;
  }

  // Runs fn(i) for every i in [0, count), on the calling thread and the idle workers, and returns
  // when all calls have finished. Indices are handed out one at a time (dynamic balance). The first
  // exception thrown is rethrown here, after every started call has finished; indices not started
  // by then are skipped. Safe to call from a worker: the caller alone can finish the range, and
  // helpers that start late do nothing.
  void parallel_for(std::size_t count, const std::function<void(std::size_t)>& fn);

  static std::size_t hardware_threads();

  // A pool for `threads` threads of work in total, the caller of parallel_for() being one of
  // them: threads - 1 workers, or no pool at all (nullptr, run inline) for 1. 0 = one per core.
  static std::unique_ptr<ThreadPool> for_total_threads(std::size_t threads);

 private:
  void run();

  std::vector<std::thread> workers_;
  std::queue<std::function<void()>> queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace m4h
