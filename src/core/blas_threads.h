// The thread count of OpenBLAS's own pool, which torch's at::set_num_threads does not reach
// (Debian's libtorch runs its matrix products on libopenblas0-pthread).
#pragma once

namespace m4h {

// Sets OpenBLAS's thread count to n, unless OPENBLAS_NUM_THREADS is set (the user's choice
// stands). Left alone, every product ran on all cores and the pool's idle threads spun in
// sched_yield, taking the cores the data threads (training) or requests (serving) run on.
// Does nothing when the process's BLAS is not OpenBLAS.
void limit_blas_threads(int n);

}  // namespace m4h
