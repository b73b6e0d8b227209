#!/usr/bin/env bash
# Builds read_bench (release) and runs it on the largest test file of each codec, with jsroot.
#
#   bench/run_bench.sh [read_bench options...]      e.g. --repeat 7 --min-time 0.5
#
# Environment:
#   BUILD_DIR            build directory (default: build). Reused as configured if it exists;
#                        otherwise configured with -G Ninja -DCMAKE_BUILD_TYPE=Release.
#   MLAAS4HEP_TESTDATA   test files (default: ../shared/testdata/root, from the repository root)
#   JOBS                 parallel compile jobs (default: 2)
#   NO_JSROOT=1          leave out the jsroot column (it needs node and tools/oracle/node_modules)
#   BENCH_JSON           where to write the JSON of every measurement
#                        (default: $BUILD_DIR/read_bench.json)
# The markdown table goes to stdout, progress to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
DATA=${MLAAS4HEP_TESTDATA:-../shared/testdata/root}
BENCH_JSON=${BENCH_JSON:-$BUILD_DIR/read_bench.json}

if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
case $build_type in
  Release | RelWithDebInfo) ;;
  *) echo "warning: $BUILD_DIR is a '${build_type:-no build type}' build; numbers are not" \
          "representative (use BUILD_DIR=build-release for a separate Release build)" >&2 ;;
esac
cmake --build "$BUILD_DIR" -j "$JOBS" --target read_bench >&2

targets=(
  uproot-issue79.root:taus                    # uncompressed, 4 MB, one flat branch
  uproot-HZZ-uncompressed.root:events
  uproot-HZZ-zlib.root:events
  uproot-HZZ-lz4.root:events
  uproot-HZZ-lzma.root:events
  uproot-HZZ-zstd.root:events
  uproot-Zmumu-uncompressed.root:events
  uproot-Zmumu-zlib.root:events
  uproot-Zmumu-lz4.root:events
  uproot-Zmumu-lzma.root:events
  uproot-Zmumu-zstd.root:events
  uproot-issue-951.root:CollectionTree        # zstd, ATLAS xAOD
  nanoAOD_2015_CMS_Open_Data_ttbar.root:Events
  uproot-demo-double32.root:T                 # Double32_t / Float16_t members
  uproot-issue412.root:test
  uproot-hepdata-example.root:ntuple
)

args=()
for t in "${targets[@]}"; do
  f=$DATA/${t%%:*}
  if [[ -f $f ]]; then args+=("$f:${t#*:}"); else echo "note: $f is missing, skipped" >&2; fi
done
((${#args[@]})) || { echo "error: no test file found under $DATA" >&2; exit 1; }

jsroot=()
if [[ ${NO_JSROOT:-0} != 1 ]]; then
  if command -v node > /dev/null && [[ -d tools/oracle/node_modules/jsroot ]]; then
    jsroot=(--jsroot)
  else
    echo "note: no node or tools/oracle/node_modules (cd tools/oracle && npm ci): jsroot left out" >&2
  fi
fi

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1);" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); build: $BUILD_DIR ($build_type)" >&2
"$BUILD_DIR/bench/read_bench" "${jsroot[@]}" --json "$BENCH_JSON" "$@" "${args[@]}"
echo "JSON: $BENCH_JSON" >&2
