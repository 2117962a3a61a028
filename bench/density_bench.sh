#!/usr/bin/env bash
# Density benchmark (not a test): how many idle runvm containers this
# machine holds, and what each costs. One private dockerd (bench/docker_lib.sh:
# its own roots and socket; the image a `docker import` of busybox-static)
# with runvm as a runtime. Containers (`docker run -d --network none
# --runtime runvm IMG sleep 100000`) are started one after another; at each
# checkpoint N (default 1 10 50 100), after a settle time:
#   - host memory per container: the PSS (smaps_rollup) of every process of
#     the run that is not Docker's own (runvm's monitors, QEMU, virtiofsd),
#     divided by N; the host's MemAvailable;
#   - the host CPU the N idle containers burn over 10 s, per container, in %
#     of one core;
#   - how long the last `docker run -d` took.
# At the end every container must answer `docker exec C true`; the number
# that did and the median exec time are printed. Starting stops early,
# reported, when MemAvailable would fall under BENCH_RESERVE_MIB.
#
# Usage: bench/density_bench.sh [N...]      (default 1 10 50 100)
# Environment: RUNVM (default build/bin/runvm) and its guest beside it,
# BENCH_SETTLE (seconds, default 20), BENCH_RESERVE_MIB (default 2048),
# BENCH_TIMEOUT (seconds per docker command, default 180).
# Exits non-zero if a docker command fails, or if anything is left behind.
set -eEuo pipefail
shopt -s inherit_errexit

CHECKPOINTS=("${@:-1 10 50 100}")
# shellcheck disable=SC2206
CHECKPOINTS=(${CHECKPOINTS[*]})
SETTLE=${BENCH_SETTLE:-20}
RESERVE=${BENCH_RESERVE_MIB:-2048}
TIMEOUT=${BENCH_TIMEOUT:-180}
for n in "${CHECKPOINTS[@]}"; do [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N...]" >&2; exit 2; }; done
BENCH_NAME=density_bench
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNVM=${RUNVM:-$REPO/build/bin/runvm}
RUNVM_SHARE=$(dirname "$(dirname "$RUNVM")")/share/runvm
KERNEL=$RUNVM_SHARE/vmlinuz
INITRAMFS=$RUNVM_SHARE/initramfs.img
IMAGE=runvm-bench-busybox:1

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
((EUID == 0)) || die "needs root"
# shellcheck source=bench/docker_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/docker_lib.sh"
command -v jq >/dev/null || die "'jq' not found"
BUSYBOX=$(command -v busybox || true)
[[ -n $BUSYBOX ]] && file -L "$BUSYBOX" | grep -q 'statically linked' || die "no static busybox"

trap docker_exit_cleanup EXIT
trap 'exit 130' INT TERM
docker_dir dn n

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
mem_available_mib() { awk '/MemAvailable/ { printf "%d", $2 / 1024 }' /proc/meminfo; }
# The run's processes that are runvm's (not dockerd, containerd or shims).
runvm_processes() {
  local p comm
  for p in $(processes_ours); do
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    case $comm in dockerd | containerd | containerd-shim*) continue ;; esac
    echo "$p"
  done
}
pss_total_kb() {
  local p v total=0
  for p in "$@"; do
    v=$(awk '/^Pss:/ { print $2; exit }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
    [[ -n $v ]] && total=$((total + v))
  done
  echo "$total"
}
ticks_total() {
  local p t=0 v
  for p in "$@"; do
    v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo "$t"
}

snapshot_runvm "$W/rt" "$W/check.json"
start_dockerd --add-runtime "runvm=$W/rt/bin/runvm"
import_busybox "sh true sleep"
HZ=$(getconf CLK_TCK)

echo "== density: idle runvm containers through one private dockerd, checkpoints ${CHECKPOINTS[*]} =="
echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host:        $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
echo "accelerator: $(jq -r '.accelerator.name' "$W/check.json" 2>/dev/null || echo unknown)"
echo "guest:       $KERNEL ($(stat -c %s "$KERNEL") B)"
echo "docker:      $DOCKER_VERSION"
echo "MemAvailable before: $(mem_available_mib) MiB; load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%6s %16s %18s %16s %16s\n' N "PSS/container MiB" "CPU/container %" "MemAvailable MiB" "last run -d ms"
started=0
stopped_early=""
for target in "${CHECKPOINTS[@]}"; do
  while ((started < target)); do
    if (($(mem_available_mib) < RESERVE + 200)); then
      stopped_early="MemAvailable under $((RESERVE + 200)) MiB after $started containers"
      break
    fi
    t0=${EPOCHREALTIME/./}
    start_sleeper runvm "dn-$started"
    t1=${EPOCHREALTIME/./}
    last_ms=$(((t1 - t0) / 1000))
    started=$((started + 1))
  done
  sleep "$SETTLE"
  mapfile -t procs < <(runvm_processes)
  pss=$(pss_total_kb "${procs[@]}")
  tk0=$(ticks_total "${procs[@]}")
  sleep 10
  tk1=$(ticks_total "${procs[@]}")
  printf '%6s %16s %18s %16s %16s\n' "$started" \
    "$(awk -v k="$pss" -v n="$started" 'BEGIN { printf "%.1f", k / n / 1024 }')" \
    "$(awk -v d=$((tk1 - tk0)) -v hz="$HZ" -v n="$started" 'BEGIN { printf "%.2f", d / hz / 10 * 100 / n }')" \
    "$(mem_available_mib)" "$last_ms"
  [[ -n $stopped_early ]] && break
done
echo
[[ -n $stopped_early ]] && echo "stopped early: $stopped_early"

# Every container must still answer.
answered=0
execs=()
for ((k = 0; k < started; k++)); do
  t0=${EPOCHREALTIME/./}
  if timeout -k 5 "$TIMEOUT" "${DOCKER[@]}" exec "dn-$k" true </dev/null >/dev/null 2>&1; then
    answered=$((answered + 1))
  fi
  t1=${EPOCHREALTIME/./}
  execs+=($(((t1 - t0) / 1000)))
done
echo "docker exec true: $answered of $started containers answered; median $(median "${execs[@]}") ms"
((answered == started)) || die "$((started - answered)) containers did not answer docker exec"
