// ThreadPool: results and exceptions through futures, many small tasks, parallelism, and a
// destructor that runs every queued task before returning.
#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

namespace m4h {
namespace {

TEST(ThreadPool, Size) {
  EXPECT_GE(ThreadPool::hardware_threads(), 1u);
  EXPECT_EQ(ThreadPool(1).size(), 1u);
  EXPECT_EQ(ThreadPool(3).size(), 3u);
  EXPECT_EQ(ThreadPool(0).size(), ThreadPool::hardware_threads());
}

TEST(ThreadPool, ResultsOfEveryType) {
  ThreadPool pool(2);
  auto i = pool.submit([] { return 6 * 7; });
  auto s = pool.submit([] { return std::string("forty-two"); });
  std::atomic<bool> ran{false};
  auto v = pool.submit([&] { ran = true; });
  auto p = pool.submit([] { return std::make_unique<int>(7); });  // move-only result
  auto big = pool.submit([] { return std::vector<int>(1000, 3); });
  EXPECT_EQ(i.get(), 42);
  EXPECT_EQ(s.get(), "forty-two");
  v.get();
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(*p.get(), 7);
  const std::vector<int> vec = big.get();
  EXPECT_EQ(std::accumulate(vec.begin(), vec.end(), 0), 3000);
}

TEST(ThreadPool, MoveOnlyTask) {
  ThreadPool pool(1);
  auto owned = std::make_unique<int>(5);
  auto f = pool.submit([o = std::move(owned)] { return *o + 1; });
  EXPECT_EQ(f.get(), 6);
}

TEST(ThreadPool, ExceptionsTravelThroughTheFuture) {
  ThreadPool pool(2);
  auto std_error = pool.submit([]() -> int { throw std::runtime_error("boom"); });
  auto m4h_error = pool.submit([]() -> std::string { throw Error(ErrorCode::kCorrupt, "bad basket"); });
  auto other = pool.submit([]() { throw 17; });
  try {
    std_error.get();
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  try {
    m4h_error.get();
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
    EXPECT_EQ(e.message(), "bad basket");
  }
  EXPECT_THROW(other.get(), int);
  // The workers survive their tasks' exceptions.
  std::vector<std::future<int>> after;
  for (int k = 0; k < 10; ++k) after.push_back(pool.submit([k] { return k; }));
  for (int k = 0; k < 10; ++k) EXPECT_EQ(after[k].get(), k);
}

TEST(ThreadPool, ManySmallTasks) {
  ThreadPool pool(4);
  constexpr int kTasks = 20000;
  std::atomic<int64_t> counter{0};
  std::vector<std::future<int64_t>> futures;
  futures.reserve(kTasks);
  for (int64_t k = 0; k < kTasks; ++k)
    futures.push_back(pool.submit([k, &counter] {
      counter.fetch_add(1, std::memory_order_relaxed);
      return k * k;
    }));
  int64_t sum = 0;
  for (auto& f : futures) sum += f.get();
  EXPECT_EQ(counter.load(), kTasks);
  int64_t want = 0;
  for (int64_t k = 0; k < kTasks; ++k) want += k * k;
  EXPECT_EQ(sum, want);
}

TEST(ThreadPool, SubmitFromManyThreads) {
  ThreadPool pool(2);
  static constexpr int kThreads = 4, kEach = 2000;
  std::atomic<int> done{0};
  std::vector<std::thread> submitters;
  std::mutex mu;
  std::vector<std::future<int>> futures;
  for (int t = 0; t < kThreads; ++t)
    submitters.emplace_back([&, t] {
      for (int k = 0; k < kEach; ++k) {
        auto f = pool.submit([&done, t, k] {
          ++done;
          return t * kEach + k;
        });
        std::lock_guard lock(mu);
        futures.push_back(std::move(f));
      }
    });
  for (auto& s : submitters) s.join();
  std::vector<bool> seen(kThreads * kEach, false);
  for (auto& f : futures) seen[f.get()] = true;
  EXPECT_EQ(done.load(), kThreads * kEach);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), kThreads * kEach);
}

TEST(ThreadPool, TasksRunConcurrently) {
  // Two tasks that each wait for the other can only finish on two workers at once.
  ThreadPool pool(2);
  std::latch both(2);
  auto a = pool.submit([&] {
    both.arrive_and_wait();
    return 1;
  });
  auto b = pool.submit([&] {
    both.arrive_and_wait();
    return 2;
  });
  EXPECT_EQ(a.get() + b.get(), 3);
}

TEST(ThreadPool, OneWorkerRunsTasksInSubmissionOrder) {
  ThreadPool pool(1);
  std::vector<int> order;  // touched only by the single worker
  std::vector<std::future<void>> futures;
  for (int k = 0; k < 500; ++k) futures.push_back(pool.submit([&order, k] { order.push_back(k); }));
  for (auto& f : futures) f.get();
  std::vector<int> want(500);
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(order, want);
}

TEST(ThreadPool, TasksMaySubmitTasks) {
  ThreadPool pool(2);
  std::promise<int> inner_result;
  auto inner_future = inner_result.get_future();
  auto outer = pool.submit([&] {
    pool.submit([&] { inner_result.set_value(99); });
    return 1;
  });
  EXPECT_EQ(outer.get(), 1);
  EXPECT_EQ(inner_future.get(), 99);
}

TEST(ThreadPool, DestructorRunsEveryQueuedTask) {
  std::atomic<int> ran{0};
  std::vector<int> order;
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::thread opener;
  {
    ThreadPool pool(1);
    // The only worker waits at the gate while more tasks pile up behind it.
    pool.submit([open, &ran] {
      open.wait();
      ++ran;
    });
    for (int k = 0; k < 200; ++k)
      pool.submit([&ran, &order, k] {
        order.push_back(k);
        ++ran;
      });
    // Open the gate from elsewhere, most likely while the destructor below is already waiting;
    // either way every queued task must have run when it returns.
    opener = std::thread([&gate] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      gate.set_value();
    });
  }  // ~ThreadPool
  EXPECT_EQ(ran.load(), 201);
  ASSERT_EQ(order.size(), 200u);
  for (int k = 0; k < 200; ++k) EXPECT_EQ(order[k], k);
  opener.join();
}

