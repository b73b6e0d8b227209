#!/usr/bin/env bash
# deploy_test.sh BUILD_DIR: the single-machine deployment.
#   1. the systemd units in deploy/systemd pass `systemd-analyze verify` (with their paths pointed
#      at this build), when systemd-analyze is installed;
#   2. scripts/mlaas4hep-supervise.sh starts the inference server and the workflow server from the
#      packaged settings file (ports 0), a job submitted to the workflow server is published to the
#      inference server, the workflow server killed with SIGKILL comes back on the same port with
#      its jobs, and SIGTERM stops everything;
#   3. with --xcache it also runs the XRootD caching proxy (in a private network namespace).
# Bounded: every wait has a deadline; exit 0 passed, 1 failed.
set -u
build=$(cd "${1:?usage: deploy_test.sh BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cli=$build/mlaas4hep
source "$repo/tests/service/e2e_lib.sh"
e2e_work deploy

# ---- 1. the units
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$work/units"
  for u in "$repo"/deploy/systemd/*.service "$repo"/deploy/systemd/*.target; do
    sed -e "s|/usr/local/bin/mlaas4hep|$cli|" -e "s|/etc/mlaas4hep/mlaas4hep.env|$repo/deploy/systemd/mlaas4hep.env|" \
      -e "s|/usr/local/share/mlaas4hep/deploy|$repo/deploy|" -e "/^User=mlaas4hep/d" -e "/^Group=mlaas4hep/d" "$u" \
      >"$work/units/$(basename "$u")"
  done
  out=$(cd "$work/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no ./*.service ./*.target 2>&1 |
    grep -v -e 'network-online.target' -e 'Failed to .*bus' -e 'No such file or directory.*sys/fs/cgroup')
  [ -z "$out" ] && echo "ok: systemd-analyze verify: the units are clean" || fail "systemd-analyze verify: $out"
else
  echo "*** systemd-analyze is not installed: the units are not verified ***"
fi

# ---- 2. the supervisor
M4H_SERVE_PORT=0 M4H_SERVER_PORT=0 M4H_EXECUTOR_ARGS="--executor local --cpus 1" \
  bash "$repo/scripts/mlaas4hep-supervise.sh" --bin "$build" --state "$work/state" >"$work/supervise.log" 2>&1 &
sup=$!
pids+=("$sup")
wait_for_line "$work/supervise.log" 's/^supervise: \(ready\)$/\1/p' "$sup" 600 >/dev/null ||
  { echo "the supervisor did not get ready:"; cat "$work/supervise.log"; exit 1; }
serve=$(sed -n 's|^supervise: serve \(http://[^ ]*\) .*|\1|p' "$work/supervise.log")
base=$(sed -n 's|^supervise: server \(http://[^ ]*\) .*|\1|p' "$work/supervise.log")
echo "supervised: inference $serve, workflow $base"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$serve/v2/health/ready")" = 200 ] || fail "the inference server is not ready"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/dashboard/")" = 200 ] || fail "no dashboard"

in=$work/in/tth
make_inputs "$in" || exit 1
curl -s -X POST -H 'Content-Type: application/gzip' --data-binary "@$in.tar.gz" "$base/api/v1/uploads?name=tth" >/dev/null
id=$(curl -s -X POST -d '{"upload": "tth", "name": "deployed"}' "$base/api/v1/jobs" | json 'd["id"]')
follow_log "$base" "$id"
[ "$final_state" = succeeded ] || fail "job $id ended '$final_state'"
curl -s "$serve/models" | grep -q '"name":"deployed"' || fail "the job's model is not on the inference server: $(curl -s "$serve/models")"

server_pid=$(sed -n 's|^supervise: server .* (pid \([0-9]*\))$|\1|p' "$work/supervise.log" | tail -n 1)
kill -KILL "$server_pid"
for _ in $(seq 300); do
  [ "$(grep -c '^supervise: server http' "$work/supervise.log")" -ge 2 ] && break
  sleep 0.1
done
grep -q "^supervise: server exited" "$work/supervise.log" || fail "the supervisor did not see the server die"
again=$(sed -n 's|^supervise: server \(http://[^ ]*\) .*|\1|p' "$work/supervise.log" | tail -n 1)
[ "$again" = "$base" ] || fail "the server came back on $again, not $base"
[ "$(curl -s "$base/api/v1/jobs/$id" | json 'd["state"]')" = succeeded ] || fail "job $id is not there after the restart"

kill -TERM "$sup"; wait "$sup"
grep -q "^supervise: stopped" "$work/supervise.log" || fail "the supervisor did not stop cleanly"
for u in "$serve" "$base"; do
  curl -s -m 2 -o /dev/null "$u/" && fail "$u still answers after the stop"
done
# ---- 3. the supervisor with the caching proxy. xrootd binds every interface: only in a private
# network namespace, where nothing outside can reach it (and the proxy's origin is unreachable).
if [ "$(id -u)" = 0 ] && command -v xrootd >/dev/null && unshare -n true 2>/dev/null; then
  mkdir -p "$work/x" && chmod 755 "$work" "$work/x"
  unshare -n bash -c '
    ip link set lo up
    M4H_SERVE_PORT=0 M4H_SERVER_PORT=0 M4H_XRD_ORIGIN=127.0.0.1:1 M4H_XRD_PORT=21094 M4H_XRD_HTTP_PORT=28080 \
      bash "$1/scripts/mlaas4hep-supervise.sh" --bin "$2" --state "$3/state" --xcache >"$3/supervise.log" 2>&1 &
    sup=$!
    for _ in $(seq 300); do grep -q "^supervise: ready" "$3/supervise.log" && break; sleep 0.1; done
    for _ in $(seq 50); do ss -ltn | grep -q ":21094 " && break; sleep 0.1; done
    ss -ltn | grep -q ":21094 " && echo "proxy listening" >"$3/result"
    kill -TERM "$sup"; wait "$sup"
    proxy=$(sed -n "s/^supervise: xcache .* (pid \([0-9]*\))$/\1/p" "$3/supervise.log" | tail -n 1)
    [ -n "$proxy" ] && kill -0 "$proxy" 2>/dev/null && { echo "xrootd left running" >>"$3/result"; kill -KILL "$proxy"; }' \
    _ "$repo" "$build" "$work/x"
  [ "$(cat "$work/x/result" 2>/dev/null)" = "proxy listening" ] ||
    fail "the supervised caching proxy: $(cat "$work/x/result" 2>/dev/null; cat "$work/x/supervise.log")"
  echo "ok: the supervisor ran the caching proxy (root:// on 21094) and stopped it"
else
  echo "*** the supervised caching proxy is not tried: needs root, xrootd and 'unshare -n' ***"
fi

echo "deploy_test: $fails failure(s)"
((fails == 0))
