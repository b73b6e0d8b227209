#include "core/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <thread>

namespace m4h {

void lower_this_thread_priority(int nice) {
  if (nice <= 0) return;
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int now = getpriority(PRIO_PROCESS, tid);
  if (now == -1 && errno != 0) return;
  setpriority(PRIO_PROCESS, tid, now + nice > 19 ? 19 : now + nice);
}

void run_at_lower_priority(int nice, const std::function<void()>& fn) {
  std::exception_ptr error;
  std::thread t([&] {
    lower_this_thread_priority(nice);
    try {
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace m4h
