// A progress line on stderr with a rate: rewritten in place (\r) on a terminal, a plain line
// every few seconds otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace m4h::cli {

class ProgressLine {
 public:
  explicit ProgressLine(std::string what, bool enabled = true);
  // `done` of `total` (total <= 0: unknown) `unit`s after `seconds`, then `extra` (e.g. a loss
  // and an ETA). Throttled.
  void update(int64_t done, int64_t total, const char* unit, double seconds,
              const std::string& extra = {});
  // Ends the line (on a terminal) or prints the last plain line.
  void finish(int64_t done, const char* unit, double seconds, const std::string& extra = {});

 private:
  void print(int64_t done, int64_t total, const char* unit, double seconds, bool last,
             const std::string& extra);

  std::string what_;
  bool enabled_;
  bool tty_;
  bool printed_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace m4h::cli
