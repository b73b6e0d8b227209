#!/usr/bin/env bash
# remote_test.sh [BUILD_DIR]: mlaas4hep against real XRootD and HTTP servers.
#
# Starts an xrootd origin serving the shared test files (root:// and, through XrdHttp, http://) and
# a second xrootd configured as a caching proxy in front of it (deploy/xrootd/, started by
# scripts/xrootd-servers.sh), all inside a private network namespace (`unshare -n`: nothing outside
# can reach them). Then:
#   1. for every tree of every file of $MLAAS4HEP_TESTDATA, `mlaas4hep dump FILE:TREE` over
#      root:// direct, root:// through the proxy, http:// direct and http:// through the proxy must
#      give the same exit status, byte-identical JSON and the same "skipping branch" lines as the
#      local file (FILE alone too, for some files of one tree); `ls` and `show` (of the first
#      tree) of every third file the same output, over one of the remote ways, in turn;
#   2. the proxy's cache holds what was read, and serves a repeated read while the origin hangs;
#   3. faults, each bounded in time:
#      - the origin hangs (SIGSTOP) in the middle of a long read with --timeout 5 --retries 0,
#        over root:// and over http://: exit 2 within the timeout plus a margin, with a message
#        naming the URL;
#      - the origin dies (SIGKILL) in the middle of a long read: exit 2, message naming the URL;
#      - the origin is down when a read with --retries 5 starts and comes back while it waits:
#        the read completes with the local JSON;
#      - the origin dies in the middle of a long read with --retries 5 and comes back: the read
#        completes with the same values;
#      - a wrong path (root:// and http://), a port nobody listens on, an unknown host: exit 2
#        and a message naming the URL.
#      The long reads use a ~200 MB file from `mlaas4hep gen` (kept in $M4H_REMOTE_DATA_DIR) and
#      loopback limited with tc to ~30 MB/s, so that "the middle of the read" is seconds long.
#
# Exit status: 0 all passed, 1 a failure, 77 skipped (no private network namespace, no xrootd,
# no test data, or a mlaas4hep without root:// support yet), with a loud message.
# Environment: M4H_CLI (default BUILD_DIR/mlaas4hep), MLAAS4HEP_TESTDATA (default
# ../shared/testdata/root beside the repository), M4H_REMOTE_KEEP=1 keeps the work directory,
# M4H_REMOTE_PARTS (default "equality cache faults": the parts to run; "cache" needs "equality"),
# M4H_REMOTE_WAYS (default "root-direct root-proxy http-direct http-proxy": the remote ways each
# tree is dumped), M4H_REMOTE_JOBS (files compared at a time, default 3), M4H_REMOTE_FILE_STRIDE
# (compare one file in N, default 1: all; the sanitizer build uses 3), M4H_REMOTE_DATA_DIR (where
# the generated file is kept, default ${TMPDIR:-/tmp}/m4h-remote-test-data).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/xrootd-servers.sh
source "$here/scripts/xrootd-servers.sh"

skip() {
  echo "*****************************************************************"
  echo "*** SKIPPED remote test: $*"
  echo "*****************************************************************"
  exit 77
}
for tool in xrootd xrdfs curl; do
  command -v "$tool" >/dev/null 2>&1 || skip "'$tool' is not installed (scripts/install-deps.sh: xrootd-server xrootd-client curl)"
done

xrd_enter_netns "${BASH_SOURCE[0]}" "$@"   # from here on: a private network namespace

build=${1:-$here/build}
build=$(cd "$build" 2>/dev/null && pwd) || { echo "FAIL: no build directory '$1'"; exit 1; }
cli=${M4H_CLI:-$build/mlaas4hep}
data=${MLAAS4HEP_TESTDATA:-$here/../shared/testdata/root}
[ -x "$cli" ] || { echo "FAIL: $cli is not built"; exit 1; }
[ -d "$data" ] || skip "no test data at $data (set MLAAS4HEP_TESTDATA)"
data=$(cd "$data" && pwd)

