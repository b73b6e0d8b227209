// SIGINT and SIGTERM for the long-running commands (serve, server): blocked before any thread
// starts, so that they reach wait() on the command's thread and not an io thread.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace m4h::cli {

class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  // Blocks until one arrives; returns it.
  int wait() {
    int sig = 0;
    sigwait(&set_, &sig);
    return sig;
  }

 private:
  sigset_t set_;
};

}  // namespace m4h::cli
