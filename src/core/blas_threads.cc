#include "core/blas_threads.h"

#include <dlfcn.h>

#include <cstdlib>

namespace m4h {

void limit_blas_threads(int n) {
  if (std::getenv("OPENBLAS_NUM_THREADS") != nullptr) return;
  // Looked up at run time: the BLAS is whichever one libtorch was loaded with (or none), and
  // only OpenBLAS has this call.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(n < 1 ? 1 : n);
}

}  // namespace m4h
