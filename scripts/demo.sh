#!/usr/bin/env bash
# The main job of mlaas4hep for now: build the command-line tool (release, build/) if needed,
# generate labelled signal and background event files with our own ROOT writer (mlaas4hep gen),
# show what the reader makes of them: keys (ls), branches (show) and the first entries of
# branches as JSON (dump); then turn them into model inputs the way the reference MLaaS4HEP
# does, from its own kind of files.txt, labels.txt, params.json and preproc.json: specs
# (min/max/jdim per feature) and normalised, padded, labelled, mixed chunks as .npy files
# (mlaas4hep specs / export). Needs no input data.
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

if [ -z "${1:-}" ]; then
  demo="$root/build/demo"
  printf '# one ROOT file per line; labels.txt gives each its class\n%s\n%s\n' \
    "$demo/signal.root" "$demo/background.root" >"$demo/files.txt"
  printf '1\n0\n' >"$demo/labels.txt"
  cat >"$demo/params.json" <<'JSON'
{"nevts": -1, "chunk_size": 10000, "epochs": 5, "batch_size": 100, "branch": "Events",
 "selected_branches": "", "exclude_branches": "", "identifier": "run,event,luminosityBlock",
 "seed": 42}
JSON
  cat >"$demo/preproc.json" <<'JSON'
{
  "new_branch": {
    "lead_jet_pt": {"def": "Jet_pt[0]", "type": "flat", "cut": "lead_jet_pt>30", "remove": "False"},
    "log_jet_pt": {"def": "log(Jet_pt)", "type": "jagged", "remove": "False", "keys_to_remove": ["Jet_pt"]}
  },
  "flat_cut": {"nJet": {"cut": "4<=nJet<=12", "remove": "False"}},
  "jagged_cut": {"Jet_eta": {"cut": ["abs(Jet_eta)<2.5", "all"], "remove": "False"}}
}
JSON
  echo
  echo "\$ cat $demo/preproc.json"
  cat "$demo/preproc.json"
  inputs=(--files "$demo/files.txt" --labels "$demo/labels.txt" --params "$demo/params.json"
          --preproc "$demo/preproc.json")
  run specs "${inputs[@]}" -o "$demo/specs.json"
  echo "(first lines of $demo/specs.json)"
  head -n 12 "$demo/specs.json"
  run export "${inputs[@]}" --specs "$demo/specs.json" --format npy -o "$demo/export"
  echo "(files in $demo/export)"
  ls "$demo/export" | head -n 12
fi
