# Shared by the workflow server's shell tests (server_e2e.sh, oidc_e2e.sh, dashboard_test.sh,
# tests/deploy/deploy_test.sh): sourced once `cli` is set. Every wait has a deadline.

fails=0

# e2e_work NAME: a fresh folder `work`, and `pids`, the servers the test starts. On exit they are
# stopped, jobs left running under $work/state are killed, and the folder is removed (kept, and
# said, with M4H_E2E_KEEP=1).
e2e_work() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/m4h-$1.XXXXXX")
  pids=()
  trap e2e_cleanup EXIT
}
e2e_cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  pkill -f "$work/state" 2>/dev/null
  [ "${M4H_E2E_KEEP:-0}" = 1 ] && echo "kept $work" || rm -rf "$work"
}

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# json EXPR: EXPR (Python, over the document `d`) evaluated on stdin's JSON.
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

# wait_for_line FILE SED_EXPR PID [TENTHS]: prints the first match of SED_EXPR (sed -n, with a p) in
# FILE once it is there; fails (empty output, status 1) when PID dies or after TENTHS/10 seconds.
wait_for_line() {
  local file=$1 expr=$2 pid=$3 tenths=${4:-300} found
  for _ in $(seq "$tenths"); do
    found=$(sed -n "$expr" "$file" 2>/dev/null | head -n 1)
    [ -n "$found" ] && { echo "$found"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# make_inputs DIR: the reference's input layout (files.txt, labels.txt, params.json, model.json and
# two generated ROOT files under data/), packed as DIR.tar.gz with DIR's name at its top.
make_inputs() {
  local in=$1
  mkdir -p "$in/data"
  "$cli" gen --process signal --events 4000 --seed 1 -o "$in/data/sig.root" >/dev/null || return 1
  "$cli" gen --process background --events 4000 --seed 2 -o "$in/data/bkg.root" >/dev/null || return 1
  printf 'data/sig.root\ndata/bkg.root\n' >"$in/files.txt"
  printf '1\n0\n' >"$in/labels.txt"
  cat >"$in/params.json" <<'JSON'
{"nevts": -1, "chunk_size": 2000, "epochs": 1, "batch_size": 100, "branch": "Events",
 "selected_branches": "", "exclude_branches": "", "identifier": "run,event,luminosityBlock", "seed": 1}
JSON
  echo '{"type": "mlp", "hidden": [16]}' >"$in/model.json"
  tar -czf "$in.tar.gz" -C "$(dirname "$in")" "$(basename "$in")"
}

# follow_log BASE ID [CURL_ARGS...]: follows job ID's log with long polls until the job ends; sets
# `followed` (the log) and `final_state`.
follow_log() {
  local base=$1 id=$2 offset=0
  shift 2
  followed= final_state=
  for _ in $(seq 200); do
    curl -s "$@" -D "$work/h" -o "$work/chunk" "$base/api/v1/jobs/$id/log?offset=$offset&wait_ms=5000"
    followed+=$(cat "$work/chunk")
    offset=$(sed -n 's/^x-log-offset: *\([0-9]*\).*/\1/ip' "$work/h")
    final_state=$(sed -n 's/^x-job-state: *\([a-z]*\).*/\1/ip' "$work/h")
    [[ $final_state == succeeded || $final_state == failed || $final_state == cancelled ]] && return 0
  done
}
