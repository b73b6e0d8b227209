// OpenBLAS's pool follows the thread count the trainer and the server give torch, unless the
// user set OPENBLAS_NUM_THREADS. Linked with libtorch, which loads the BLAS it was built for.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "core/blas_threads.h"

namespace m4h::test {
namespace {

using GetThreads = int (*)();
using SetThreads = void (*)(int);

struct OpenBlas {
  GetThreads get = nullptr;
  SetThreads set = nullptr;
};

OpenBlas find_openblas() {
  // A product first: libtorch's BLAS is loaded by then, whichever way it was linked.
  (void)torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));
  return {reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")),
          reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))};
}

// Sets or unsets OPENBLAS_NUM_THREADS for one test, restoring it after.
class BlasEnv {
 public:
  explicit BlasEnv(const char* value) {
    if (const char* v = std::getenv(kName)) saved_ = v;
    if (value) setenv(kName, value, 1);
    else unsetenv(kName);
  }
  ~BlasEnv() {
    if (saved_) setenv(kName, saved_->c_str(), 1);
    else unsetenv(kName);
  }

 private:
  static constexpr const char* kName = "OPENBLAS_NUM_THREADS";
  std::optional<std::string> saved_;
};

TEST(BlasThreads, FollowTheCountGiven) {
  const OpenBlas blas = find_openblas();
  if (!blas.get || !blas.set) GTEST_SKIP() << "libtorch's BLAS here is not OpenBLAS";
  BlasEnv env(nullptr);
  blas.set(2);
  limit_blas_threads(1);
  EXPECT_EQ(blas.get(), 1);
  limit_blas_threads(0);  // taken as 1
  EXPECT_EQ(blas.get(), 1);
}

TEST(BlasThreads, TheEnvironmentVariableWins) {
  const OpenBlas blas = find_openblas();
  if (!blas.get || !blas.set) GTEST_SKIP() << "libtorch's BLAS here is not OpenBLAS";
  BlasEnv env("2");
  blas.set(2);
  if (blas.get() != 2) GTEST_SKIP() << "OpenBLAS runs one thread at most here";
  limit_blas_threads(1);
  EXPECT_EQ(blas.get(), 2);
  blas.set(1);
}

}  // namespace
}  // namespace m4h::test
