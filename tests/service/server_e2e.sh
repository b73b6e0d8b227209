#!/usr/bin/env bash
# server_e2e.sh BUILD_DIR: `mlaas4hep server` end to end, with real training.
#   1. the server with its embedded inference server (--serve-port 0) on a fresh state folder;
#      an input folder (files.txt, labels.txt, params.json, model.json and two generated ROOT files)
#      uploaded as a .tar.gz; a workflow submitted; its log followed with long polls until it ends;
#      the job succeeded and was published; the bundle downloaded; events scored by the published
#      model through the inference server (mlaas4hep client predict).
#   2. restart: three jobs on one CPU (one running, two queued), the server killed with SIGKILL,
#      started again on the same state: every job is accounted for (the running one followed again,
#      then cancelled through the new server and its processes gone; the queued ones run and succeed).
# M4H_E2E_EXECUTOR=slurm runs the jobs on a Slurm cluster (ctest's service_slurm_e2e runs this inside
# scripts/slurm-cluster.sh) and checks that Slurm ran them.
# Bounded: every wait has a deadline; exit 0 passed, 1 failed.
set -u
build=$(cd "${1:?usage: server_e2e.sh BUILD_DIR}" && pwd)
cli=${M4H_CLI:-$build/mlaas4hep}
executor=${M4H_E2E_EXECUTOR:-local}
work=$(mktemp -d "${TMPDIR:-/tmp}/m4h-server-e2e.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  # Jobs a failed check left running (their command lines name the state folder).
  pkill -f "$work/state" 2>/dev/null
  [ "$executor" = slurm ] && scancel --me 2>/dev/null
  [ "${M4H_E2E_KEEP:-0}" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"
state_of() { curl -s "$base/api/v1/jobs/$1" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }  # no python per poll
id_of() { sed -n 's/.*"id":\([0-9]*\).*/\1/p'; }  # a submission's job id, without python's start-up time

start_server() {  # LOG
  "$cli" server --port 0 --serve-port 0 --cpus 1 --executor "$executor" --state "$work/state" >"$1" 2>&1 &
  server_pid=$!
  base=$(wait_for_line "$1" 's|^mlaas4hep server: listening on \(http://[^ ]*\) .*|\1|p' "$server_pid")
  serve=$(wait_for_line "$1" 's|^mlaas4hep server: inference server on \(http://[^ ]*\) .*|\1|p' "$server_pid")
  [ -n "$base" ] && [ -n "$serve" ] && return 0
  echo "server did not start:"; cat "$1"; exit 1
}

# ---- inputs: the reference's layout, in one folder packed as a .tar.gz
in=$work/in/tth
make_inputs "$in" || exit 1

# ---- 1. upload, submit, follow, download, predict
start_server "$work/server1.log"
echo "server at $base, inference at $serve"
up=$(curl -s -X POST -H 'Content-Type: application/gzip' --data-binary "@$in.tar.gz" "$base/api/v1/uploads?name=tth")
[ "$(echo "$up" | json 'd["upload"]')" = tth ] || fail "upload: $up"
job=$(curl -s -X POST -d '{"upload": "tth", "name": "tth"}' "$base/api/v1/jobs")
id=$(echo "$job" | json 'd["id"]')
[[ $id =~ ^[0-9]+$ ]] || { fail "submit: $job"; exit 1; }
follow_log "$base" "$id"
state=$final_state log=$followed
echo "--- job $id log (followed) ---"; echo "$log" | tail -n 5
[ "$state" = succeeded ] || fail "job $id ended $state: $(curl -s "$base/api/v1/jobs/$id")"
published=$(curl -s "$base/api/v1/jobs/$id" | json 'd["published"]')
[ "$published" = tth/1 ] || fail "published as '$published', not tth/1"
curl -s -o "$work/bundle.tar.gz" "$base/api/v1/jobs/$id/artifacts/bundle.tar.gz"
tar -tzf "$work/bundle.tar.gz" | grep -q 'bundle.json' || fail "the downloaded bundle has no bundle.json"
scores=$("$cli" client --url "$serve" predict tth "$in/data/sig.root:Events" --entries 5 2>&1)
[ "$(echo "$scores" | grep -cE '^[0-9]+	[0-9.e+-]+$')" = 5 ] || fail "predict through the inference server: $scores"
echo "scores from the published model: $(echo "$scores" | tr '\n' ' ')"
if [ "$executor" = slurm ]; then
  slurm_job=$(scontrol -o show job | grep -o "JobName=m4h-$id .*JobState=[A-Z]*" | sed 's/.*JobState=//')
  [ "$slurm_job" = COMPLETED ] || fail "Slurm has no completed job m4h-$id (scontrol: '$slurm_job')"
  grep -q "started on the slurm executor" "$work/state/jobs/$id/log.txt" || fail "job $id's log does not say Slurm ran it"
fi

# ---- 2. SIGKILL with one job running and two queued, then restart
# The first runs for 100,000 epochs (an epoch takes ~25 ms here), so it is still running when the
# server dies. The restarted server follows it again, and cancels it (a job started by the earlier
# run). The two queued jobs then run and succeed. The submissions take milliseconds: no python here,
# because its start-up took seconds on a loaded machine.
long=$(sed 's/"epochs": 1/"epochs": 100000, "patience": 0/' "$in/params.json")
ids=("$(curl -s -X POST -d "{\"upload\": \"tth\", \"name\": \"r1\", \"params\": $long}" "$base/api/v1/jobs" | id_of)")
for n in 2 3; do
  ids+=("$(curl -s -X POST -d "{\"upload\": \"tth\", \"name\": \"r$n\"}" "$base/api/v1/jobs" | id_of)")
done
# "running" is recorded before the process is started, and its handle after: killed in between,
# the restarted server finds the job by its folder or queues it again (jobs_test covers those
# cases). This test follows a job by its stored handle, so it waits for the handle (the server
# logs "started" once it is stored), which under ASan took long enough for a kill to land in between.
for _ in $(seq 1200); do  # 60 s at most: a loaded machine starts processes slowly
  [ "$(state_of "${ids[0]}")" = running ] && grep -q "job ${ids[0]}: started (" "$work/server1.log" && break
  sleep 0.05
done
[ "$(state_of "${ids[1]}")" = queued ] || fail "job ${ids[1]} is not queued behind the running one"
kill -KILL "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=
echo "server killed with jobs ${ids[*]} running/queued"
start_server "$work/server2.log"
grep -E "job ${ids[0]}: still running" "$work/server2.log" || fail "the restarted server did not find job ${ids[0]} again"
[ "$(state_of "${ids[0]}")" = running ] || fail "job ${ids[0]} is not running after the restart"
curl -s -X POST "$base/api/v1/jobs/${ids[0]}/cancel" >/dev/null
expected=(cancelled succeeded succeeded)
for i in 0 1 2; do
  jid=${ids[$i]} st=
  for _ in $(seq 1200); do
    st=$(state_of "$jid")
    [[ $st == succeeded || $st == failed || $st == cancelled ]] && break
    sleep 0.1
  done
  [ "$st" = "${expected[$i]}" ] ||
    fail "job $jid after the restart: $st, not ${expected[$i]} ($(curl -s "$base/api/v1/jobs/$jid" | json 'd["reason"]'))"
done
# The cancelled job's processes are gone: no training of r1 is left.
for _ in $(seq 100); do pgrep -f "$work/state/jobs/${ids[0]}/" >/dev/null || break; sleep 0.1; done
pgrep -f "$work/state/jobs/${ids[0]}/" >/dev/null && fail "job ${ids[0]}'s processes outlived its cancel"
total=$(curl -s "$base/api/v1/jobs" | json 'len(d["jobs"])')
[ "$total" = 4 ] || fail "the server lists $total jobs, not 4"

echo "server_e2e: $fails failure(s)"
((fails == 0))
