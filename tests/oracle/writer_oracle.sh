#!/usr/bin/env bash
# writer_oracle.sh [BUILD_DIR]: jsroot (an independent reader) must read what our writer writes.
# Writes one file per codec jsroot reads (none, zlib, lz4, zstd, lzma), each with every dtype in
# every branch kind (scalar, fixed 1-D/2-D, counted by int32 and uint32 counters, std::vector,
# std::string) in several baskets plus a tree in a subdirectory (the WriterJsrootFixtures test of
# writer_test), and two generated event files; then dumps every tree with `mlaas4hep dump` and
# with tools/oracle/dump.mjs and compares them value by value (tests/oracle/compare.mjs).
# Exit: 0 all identical, 1 any mismatch or failure, 77 skipped (node or jsroot missing; ctest
# reports it as skipped).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
skip() {
  echo "*****************************************************************"
  echo "*** SKIPPED writer oracle: $1"
  echo "*****************************************************************"
  exit 77
}
command -v node >/dev/null || skip "node is not installed (scripts/install-deps.sh)"
[ -d "$here/tools/oracle/node_modules/jsroot" ] || skip "jsroot is not installed (cd tools/oracle && npm ci)"
for exe in "$build/mlaas4hep" "$build/tests/writer_test"; do
  [ -x "$exe" ] || { echo "FAIL: $exe is not built"; exit 1; }
done
out=$(mktemp -d "${TMPDIR:-/tmp}/m4h-writer-oracle.XXXXXX")
trap 'rm -rf "$out"' EXIT

M4H_WRITER_FIXTURES=$out "$build/tests/writer_test" --gtest_filter='WriterJsrootFixtures.*' >"$out/fixtures.log" 2>&1 || {
  cat "$out/fixtures.log"; echo "FAIL: writing the fixtures failed"; exit 1; }
grep -q '\[  PASSED  \] 1 test' "$out/fixtures.log" || { cat "$out/fixtures.log"; echo "FAIL: the fixture test did not run"; exit 1; }
"$build/mlaas4hep" gen --process signal --events 3000 --codec zlib -o "$out/gen-nanoaod.root" >/dev/null &&
"$build/mlaas4hep" gen --process background --events 3000 --codec lz4 --layout vector -o "$out/gen-vector.root" >/dev/null || {
  echo "FAIL: mlaas4hep gen failed"; exit 1; }

fail=0 n=0
check() {  # check FILE TREE
  local f=$1 tree=$2 tag
  tag="$(basename "$f"):$tree"
  local j="$out/$(basename "$f").${tree//\//_}"
  "$build/mlaas4hep" dump "$f:$tree" >"$j.ours.json" 2>"$j.ours.err" || {
    echo "FAIL $tag: mlaas4hep dump failed: $(tail -1 "$j.ours.err")"; fail=1; return; }
  node "$here/tools/oracle/dump.mjs" "$f" "$tree" >"$j.oracle.json" 2>"$j.oracle.err" || {
    echo "FAIL $tag: jsroot could not read it: $(tail -1 "$j.oracle.err")"; fail=1; return; }
  local res
  res=$(node "$here/tests/oracle/compare.mjs" "$j.ours.json" "$j.oracle.json") || {
    echo "FAIL $tag: $res" | cut -c1-600; fail=1; return; }
  case "$res" in
    *'"mismatched":[]'*'"oracle_missing":[]'*'"ours_missing":[]'*'"header":[]'*) ;;
    *) echo "FAIL $tag: not every branch compared: $res" | cut -c1-600; fail=1; return ;;
  esac
  case "$res" in *'"matched":0,'*) echo "FAIL $tag: nothing compared"; fail=1; return ;; esac
  echo "ok $tag: $res" | cut -c1-160
  n=$((n + 1))
}
nfix=0
for f in "$out"/written-*.root; do
  [ -e "$f" ] || continue
  nfix=$((nfix + 1))
  check "$f" T
  check "$f" sub/T2
done
[ "$nfix" -ge 5 ] || { echo "FAIL: expected >= 5 fixture files, found $nfix"; fail=1; }
check "$out/gen-nanoaod.root" Events
check "$out/gen-vector.root" Events
echo "writer oracle: $n trees read identically by jsroot ($nfix fixture files)"
exit $fail
