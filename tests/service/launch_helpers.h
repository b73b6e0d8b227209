// Shared by the executor and job tests (local and Slurm): a launch of a program in a test folder,
// with its log and status file there, recover() polled until it gives an answer, and a file's
// whole text ("" when it is missing).
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
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

// recover() for the launch's folder, asked again every `every` until it says `want` or `tries`
// answers have gone by (a lock is free, or a queue forgets a job, only some time after its end).
inline service::Recovery recover_until(service::Executor& ex, const service::Launch& l, service::Recovery::Kind want,
                                       int tries, std::chrono::milliseconds every) {
  service::Recovery r;
  for (int i = 0; i < tries && (r = ex.recover(l.workdir, l.status_file)).kind != want; ++i)
    std::this_thread::sleep_for(every);
  return r;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace m4h::test
