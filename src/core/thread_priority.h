// Background priority for threads that feed a busier one (a trainer's data threads).
#pragma once

#include <functional>

namespace m4h {

// Lowers the calling thread's scheduling priority by `nice` steps (Linux: nice values are per
// thread, and threads it creates afterwards inherit its value). Best effort: a failure leaves
// the priority as it was. Lowering needs no privilege.
void lower_this_thread_priority(int nice);

// Runs fn on a short-lived thread whose priority is lowered by `nice` first, and waits for it:
// the threads fn starts (a pool's workers) inherit the lower priority. Rethrows fn's exception.
void run_at_lower_priority(int nice, const std::function<void()>& fn);

}  // namespace m4h
