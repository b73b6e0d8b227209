#!/usr/bin/env bash
# Remote reading benchmark: the same files read locally, over root:// (direct and through the
# caching proxy) and over http:// (direct and through the proxy), from real xrootd servers on
# loopback (deploy/xrootd/, started by scripts/xrootd-servers.sh in a private network namespace).
#
#   bench/remote_bench.sh [--repeat R] [--chunk N] [--threads K]
#
# Files (generated once into $BENCH_DATA_DIR and reused):
#   gen-1g-zlib.root   `mlaas4hep gen --events 4500000 --codec zlib --level 1` (~800 MB, 24 branches)
#   wide-113.root      bench/remote/make_wide_file: a NanoAOD-like tree of 113 branches
# For each file and way, build/bench/remote_read_bench reads every branch chunk by chunk
# (root::ChunkIterator, as an analysis job does), decodes, drops the columns, and reports MB/s and
# the I/O per chunk (requests, ranges, bytes), with the default coalescing gap and with
# --coalesce-gap 0. `mlaas4hep dump --verbose` prints the same I/O statistics for one read.
#
# Environment:
#   BUILD_DIR        build directory (default build; configured Release if it does not exist)
#   BENCH_DATA_DIR   where the generated files live (default ${TMPDIR:-/tmp}/m4h-remote-bench)
#   JOBS             parallel compile jobs (default 2)
#   NO_BUILD=1       use the binaries as they are
# The markdown tables go to stdout, progress to stderr. Exit 77 if no private network namespace
# can be made (the servers are never started on public interfaces).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
# shellcheck source=../scripts/xrootd-servers.sh
source "$here/scripts/xrootd-servers.sh"

repeat=3 chunk=200000 threads=2
args=("$@")
while (($#)); do
  case $1 in
    --repeat) repeat=$2; shift 2 ;;
    --chunk) chunk=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "usage: bench/remote_bench.sh [--repeat R] [--chunk N] [--threads K]" >&2; exit 2 ;;
  esac
done

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
BENCH_DATA_DIR=${BENCH_DATA_DIR:-${TMPDIR:-/tmp}/m4h-remote-bench}

# Build and generate before entering the namespace (nothing there needs the network, but a
# failure is clearer here).
if [ "${XRD_IN_NETNS:-}" != 1 ]; then
  if [ "${NO_BUILD:-0}" != 1 ]; then
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
      cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
    fi
    cmake --build "$BUILD_DIR" -j "$JOBS" --target mlaas4hep remote_read_bench make_wide_file >&2
  fi
  mkdir -p "$BENCH_DATA_DIR"
  if [ ! -s "$BENCH_DATA_DIR/gen-1g-zlib.root" ]; then
    echo "generating $BENCH_DATA_DIR/gen-1g-zlib.root (kept for later runs)" >&2
    "$BUILD_DIR/mlaas4hep" gen --process signal --events 4500000 --codec zlib --level 1 --threads 2 \
      -o "$BENCH_DATA_DIR/gen-1g-zlib.root.tmp" >&2
    mv "$BENCH_DATA_DIR/gen-1g-zlib.root.tmp" "$BENCH_DATA_DIR/gen-1g-zlib.root"
  fi
  if [ ! -s "$BENCH_DATA_DIR/wide-113.root" ]; then
    echo "generating $BENCH_DATA_DIR/wide-113.root (kept for later runs)" >&2
    "$BUILD_DIR/bench/make_wide_file" --events 500000 --codec zlib --level 1 --threads 2 \
      -o "$BENCH_DATA_DIR/wide-113.root.tmp" >&2
    mv "$BENCH_DATA_DIR/wide-113.root.tmp" "$BENCH_DATA_DIR/wide-113.root"
  fi
fi

export BUILD_DIR BENCH_DATA_DIR
xrd_enter_netns "${BASH_SOURCE[0]}" "${args[@]+"${args[@]}"}"

work=$(mktemp -d "${TMPDIR:-/tmp}/m4h-remote-bench-run.XXXXXX")
chmod 755 "$work"
trap 'xrd_stop_all; rm -rf "$work"' EXIT
xrd_stage_data "$BENCH_DATA_DIR" "$work/data"
xrd_start "$work/data" "$work/servers" >&2 || { echo "error: the XRootD servers did not start" >&2; exit 1; }
trap 'xrd_stop_all; rm -rf "$work"' EXIT