TEST(ThreadPool, DestructorWithManyWorkersAndNoTasks) {
  for (int k = 0; k < 20; ++k) {
    ThreadPool pool(4);
  }
  SUCCEED();
}

TEST(ThreadPool, DroppedFuturesDoNotLoseWork) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(2);
    for (int k = 0; k < 1000; ++k) (void)pool.submit([&ran] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(ThreadPool, ForTotalThreads) {
  EXPECT_EQ(ThreadPool::for_total_threads(1), nullptr);
  EXPECT_EQ(ThreadPool::for_total_threads(3)->size(), 2u);
  auto all = ThreadPool::for_total_threads(0);
  EXPECT_EQ(all ? all->size() + 1 : 1u, ThreadPool::hardware_threads());
}

TEST(ThreadPool, ParallelForRunsEveryIndexOnce) {
  for (std::size_t workers : {1u, 2u, 5u}) {
    ThreadPool pool(workers);
    for (std::size_t count : {0u, 1u, 2u, 7u, 1000u}) {
      std::vector<std::atomic<int>> hits(count);
      pool.parallel_for(count, [&](std::size_t i) { hits[i].fetch_add(1); });
      for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(hits[i].load(), 1) << workers << " " << count << " " << i;
    }
  }
}

TEST(ThreadPool, ParallelForUsesTheCallerAndTheWorkers) {
  ThreadPool pool(1);
  std::latch both(2);  // index 0 and 1 can only both pass if two threads run them at once
  std::mutex mu;
  std::vector<std::thread::id> ids;
  pool.parallel_for(2, [&](std::size_t) {
    both.arrive_and_wait();
    std::lock_guard lock(mu);
    ids.push_back(std::this_thread::get_id());
  });
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_TRUE(ids[0] == std::this_thread::get_id() || ids[1] == std::this_thread::get_id());
}

TEST(ThreadPool, ParallelForRethrowsTheFirstErrorAfterEveryStartedCall) {
  ThreadPool pool(2);
  std::atomic<int> running{0}, max_after_throw{0};
  try {
    pool.parallel_for(100, [&](std::size_t i) {
      ++running;
      if (i == 3) {
        --running;
        throw Error(ErrorCode::kCorrupt, "bad basket 3");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      --running;
    });
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
    EXPECT_NE(std::string(e.what()).find("bad basket 3"), std::string::npos);
  }
  EXPECT_EQ(running.load(), 0);  // nothing still running when the error arrives
  // The pool is still usable.
  std::atomic<int> n{0};
  pool.parallel_for(10, [&](std::size_t) { ++n; });
  EXPECT_EQ(n.load(), 10);
}

TEST(ThreadPool, ParallelForInsideAWorkerDoesNotDeadlock) {
  ThreadPool pool(1);  // the only worker calls parallel_for: its helper task can never start
  auto f = pool.submit([&pool] {
    std::atomic<int> n{0};
    pool.parallel_for(50, [&](std::size_t) { ++n; });
    return n.load();
  });
  EXPECT_EQ(f.get(), 50);
}

}  // namespace
}  // namespace m4h
