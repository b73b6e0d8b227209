#!/usr/bin/env bash
# writer_oracle.sh BUILD_DIR: writes one file per codec with every branch type (the
# WriterFixtures test of tree_writer_test), plus generated event files, then reads each back with
# mlaas4hep and with the jsroot oracle and compares the values (tests/oracle/compare.mjs).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ ! -d "$here/tools/oracle/node_modules/jsroot" ]; then
  echo "FAIL: the jsroot oracle is not installed (run scripts/install-deps.sh)"
  exit 1
fi
M4H_WRITER_FIXTURES=$out "$build/tests/tree_writer_test" --gtest_filter='WriterFixtures.*' >/dev/null || {
  echo "FAIL: writing the fixtures failed"; exit 1; }
"$build/mlaas4hep" gen --process signal --events 3000 --codec zlib -o "$out/gen-nanoaod.root" >/dev/null
"$build/mlaas4hep" gen --process background --events 3000 --codec lz4 --layout vector -o "$out/gen-vector.root" >/dev/null
fail=0; n=0
for f in "$out"/*.root; do
  tree=T
  case "$f" in */gen-*) tree=Events ;; esac
  "$build/mlaas4hep" dump "$f:$tree" >"$f.ours.json" || { echo "FAIL $f: mlaas4hep dump failed"; fail=1; continue; }
  node "$here/tools/oracle/dump.mjs" "$f" "$tree" >"$f.oracle.json" 2>"$f.oracle.err" || {
    echo "FAIL $f: jsroot could not read it: $(tail -1 "$f.oracle.err")"; fail=1; continue; }
  res=$(node "$here/tests/oracle/compare.mjs" "$f.ours.json" "$f.oracle.json") || { echo "FAIL $(basename "$f"): $res" | cut -c1-500; fail=1; continue; }
  case "$res" in *'"oracle_missing":[]'*) ;; *) echo "FAIL $(basename "$f"): jsroot skipped branches: $res" | cut -c1-500; fail=1; continue ;; esac
  echo "ok $(basename "$f"): $res" | cut -c1-200
  n=$((n + 1))
done
echo "writer oracle: $n files read identically by jsroot"
exit $fail
