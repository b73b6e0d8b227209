#!/usr/bin/env bash
# Load benchmark of `mlaas4hep serve` with wrk, next to nginx serving a static file (the ceiling).
#
#   bench/serve/serve_bench.sh [--duration S] [--quick] [--work DIR] [--max-batch N]
#                              [--max-delay-us US] [--server-threads N] [--connections N]
#                              [--wrk-threads N] [--events N]
#
# Two models of width 42 (the TFaaS benchmark model's input size): an MLP and a 100-tree XGBoost
# model, trained once by `mlaas4hep train` on `mlaas4hep gen` files (12 branches selected, jets
# capped at 7: 7 flat + 5 x 7 jagged = 42 features) and reused from the work folder. One
# `mlaas4hep serve` per batching mode (dynamic batching on, then off) on 127.0.0.1; for each model
# wrk sends one-row requests of three kinds: OIP JSON, OIP binary (binary response too), TFaaS
# JSON. nginx (2 workers) serves a file as large as our OIP JSON response body, before and after.
#
# Environment:
#   BUILD_DIR   build directory holding mlaas4hep (default: build)
#   M4H_BIN     the mlaas4hep binary (default: $BUILD_DIR/mlaas4hep)
#   SERVE_BENCH_DIR   work folder (default: /tmp/m4h-serve-bench): data/ and bundles/ are made
#               once and reused; every run writes runs/DATE/ (wrk outputs, bodies, responses,
#               server logs, nginx config, table.md)
# The markdown table goes to stdout, progress to stderr.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
M4H_BIN=${M4H_BIN:-$BUILD_DIR/mlaas4hep}
WORK=${SERVE_BENCH_DIR:-/tmp/m4h-serve-bench}
DURATION=10
CONNECTIONS=64
WRK_THREADS=2
SERVER_THREADS=2
MAX_BATCH=64
MAX_DELAY_US=500
EVENTS=20000  # per class, for training

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --quick) DURATION=2; shift ;;
    --work) WORK=$2; shift 2 ;;
    --max-batch) MAX_BATCH=$2; shift 2 ;;
    --max-delay-us) MAX_DELAY_US=$2; shift 2 ;;
    --server-threads) SERVER_THREADS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --wrk-threads) WRK_THREADS=$2; shift 2 ;;
    --events) EVENTS=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $DURATION =~ ^[0-9]+$ && $DURATION -gt 0 ]] || { echo "--duration: whole seconds > 0" >&2; exit 2; }
for tool in wrk nginx curl python3; do
  command -v "$tool" > /dev/null || { echo "error: $tool not found" >&2; exit 1; }
done
[[ -x $M4H_BIN ]] || { echo "error: no mlaas4hep at $M4H_BIN (set BUILD_DIR or M4H_BIN)" >&2; exit 1; }
[[ $("$M4H_BIN" serve --help 2> /dev/null) == *--max-batch* ]] || { echo "error: $M4H_BIN has no serve command" >&2; exit 1; }

log() { echo "[serve_bench] $*" >&2; }
# The server, and training, on 2 shared cores: libgomp must not spin (shared/DEPENDENCIES.md).
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

mkdir -p "$WORK/data" "$WORK/bundles" "$WORK/runs"
WORK=$(cd "$WORK" && pwd)
RUN=$WORK/runs/$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
chmod 755 "$WORK" "$WORK/runs" "$RUN"  # nginx's workers (user nobody) read the file under it

SERVER_PID=
NGINX_PID=
cleanup() {
  local pid
  for pid in $SERVER_PID $NGINX_PID; do
    if kill -0 "$pid" 2> /dev/null; then
      kill -TERM "$pid" 2> /dev/null || true
      wait "$pid" 2> /dev/null || true
    fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- data and bundles (made once)
DATA=$WORK/data
if [[ ! -f $DATA/sig.root || ! -f $DATA/bkg.root ]]; then
  log "generating $EVENTS signal + $EVENTS background events into $DATA"
  "$M4H_BIN" gen --process signal --events "$EVENTS" --seed 1 -o "$DATA/sig.root.tmp" >&2
  "$M4H_BIN" gen --process background --events "$EVENTS" --seed 2 -o "$DATA/bkg.root.tmp" >&2
  mv "$DATA/sig.root.tmp" "$DATA/sig.root"
  mv "$DATA/bkg.root.tmp" "$DATA/bkg.root"
fi
# 7 flat features + 5 jet attributes x jdim_max 7 = width 42.
cat > "$DATA/params.json" << 'EOF'
{"selected_branches": ["nJet", "nMuon", "nElectron", "MET_pt", "MET_phi", "HT", "mbb",
                       "Jet_pt", "Jet_eta", "Jet_phi", "Jet_mass", "Jet_btagDeepB"],
 "jdim_max": 7, "chunk_size": 10000, "epochs": 5, "batch_size": 256, "learning_rate": 0.003,
 "seed": 21}
EOF
# XGBoost adds rounds / epochs trees per epoch and keeps the best epoch's: one epoch keeps all 100.
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); p["epochs"]=1; json.dump(p, open(sys.argv[2], "w"))' \
  "$DATA/params.json" "$DATA/params_xgb.json"
