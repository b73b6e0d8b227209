// Runs the built mlaas4hep executable from a test: an argument vector (no shell), stdin from
// /dev/null, stdout and stderr captured through files, killed after a timeout.
#pragma once

#include <string>
#include <vector>

namespace m4h::test {

struct CliResult {
  bool exited = false;  // normal exit: `status` is the exit status
  int status = -1;      // -1 when killed
  int signal = 0;       // killed by this signal (0 if it exited)
  bool timed_out = false;
  std::string out, err;

  // "exit status N" / "killed by signal N" (and "timed out"), then the start of stderr.
  std::string describe() const;
};

struct CliOptions {
  int timeout_s = 60;
  bool discard_stdout = false;  // stdout to /dev/null (large dumps that only their status matters)
};

CliResult run_cli(const std::vector<std::string>& args, const CliOptions& options = {});

// The lines of `s` (without their '\n').
std::vector<std::string> lines_of(const std::string& s);

}  // namespace m4h::test
