// Where the shared ROOT test files are, and a loud skip when they are absent.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace m4h::test {

// $MLAAS4HEP_TESTDATA, else ../shared/testdata/root beside the source tree. Empty if missing.
std::string testdata_dir();
// Full path of a test file; "" when the folder is missing.
std::string testdata_file(const std::string& name);
// Path of the built mlaas4hep executable.
std::string cli_path();

}  // namespace m4h::test

// Skips the current test with a loud message when the shared test data folder is absent.
#define M4H_REQUIRE_TESTDATA()                                                              \
  do {                                                                                      \
    if (::m4h::test::testdata_dir().empty())                                                \
      GTEST_SKIP() << "\n*** SKIPPED: shared ROOT test data not found (set MLAAS4HEP_TESTDATA "\
                      "or provide ../shared/testdata/root) ***";                             \
  } while (0)