echo '{"type": "mlp", "hidden": [64, 32], "activation": "relu"}' > "$DATA/mlp.json"
echo '{"type": "xgboost", "rounds": 100, "params": {"max_depth": 6, "eta": 0.1}}' > "$DATA/xgb.json"

train() {  # NAME PARAMS
  local out=$WORK/bundles/$1
  [[ -f $out/bundle.json ]] && return 0
  log "training $1 -> $out"
  rm -rf "$out.tmp"
  "$M4H_BIN" train --files "$DATA/sig.root,$DATA/bkg.root" --labels 1,0 --params "$DATA/$2" \
    --model "$DATA/$1.json" --fout "$out.tmp" >&2
  mv "$out.tmp" "$out"
}
train mlp params.json
train xgb params_xgb.json

width=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["input"]["width"])' "$WORK/bundles/mlp/bundle.json")
[[ $width == 42 ]] || { echo "error: the MLP bundle's width is $width, not 42 (remove $WORK/bundles)" >&2; exit 1; }
trees=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"])' \
  "$WORK/bundles/xgb/model.xgb.json")
[[ $trees == 100 ]] || { echo "error: the XGBoost bundle has $trees trees, not 100 (remove $WORK/bundles/xgb)" >&2; exit 1; }

# Repository: NAME/1/ = a copy of the bundle.
REPO=$RUN/models
for m in mlp xgb; do
  mkdir -p "$REPO/$m"
  cp -r "$WORK/bundles/$m" "$REPO/$m/1"
done

# ---------------------------------------------------------------- request bodies
BODIES=$RUN/bodies
mkdir -p "$BODIES"
python3 - "$WORK/bundles/mlp/feature_names.json" "$BODIES" << 'EOF'
import json, random, struct, sys
names = json.load(open(sys.argv[1]))
out = sys.argv[2]
rng = random.Random(42)
# One row of normalised features (the specs' (x - min) / (max - min) lies in [0, 1]),
# rounded to float32 so that JSON and binary requests carry the same values.
row = [struct.unpack("<f", struct.pack("<f", rng.random()))[0] for _ in names]
w = len(names)
with open(f"{out}/oip.json", "w") as f:
    json.dump({"inputs": [{"name": "x", "shape": [1, w], "datatype": "FP32", "data": row}]}, f)
with open(f"{out}/oip_header.json", "w") as f:
    json.dump({"inputs": [{"name": "x", "shape": [1, w], "datatype": "FP32",
                           "parameters": {"binary_data_size": 4 * w}}],
               "parameters": {"binary_data_output": True}}, f, separators=(",", ":"))
with open(f"{out}/x.f32", "wb") as f:
    f.write(struct.pack(f"<{w}f", *row))
for model in ("mlp", "xgb"):
    with open(f"{out}/tfaas_{model}.json", "w") as f:
        json.dump({"keys": names, "values": row, "model": model}, f)
EOF
cat "$BODIES/oip_header.json" "$BODIES/x.f32" > "$BODIES/oip_binary.body"
if ! cmp -s "$WORK/bundles/mlp/feature_names.json" "$WORK/bundles/xgb/feature_names.json"; then
  echo "error: the two bundles have different feature names" >&2
  exit 1
fi

# ---------------------------------------------------------------- helpers
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wrk_run NAME URL [SCRIPT]: env M4H_BENCH_* must be set by the caller for the script.
wrk_run() {
  local name=$1 url=$2 script=${3:-}
  local args=(-t "$WRK_THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 10s --latency)
  [[ -n $script ]] && args+=(-s "$HERE/$script")
  log "wrk $name ($DURATION s)"
  wrk "${args[@]}" "$url" > "$RUN/wrk_$name.txt" 2>&1 || log "wrk exited with $? for $name"
}

# Latency token (520.00us, 1.23ms, 1.02s) -> milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.1f", v * 1000 }
    else printf "?" }'
}
rps_of() { awk '/^Requests\/sec:/ { print $2 }' "$RUN/wrk_$1.txt"; }
pct_of() { awk -v p="$2%" '$1 == p { print $2; exit }' "$RUN/wrk_$1.txt"; }
# Problems wrk saw: non-2xx/3xx responses and socket errors, as one note.
wrk_notes() {
  local f=$RUN/wrk_$1.txt notes=()
  local non2xx errors
  non2xx=$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$f")
  errors=$(sed -n 's/^ *Socket errors: *//p' "$f")
  [[ -n $non2xx && $non2xx != 0 ]] && notes+=("**$non2xx non-2xx/3xx**")
  [[ -n $errors ]] && notes+=("socket errors: $errors")
  grep -q '^Requests/sec:' "$f" || notes+=("**wrk failed**, see wrk_$1.txt")
  local out= n
  for n in "${notes[@]}"; do out+="${out:+; }$n"; done
  echo "$out"
}

