// Caps the process's address space a little above what it uses, for tests that must show an
// allocation sized by hostile input never happens: with the cap, such an allocation throws
// std::bad_alloc instead of quietly reserving gigabytes. Under AddressSanitizer (which reserves
// terabytes of shadow memory) the cap is not set and active() is false.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>

namespace m4h::test {

class AddressSpaceCap {
 public:
  explicit AddressSpaceCap(std::size_t headroom) {
#if !defined(__SANITIZE_ADDRESS__)
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0;
    statm >> pages;
    if (pages == 0 || getrlimit(RLIMIT_AS, &old_) != 0) return;
    rlimit capped = old_;
    capped.rlim_cur = pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) + headroom;
    if (old_.rlim_max != RLIM_INFINITY && capped.rlim_cur > old_.rlim_max) return;
    active_ = setrlimit(RLIMIT_AS, &capped) == 0;
#else
    (void)headroom;
#endif
  }
  ~AddressSpaceCap() {
    if (active_) setrlimit(RLIMIT_AS, &old_);
  }
  AddressSpaceCap(const AddressSpaceCap&) = delete;
  AddressSpaceCap& operator=(const AddressSpaceCap&) = delete;
  bool active() const { return active_; }

 private:
  rlimit old_{};
  bool active_ = false;
};

}  // namespace m4h::test
