#include "support/testdata.h"

#include <cstdlib>
#include <filesystem>

namespace m4h::test {

std::string testdata_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("MLAAS4HEP_TESTDATA"); env && *env) {
    return fs::is_directory(env) ? std::string(env) : std::string();
  }
  fs::path p = fs::path(M4H_SOURCE_DIR) / ".." / "shared" / "testdata" / "root";
  if (fs::is_directory(p)) return fs::weakly_canonical(p).string();
  return {};
}

std::string testdata_file(const std::string& name) {
  auto d = testdata_dir();
  return d.empty() ? std::string() : d + "/" + name;
}

}  // namespace m4h::test

namespace m4h::test {
std::string cli_path() { return std::string(M4H_BINARY_DIR) + "/mlaas4hep"; }
}  // namespace m4h::test
