// Shared by the executor and job tests (local and Slurm): a launch of a program in a test folder,
// with its log and status file there, and a file's whole text ("" when it is missing).
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "service/executor.h"

namespace m4h::test {

inline service::Launch launch_in(const std::filesystem::path& dir, std::vector<std::string> argv) {
  service::Launch l;
  l.argv = std::move(argv);
  l.workdir = dir.string();
  l.log = (dir / "log.txt").string();
  l.status_file = (dir / "status").string();
  return l;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace m4h::test
