// Running a helper program (tar, sbatch, squeue...) the safe way: an argument vector looked up on
// PATH, never a shell line, stdin from /dev/null, what it prints collected.
#pragma once

#include <string>
#include <vector>

namespace m4h {

struct ProgramOutput {
  int status = -1;   // exit status; -1 when it was killed by a signal
  std::string text;  // stdout and stderr together
};

// Runs `args` (args[0] looked up on PATH) and waits for it. Throws m4h::Error kUnsupported when it
// cannot be started (not installed), kIo when no pipe can be made.
ProgramOutput run_program(const std::vector<std::string>& args);

// The non-empty lines of `text`.
std::vector<std::string> lines_of(const std::string& text);

}  // namespace m4h