# Triton metric sum for a model: metric MODEL.
metric() {
  curl -s "http://127.0.0.1:$PORT/metrics" |
    awk -v m="$1" -v model="$2" 'index($0, m "{") == 1 && index($0, "model=\"" model "\"") { s += $NF }
                                  END { printf "%d", s }'
}

# check_request NAME CURL-ARGS...: the request wrk will send, once, with its response saved.
check_request() {
  local name=$1
  shift
  local code
  code=$(curl -s -o "$RUN/response_$name.body" -D "$RUN/response_$name.headers" -w '%{http_code}' "$@") || code=000
  if [[ $code != 200 ]]; then
    log "WARNING: $name answered HTTP $code; request and response in $RUN/response_$name.*"
    printf '%s\n' "$@" > "$RUN/response_$name.request"
  fi
  echo "$code"
}

ROWS=()  # table rows: model|request|batching|wrk output name|rows per execution|notes
declare -A KIND_LABEL=([oip_json]="OIP JSON" [oip_binary]="OIP binary" [tfaas_json]="TFaaS JSON")
NGINX_RPS=()

# ---------------------------------------------------------------- nginx (the ceiling)
NGX=$RUN/nginx
mkdir -p "$NGX/www" "$NGX/tmp"
chmod 755 "$NGX" "$NGX/www"
NGINX_PORT=$(free_port)
start_nginx() {  # FILE: served as /response.json
  cp "$1" "$NGX/www/response.json"
  chmod 644 "$NGX/www/response.json"
  cat > "$NGX/nginx.conf" << EOF
$( ((EUID == 0)) && echo 'user root;' )
worker_processes 2;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  sendfile on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 100000000;
  client_body_temp_path $NGX/tmp/body;
  proxy_temp_path $NGX/tmp/proxy;
  fastcgi_temp_path $NGX/tmp/fastcgi;
  uwsgi_temp_path $NGX/tmp/uwsgi;
  scgi_temp_path $NGX/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $NGX/www;
  }
}
EOF
  nginx -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" -g 'daemon off;' 2> "$NGX/stderr.log" &
  NGINX_PID=$!
  local i
  for i in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/response.json" && return 0
    kill -0 "$NGINX_PID" 2> /dev/null || break
    sleep 0.1
  done
  echo "error: nginx did not start:" >&2
  cat "$NGX/stderr.log" "$NGX/error.log" >&2 2> /dev/null || true
  exit 1
}
nginx_run() {  # LABEL
  wrk_run "nginx_$1" "http://127.0.0.1:$NGINX_PORT/response.json"
  NGINX_RPS+=("$(rps_of "nginx_$1")")
  ROWS+=("nginx static ($1)|GET, ${RESPONSE_BYTES} B file|-|nginx_$1|-")
}

# ---------------------------------------------------------------- our server
SERVER_LOG=
start_server() {  # LABEL ARGS...
  local label=$1
  shift
  SERVER_LOG=$RUN/server_$label.log
  "$M4H_BIN" serve --models "$REPO" --host 127.0.0.1 --port 0 --threads "$SERVER_THREADS" "$@" \
    > "$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  PORT=
  local i
  for i in $(seq 600); do
    PORT=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$SERVER_LOG" | head -1)
    [[ -n $PORT ]] && curl -sf -o /dev/null "http://127.0.0.1:$PORT/v2/health/ready" && break
    kill -0 "$SERVER_PID" 2> /dev/null || { echo "error: mlaas4hep serve exited:" >&2; cat "$SERVER_LOG" >&2; exit 1; }
    PORT=
    sleep 0.1
  done
  [[ -n $PORT ]] || { echo "error: mlaas4hep serve not ready after 60 s:" >&2; cat "$SERVER_LOG" >&2; exit 1; }
  log "mlaas4hep serve $* on port $PORT (pid $SERVER_PID)"
}
stop_server() {
  kill -TERM "$SERVER_PID" 2> /dev/null || true
  local rc=0
  wait "$SERVER_PID" 2> /dev/null || rc=$?
  ((rc == 0)) || log "WARNING: mlaas4hep serve exited with status $rc (log: $SERVER_LOG)"
  SERVER_PID=
}