t_start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/m4h-remote.XXXXXX")
chmod 755 "$work"  # the servers run as another user
cleanup() {
  xrd_stop_all
  if [ "${M4H_REMOTE_KEEP:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

fails=0 checks=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }
elapsed() { awk -v a="$1" -v b="${EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }'; }

# --- the long file for the fault tests (generated once, shared by build directories) ------------
# Any build's gen output will do: every read of it is compared with a local read of the same file.
long_dir=${M4H_REMOTE_DATA_DIR:-${TMPDIR:-/tmp}/m4h-remote-test-data}
long="$long_dir/long-200mb.root"
if [ ! -s "$long" ]; then
  mkdir -p "$long_dir" && chmod 755 "$long_dir"
  echo "generating $long (~200 MB, kept for later runs)"
  timeout 300 "$cli" gen --process signal --events 1100000 --codec zlib --level 1 --threads 2 \
    -o "$long.tmp.$$" >/dev/null && mv "$long.tmp.$$" "$long" || { echo "FAIL: mlaas4hep gen failed"; exit 1; }
fi

# --- servers -----------------------------------------------------------------------------------
xrd_stage_data "$data" "$work/data" || { echo "FAIL: cannot stage the test data"; exit 1; }
xrd_stage_data "$long_dir" "$work/data" || { echo "FAIL: cannot stage $long"; exit 1; }
xrd_start "$work/data" "$work/servers" || { echo "FAIL: the XRootD servers did not start"; exit 1; }
trap cleanup EXIT  # xrd_start installed its own

probe=$(basename "$(ls "$data"/*.root | head -n 1)")
out=$(timeout 60 "$cli" ls "$XRD_ORIGIN_URL//$probe" 2>&1)
if grep -qi "not supported" <<<"$out"; then
  skip "this mlaas4hep cannot read root:// URLs yet: '$out'"
fi

parts=" ${M4H_REMOTE_PARTS:-equality cache faults} "
part() { [[ $parts == *" $1 "* ]]; }

# --- 1. every tree, four remote ways vs local ---------------------------------------------------
read -r -a modes <<<"${M4H_REMOTE_WAYS:-root-direct root-proxy http-direct http-proxy}"
url_of() {  # url_of MODE NAME
  case $1 in
    root-direct) echo "$XRD_ORIGIN_URL//$2" ;;
    root-proxy) echo "$XRD_PROXY_URL//$2" ;;
    http-direct) echo "$XRD_ORIGIN_HTTP_URL/$2" ;;
    http-proxy) echo "$XRD_PROXY_HTTP_URL/$2" ;;
  esac
}
mkdir -p "$work/out"
# compare_run LABEL REF OUT CMD...: runs CMD (a remote read) into OUT.{out,err} and compares its
# exit status, stdout bytes and "skipping branch" lines with the local run's in REF.{rc,out,err}.
compare_run() {
  local label=$1 ref=$2 o=$3 want
  shift 3
  timeout 120 "$@" >"$o.out" 2>"$o.err"
  local rc=$?
  read -r want <"$ref.rc"
  if [ "$rc" != "$want" ]; then
    fail "$label: exit status $rc, locally $want: $(tail -n 1 "$o.err")"
    return 1
  fi
  if ! cmp -s "$ref.out" "$o.out"; then
    fail "$label: output differs from the local file's: $(cmp "$ref.out" "$o.out" 2>&1 | head -n 1)"
    return 1
  fi
  # stderr: the same "skipping branch" lines (usually all of it is the same: one cmp)
  if ! cmp -s "$ref.err" "$o.err" &&
     [ "$(grep '^mlaas4hep: skipping' "$ref.err")" != "$(grep '^mlaas4hep: skipping' "$o.err")" ]; then
    fail "$label: other 'skipping branch' messages than locally"
    return 1
  fi
  ok
}
local_run() {  # local_run REF CMD...: the local reference run
  local ref=$1
  shift
  timeout 120 "$@" >"$ref.out" 2>"$ref.err"
  echo $? >"$ref.rc"
}

