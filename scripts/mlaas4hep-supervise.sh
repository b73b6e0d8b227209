#!/usr/bin/env bash
# The single-machine deployment without systemd (a container, a VM where you are not root, a
# laptop): starts the inference server, the workflow server publishing to it, and (when xrootd is
# installed and --xcache is given) the XRootD caching proxy; restarts whichever dies; stops them
# all on SIGTERM/SIGINT. Where systemd runs, use the units in deploy/systemd instead (same settings
# file, same command lines).
#
#   scripts/mlaas4hep-supervise.sh [--env FILE] [--bin DIR] [--state DIR] [--xcache]
#
#   --env FILE   settings (default deploy/systemd/mlaas4hep.env); the environment overrides them
#   --bin DIR    where mlaas4hep is (default: build/ of this checkout, else PATH)
#   --state DIR  models/, server/ and xcache/ live here (default ./mlaas4hep-deploy)
#   --xcache     also run the caching proxy (deploy/xrootd/proxy.cfg; binds every interface)
# A port of 0 takes a free one at the first start and keeps it across restarts. Prints
# "supervise: NAME URL" for each service once it answers, and "supervise: ready".
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
env_file="$here/deploy/systemd/mlaas4hep.env"
bin=""
state="$PWD/mlaas4hep-deploy"
xcache=0
while (($#)); do
  case "$1" in
    --env) env_file=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --state) state=$2; shift 2 ;;
    --xcache) xcache=1; shift ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "supervise: unknown option $1" >&2; exit 2 ;;
  esac
done
say() { echo "supervise: $*"; }

# Settings: the file's NAME=value lines, unless the environment already sets NAME.
while IFS= read -r line; do
  [[ $line =~ ^([A-Z0-9_]+)=(.*)$ ]] || continue
  [ -n "${!BASH_REMATCH[1]+x}" ] || export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
done <"$env_file"
# The packaged settings name system folders; here they live under --state.
export M4H_XRD_CACHE_DIR="$state/xcache/cache" M4H_XRD_RUN_DIR="$state/xcache/run"
M4H_SERVER_ARGS=${M4H_SERVER_ARGS//--data-root \/data/}

if [ -z "$bin" ]; then
  if [ -x "$here/build/mlaas4hep" ]; then bin="$here/build"; else bin="$(dirname "$(command -v mlaas4hep)")"; fi
fi
cli="$bin/mlaas4hep"
[ -x "$cli" ] || { echo "supervise: no mlaas4hep in '$bin' (build it, or pass --bin)" >&2; exit 1; }
mkdir -p "$state/models" "$state/server" "$state/logs" "$state/xcache/cache" "$state/xcache/run" "$state/xcache/log"

declare -A pid=() url=() restarts=()
stopping=0

# The URL a service printed in its log ("... listening on http://HOST:PORT ...") since byte FROM
# (the log is appended to across restarts).
listening_url() {  # NAME LOG_PATTERN FROM
  local log="$state/logs/$1.log" found
  for _ in $(seq 300); do
    found=$(tail -c +$(($3 + 1)) "$log" | sed -n "s|.*$2 \\(https\\?://[^ ]*\\).*|\\1|p" | head -n 1)
    [ -n "$found" ] && { echo "$found"; return 0; }
    kill -0 "${pid[$1]}" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start() {  # NAME
  local name=$1 port from
  from=$(stat -c %s "$state/logs/$name.log" 2>/dev/null || echo 0)
  case "$name" in
    serve)
      port=${url[serve]:+${url[serve]##*:}}
      # shellcheck disable=SC2086  # the *_ARGS settings are lists of words
      "$cli" serve --host 127.0.0.1 --port "${port:-$M4H_SERVE_PORT}" --models "$state/models" $M4H_SERVE_ARGS \
        >>"$state/logs/serve.log" 2>&1 &
      pid[serve]=$!
      url[serve]=$(listening_url serve "mlaas4hep serve: listening on" "$from") || { say "serve did not start"; return 1; } ;;
    server)
      port=${url[server]:+${url[server]##*:}}
      # shellcheck disable=SC2086
      "$cli" server --host 127.0.0.1 --port "${port:-$M4H_SERVER_PORT}" --state "$state/server" \
        --publish "${url[serve]}" $M4H_AUTH_ARGS $M4H_EXECUTOR_ARGS $M4H_SERVER_ARGS >>"$state/logs/server.log" 2>&1 &
      pid[server]=$!
      url[server]=$(listening_url server "mlaas4hep server: listening on" "$from") || { say "server did not start"; return 1; } ;;
    xcache)
      # xrootd refuses to run as root: as root, it runs as user xrootd (its cache and run folders too).
      local runas=()
      if [ "$(id -u)" = 0 ]; then
        chown -R xrootd: "$state/xcache"
        runas=(setpriv --reuid=xrootd --regid=xrootd --init-groups)
      fi
      "${runas[@]}" xrootd -c "$here/deploy/xrootd/proxy.cfg" -n proxy -l "$state/xcache/log/xcache.log" >>"$state/logs/xcache.out" 2>&1 &
      pid[xcache]=$!
      url[xcache]="root://127.0.0.1:$M4H_XRD_PORT" ;;
  esac
  say "$name ${url[$name]} (pid ${pid[$name]})"
}

stop_all() {
  stopping=1
  local name
  # The workflow server first (its jobs go on and are found again by the next start).
  for name in server serve xcache; do
    [ -n "${pid[$name]:-}" ] && kill -TERM "${pid[$name]}" 2>/dev/null
  done
  for name in server serve xcache; do
    [ -n "${pid[$name]:-}" ] && wait "${pid[$name]}" 2>/dev/null
  done
  say "stopped"
  exit 0
}
trap stop_all TERM INT

services=(serve server)
((xcache)) && services+=(xcache)
for s in "${services[@]}"; do
  start "$s" || { stop_all; exit 1; }
  restarts[$s]=0
done
say ready

# Restart what dies; a service that dies five times within a minute is left down (it would only
# crash again), and said so.
declare -A window_start=()
while ((!stopping)); do
  sleep 1 &
  wait $! 2>/dev/null
  for s in "${services[@]}"; do
    [ -z "${pid[$s]:-}" ] && continue
    kill -0 "${pid[$s]}" 2>/dev/null && continue
    wait "${pid[$s]}" 2>/dev/null
    status=$?
    now=$(date +%s)
    if ((now - ${window_start[$s]:-0} > 60)); then window_start[$s]=$now; restarts[$s]=0; fi
    restarts[$s]=$((restarts[$s] + 1))
    if ((restarts[$s] > 5)); then
      say "$s exited ($status) 5 times within a minute: left down; see $state/logs/$s.log"
      pid[$s]=""
      continue
    fi
    say "$s exited ($status): restarting"
    start "$s"
  done
done