# Hot swap under load: wrk sends OIP JSON to the MLP while new versions of it are uploaded
# (TFaaS /upload, which loads the new version at once). Every request must still succeed: wrk's
# non-2xx count and socket errors land in the row's notes.
hot_swap_run() {
  local name=mlp_oip_json_hot_swap url=http://127.0.0.1:$PORT/v2/models/mlp/infer i code swaps=0
  tar -czf "$RUN/mlp.tar.gz" -C "$WORK/bundles/mlp" .
  export M4H_BENCH_BODY=$BODIES/oip.json
  wrk_run "$name" "$url" json_post.lua &
  local wrk_pid=$!
  local pause
  pause=$(awk -v d="$DURATION" 'BEGIN { printf "%.2f", d / 7 }')
  sleep "$pause"
  for i in 1 2 3 4 5; do
    code=$(curl -s -o "$RUN/hot_swap_upload_$i.json" -w '%{http_code}' -X POST -H 'Content-Type: application/gzip' \
      --data-binary "@$RUN/mlp.tar.gz" "http://127.0.0.1:$PORT/upload?name=mlp")
    [[ $code == 201 ]] && swaps=$((swaps + 1))
    sleep "$pause"
  done
  wait "$wrk_pid"
  local note=
  ((swaps == 5)) || note="**$((5 - swaps)) of 5 uploads failed** (hot_swap_upload_*.json)"
  ROWS+=("mlp|OIP JSON while 5 new versions are uploaded|on|$name|-|$note")
}

# One batching mode: every model x request kind.
server_runs() {  # LABEL(on|off) ARGS...
  local batching=$1
  shift
  start_server "batching_$batching" "$@"
  curl -s "http://127.0.0.1:$PORT/v2/models/mlp" > "$RUN/metadata_mlp.json"
  local m kind name code url before_n before_e after_n after_e rows_per_exec
  for m in mlp xgb; do
    url=http://127.0.0.1:$PORT/v2/models/$m/infer
    for kind in oip_json oip_binary tfaas_json; do
      name=${m}_${kind}_batching_${batching}
      case $kind in
        oip_json)
          code=$(check_request "$name" -X POST -H 'Content-Type: application/json' \
            --data-binary "@$BODIES/oip.json" "$url")
          export M4H_BENCH_BODY=$BODIES/oip.json ;;
        oip_binary)
          code=$(check_request "$name" -X POST -H 'Content-Type: application/octet-stream' \
            -H "Inference-Header-Content-Length: $(stat -c %s "$BODIES/oip_header.json")" \
            --data-binary "@$BODIES/oip_binary.body" "$url")
          export M4H_BENCH_HEADER=$BODIES/oip_header.json M4H_BENCH_DATA=$BODIES/x.f32 ;;
        tfaas_json)
          url=http://127.0.0.1:$PORT/json
          code=$(check_request "$name" -X POST -H 'Content-Type: application/json' \
            --data-binary "@$BODIES/tfaas_$m.json" "$url")
          export M4H_BENCH_BODY=$BODIES/tfaas_$m.json ;;
      esac
      before_n=$(metric nv_inference_count "$m")
      before_e=$(metric nv_inference_exec_count "$m")
      script=json_post.lua  # OIP JSON and TFaaS JSON differ only in the body
      [ "$kind" = oip_binary ] && script=oip_binary.lua
      wrk_run "$name" "$url" "$script"
      after_n=$(metric nv_inference_count "$m")
      after_e=$(metric nv_inference_exec_count "$m")
      rows_per_exec=$(awk -v n=$((after_n - before_n)) -v e=$((after_e - before_e)) \
        'BEGIN { if (e > 0) printf "%.1f", n / e; else printf "-" }')
      local note=
      [[ $code != 200 ]] && note="**check request: HTTP $code**"
      kill -0 "$SERVER_PID" 2> /dev/null || note="$note **server died**"
      ROWS+=("$m|${KIND_LABEL[$kind]}|$batching|$name|$rows_per_exec|$note")
    done
  done
  [[ $batching == on ]] && hot_swap_run
  curl -s "http://127.0.0.1:$PORT/metrics" > "$RUN/metrics_batching_$batching.txt" || true
  stop_server
}

