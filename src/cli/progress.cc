#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace m4h::cli {

ProgressLine::ProgressLine(std::string what, bool enabled)
    : what_(std::move(what)), enabled_(enabled), tty_(::isatty(2) == 1) {}

void ProgressLine::print(int64_t done, int64_t total, const char* unit, double seconds, bool last,
                         const std::string& extra) {
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  char pct[32] = "";
  if (total > 0)
    std::snprintf(pct, sizeof pct, " of %lld (%.0f%%)", static_cast<long long>(total),
                  100.0 * static_cast<double>(done) / static_cast<double>(total));
  std::fprintf(stderr, "%smlaas4hep: %s: %lld %s%s, %.0f %s/s, %.1f s%s%s", tty_ ? "\r" : "",
               what_.c_str(), static_cast<long long>(done), unit, pct, rate, unit, seconds,
               extra.c_str(), tty_ ? (last ? "\n" : "\x1b[K") : "\n");
  std::fflush(stderr);
  printed_ = true;
}

void ProgressLine::update(int64_t done, int64_t total, const char* unit, double seconds,
                          const std::string& extra) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  // A terminal is redrawn 10 times a second; a log gets a line every 5 seconds.
  const auto every = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000);
  if (printed_ && now - last_ < every) return;
  if (!printed_ && !tty_ && seconds < 5) return;
  last_ = now;
  print(done, total, unit, seconds, false, extra);
}

void ProgressLine::finish(int64_t done, const char* unit, double seconds, const std::string& extra) {
  if (!enabled_) return;
  if (tty_ || printed_) print(done, 0, unit, seconds, true, extra);
}

}  // namespace m4h::cli
