#!/usr/bin/env bash
# The main job of mlaas4hep: build the command-line tool (release, build/) if needed, generate
# labelled signal and background event files with our own ROOT writer (mlaas4hep gen), show what
# the reader makes of them: keys (ls), branches (show) and the first entries of branches as JSON
# (dump); then turn them into model inputs the way the reference MLaaS4HEP does, from its own
# kind of files.txt, labels.txt, params.json and preproc.json: specs (min/max/jdim per feature)
# and normalised, padded, labelled, mixed chunks as .npy files (mlaas4hep specs / export); and
# train on them end to end (mlaas4hep train): an MLP and a deep-sets network described in JSON
# (the latter pools jets, muons and electrons as sets through the mask) and XGBoost trees, each
# evaluated on the test split against a cut-based baseline, written as a model bundle with its
# metrics and plots; then serve the MLP bundle (mlaas4hep serve on a free port), score events with
# mlaas4hep client over OIP v2 and one TFaaS /json request, and write every event's score as a friend
# tree (mlaas4hep predict). Needs no input data; a few minutes on 2 cores.
#
#   bash scripts/demo.sh [FILE [TREE]]    # or read a ROOT file of your own instead
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs=${M4H_JOBS:-2}
# libgomp and OpenBLAS spin while waiting: on a few shared cores that costs more than it gains.
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

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
  echo "\$ mlaas4hep gen --process signal --events 50000 --seed 1 -o $out/signal.root"
  "$cli" gen --process signal --events 50000 --seed 1 -o "$out/signal.root"
  echo "\$ mlaas4hep gen --process background --events 50000 --seed 2 --codec zstd --layout vector -o $out/background.root"
  "$cli" gen --process background --events 50000 --seed 2 --codec zstd --level 5 --layout vector \
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

  # Training: the same inputs, unchanged, into two models.
  cat >"$demo/mlp.json" <<'JSON'
{"type": "mlp", "hidden": [64, 32], "activation": "relu", "dropout": 0.1, "batch_norm": true}
JSON
  cat >"$demo/deepsets.json" <<'JSON'
{"type": "deepsets", "phi": [32, 32], "rho": [64, 32], "pool": "sum"}
JSON
  cat >"$demo/xgb.json" <<'JSON'
{"type": "xgboost", "rounds": 150, "params": {"max_depth": 5, "eta": 0.1, "subsample": 0.8}}
JSON
  echo
  echo "\$ cat $demo/mlp.json $demo/deepsets.json $demo/xgb.json"
  cat "$demo/mlp.json" "$demo/deepsets.json" "$demo/xgb.json"
  run train "${inputs[@]}" --specs "$demo/specs.json" --model "$demo/mlp.json" --fout "$demo/model-mlp"
  run train "${inputs[@]}" --specs "$demo/specs.json" --model "$demo/deepsets.json" --fout "$demo/model-deepsets"
  run train "${inputs[@]}" --specs "$demo/specs.json" --model "$demo/xgb.json" --fout "$demo/model-xgb"
  echo
  echo "==== results"
  for m in model-mlp model-deepsets model-xgb; do
    echo "$demo/$m: $(ls "$demo/$m" | grep -v '^checkpoint' | tr '\n' ' ')"
    if [ -d "$demo/$m/plots" ]; then
      echo "  plots: $(ls "$demo/$m/plots" | grep -E '\.(svg|png)$' | sed "s|^|$demo/$m/plots/|" | tr '\n' ' ')"
    fi
  done
  echo "metrics (test AUC, signal efficiency at 1% and 10% background) are in each folder's metrics.json;"
  echo "bundle.json describes the model bundle that the inference service loads."

  # Inference: the MLP bundle served from a repository folder, scored over OIP v2 and TFaaS, and
  # every event of a file scored into a friend tree.
  echo
  echo "==== inference"
  models="$demo/models"
  rm -rf "$models"
  mkdir -p "$models/ttH"
  cp -r "$demo/model-mlp" "$models/ttH/1"
  log="$demo/serve.log"
  echo "\$ mlaas4hep serve --models $models --port 0 &"
  "$cli" serve --models "$models" --port 0 >"$log" 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
  # --port 0 takes any free port; serve prints it.
  port=
  for _ in $(seq 600); do
    port=$(sed -nE 's|.*listening on http://[^:]+:([0-9]+).*|\1|p' "$log")
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "demo.sh: serve did not start" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$log" >&2; echo "demo.sh: serve printed no port" >&2; exit 1; }
  url="http://127.0.0.1:$port"
  for _ in $(seq 300); do curl -sf "$url/v2/health/ready" >/dev/null && break; sleep 0.1; done
  cat "$log"
  run client --url "$url" models
  run client --url "$url" predict ttH "$demo/signal.root:Events" --entries 8 | tee "$demo/client-scores.txt"
  echo "(nan: the event fails preproc.json's cuts, so the model never sees it)"
  # TFaaS: one event as {"keys", "values"}, raw branch values as dump prints them; the first event
  # that passes the cuts.
  entry=$(awk -F '\t' '$1 ~ /^[0-9]+$/ && $2 != "nan" { print $1; exit }' "$demo/client-scores.txt")
  entry=${entry:-0}
  branches=$(curl -sf "$url/v2/models/ttH" | sed -nE 's/.*"branches":\[([^]]*)\].*/\1/p' | tr -d '"' | tr ',' ' ')
  bargs=()
  for b in $branches; do bargs+=(-b "$b"); done
  values=$("$cli" dump --start "$entry" --stop $((entry + 1)) "${bargs[@]}" "$demo/signal.root:Events" |
    sed -E 's/.*"branches": \{//; s/\}\}$//; s/"[A-Za-z0-9_]+": \[(\[[^]]*\]|[^],]*)\]/\1/g')
  keys=$(printf '"%s", ' $branches)
  body="{\"model\": \"ttH\", \"keys\": [${keys%, }], \"values\": [$values]}"
  echo
  echo "\$ curl -s -X POST $url/json -d '$(echo "$body" | cut -c 1-150) ...'"
  curl -sS -X POST "$url/json" -d "$body"
  echo "   (event $entry over TFaaS; the same score as the client's line $entry above)"
  run predict --model "$url/v2/models/ttH" "$demo/signal.root:Events" -o "$demo/scores.root"
  run dump --stop 5 "$demo/scores.root:Events"
  kill "$server"
  wait "$server" 2>/dev/null || true
  trap - EXIT
  echo "server stopped; $demo/scores.root is a friend tree of $demo/signal.root (same entries, branch score)"

  # The workflow server: the same inputs uploaded as the reference's folder, a training job
  # submitted over HTTP and followed, its model published to the embedded inference server.
  echo
  echo "==== workflow server"
  wf="$demo/workflow"
  rm -rf "$wf"
  mkdir -p "$wf/inputs/tth"
  cp "$demo/signal.root" "$demo/background.root" "$demo/preproc.json" "$wf/inputs/tth/"
  cp "$demo/mlp.json" "$wf/inputs/tth/model.json"
  sed 's/"epochs": 5/"epochs": 2/' "$demo/params.json" >"$wf/inputs/tth/params.json"
  printf 'signal.root\nbackground.root\n' >"$wf/inputs/tth/files.txt"
  printf '1\n0\n' >"$wf/inputs/tth/labels.txt"
  tar -czf "$wf/tth.tar.gz" -C "$wf/inputs" tth
  log="$wf/server.log"
  echo "\$ mlaas4hep server --port 0 --serve-port 0 --state $wf/state &"
  "$cli" server --port 0 --serve-port 0 --state "$wf/state" >"$log" 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
  api= infer=
  for _ in $(seq 600); do
    api=$(sed -nE 's|^mlaas4hep server: listening on (http://[^ ]+) .*|\1|p' "$log")
    infer=$(sed -nE 's|^mlaas4hep server: inference server on (http://[^ ]+) .*|\1|p' "$log")
    [ -n "$api" ] && [ -n "$infer" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "demo.sh: server did not start" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$api" ] || { cat "$log" >&2; echo "demo.sh: server printed no address" >&2; exit 1; }
  cat "$log"
  echo "\$ curl -X POST --data-binary @tth.tar.gz '$api/api/v1/uploads?name=tth'"
  curl -sS -X POST -H 'Content-Type: application/gzip' --data-binary "@$wf/tth.tar.gz" "$api/api/v1/uploads?name=tth"
  echo
  echo "\$ curl -X POST -d '{\"upload\": \"tth\", \"name\": \"ttH-mlp\"}' $api/api/v1/jobs"
  job=$(curl -sS -X POST -d '{"upload": "tth", "name": "ttH-mlp"}' "$api/api/v1/jobs")
  echo "$job" | cut -c 1-200
  id=$(echo "$job" | sed -nE 's/.*"id":([0-9]+).*/\1/p')
  echo "(following the job's log: GET $api/api/v1/jobs/$id/log?offset=N&wait_ms=10000)"
  offset=0 state=queued
  for _ in $(seq 120); do
    curl -sS -D "$wf/headers" -o "$wf/chunk" "$api/api/v1/jobs/$id/log?offset=$offset&wait_ms=10000"
    cat "$wf/chunk"
    offset=$(sed -nE 's/^x-log-offset: *([0-9]+).*/\1/Ip' "$wf/headers")
    state=$(sed -nE 's/^x-job-state: *([a-z]+).*/\1/Ip' "$wf/headers")
    [[ $state == succeeded || $state == failed || $state == cancelled ]] && break
  done
  echo "job $id: $state; $(curl -sS "$api/api/v1/jobs/$id" | sed -nE 's/.*"published":"([^"]*)".*/published as \1/p')"
  run client --url "$infer" predict ttH-mlp "$demo/signal.root:Events" --entries 5
  kill "$server"
  wait "$server" 2>/dev/null || true
  trap - EXIT
  echo "workflow server stopped; its jobs, uploads and published models are in $wf/state"
  echo "(to look at them in the web dashboard: $cli server --serve-port 0 --state $wf/state, then open the"
  echo " http://127.0.0.1:8090/dashboard/ it prints; deploy/README.md runs it as a service, locally or with Slurm)"
fi