# ---------------------------------------------------------------- the runs
log "work folder $RUN; mlaas4hep: $M4H_BIN"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# The static file's size: our OIP JSON response body for the MLP (one short server run).
start_server size --max-batch 0
code=$(check_request size_probe -X POST -H 'Content-Type: application/json' \
  --data-binary "@$BODIES/oip.json" "http://127.0.0.1:$PORT/v2/models/mlp/infer")
stop_server
[[ $code == 200 ]] || { echo "error: the OIP JSON request failed (HTTP $code):" >&2; cat "$RUN/response_size_probe.body" >&2; exit 1; }
RESPONSE_BYTES=$(stat -c %s "$RUN/response_size_probe.body")
start_nginx "$RUN/response_size_probe.body"

nginx_run start
server_runs on --max-batch "$MAX_BATCH" --max-delay-us "$MAX_DELAY_US"
server_runs off --max-batch 0
nginx_run end
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Every kind must give the same score for the same row, per model: "NAME note" for those that do not.
python3 - "$RUN" > "$RUN/score_check.txt" << 'EOF'
import glob, json, os, re, struct, sys
run = sys.argv[1]
scores = {}
for body_path in glob.glob(f"{run}/response_*_batching_*.body"):
    name = os.path.basename(body_path)[len("response_"):-len(".body")]
    body = open(body_path, "rb").read()
    headers = open(body_path[:-len(".body")] + ".headers", "rb").read().decode("latin-1")
    try:
        m = re.search(r"(?im)^Inference-Header-Content-Length:\s*(\d+)", headers)
        if "_tfaas_" in name:
            scores[name] = float(json.loads(body)[0])
        elif m:  # binary output: the JSON header, then the raw FP32 scores
            scores[name] = struct.unpack("<f", body[int(m.group(1)):int(m.group(1)) + 4])[0]
        else:
            scores[name] = float(json.loads(body)["outputs"][0]["data"][0])
    except Exception as e:
        print(name, f"unreadable response ({type(e).__name__})")
for name, score in sorted(scores.items()):
    ref = scores.get(name.split("_")[0] + "_oip_json_batching_off")
    if ref is not None and abs(score - ref) > 1e-6 * max(1.0, abs(ref)):
        print(name, f"score {score:.7g} differs from OIP JSON's {ref:.7g}")
EOF

# ---------------------------------------------------------------- the table
NGINX_MEAN=$(printf '%s\n' "${NGINX_RPS[@]}" | awk '$1 > 0 { s += $1; n++ } END { if (n) printf "%.1f", s / n; else print 0 }')
{
  echo "mlaas4hep serve vs nginx: wrk $WRK_THREADS threads, $CONNECTIONS connections, ${DURATION} s per row, one row per request;" \
    "server --threads $SERVER_THREADS, batching on = --max-batch $MAX_BATCH --max-delay-us $MAX_DELAY_US, off = --max-batch 0;" \
    "nginx: 2 workers, a ${RESPONSE_BYTES}-byte file (our OIP JSON response body)."
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc --all) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1);" \
    "load average $LOAD_BEFORE before, $LOAD_AFTER after; $("$M4H_BIN" --version 2> /dev/null | head -1); raw outputs: $RUN"
  echo
  echo "| model | request | batching | requests/s | p50 ms | p99 ms | % of nginx | rows/exec | notes |"
  echo "|---|---|---|--:|--:|--:|--:|--:|---|"
  for row in "${ROWS[@]}"; do
    IFS='|' read -r model kind batching name rows_per_exec note <<< "$row"
    rps=$(rps_of "$name")
    p50=$(pct_of "$name" 50)
    p99=$(pct_of "$name" 99)
    pct=$(awk -v r="${rps:-0}" -v n="$NGINX_MEAN" 'BEGIN { if (n > 0) printf "%.0f%%", 100 * r / n; else print "-" }')
    wn=$(wrk_notes "$name")
    [[ -n $wn ]] && note="${note:+$note; }$wn"
    sc=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^ /, ""); print }' "$RUN/score_check.txt")
    [[ -n $sc ]] && note="${note:+$note; }**$sc**"
    printf '| %s | %s | %s | %.0f | %s | %s | %s | %s | %s |\n' "$model" "$kind" "$batching" "${rps:-0}" \
      "$( [[ -n $p50 ]] && to_ms "$p50" || echo -)" "$( [[ -n $p99 ]] && to_ms "$p99" || echo -)" \
      "$pct" "$rows_per_exec" "$note"
  done
  echo
  echo "% of nginx: of the mean of the two nginx rows. rows/exec: rows per model execution during the row (from /metrics)."
} | tee "$RUN/table.md"
log "done: $RUN"
