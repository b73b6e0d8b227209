#!/usr/bin/env bash
# The main job of mlaas4hep for now: build the command-line reader (release, build/) if needed and
# show what it reads from a ROOT file: its keys (ls), a tree's branches (show) and the first five
# entries of every branch as JSON (dump --stop 5).
#
#   bash scripts/demo.sh [FILE [TREE]]
#
# Without FILE it reads uproot-HZZ.root from the shared test data ($MLAAS4HEP_TESTDATA, default
# ../shared/testdata/root beside the repository).
# TODO(writer): once our own ROOT writer lands (later issue), generate the demo file here so that
# the demo runs on a fresh Debian 12 machine without the shared test data.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs=${M4H_JOBS:-2}
export OMP_WAIT_POLICY=passive

echo "==== dependencies"
bash scripts/install-deps.sh ||
  echo "demo.sh: WARNING: scripts/install-deps.sh failed; trying to build with what is installed" >&2

echo "==== build (build/, release)"
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build -j "$jobs" --target mlaas4hep
cli="$root/build/mlaas4hep"

file=${1:-}
tree=${2:-}
if [ -z "$file" ]; then
  data=${MLAAS4HEP_TESTDATA:-$root/../shared/testdata/root}
  file="$data/uproot-HZZ.root"
  tree=events
  if [ ! -f "$file" ]; then
    echo "demo.sh: no input file: $file does not exist." >&2
    echo "demo.sh: pass a ROOT file (bash scripts/demo.sh FILE [TREE]) or set MLAAS4HEP_TESTDATA." >&2
    echo "demo.sh: TODO(writer): the demo will generate its own file once the ROOT writer exists." >&2
    exit 1
  fi
fi
spec="$file${tree:+:$tree}"

run() {
  echo
  echo "\$ mlaas4hep $*"
  "$cli" "$@"
}
run ls "$file"
run show "$spec"
run dump --stop 5 "$spec"
