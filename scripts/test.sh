#!/usr/bin/env bash
# The one test command of mlaas4hep (CI runs it through .ci/run in a fresh clone):
#   1. installs the build dependencies (scripts/install-deps.sh: apt packages, npm jsroot oracle);
#   2. release build in build/ (Ninja) and its ctest run;
#   3. ASan+UBSan build in build-asan/ (-DM4H_SANITIZE=ON) and its ctest run;
#   4. if clang++ is available: libFuzzer build in build-fuzz/ and a bounded run of each fuzzer
#      (ctest label "fuzz"; M4H_FUZZ_SECONDS per fuzzer, default 60; 0 skips this stage).
# Ends with the line "N passed, N failed" (tests of all ctest runs; a build that fails counts as
# one failed test) and exits non-zero if anything failed.
#
# Environment: MLAAS4HEP_TESTDATA (default ../shared/testdata/root beside the repository; tests
# needing it are skipped loudly when it is missing), M4H_JOBS (parallel jobs, default 2),
# M4H_FUZZ_SECONDS, M4H_TIME_BUDGET_S (seconds after which the fuzzers are shortened, default 4800),
# M4H_SKIP_DEPS=1 (do not run install-deps.sh).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

jobs=${M4H_JOBS:-2}
fuzz_seconds=${M4H_FUZZ_SECONDS:-60}
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1  # libgomp and OpenBLAS spin on shared cores
export CTEST_OUTPUT_ON_FAILURE=1

passed=0
failed=0
problems=()
logdir="$root/build-logs"
mkdir -p "$logdir"

t0=$SECONDS
stage() { printf '\n==== %s (at %ds) ====\n' "$*" $((SECONDS - t0)); }
fail_stage() {  # a step that is not a ctest run failed: count it as one failed test
  failed=$((failed + 1))
  problems+=("$1")
  echo "test.sh: FAILED: $1" >&2
}

# Runs ctest in build dir $1 (extra ctest args after it) and adds its counts to the totals.
run_ctest() {
  local dir=$1 name=$2
  shift 2
  local log="$logdir/ctest-$name.log"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E '[0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    local f t
    f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
    passed=$((passed + t - f))
    failed=$((failed + f))
    ((f == 0)) || problems+=("$name: $f of $t tests failed (log: $log)")
    if ((f == 0 && rc != 0)); then fail_stage "$name: ctest exited with status $rc"; fi
  elif ((rc != 0)) || grep -q "No tests were found" "$log"; then
    fail_stage "$name: ctest ran no tests (status $rc, log: $log)"
  fi
}

