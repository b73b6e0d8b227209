#!/usr/bin/env bash
# Real XRootD servers for mlaas4hep's remote-data tests and benchmarks: an origin that exports a
# directory (root:// and http://) and a caching proxy in front of it (root:// and http://), started
# from the deployment configs in deploy/xrootd/ on free ports of a PRIVATE network namespace.
#
# xrootd has no listen-address setting (it binds *:PORT), so the servers and their clients run in
# a network namespace of their own (`unshare -n`) where only loopback exists: nothing outside can
# reach them. Where that namespace cannot be made, the callers skip (exit 77) rather than bind
# publicly.
#
# As a command:
#   scripts/xrootd-servers.sh DATA_DIR [COMMAND [ARGS...]]
#     Starts both servers serving DATA_DIR, runs COMMAND (default: an interactive shell) inside the
#     namespace with the URLs exported (see below), then stops the servers. Exit status: COMMAND's,
#     77 if no private network namespace could be made, 1 if a server did not start.
#     Example: scripts/xrootd-servers.sh ../shared/testdata/root \
#                bash -c 'build/mlaas4hep ls "$XRD_ORIGIN_URL//uproot-HZZ.root"'
#
# As a library (tests/remote/remote_test.sh, bench/remote_bench.sh):
#   source scripts/xrootd-servers.sh
#   xrd_enter_netns SCRIPT ARGS...   re-executes SCRIPT under `unshare -n` unless already inside
#                                    (returns inside the namespace with lo up; exit 77 if impossible)
#   xrd_stage_data SRC DEST          DEST gets a symlink to each file of SRC the server's user can
#                                    read, and a copy of each it cannot
#   xrd_start DATA_DIR WORK_DIR      origin + proxy; WORK_DIR holds configs' run dirs, logs, pids,
#                                    the cache. Sets and exports:
#       XRD_ORIGIN_URL=root://127.0.0.1:P     XRD_ORIGIN_HTTP_URL=http://127.0.0.1:H
#       XRD_PROXY_URL=root://127.0.0.1:P2     XRD_PROXY_HTTP_URL=http://127.0.0.1:H2
#     (a file F of DATA_DIR is $XRD_ORIGIN_URL//F and $XRD_ORIGIN_HTTP_URL/F)
#   xrd_stop_origin [SIGNAL]         stops the origin (TERM, or KILL: no clean shutdown) and waits
#   xrd_start_origin                 starts it again on the same ports
#   xrd_pause_origin / xrd_resume_origin   SIGSTOP / SIGCONT: a server that hangs
#   xrd_stop_all                     stops exactly the servers started here (by pid); also run
#                                    on exit by the trap xrd_start installs
#   xrd_log NAME                     path of the server's log (NAME = origin or proxy)
# Environment: XRD_START_TIMEOUT (seconds to wait for a server to answer, default 30),
# XRD_USER (user the servers run as when started by root, default xrootd).

# Where deploy/xrootd lives.
XRD_REPO_ROOT="${XRD_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
XRD_CONFIG_DIR="${XRD_CONFIG_DIR:-$XRD_REPO_ROOT/deploy/xrootd}"
XRD_USER="${XRD_USER:-xrootd}"
XRD_START_TIMEOUT="${XRD_START_TIMEOUT:-30}"

declare -gA XRD_PID=()   # name -> pid of the servers started by this shell
declare -gA XRD_PORTS=() # origin, origin_http, proxy, proxy_http -> port
XRD_WORK=""
XRD_DATA=""

xrd_say() { echo "xrootd-servers: $*" >&2; }

# Re-executes the calling script inside a private network namespace. Usage, near the top of the
# script: xrd_enter_netns "${BASH_SOURCE[0]}" "$@"
xrd_enter_netns() {
  local script=$1
  shift
  if [ "${XRD_IN_NETNS:-}" = 1 ]; then
    ip link set lo up 2>/dev/null || true  # done already by the wrapper when not root
    if ! ip -o link show lo 2>/dev/null | grep -q '[<,]UP[,>]'; then
      echo "*** SKIPPED: the loopback interface of the private network namespace is down ***" >&2
      exit 77
    fi
    return 0
  fi
  for tool in unshare ip; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "*** SKIPPED: '$tool' is missing: cannot run the XRootD servers in a private network namespace ***" >&2
      exit 77
    fi
  done
  if [ "$(id -u)" = 0 ]; then
    if ! unshare -n true 2>/dev/null; then
      echo "*** SKIPPED: 'unshare -n' is not permitted here; the XRootD servers would bind every interface, so they are not started ***" >&2
      exit 77
    fi
    exec env XRD_IN_NETNS=1 unshare -n -- bash "$script" "$@"
  fi
  # Not root: a user namespace owns the network namespace. Root inside it only long enough to bring
  # lo up, then back to our own uid and gid (xrootd refuses to run as root).
  if ! unshare -rn true 2>/dev/null; then
    echo "*** SKIPPED: neither 'unshare -n' (needs root) nor 'unshare -rn' (user namespaces) is permitted here ***" >&2
    exit 77
  fi
  exec env XRD_IN_NETNS=1 unshare -rn -- bash -c \
    'ip link set lo up && exec unshare --map-user="$1" --map-group="$2" -- bash "${@:3}"' \
    wrapper "$(id -u)" "$(id -g)" "$script" "$@"
}

