#!/usr/bin/env bash
# The main job of mlaas4hep for now: build the command-line tool (release, build/) if needed,
# generate labelled signal and background event files with our own ROOT writer (mlaas4hep gen),
# and show what the reader makes of them: keys (ls), branches (show) and the first entries of
# every branch as JSON (dump). Needs no input data.
#
#   bash scripts/demo.sh [FILE [TREE]]    # or read a ROOT file of your own instead
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
  out="$root/build/demo"
  mkdir -p "$out"
  echo
  echo "\$ mlaas4hep gen --process signal --events 20000 --seed 1 -o $out/signal.root"
  "$cli" gen --process signal --events 20000 --seed 1 -o "$out/signal.root"
  echo "\$ mlaas4hep gen --process background --events 20000 --seed 2 --codec zstd --layout vector -o $out/background.root"
  "$cli" gen --process background --events 20000 --seed 2 --codec zstd --level 5 --layout vector \
    -o "$out/background.root"
  file="$out/signal.root"
  tree=Events
fi
spec="$file${tree:+:$tree}"

run() {
  echo
  echo "\$ mlaas4hep $*"
  "$cli" "$@"
}
run ls "$file"
run show "$spec"
run dump --stop 3 -b event -b nJet -b Jet_pt -b Jet_btagDeepB -b HT -b nBJet -b mbb "$spec"
if [ -z "${1:-}" ]; then
  run show "$root/build/demo/background.root:Events"
  run dump --stop 3 --format csv -b event -b HT -b nBJet -b mbb "$root/build/demo/background.root:Events"
fi