# configure_and_build NAME DIR [cmake args...]; returns non-zero (and counts a failure) on error.
configure_and_build() {
  local name=$1 dir=$2
  shift 2
  local log="$logdir/build-$name.log"
  echo "configure + build $dir (log: $log)"
  # A build folder made earlier with another generator cannot be reused as is.
  if [ -f "$dir/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  if ! { cmake -S "$root" -B "$dir" -G Ninja "$@" && cmake --build "$dir" -j "$jobs"; } >"$log" 2>&1; then
    tail -n 60 "$log"
    fail_stage "$name: configure/build failed (log: $log)"
    return 1
  fi
  grep -E 'warning:' "$log" | sort -u | head -n 20 || true
}

# ---------------------------------------------------------------------------------------------
stage "dependencies"
if [ "${M4H_SKIP_DEPS:-0}" != 1 ]; then
  # A failure here is reported but does not stop the run: what is missing makes a build or a test
  # fail below, and those are counted. (Example: a machine with NodeSource's nodejs, which bundles
  # npm and conflicts with Debian's npm package.)
  if ! bash "$root/scripts/install-deps.sh"; then
    echo "test.sh: WARNING: scripts/install-deps.sh failed; continuing with what is installed" >&2
    problems+=("warning: scripts/install-deps.sh failed (not counted; see the top of the log)")
  fi
fi

data=${MLAAS4HEP_TESTDATA:-$root/../shared/testdata/root}
if [ -d "$data" ]; then
  MLAAS4HEP_TESTDATA="$(cd "$data" && pwd)"
  export MLAAS4HEP_TESTDATA
  echo "test data: $MLAAS4HEP_TESTDATA ($(ls "$MLAAS4HEP_TESTDATA"/*.root 2>/dev/null | wc -l) ROOT files)"
else
  unset MLAAS4HEP_TESTDATA
  echo "test.sh: WARNING: no test data at '$data': tests that need it will be SKIPPED" >&2
fi

# ---------------------------------------------------------------------------------------------
stage "release build (build/)"
if configure_and_build release "$root/build" -DCMAKE_BUILD_TYPE=Release -DM4H_SANITIZE=OFF -DM4H_FUZZ=OFF \
  -DM4H_BUILD_TESTS=ON; then
  stage "release tests"
  run_ctest "$root/build" release --timeout 1200
fi

# ---------------------------------------------------------------------------------------------
stage "ASan + UBSan build (build-asan/)"
# LeakSanitizer cannot run under ptrace-restricted sandboxes; probe it before relying on it.
leaks=1
probe_dir=$(mktemp -d)
printf 'int main() { return 0; }\n' >"$probe_dir/p.cc"
if c++ -fsanitize=address "$probe_dir/p.cc" -o "$probe_dir/p" 2>/dev/null; then
  if ! ASAN_OPTIONS=detect_leaks=1 "$probe_dir/p" >/dev/null 2>&1; then
    leaks=0
    echo "test.sh: WARNING: LeakSanitizer does not work here; running with detect_leaks=0" >&2
  fi
fi
rm -rf "$probe_dir"
export ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# -O1 and line tables only (-g1): what sanitizer reports need, at a fraction of -O2 -g's compile
# time. The jsroot oracle runs in the release stage only: under ASan it would re-check the same
# values through the same reader, several times slower (tests/CMakeLists.txt also trims the
# remote test there).
if configure_and_build asan "$root/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DM4H_SANITIZE=ON \
  -DM4H_FUZZ=OFF -DM4H_BUILD_TESTS=ON -DM4H_BUILD_BENCH=OFF; then
  stage "ASan + UBSan tests"
  run_ctest "$root/build-asan" asan --timeout 1800 -LE oracle
fi

# ---------------------------------------------------------------------------------------------
stage "fuzzing (build-fuzz/)"
if [ "$fuzz_seconds" = 0 ]; then
  echo "M4H_FUZZ_SECONDS=0: fuzzing skipped"
elif ! command -v clang++ >/dev/null 2>&1; then
  echo "test.sh: WARNING: clang++ not found: fuzzing skipped" >&2
else
  if configure_and_build fuzz "$root/build-fuzz" -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DM4H_FUZZ=ON -DM4H_SANITIZE=OFF -DM4H_BUILD_TESTS=OFF -DM4H_BUILD_BENCH=OFF; then
    # CI gives the whole run 90 minutes: past M4H_TIME_BUDGET_S (default 4800 s) each fuzzer gets
    # what is left, 15 s at least, and says so.
    budget=${M4H_TIME_BUDGET_S:-4800}
    nfuzz=$(ctest --test-dir "$root/build-fuzz" -N -L fuzz | grep -c 'Test *#')
    left=$((budget - (SECONDS - t0)))
    if ((nfuzz > 0 && left < nfuzz * fuzz_seconds)); then
      fuzz_seconds=$((left / nfuzz))
      ((fuzz_seconds >= 15)) || fuzz_seconds=15
      echo "test.sh: WARNING: $((SECONDS - t0))s spent of a ${budget}s budget: fuzzing ${fuzz_seconds}s each" >&2
    fi
    stage "fuzzers, ${fuzz_seconds}s each"
    M4H_FUZZ_SECONDS=$fuzz_seconds run_ctest "$root/build-fuzz" fuzz -L fuzz --timeout $((fuzz_seconds + 900))
    if ls "$root/build-fuzz/fuzz-work/artifacts/"* >/dev/null 2>&1; then
      echo "fuzzer findings so far (build-fuzz/fuzz-work/artifacts/):"
      ls -lt "$root/build-fuzz/fuzz-work/artifacts/" | head -n 20
    fi
  fi
fi

# ---------------------------------------------------------------------------------------------
stage "summary"
for p in "${problems[@]+"${problems[@]}"}"; do echo "  - $p"; done
echo "$passed passed, $failed failed"
((failed == 0))