# The servers run as XRD_USER when we are root (xrootd refuses to run as root; setpriv switches
# user before xrootd starts, like xrootd's own -R), else as ourselves. They get SIGKILL if this
# shell dies without stopping them (a test killed on timeout leaves no server behind).
xrd_runas() {
  if [ "$(id -u)" = 0 ]; then
    echo "setpriv --reuid=$XRD_USER --regid=$XRD_USER --init-groups --pdeathsig=KILL"
  else
    echo "setpriv --pdeathsig=KILL"
  fi
}

# Prints each PATH argument the server's user cannot read (one setpriv for all: it is slow).
xrd_unreadable() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid="$XRD_USER" --regid="$XRD_USER" --clear-groups \
      bash -c 'for f; do test -r "$f" || echo "$f"; done' xrd_unreadable "$@"
  else
    local f
    for f; do test -r "$f" || echo "$f"; done
  fi
}

# DEST gets one entry per regular file of SRC (not recursive): a symlink when the server's user
# can read the file, else a copy (mode 644; for this run only, never into the repository).
xrd_stage_data() {
  local src dest=$2 f
  src=$(cd "$1" && pwd) || return 1
  mkdir -p "$dest" && chmod 755 "$dest" || return 1
  local files=() unreadable=()
  for f in "$src"/*; do [ -f "$f" ] && files+=("$f"); done
  ((${#files[@]})) || return 0
  mapfile -t unreadable < <(xrd_unreadable "${files[@]}")
  local skip=" ${unreadable[*]+"${unreadable[*]}"} "
  for f in "${files[@]}"; do
    if [[ $skip == *" $f "* ]]; then
      cp "$f" "$dest/" && chmod 644 "$dest/${f##*/}" || return 1
    else
      ln -sfn "$f" "$dest/${f##*/}" || return 1
    fi
  done
  ((${#unreadable[@]} == 0)) || xrd_say "copied ${#unreadable[@]} files the server's user cannot read into $dest"
}

# A port nobody listens on (inside the private namespace they all are free; checked anyway).
xrd_free_port() {
  local p taken
  taken=" ${XRD_PORTS[*]} "
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 30000))
    [[ $taken == *" $p "* ]] && continue
    if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
      echo "$p"
      return 0
    fi
  done
  xrd_say "no free port found"
  return 1
}

xrd_log() { echo "$XRD_WORK/run/$1/$1.log"; }

# Polls until the server NAME answers on its root:// and http:// ports, or fails (server died, or
# XRD_START_TIMEOUT passed): prints the end of its log then.
xrd_wait_ready() {
  local name=$1 port=$2 http_port=$3
  local deadline=$((SECONDS + XRD_START_TIMEOUT)) pid=${XRD_PID[$name]}
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      xrd_say "$name (pid $pid) exited during startup; its log ends with:"
      tail -n 25 "$(xrd_log "$name")" >&2 2>/dev/null || cat "$XRD_WORK/$name.out" >&2
      return 1
    fi
    if XRD_CONNECTIONWINDOW=1 XRD_CONNECTIONRETRY=1 XRD_REQUESTTIMEOUT=3 \
        timeout 5 xrdfs "127.0.0.1:$port" query config version >/dev/null 2>&1 &&
       [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$http_port/" 2>/dev/null)" != 000 ]; then
      return 0
    fi
    sleep 0.2
  done
  xrd_say "$name did not answer on ports $port/$http_port within ${XRD_START_TIMEOUT}s; its log ends with:"
  tail -n 25 "$(xrd_log "$name")" >&2 2>/dev/null
  return 1
}

# Starts server NAME (origin or proxy) with the environment given as KEY=VALUE arguments. The
# server reads its config after switching to its user, and makes a directory in its working
# directory: both are in WORK_DIR (the repository may not be readable by that user).
xrd_launch() {
  local name=$1
  shift
  cp "$XRD_CONFIG_DIR/$name.cfg" "$XRD_WORK/$name.cfg" && chmod 644 "$XRD_WORK/$name.cfg" || return 1
  # shellcheck disable=SC2046
  (cd "$XRD_WORK/run" && exec env "$@" M4H_XRD_RUN_DIR="$XRD_WORK/run" \
    $(xrd_runas) xrootd -c "$XRD_WORK/$name.cfg" -n "$name" -l "$XRD_WORK/run/$name.log") \
    >>"$XRD_WORK/$name.out" 2>&1 </dev/null &
  XRD_PID[$name]=$!
  echo "${XRD_PID[$name]}" >"$XRD_WORK/$name.pid"
}

xrd_start_origin() {
  xrd_launch origin M4H_XRD_DATA_DIR="$XRD_DATA" M4H_XRD_PORT="${XRD_PORTS[origin]}" \
    M4H_XRD_HTTP_PORT="${XRD_PORTS[origin_http]}"
  xrd_wait_ready origin "${XRD_PORTS[origin]}" "${XRD_PORTS[origin_http]}"
}

