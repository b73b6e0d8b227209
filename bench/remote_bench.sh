#!/usr/bin/env bash
# Remote reading benchmark: the same files read locally, over root:// (direct and through the
# caching proxy) and over http:// (direct and through the proxy), from real xrootd servers on
# loopback (deploy/xrootd/, started by scripts/xrootd-servers.sh in a private network namespace).
#
#   bench/remote_bench.sh [--repeat R] [--chunk N] [--threads K]     (R rounds, default 3)
#
# Files (generated once into $BENCH_DATA_DIR and reused):
#   gen-1g-zlib.root   `mlaas4hep gen --events 4500000 --codec zlib --level 1` (~800 MB, 24 branches)
#   wide-113.root      bench/remote/make_wide_file: a NanoAOD-like tree of 113 branches
# For each file and way, build/bench/remote_read_bench reads every branch chunk by chunk
# (root::ChunkIterator, as an analysis job does), decodes, drops the columns, and reports the time
# and the I/O per chunk (requests, ranges, bytes): with the default coalescing gap, with
# --coalesce-gap 0, and with read-ahead of the next chunk. The ways are read in turn, R rounds,
# and medians reported, so that load on the machine hits them alike; the CPU time of the client
# and of both servers is reported too (on one machine they share its cores).
# `mlaas4hep dump --verbose` prints the same I/O statistics.
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
  "build: $BUILD_DIR ($(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")); $threads threads, chunks of $chunk entries;" \
  "$repeat rounds, each reading once every way in turn; medians"
echo

tck=$(getconf CLK_TCK)
server_ticks() {  # CPU ticks (user + system) used so far by both servers
  local t=0 pid
  for pid in "${XRD_PID[origin]}" "${XRD_PID[proxy]}"; do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$t"
}

# pass LABEL URL [remote_read_bench options...]: one read; appends its fields and the servers'
# CPU seconds to $work/passes.tsv.
pass() {
  local label=$1 url=$2 t0 line
  shift 2
  echo "  $label" >&2
  t0=$(server_ticks)
  line=$("$bench" --repeat 1 --tsv --chunk "$chunk" --threads "$threads" --label "$label" "$@" "$url:Events")
  echo "$line	$(awk -v a="$t0" -v b="$(server_ticks)" -v t="$tck" 'BEGIN { printf "%.2f", (b - a) / t }')" >>"$work/passes.tsv"
}

for f in gen-1g-zlib.root wide-113.root; do
  echo "reading $f" >&2
  : >"$work/passes.tsv"
  ways=(
    "local|$BENCH_DATA_DIR/$f|"
    "root:// direct|$XRD_ORIGIN_URL//$f|"
    "root:// proxy|$XRD_PROXY_URL//$f|"
    "http:// direct|$XRD_ORIGIN_HTTP_URL/$f|"
    "http:// proxy|$XRD_PROXY_HTTP_URL/$f|"
    "root:// direct, --read-ahead|$XRD_ORIGIN_URL//$f|--read-ahead"
    "http:// direct, --read-ahead|$XRD_ORIGIN_HTTP_URL/$f|--read-ahead"
    "local, --coalesce-gap 0|$BENCH_DATA_DIR/$f|--coalesce-gap 0"
    "root:// direct, --coalesce-gap 0|$XRD_ORIGIN_URL//$f|--coalesce-gap 0"
    "http:// direct, --coalesce-gap 0|$XRD_ORIGIN_HTTP_URL/$f|--coalesce-gap 0"
  )
  # The first read through the proxy fills its cache; the rounds below read a warm cache.
  pass "root:// proxy, cold cache" "$XRD_PROXY_URL//$f"
  for ((r = 0; r < repeat; r++)); do
    for w in "${ways[@]}"; do
      IFS='|' read -r label url opts <<<"$w"
      # shellcheck disable=SC2086
      pass "$label" "$url" $opts
    done
  done
  cp "$work/passes.tsv" "$work/$f.tsv"
  echo "### $f ($(du -m "$BENCH_DATA_DIR/$f" | cut -f1) MB on disk)"
  echo
  # One row per way: medians of its passes; "% of local" compares medians of the same rounds.
  awk -F'\t' '
    function median(key,   n, i, j, t, v) {
      n = split(vals[key], v, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
      return v[int((n + 1) / 2)]
    }
    {
      l = $1
      if (!(l in seen)) { seen[l] = 1; order[++n] = l }
      vals[l "s"] = vals[l "s"] " " $6; vals[l "cpu"] = vals[l "cpu"] " " $13; vals[l "srv"] = vals[l "srv"] " " $14
      br[l] = $2; mb[l] = $7; req[l] = $8; maxreq[l] = $9; ranges[l] = $10; kb[l] = $11
    }
    END {
      print "| read | branches | s | MB/s | % of local | requests/chunk (max) | ranges/chunk | KB/request | client CPU s | servers CPU s |"
      print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
      base = median("local" "s")
      for (i = 1; i <= n; i++) {
        l = order[i]; s = median(l "s")
        printf "| %s | %d | %.2f | %.0f | %.0f%% | %.1f (%d) | %.1f | %.0f | %.2f | %.2f |\n", l, br[l], s, mb[l] / s,
               100 * base / s, req[l], maxreq[l], ranges[l], kb[l], median(l "cpu"), median(l "srv")
      }
    }' "$work/$f.tsv" | tee "$work/$f.md"
  echo
done

# The issue's targets: remote loopback >= 70% of local; requests per chunk <= branches / 10 for
# the 113-branch file (default coalescing).
echo "### Targets"
echo
for f in gen-1g-zlib.root wide-113.root; do
  awk -F'|' -v f="$f" '
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    NR > 2 {
      label = trim($2); pct = trim($6) + 0; req = trim($7); sub(/ .*/, "", req); req += 0; br = trim($3) + 0
      if (label == "local" || label ~ /coalesce-gap|cold|read-ahead/) next
      line = sprintf("- %s, %s: %d%% of local (target >= 70%%: %s)", f, label, pct, pct >= 70 ? "met" : "MISSED")
      if (f ~ /wide/)
        line = line sprintf("; %.1f requests per chunk for %d branches (target <= %.1f: %s)", req, br, br / 10,
                            req <= br / 10 ? "met" : "MISSED")
      print line
    }' "$work/$f.md"
done
echo
echo "Requests per chunk with the default coalescing gap and with --coalesce-gap 0:"
for f in gen-1g-zlib.root wide-113.root; do
  for way in local "root:// direct" "http:// direct"; do
    awk -F'|' -v w="$way" -v f="$f" '
      function trim(s) { gsub(/^ +| +$/, "", s); return s }
      { l = trim($2) } l == w { d = trim($7); dr = trim($8) } l == w ", --coalesce-gap 0" { z = trim($7); zr = trim($8) }
      END { printf "- %s, %s: %s requests (%s ranges) with coalescing, %s (%s ranges) without\n", f, w, d, dr, z, zr }' "$work/$f.md"
  done
done
echo
echo "One read as the CLI reports it (mlaas4hep dump --verbose --chunk-size $chunk, wide-113.root over root://, last lines):"
echo '```'
"$BUILD_DIR/mlaas4hep" dump "$XRD_ORIGIN_URL//wide-113.root:Events" --format csv --verbose --chunk-size "$chunk" \
  --threads "$threads" 2>&1 >/dev/null | tail -n 3
echo '```'
