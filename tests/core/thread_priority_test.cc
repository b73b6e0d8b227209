// Data threads run below the optimiser: the lowered nice value is the calling thread's alone,
// and threads started under run_at_lower_priority inherit it.
#include "core/thread_priority.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace m4h {
namespace {

int this_thread_nice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())); }

TEST(ThreadPriority, LoweredForTheCallingThreadOnly) {
  const int before = this_thread_nice();
  int inside = 0;
  std::thread([&] {
    lower_this_thread_priority(3);
    inside = this_thread_nice();
  }).join();
  EXPECT_EQ(inside, std::min(before + 3, 19));
  EXPECT_EQ(this_thread_nice(), before);
}

TEST(ThreadPriority, ThreadsStartedInsideInheritIt) {
  const int before = this_thread_nice();
  int child = 0;
  run_at_lower_priority(4, [&] { std::thread([&] { child = this_thread_nice(); }).join(); });
  EXPECT_EQ(child, std::min(before + 4, 19));
  EXPECT_EQ(this_thread_nice(), before);
}

TEST(ThreadPriority, ExceptionsReachTheCaller) {
  EXPECT_THROW(run_at_lower_priority(1, [] { throw std::runtime_error("x"); }), std::runtime_error);
}

}  // namespace
}  // namespace m4h
