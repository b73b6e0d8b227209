// A stand-in for mlaas4hep-ml in the service tests: a shell script that behaves like `train` by
// the first label of the job: 9 fails with an error line, 8 runs for 30 s, 7 for a second; the
// others print their files and write bundle/metrics.json at once. Each prints the CPUs it may use.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace m4h::test {

inline constexpr const char* kFakeTrain = R"sh(#!/bin/sh
out=""
while [ $# -gt 0 ]; do
  case "$1" in --fout) out="$2"; shift ;; esac
  shift
done
cat inputs/files.txt
grep Cpus_allowed_list /proc/self/status
case "$(head -n 1 inputs/labels.txt)" in
  9) echo "mlaas4hep: error: params.json: no branches selected" >&2; exit 2 ;;
  8) sleep 30 ;;
  7) sleep 1 ;;
esac
mkdir -p "$out" && echo '{"auc": 0.8}' > "$out/metrics.json"
)sh";

// Writes the script into `dir` and returns its path.
inline std::string write_fake_train(const std::filesystem::path& dir) {
  const auto path = dir / "fake-ml";
  std::ofstream(path) << kFakeTrain;
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path.string();
}

}  // namespace m4h::test