bench="$BUILD_DIR/bench/remote_read_bench"
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg);" \
  "build: $BUILD_DIR ($(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")); $threads threads, chunks of $chunk entries, median of $repeat passes"
echo

# row LABEL URL [remote_read_bench options...]: one table row.
row() {
  local label=$1 url=$2
  shift 2
  echo "  $label" >&2
  "$bench" --repeat "$repeat" --chunk "$chunk" --threads "$threads" --label "$label" "$@" "$url:Events"
}

for f in gen-1g-zlib.root wide-113.root; do
  echo "### $f ($(du -m "$BENCH_DATA_DIR/$f" | cut -f1) MB)"
  echo
  echo "reading $f" >&2
  row "local" "$BENCH_DATA_DIR/$f" --header | tee "$work/$f.default.md"
  row "root:// direct" "$XRD_ORIGIN_URL//$f" | tee -a "$work/$f.default.md"
  # The first pass through the proxy fills its cache (cold); the next ones are served by it.
  "$bench" --repeat 1 --chunk "$chunk" --threads "$threads" --label "root:// proxy, cold cache" \
    "$XRD_PROXY_URL//$f:Events" | tee -a "$work/$f.cold.md"
  row "root:// proxy" "$XRD_PROXY_URL//$f" | tee -a "$work/$f.default.md"
  row "http:// direct" "$XRD_ORIGIN_HTTP_URL/$f" | tee -a "$work/$f.default.md"
  row "http:// proxy" "$XRD_PROXY_HTTP_URL/$f" | tee -a "$work/$f.default.md"
  for way in "local|$BENCH_DATA_DIR/$f" "root:// direct|$XRD_ORIGIN_URL//$f" "http:// direct|$XRD_ORIGIN_HTTP_URL/$f"; do
    row "${way%%|*}, --coalesce-gap 0" "${way#*|}" --coalesce-gap 0 | tee -a "$work/$f.gap0.md"
  done
  echo
done

# The issue's targets, from the rows above: remote loopback >= 70% of local MB/s; requests per
# chunk <= branches / 10 for the 113-branch file (default coalescing).
echo "### Targets"
echo
for f in gen-1g-zlib.root wide-113.root; do
  awk -F'|' -v f="$f" '
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    /^\| / && $2 !~ /read/ {
      label = trim($2); mbs = trim($9) + 0; req = trim($10); sub(/ .*/, "", req); req += 0; br = trim($3) + 0
      if (label == "local") { local_mbs = mbs; next }
      line = sprintf("- %s, %s: %.0f%% of local (target >= 70%%: %s)", f, label, 100 * mbs / local_mbs,
                     mbs >= 0.7 * local_mbs ? "met" : "MISSED")
      if (f ~ /wide/)
        line = line sprintf("; %s requests per chunk for %s branches (target <= %.1f: %s)", req, br, br / 10,
                            req <= br / 10 ? "met" : "MISSED")
      print line
    }' "$work/$f.default.md"
done
echo
echo "Requests per chunk, default coalescing vs --coalesce-gap 0 (wide-113.root):"
for way in local "root:// direct" "http:// direct"; do
  d=$(awk -F'|' -v w="$way" '{ l = $2; gsub(/^ +| +$/, "", l) } l == w { r = $10; gsub(/^ +| +$/, "", r); print r }' "$work/wide-113.root.default.md")
  z=$(awk -F'|' -v w="$way, --coalesce-gap 0" '{ l = $2; gsub(/^ +| +$/, "", l) } l == w { r = $10; gsub(/^ +| +$/, "", r); print r }' "$work/wide-113.root.gap0.md")
  echo "- $way: $d with coalescing, $z without"
done
echo
echo "One read as the CLI reports it (mlaas4hep dump --verbose --chunk-size $chunk, wide-113.root over root://, last lines):"
echo '```'
"$BUILD_DIR/mlaas4hep" dump "$XRD_ORIGIN_URL//wide-113.root:Events" --format csv --verbose --chunk-size "$chunk" \
  --threads "$threads" 2>&1 >/dev/null | tail -n 3
echo '```'
