// A fresh folder under the system's temp folder for one test, removed with everything in it at
// the end (errors ignored: a process the test stopped may still be closing a file there).
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace m4h::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "m4h-test")
      : path(std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path path;

 private:
  static std::atomic<int>& counter() {
    static std::atomic<int> n{0};
    return n;
  }
};

}  // namespace m4h::test
