#!/usr/bin/env bash
# A one-node Slurm cluster for mlaas4hep's Slurm executor tests and for trying the cluster variant on
# one machine: munged, slurmctld and slurmd from Debian's slurm-wlm and munge packages, with a
# configuration written from deploy/slurm/slurm.conf.in into a work folder.
#
# The daemons bind every interface, so they and their clients run in a private network namespace
# (`unshare -n`) where only loopback exists: nothing outside can reach them. Where that namespace
# cannot be made, or the packages are missing, it exits 77 (callers skip, loudly).
#
# As a command:
#   scripts/slurm-cluster.sh WORK_DIR [COMMAND [ARGS...]]
#     Starts the cluster in WORK_DIR (created), runs COMMAND (default: an interactive shell) inside
#     the namespace with SLURM_CONF exported, then stops the daemons. Exit status: COMMAND's, 77 when
#     the cluster cannot be made here, 1 when a daemon did not start.
#     Example: scripts/slurm-cluster.sh /tmp/slurm bash -c 'sbatch --wrap hostname; sleep 2; squeue'
#
# The node is called m4h-node and has the machine's CPUs and (most of) its memory; the partition is
# `debug`. Jobs run as the submitting user (root here), without cgroups (proctrack/pgid).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:?usage: scripts/slurm-cluster.sh WORK_DIR [COMMAND [ARGS...]]}"
shift

say() { echo "slurm-cluster: $*" >&2; }
skip() { echo "*** SKIPPED: $* ***" >&2; exit 77; }

for tool in unshare ip munged slurmctld slurmd sbatch; do
  command -v "$tool" >/dev/null 2>&1 || skip "'$tool' is not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
done
[ "$(id -u)" -eq 0 ] || skip "a Slurm test cluster needs root (slurmd starts jobs as their user)"
id munge >/dev/null 2>&1 || skip "there is no 'munge' user (the munge package makes it)"

if [ "${M4H_SLURM_IN_NETNS:-}" != 1 ]; then
  unshare -n true 2>/dev/null || skip "'unshare -n' is not permitted here; slurmctld and slurmd would bind every interface"
  exec env M4H_SLURM_IN_NETNS=1 unshare -n -- bash "${BASH_SOURCE[0]}" "$work" "$@"
fi

# Inside the namespace: loopback up, and a second loopback address (glibc resolves the node's own
# address through it when the namespace has no other interface).
ip link set lo up
ip addr add 127.0.0.2/32 dev lo 2>/dev/null || true

mkdir -p "$work"
work="$(cd "$work" && pwd)"
# A fresh cluster each time: no jobs or node state from an earlier run.
rm -rf "$work"/{state,spool,log}
mkdir -p "$work"/{munge,state,spool,log}
# munged is strict: its socket folder and key belong to user munge, the folder not writable by others.
chown munge: "$work/munge"
chmod 755 "$work/munge"
if [ ! -s "$work/munge/munge.key" ]; then
  head -c 1024 /dev/urandom > "$work/munge/munge.key"
fi
chown munge: "$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"

cpus=$(getconf _NPROCESSORS_ONLN)  # not nproc: it answers OMP_NUM_THREADS when that is set
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 3 / 4 ))
# Ports: the namespace is private, so fixed ports cannot collide with anything outside it.
sed -e "s|@WORK@|$work|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEMORY_MB@|$memory_mb|g" \
  "$here/deploy/slurm/slurm.conf.in" > "$work/slurm.conf"
export SLURM_CONF="$work/slurm.conf"

pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
}
trap stop_all EXIT

wait_for() {  # wait_for WHAT SECONDS COMMAND...
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq $((seconds * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  say "$what did not come up in ${seconds} s; its log:"
  tail -n 30 "$work/log/$what.log" >&2 2>/dev/null || true
  exit 1
}

runuser -u munge -- munged --foreground --socket="$work/munge/munge.socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/munged.seed" --log-file="$work/log/munged.log" \
  --num-threads=2 >> "$work/log/munged.log" 2>&1 &
pids+=($!)
wait_for munged 10 test -S "$work/munge/munge.socket"

slurmctld -D -i -f "$SLURM_CONF" >> "$work/log/slurmctld.log" 2>&1 &
pids+=($!)
wait_for slurmctld 30 scontrol ping
slurmd -D -N m4h-node -f "$SLURM_CONF" >> "$work/log/slurmd.log" 2>&1 &
pids+=($!)
wait_for slurmd 30 bash -c "sinfo -h -N -o %T | grep -Eq '^(idle|mixed|allocated)'"
say "up: $(sinfo -h -o '%P %D %C %m' | head -n 1) (partition nodes cpus(A/I/O/T) memory); SLURM_CONF=$SLURM_CONF"

set +e
if (($#)); then "$@"; else bash -i; fi
status=$?
set -e
exit $status