xrd_start_proxy() {
  xrd_launch proxy M4H_XRD_ORIGIN="127.0.0.1:${XRD_PORTS[origin]}" M4H_XRD_PORT="${XRD_PORTS[proxy]}" \
    M4H_XRD_HTTP_PORT="${XRD_PORTS[proxy_http]}" M4H_XRD_CACHE_DIR="$XRD_WORK/cache" M4H_XRD_CACHE_RAM=1g
  xrd_wait_ready proxy "${XRD_PORTS[proxy]}" "${XRD_PORTS[proxy_http]}"
}

# xrd_start DATA_DIR WORK_DIR: see the header.
xrd_start() {
  if [ "${XRD_IN_NETNS:-}" != 1 ]; then
    xrd_say "refusing to start servers outside a private network namespace (call xrd_enter_netns first)"
    return 1
  fi
  local missing=()
  for tool in xrootd xrdfs curl ss; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if ((${#missing[@]})); then
    xrd_say "missing: ${missing[*]} (Debian packages xrootd-server, xrootd-client, curl, iproute2)"
    return 1
  fi
  XRD_DATA=$(cd "$1" && pwd) || return 1
  mkdir -p "$2" || return 1
  XRD_WORK=$(cd "$2" && pwd)
  mkdir -p "$XRD_WORK/run" "$XRD_WORK/cache"
  chmod 755 "$XRD_WORK"
  if [ "$(id -u)" = 0 ]; then chown "$XRD_USER:" "$XRD_WORK/run" "$XRD_WORK/cache" || return 1; fi
  if [ -n "$(xrd_unreadable "$XRD_DATA" "$XRD_DATA/.")" ]; then
    xrd_say "the server's user cannot read $XRD_DATA (stage it with xrd_stage_data)"
    return 1
  fi
  XRD_PORTS[origin]=$(xrd_free_port) && XRD_PORTS[origin_http]=$(xrd_free_port) &&
    XRD_PORTS[proxy]=$(xrd_free_port) && XRD_PORTS[proxy_http]=$(xrd_free_port) || return 1
  trap 'xrd_stop_all' EXIT
  trap 'xrd_stop_all; exit 130' INT
  trap 'xrd_stop_all; exit 143' TERM
  xrd_start_origin || return 1
  xrd_start_proxy || return 1
  export XRD_ORIGIN_URL="root://127.0.0.1:${XRD_PORTS[origin]}"
  export XRD_ORIGIN_HTTP_URL="http://127.0.0.1:${XRD_PORTS[origin_http]}"
  export XRD_PROXY_URL="root://127.0.0.1:${XRD_PORTS[proxy]}"
  export XRD_PROXY_HTTP_URL="http://127.0.0.1:${XRD_PORTS[proxy_http]}"
  xrd_say "origin pid ${XRD_PID[origin]} ($XRD_ORIGIN_URL, $XRD_ORIGIN_HTTP_URL), proxy pid ${XRD_PID[proxy]} ($XRD_PROXY_URL, $XRD_PROXY_HTTP_URL), serving $XRD_DATA"
}

# Stops server NAME: SIGNAL (default TERM), then KILL if it is still there after 5 s. Only the pid
# this shell started.
xrd_stop() {
  local name=$1 sig=${2:-TERM} pid=${XRD_PID[$1]:-}
  [ -n "$pid" ] || return 0
  # stderr of the whole block goes away: bash reports a killed job ("Killed ...") on its stderr.
  {
    if kill -0 "$pid"; then
      kill -s "$sig" "$pid"
      kill -s CONT "$pid"  # a paused server acts on the signal only once resumed
      local deadline=$((SECONDS + 5))
      while kill -0 "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
      kill -0 "$pid" && kill -s KILL "$pid"
    fi
    wait "$pid" || true  # its exit status (143 after TERM) is not ours: callers may run set -e
  } 2>/dev/null
  unset 'XRD_PID[$name]'
  rm -f "$XRD_WORK/$name.pid"
}

xrd_stop_origin() { xrd_stop origin "${1:-TERM}"; }
xrd_pause_origin() { kill -s STOP "${XRD_PID[origin]}"; }
xrd_resume_origin() { kill -s CONT "${XRD_PID[origin]}"; }

xrd_stop_all() {
  local name
  for name in proxy origin; do xrd_stop "$name"; done
  return 0
}

# ---------------------------------------------------------------------------------------------
# Command mode.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
  fi
  xrd_enter_netns "$0" "$@"
  data=$1
  shift
  [ -d "$data" ] || { xrd_say "no such directory: $data"; exit 2; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/xrootd-servers.XXXXXX")
  xrd_stage_data "$data" "$work/data"
  if ! xrd_start "$work/data" "$work"; then
    xrd_stop_all
    exit 1
  fi
  if [ $# -eq 0 ]; then set -- "${SHELL:-bash}"; fi
  "$@"
  rc=$?
  xrd_stop_all
  trap - EXIT
  rm -rf "$work"
  exit $rc
fi
