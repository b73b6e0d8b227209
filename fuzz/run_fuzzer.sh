#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time on a corpus seeded from the shared ROOT test files.
# Registered as a ctest test by fuzz/CMakeLists.txt (label "fuzz"); scripts/test.sh runs it.
#
#   run_fuzzer.sh FUZZER SEED_KIND MAKE_SEEDS WORKDIR DEFAULT_TESTDATA
#
# SEED_KIND is "files" (whole ROOT files up to 100 kB), "baskets" (stored baskets cut out of
# them), or an absolute folder of seed inputs used as it is (expression_fuzz). Environment:
# M4H_FUZZ_SECONDS (default 60), MLAAS4HEP_TESTDATA (overrides the default).
# The corpus grown by earlier runs is kept in WORKDIR/NAME/corpus; findings are written to
# WORKDIR/artifacts/NAME-{crash,leak,oom,timeout,slow-unit}-* and make the run fail.
set -euo pipefail

fuzzer=$1 kind=$2 make_seeds=$3 work=$4 default_data=$5
name=$(basename "$fuzzer")
secs=${M4H_FUZZ_SECONDS:-60}
data=${MLAAS4HEP_TESTDATA:-$default_data}

dir="$work/$name"
rm -rf "$dir/seeds"
mkdir -p "$dir/corpus" "$dir/seeds" "$work/artifacts"
shopt -s nullglob
files=("$data"/*.root)
if ((${#files[@]})); then
  "$make_seeds" "$dir/seeds/files" "$dir/seeds/baskets" --max-file-bytes 100000 "${files[@]}"
else
  echo "run_fuzzer: no test files in '$data': fuzzing from an empty corpus" >&2
  mkdir -p "$dir/seeds/files" "$dir/seeds/baskets"
fi

seeds="$dir/seeds/$kind"
[[ "$kind" == /* ]] && seeds="$kind"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
before=$(ls "$work/artifacts" | wc -l)
set +e
"$fuzzer" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/$name-" "$dir/corpus" "$seeds"
rc=$?
set -e
if ((rc != 0)); then
  echo "run_fuzzer: $name FAILED (exit status $rc). Findings:" >&2
  ls -t "$work/artifacts" | head -n $(( $(ls "$work/artifacts" | wc -l) - before )) |
    while read -r a; do echo "  reproduce: $fuzzer $work/artifacts/$a" >&2; done || true
  exit 1
fi
echo "run_fuzzer: $name ran ${secs}s without findings"