# check_file FILE N: every comparison of the N-th file (run in parallel, one file per job). Prints
# its FAIL lines, then "counts CHECKS FAILS TREES SECONDS".
check_file() {
  local f=$1 nth=$2 name m t tag ref trees=() t0=$EPOCHREALTIME
  name=$(basename "$f")
  checks=0 fails=0
  ref="$work/out/$name.ls"
  local_run "$ref" "$cli" ls "$f"
  if ((nth % 3 == 1)); then  # ls: every third file, one remote way, in turn
    m=${modes[$((nth / 3 % ${#modes[@]}))]}
    compare_run "ls $m $name" "$ref" "$work/out/$name.ls.$m" "$cli" ls "$(url_of "$m" "$name")"
  fi
  mapfile -t trees < <(awk -F'\t' '$2 ~ /^(TTree|TNtuple|TNtupleD)$/ && !seen[$1]++ { print $1 }' "$ref.out")
  for t in "${trees[@]}"; do
    tag="${name}__${t//\//__}"
    if [ "$t" = "${trees[0]}" ] && ((nth % 3 == 2)); then  # show: every third file's first tree
      m=${modes[$((nth / 3 % ${#modes[@]}))]}
      ref="$work/out/$tag.show"
      local_run "$ref" "$cli" show "$f:$t"
      compare_run "show $m $name:$t" "$ref" "$work/out/$tag.show.$m" "$cli" show "$(url_of "$m" "$name"):$t"
    fi
    ref="$work/out/$tag.dump"
    local_run "$ref" "$cli" dump "$f:$t" --format json
    for m in "${modes[@]}"; do
      compare_run "dump $m $name:$t" "$ref" "$work/out/$tag.dump.$m" "$cli" dump "$(url_of "$m" "$name"):$t" --format json
    done
    # FILE without :TREE (every third file of one tree): the port's colon of an http URL is not
    # the start of a tree name.
    if [ ${#trees[@]} = 1 ] && ((nth % 3 == 0)) && [[ " ${modes[*]} " == *" http-direct "* ]]; then
      compare_run "dump http-direct $name (no :TREE)" "$ref" "$work/out/$tag.dump.notree" \
        "$cli" dump "$(url_of http-direct "$name")" --format json
    fi
    rm -f "$work/out/$tag".dump.*.out
  done
  echo "counts $checks $fails ${#trees[@]} $(elapsed "$t0")"
}

hzz=uproot-HZZ.root
nfiles=0 ntrees=0
if part equality; then
  t1=$EPOCHREALTIME
  mkdir -p "$work/log"
  jobs_max=${M4H_REMOTE_JOBS:-3}
  workers=()
  stride=${M4H_REMOTE_FILE_STRIDE:-1}
  # Largest files first: they hold the most trees and take longest, and should not end the run alone.
  files=()
  n=0
  while IFS= read -r f; do
    ((n++ % stride == 0)) && files+=("$f")
  done < <(stat -L -c '%s %n' "$data"/*.root | sort -rn | cut -d' ' -f2-)
  for f in "${files[@]}"; do
    while :; do  # at most jobs_max files at a time (not `wait`: the servers are children too)
      alive=()
      for p in "${workers[@]+"${workers[@]}"}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
      workers=("${alive[@]+"${alive[@]}"}")
      ((${#workers[@]} < jobs_max)) && break
      sleep 0.05
    done
    check_file "$f" "$nfiles" >"$work/log/$(basename "$f").log" 2>&1 &
    workers+=($!)
    nfiles=$((nfiles + 1))
  done
  for p in "${workers[@]+"${workers[@]}"}"; do wait "$p"; done
  for f in "${files[@]}"; do
    log="$work/log/$(basename "$f").log"
    grep -v '^counts ' "$log"
    read -r _ c x n secs < <(grep '^counts ' "$log" || echo "counts 0 1 0 0")
    echo "$secs $(basename "$f")" >>"$work/times"
    checks=$((checks + c)) fails=$((fails + x)) ntrees=$((ntrees + n))
  done
  echo "equality: $nfiles files$( ((stride == 1)) || echo " (one in $stride)"), $ntrees trees, ${#modes[@]} remote ways each: $checks checks passed, $fails failed ($(elapsed "$t1") s, $jobs_max files at a time)"
  [ "$ntrees" -gt 0 ] || fail "no tree found under $data"
  echo "slowest files (s): $(sort -rn "$work/times" | head -n 5 | tr '\n' ' ')"
fi

# --- 2. the proxy's cache -----------------------------------------------------------------------
if part equality && part cache && [[ " ${modes[*]} " == *" root-proxy "* ]]; then
  ncached=$(find "$work/servers/cache" -name '*.cinfo' | wc -l)
  if [ "$ncached" -ge "$nfiles" ]; then
    ok
    echo "ok: the proxy cached the $ncached files read through it"
  else
    fail "proxy cache: $ncached files cached after reading $nfiles through the proxy"
  fi
  # A repeated read through the proxy is served from its cache: it works while the origin hangs.
  if [ -f "$work/out/${hzz}__events.dump.out" ]; then
    xrd_pause_origin
    compare_run "repeated read via the proxy while the origin hangs" "$work/out/${hzz}__events.dump" \
      "$work/out/cached" "$cli" dump "$XRD_PROXY_URL//$hzz:events" --format json --timeout 5 --retries 0 &&
      echo "ok: a repeated read through the proxy is served from its cache while the origin hangs"
    xrd_resume_origin
  fi
fi

# --- 3. faults ------------------------------------------------------------------------------------
# Rate-limits loopback so that a 200 MB read lasts seconds (needs tc and CAP_NET_ADMIN in the
# namespace, i.e. root); without it the mid-read cases are skipped, loudly.
shape() { tc qdisc replace dev lo root tbf rate "$1" burst 256kb latency 400ms 2>/dev/null; }
unshape() { tc qdisc del dev lo root 2>/dev/null; }

# expect_error LABEL SECONDS_MAX NEEDLE CMD...: exit 2 within SECONDS_MAX, stderr names NEEDLE.
expect_error() {
  local label=$1 max=$2 needle=$3
  shift 3
  local t0=$EPOCHREALTIME
  timeout 120 "$@" >/dev/null 2>"$work/err"
  local rc=$? secs
  secs=$(elapsed "$t0")
  if [ $rc != 2 ]; then
    fail "$label: exit status $rc (expected 2) after ${secs}s: $(tail -n 2 "$work/err" | tr '\n' ' ')"
  elif awk -v s="$secs" -v m="$max" 'BEGIN { exit !(s > m) }'; then
    fail "$label: took ${secs}s (at most ${max}s expected): $(tail -n 1 "$work/err")"
  elif ! grep -qF -- "$needle" "$work/err"; then
    fail "$label: the message does not name '$needle': $(tail -n 1 "$work/err")"
  else
    ok
    echo "ok: $label: exit 2 after ${secs}s: $(tail -n 1 "$work/err" | cut -c1-200)"
  fi
}

# mid_read_fault LABEL ACTION BOUND SCHEME CLI_ARGS...: starts a long read over SCHEME (root or
# http), then ACTION (pause: SIGSTOP, kill: SIGKILL) on the origin once the read is underway;
# expects exit 2 within BOUND seconds of the action and a message naming the URL.
mid_read_fault() {
  local label=$1 action=$2 bound=$3 scheme=$4
  shift 4
  local lname url port
  lname=$(basename "$long")
  if [ "$scheme" = http ]; then
    url="$XRD_ORIGIN_HTTP_URL/$lname" port=${XRD_PORTS[origin_http]}
  else
    url="$XRD_ORIGIN_URL//$lname" port=${XRD_PORTS[origin]}
  fi
  timeout 120 "$cli" dump "$url" --format csv "$@" >/dev/null 2>"$work/err" &
  local pid=$!
  sleep 1.5
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    fail "$label: the read ended (status $?) before the origin was stopped: $(tail -n 1 "$work/err")"
    return
  fi
  local t0=$EPOCHREALTIME
  if [ "$action" = pause ]; then xrd_pause_origin; else xrd_stop_origin KILL; fi
  wait "$pid"
  local rc=$? secs
  secs=$(elapsed "$t0")
  if [ $rc != 2 ]; then
    fail "$label: exit status $rc (expected 2) ${secs}s after the origin stopped: $(tail -n 2 "$work/err" | tr '\n' ' ')"
  elif awk -v s="$secs" -v m="$bound" 'BEGIN { exit !(s > m) }'; then
    fail "$label: exited ${secs}s after the origin stopped (at most ${bound}s expected): $(tail -n 1 "$work/err")"
  elif ! grep -qF "127.0.0.1:$port" "$work/err" || ! grep -qF "$lname" "$work/err"; then
    fail "$label: the message does not name the URL $url: $(tail -n 1 "$work/err")"
  else
    ok
    echo "ok: $label: exit 2 ${secs}s after the origin stopped: $(tail -n 1 "$work/err" | cut -c1-200)"
  fi
}

restart_origin() { xrd_start_origin || { echo "FAIL: the origin did not restart"; exit 1; }; }

if part faults; then
  t1=$EPOCHREALTIME
  mkdir -p "$work/out"
  lname=$(basename "$long")

  if shape 240mbit; then
    # A hung server: only the timeout ends the read (no retries): 5 s plus a margin of 5 s.
    mid_read_fault "origin hangs mid-read over root:// (--timeout 5 --retries 0)" pause 10 root --timeout 5 --retries 0
    xrd_stop_origin KILL
    restart_origin
    mid_read_fault "origin hangs mid-read over http:// (--timeout 5 --retries 0)" pause 10 http --timeout 5 --retries 0
    xrd_stop_origin KILL
    restart_origin
    # A dead server: connection refused on every retry (default 3, backoff 0.5 + 1 + 2 s).
    mid_read_fault "origin killed mid-read over root:// (--timeout 5)" kill 15 root --timeout 5
    restart_origin

    # Killed in the middle of a read and restarted while the client retries: the local values.
    branches=(-b Jet_pt -b MET_pt)
    local_run "$work/out/long" "$cli" dump "$long" "${branches[@]}" --format csv
    shape 48mbit  # these branches (~25 MB) then take ~4 s
    timeout 120 "$cli" dump "$XRD_ORIGIN_URL//$lname" "${branches[@]}" --format csv --timeout 5 --retries 5 \
      >"$work/out/long.retry.out" 2>"$work/out/long.retry.err" &
    pid=$!
    sleep 1.5
    label="origin killed mid-read and restarted (--retries 5)"
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      fail "$label: the read ended (status $?) before the origin was stopped"
    else
      xrd_stop_origin KILL
      sleep 1
      restart_origin
      wait "$pid"
      rc=$?
      if [ $rc != 0 ]; then
        fail "$label: exit status $rc: $(tail -n 1 "$work/out/long.retry.err")"
      elif ! cmp -s "$work/out/long.out" "$work/out/long.retry.out"; then
        fail "$label: the values differ from the local file's"
      else
        ok
        echo "ok: $label: same CSV as locally ($(wc -c <"$work/out/long.out") bytes)"
      fi
    fi
    unshape
  else
    echo "*** NOTE: tc cannot shape loopback here: the mid-read fault cases are SKIPPED ***"
  fi

  # Down when the read starts, back while the client waits to retry.
  label="origin restarted while a read waits (--retries 5)"
  small=(-b nJet -b Jet_pt -b MET_pt --stop 20000 --format json)
  local_run "$work/out/small" "$cli" dump "$long" "${small[@]}"
  xrd_stop_origin
  timeout 120 "$cli" dump "$XRD_ORIGIN_URL//$lname" "${small[@]}" --retries 5 --timeout 5 \
    >"$work/out/restart.out" 2>"$work/out/restart.err" &
  pid=$!
  sleep 1.5
  waiting=0
  kill -0 "$pid" 2>/dev/null && waiting=1
  restart_origin
  wait "$pid"
  rc=$?
  if [ $waiting != 1 ]; then
    fail "$label: the client gave up before the restart (status $rc): $(tail -n 1 "$work/out/restart.err")"
  elif [ $rc != 0 ]; then
    fail "$label: exit status $rc: $(tail -n 1 "$work/out/restart.err")"
  elif ! cmp -s "$work/out/small.out" "$work/out/restart.out"; then
    fail "$label: JSON differs from the local file's"
  else
    ok
    echo "ok: $label: same JSON as locally"
  fi

  # Wrong path, port, host.
  free_port=$(xrd_free_port)
  expect_error "missing file over root://" 20 "$XRD_ORIGIN_URL//no-such-file.root" \
    "$cli" dump "$XRD_ORIGIN_URL//no-such-file.root" --timeout 5
  expect_error "missing file over http://" 20 "$XRD_ORIGIN_HTTP_URL/no-such-file.root" \
    "$cli" dump "$XRD_ORIGIN_HTTP_URL/no-such-file.root" --timeout 5
  expect_error "missing file via the proxy" 20 "$XRD_PROXY_URL//no-such-file.root" \
    "$cli" dump "$XRD_PROXY_URL//no-such-file.root" --timeout 5
  expect_error "wrong port over root://" 30 "root://127.0.0.1:$free_port//$lname" \
    "$cli" dump "root://127.0.0.1:$free_port//$lname" --timeout 5
  expect_error "wrong port over http://" 30 "http://127.0.0.1:$free_port/$lname" \
    "$cli" dump "http://127.0.0.1:$free_port/$lname" --timeout 5
  expect_error "unknown host over root://" 30 "no-such-host.invalid" \
    "$cli" dump "root://no-such-host.invalid//$lname" --timeout 5
  expect_error "unknown host over http://" 30 "no-such-host.invalid" \
    "$cli" dump "http://no-such-host.invalid/$lname" --timeout 5
  echo "faults: $(elapsed "$t1") s"
fi

echo "remote test: $checks checks passed, $fails failed, $((SECONDS - t_start)) s"
[ $fails = 0 ]
