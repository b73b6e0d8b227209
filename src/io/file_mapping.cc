#include "io/file_mapping.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace m4h::io {

namespace {

// The handler reads this table, so it holds only what a signal handler may touch: atomics and
// C strings that stay allocated while their slot is in use.
struct Slot {
  std::atomic<const uint8_t*> begin{nullptr};
  std::atomic<uint64_t> size{0};
  std::atomic<char*> path{nullptr};
  std::atomic<bool> shrunk{false};
};
constexpr int kSlots = 256;
std::array<Slot, kSlots> g_slots;
std::mutex g_mu;  // registration only
bool g_installed = false;
struct sigaction g_previous {};

void write_all(const char* s, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

void write_str(const char* s) { write_all(s, std::strlen(s)); }

void write_u64(uint64_t v) {
  char buf[24];
  int i = sizeof buf;
  do {
    buf[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  write_all(buf + i, sizeof buf - i);
}

void on_sigbus(int sig, siginfo_t* info, void*) {
  const auto* addr = static_cast<const uint8_t*>(info->si_addr);
  for (Slot& s : g_slots) {
    const uint8_t* b = s.begin.load(std::memory_order_acquire);
    if (!b || addr < b || addr >= b + s.size.load(std::memory_order_relaxed)) continue;
    // Zeros over the lost page: the faulting read is retried and succeeds; the reader sees
    // shrunk() afterwards. mmap is a plain system call, safe enough in this handler.
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    void* at = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(addr) / page * page);
    if (::mmap(at, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
      s.shrunk.store(true, std::memory_order_release);
      return;
    }
    const char* path = s.path.load(std::memory_order_relaxed);
    write_str("mlaas4hep: error: ");
    write_str(path ? path : "(file)");
    write_str(": the file shrank while it was being read (no data at offset ");
    write_u64(static_cast<uint64_t>(addr - b));
    write_str(")\n");
    ::_exit(2);
  }
  // Not ours: whatever handled SIGBUS before us (the default action if nothing did) gets the
  // fault when the instruction runs again on return.
  sigaction(sig, &g_previous, nullptr);
}

void install_handler() {
  struct sigaction sa {};
  sa.sa_sigaction = &on_sigbus;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &g_previous);
}

}  // namespace

FileMapping::FileMapping(int fd, uint64_t size, const std::string& path) {
  if (size == 0 || std::getenv("M4H_NO_MMAP")) return;
  void* p = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return;
  std::lock_guard lock(g_mu);
  for (int i = 0; i < kSlots; ++i) {
    if (g_slots[i].begin.load(std::memory_order_relaxed)) continue;
    if (!g_installed) {
      install_handler();
      g_installed = true;
    }
    g_slots[i].path.store(::strdup(path.c_str()), std::memory_order_relaxed);
    g_slots[i].size.store(size, std::memory_order_relaxed);
    g_slots[i].shrunk.store(false, std::memory_order_relaxed);
    g_slots[i].begin.store(static_cast<const uint8_t*>(p), std::memory_order_release);
    data_ = static_cast<const uint8_t*>(p);
    size_ = size;
    slot_ = i;
    return;
  }
  ::munmap(p, static_cast<std::size_t>(size));  // table full: this file is read with pread
}

bool FileMapping::shrunk() const {
  return data_ && g_slots[slot_].shrunk.load(std::memory_order_acquire);
}

FileMapping::~FileMapping() {
  if (!data_) return;
  char* path = nullptr;
  {
    std::lock_guard lock(g_mu);
    g_slots[slot_].begin.store(nullptr, std::memory_order_release);
    path = g_slots[slot_].path.exchange(nullptr, std::memory_order_relaxed);
  }
  ::munmap(const_cast<uint8_t*>(data_), static_cast<std::size_t>(size_));
  std::free(path);
}

}  // namespace m4h::io
