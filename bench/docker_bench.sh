#!/usr/bin/env bash
# Docker benchmark (not a test): runvm against runc through Docker, side by
# side, on one private dockerd started the way tests/e2e/docker_test.cc
# starts it (bench/docker_lib.sh: its own data root, exec root, pidfile,
# socket, config file and containerd namespaces, under a short temp dir
# /tmp/dbXXX), with the image a `docker import` of a busybox-static rootfs.
# The docker 20.10 client /usr/bin/docker talks to it. Measures, for runtime
# R in runc and runvm, interleaved round-robin so that drift on a shared
# machine hits both alike (one untimed warm-up each):
#   run    `docker run --rm --network none --runtime R IMG true`, exec to exit;
#   exec   `docker exec C true` into a running `sleep` container per runtime;
#   idle   host memory per idle running container: K containers per runtime
#          (`sleep 100000`), after a settle time, the PSS (smaps_rollup) of
#          every host process of the container: its State.Pid (runvm: the
#          monitor; runc: the sleep), that process's descendants (QEMU,
#          virtiofsd) and the processes in its host cgroups. The containerd
#          shim is common to both runtimes and reported on its own, not in the
#          per-container figure; the VM's configured RAM (QEMU's -m) is shown
#          beside runvm's PSS.
# Prints every run, the medians, min..max and the ratio runvm/runc, then a
# summary.
#
# runvm is run from a snapshot copied into the temp dir (binary, kernel and
# initramfs), so that a rebuild of $RUNVM during the run cannot break it.
#
# Usage: bench/docker_bench.sh [RUNS]      (default 10)
# Environment: RUNVM (default build/bin/runvm), RUNVM_KERNEL and
# RUNVM_INITRAMFS (a variant guest), BENCH_IDLE (idle containers per
# runtime, default 3), BENCH_SETTLE (seconds before the memory is read,
# default 10), BENCH_TIMEOUT (seconds per docker command, default 120).
# Needs root, dockerd and /usr/bin/docker (docker.io), busybox-static, jq.
# Exits non-zero if any docker command fails or times out, or if anything of
# the run (process, mount, the temp dir) is left behind after the cleanup.
set -eEuo pipefail
shopt -s inherit_errexit  # a failure inside $(...) fails the substitution too

RUNS=${1:-10}
IDLE=${BENCH_IDLE:-3}
SETTLE=${BENCH_SETTLE:-10}
TIMEOUT=${BENCH_TIMEOUT:-120}
USAGE="usage: $0 [RUNS]   (env: RUNVM, BENCH_IDLE, BENCH_SETTLE, BENCH_TIMEOUT)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "$USAGE" >&2; exit 2; }
[[ $IDLE =~ ^[1-9][0-9]*$ && $SETTLE =~ ^[0-9]+$ && $TIMEOUT =~ ^[1-9][0-9]*$ ]] ||
  { echo "$USAGE" >&2; exit 2; }
BENCH_NAME=docker_bench
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNVM=${RUNVM:-$REPO/build/bin/runvm}
RUNVM_SHARE=$(dirname "$(dirname "$RUNVM")")/share/runvm
KERNEL=${RUNVM_KERNEL:-$RUNVM_SHARE/vmlinuz}
INITRAMFS=${RUNVM_INITRAMFS:-$RUNVM_SHARE/initramfs.img}
IMAGE=runvm-bench-busybox:1

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

((EUID == 0)) || die "needs root (dockerd, cgroups, /proc/PID/smaps_rollup)"
# shellcheck source=bench/docker_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/docker_lib.sh"  # DOCKERD DOCKER W NS dk start_dockerd docker_cleanup ...
command -v jq >/dev/null || die "'jq' not found"
BUSYBOX=$(command -v busybox || true)
if [[ -z $BUSYBOX ]] || ! file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
  die "no static busybox (apt-get install busybox-static)"
fi

# ---------------------------------------------------------------- cleanup
trap docker_exit_cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "$BENCH_NAME: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
docker_dir db b

# ---------------------------------------------------------------- helpers
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minmax() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd' '; }

# timed VAR LOG ARGS...: `docker ARGS` (stdout and stderr to LOG), VAR = its
# duration in µs from exec to exit; dies with LOG if it fails.
timed() {
  local var=$1 log=$2 t0 t1 rc=0
  shift 2
  t0=${EPOCHREALTIME/./}
  timeout -k 5 "$TIMEOUT" "${DOCKER[@]}" "$@" </dev/null >"$log" 2>&1 || rc=$?
  t1=${EPOCHREALTIME/./}
  if ((rc != 0)); then
    echo "$BENCH_NAME: 'docker $*' failed (exit $rc); its output:" >&2
    sed 's/^/  /' "$log" >&2
    exit 1
  fi
  printf -v "$var" '%s' $((t1 - t0))
}

# ---------------------------------------------------------------- setup
snapshot_runvm "$W/rt" "$W/check.json"
RUNVM_BIN=$W/rt/bin/runvm  # its guest is next to it: dockerd gets no RUNVM_KERNEL
start_dockerd --add-runtime "runvm=$RUNVM_BIN"
import_busybox "sh true sleep cat"
CONTAINERD_VERSION=$(dk info -f '{{.ContainerdCommit.ID}}')

# ---------------------------------------------------------------- header
accel=$(jq -r '.accelerator.name + " (" + .accelerator.reason + ")"' "$W/check.json" 2>/dev/null || echo unknown)
echo "== docker: runvm vs runc through one private dockerd: $RUNS rounds, interleaved =="
echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host:        $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p;T;q' /proc/cpuinfo)," \
  "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "kernel:      $(uname -r)"
echo "accelerator: $accel"
echo "docker:      $DOCKER_VERSION; $DOCKERD; containerd $CONTAINERD_VERSION"
echo "runc:        $(runc --version 2>/dev/null | sed -n 1p || echo '?')"
echo "runvm:       $RUNVM (snapshot $RUNVM_BIN), $("$RUNVM_BIN" --version 2>/dev/null | sed -n 1p || true)"
echo "guest:       $KERNEL ($(stat -c %s "$KERNEL") B), $INITRAMFS ($(stat -c %s "$INITRAMFS") B)"
echo "image:       $IMAGE, docker import of busybox-static (sh true sleep cat), no network"
echo "work dir:    $W (containerd namespace $NS)"
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (before)"
echo

# ---------------------------------------------------------------- 1. run --rm
declare -A T
RTS=(runc runvm)
echo "-- docker run --rm --network none --runtime R $IMAGE true (ms, exec to exit; one untimed warm-up each)"
for rt in "${RTS[@]}"; do timed d "$W/run-$rt-0.log" run --rm --network none --runtime "$rt" "$IMAGE" true; done
printf '%-6s %10s %10s\n' round runc runvm
for ((n = 1; n <= RUNS; n++)); do
  for rt in "${RTS[@]}"; do
    timed d "$W/run-$rt-$n.log" run --rm --network none --runtime "$rt" "$IMAGE" true
    T[run,$rt,$n]=$d
  done
  printf '%-6s %10s %10s\n' "$n" "$(ms "${T[run,runc,$n]}")" "$(ms "${T[run,runvm,$n]}")"
done
echo

# ---------------------------------------------------------------- 2. exec
echo "-- docker exec C true (ms, exec to exit) into one running 'sleep 100000' container per runtime (one untimed warm-up each)"
declare -A EXEC_C
for rt in "${RTS[@]}"; do
  start_sleeper "$rt" "db-exec-$rt"
  EXEC_C[$rt]=$CID
done
for rt in "${RTS[@]}"; do timed d "$W/exec-$rt-0.log" exec "${EXEC_C[$rt]}" true; done
printf '%-6s %10s %10s\n' round runc runvm
for ((n = 1; n <= RUNS; n++)); do
  for rt in "${RTS[@]}"; do
    timed d "$W/exec-$rt-$n.log" exec "${EXEC_C[$rt]}" true
    T[exec,$rt,$n]=$d
  done
  printf '%-6s %10s %10s\n' "$n" "$(ms "${T[exec,runc,$n]}")" "$(ms "${T[exec,runvm,$n]}")"
done
dk rm -f "${EXEC_C[@]}" >/dev/null
echo

# ---------------------------------------------------------------- 3. idle memory
# The host cgroups of container ID on this host (v1 memory, the unified
# hierarchy of a hybrid host, or a pure v2 host), those that exist.
container_cgroups() {
  local d
  for d in /sys/fs/cgroup/memory/docker/"$1" /sys/fs/cgroup/unified/docker/"$1" \
    /sys/fs/cgroup/docker/"$1"; do
    [[ -f $d/cgroup.procs ]] && echo "$d"
  done
  return 0
}
pss_kb() { awk '/^Pss:/ { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || true; }
rss_kb() { awk '/^Rss:/ { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || true; }
comm_of() { cat "/proc/$1/comm" 2>/dev/null || echo '?'; }
ppid_of() {
  local stat
  { stat=$(<"/proc/$1/stat"); } 2>/dev/null || { echo '?'; return; }
  stat=${stat##*) }
  read -r _ stat _ <<<"$stat"
  echo "$stat"
}
# The shim of container ID: the containerd-shim whose command line has -id ID.
shim_of() {
  local p cmd
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
    [[ $cmd == *containerd-shim* && $cmd == *" -id $1 "* ]] && { echo "$p"; return 0; }
  done
  return 0
}
# container_processes ID PID SHIM: PROC_HOW[pid] = how each host process of
# the container was found ("tree": PID or its descendant; "cgroup": in one
# of its host cgroups; both), the shim left out.
declare -A PROC_HOW
container_processes() {
  local id=$1 root=$2 shim=$3 p cg
  PROC_HOW=()
  for p in "$root" $(descendants "$root"); do
    [[ -e /proc/$p ]] || continue
    PROC_HOW[$p]=tree
  done
  for cg in $(container_cgroups "$id"); do
    while read -r p; do
      [[ -n $p ]] || continue
      if [[ -z ${PROC_HOW[$p]:-} ]]; then PROC_HOW[$p]="cgroup ${cg#/sys/fs/cgroup/}"
      elif [[ ${PROC_HOW[$p]} != *cgroup* ]]; then PROC_HOW[$p]+=" + cgroup ${cg#/sys/fs/cgroup/}"; fi
    done <"$cg/cgroup.procs"
  done
  [[ -n $shim ]] && unset "PROC_HOW[$shim]"
  return 0
}

echo "-- idle memory: $IDLE 'sleep 100000' containers per runtime, PSS after ${SETTLE} s"
declare -A IDLE_C IDLE_P
for ((k = 1; k <= IDLE; k++)); do
  for rt in "${RTS[@]}"; do
    start_sleeper "$rt" "db-idle-$rt-$k"
    IDLE_C[$rt,$k]=$CID
    IDLE_P[$rt,$k]=$CPID
  done
done
sleep "$SETTLE"
declare -A PSS SHIM_PSS VM_RAM
for rt in "${RTS[@]}"; do
  for ((k = 1; k <= IDLE; k++)); do
    id=${IDLE_C[$rt,$k]}
    running=$(dk inspect -f '{{.State.Running}}' "$id")
    [[ $running == true ]] || die "db-idle-$rt-$k is not running after ${SETTLE} s"
    shim=$(shim_of "$id")
    container_processes "$id" "${IDLE_P[$rt,$k]}" "$shim"
    total=0
    detail=()
    for p in $(printf '%s\n' "${!PROC_HOW[@]}" | sort -n); do
      pss=$(pss_kb "$p")
      [[ -n $pss ]] || continue  # gone, or a kernel thread
      total=$((total + pss))
      detail+=("$(printf '    %-8s %-8s %-18s %10s %10s   %s' "$p" "$(ppid_of "$p")" "$(comm_of "$p")" \
        "$pss" "$(rss_kb "$p")" "${PROC_HOW[$p]}")")
      if [[ $(comm_of "$p") == qemu-system* && -z ${VM_RAM[$rt,$k]:-} ]]; then
        mapfile -d '' -t argv <"/proc/$p/cmdline"
        for ((a = 0; a + 1 < ${#argv[@]}; a++)); do
          [[ ${argv[a]} == -m ]] && VM_RAM[$rt,$k]=${argv[a + 1]}
        done
      fi
    done
    ((total > 0)) || die "db-idle-$rt-$k: no host process found (State.Pid ${IDLE_P[$rt,$k]})"
    PSS[$rt,$k]=$total
    if ((k == 1)); then
      echo "  $rt, db-idle-$rt-1 (State.Pid ${IDLE_P[$rt,$k]}; cgroups: $(container_cgroups "$id" | sed 's|/sys/fs/cgroup/||' | paste -sd' ' || true)):"
      printf '    %-8s %-8s %-18s %10s %10s   %s\n' pid ppid comm "PSS kB" "RSS kB" "found by"
      printf '%s\n' "${detail[@]}"
      if [[ -n $shim ]]; then
        SHIM_PSS[$rt]=$(pss_kb "$shim")
        printf '    not counted: %s %s (ppid %s) PSS %s kB\n' "$shim" "$(comm_of "$shim")" \
          "$(ppid_of "$shim")" "${SHIM_PSS[$rt]}"
      else
        echo "    (no containerd-shim found for it)"
      fi
    fi
  done
done
printf '  %-14s' container
for ((k = 1; k <= IDLE; k++)); do printf ' %10s' "#$k"; done
printf '   (PSS MiB)\n'
for rt in "${RTS[@]}"; do
  printf '  %-14s' "$rt"
  for ((k = 1; k <= IDLE; k++)); do printf ' %10s' "$(mib "${PSS[$rt,$k]}")"; done
  echo
done
echo "  VM RAM (QEMU -m) per runvm container: $(for ((k = 1; k <= IDLE; k++)); do printf '%s ' "${VM_RAM[runvm,$k]:-?}"; done)"
ids=()
for ((k = 1; k <= IDLE; k++)); do for rt in "${RTS[@]}"; do ids+=("${IDLE_C[$rt,$k]}"); done; done
dk rm -f "${ids[@]}" >/dev/null
echo

# ---------------------------------------------------------------- summary
values() {  # OP RT
  local n
  for ((n = 1; n <= RUNS; n++)); do echo "${T[$1,$2,$n]}"; done
}
echo "== summary ($RUNS rounds; idle: $IDLE containers per runtime) =="
printf '%-32s %10s %16s %10s %16s %11s\n' "" "runc" "runc min..max" "runvm" "runvm min..max" "runvm/runc"
declare -A M
for op in run exec; do
  label="docker run --rm true (ms)"
  [[ $op == exec ]] && label="docker exec true (ms)"
  for rt in "${RTS[@]}"; do
    # shellcheck disable=SC2046
    M[$op,$rt]=$(median $(values "$op" "$rt"))
    # shellcheck disable=SC2046
    read -r lo hi <<<"$(minmax $(values "$op" "$rt"))"
    M[$op,$rt,range]="$(ms "$lo")..$(ms "$hi")"
  done
  printf '%-32s %10s %16s %10s %16s %11s\n' "$label" "$(ms "${M[$op,runc]}")" "${M[$op,runc,range]}" \
    "$(ms "${M[$op,runvm]}")" "${M[$op,runvm,range]}" "$(ratio "${M[$op,runvm]}" "${M[$op,runc]}")"
done
for rt in "${RTS[@]}"; do
  pv=()
  for ((k = 1; k <= IDLE; k++)); do pv+=("${PSS[$rt,$k]}"); done
  M[pss,$rt]=$(median "${pv[@]}")
  read -r lo hi <<<"$(minmax "${pv[@]}")"
  M[pss,$rt,range]="$(mib "$lo")..$(mib "$hi")"
done
printf '%-32s %10s %16s %10s %16s %11s\n' "idle PSS per container (MiB)" "$(mib "${M[pss,runc]}")" \
  "${M[pss,runc,range]}" "$(mib "${M[pss,runvm]}")" "${M[pss,runvm,range]}" \
  "$(ratio "${M[pss,runvm]}" "${M[pss,runc]}")"
ram=${VM_RAM[runvm,1]:-}
# QEMU's -m: a size in MiB, or with a suffix M or G (or size=...,).
ram_mib=$(awk -v m="${ram#size=}" 'BEGIN { sub(/,.*/, "", m); v = m + 0; u = toupper(substr(m, length(m)))
  if (u == "G") v *= 1024; else if (u != "M" && u !~ /[0-9]/) v = 0; print v }')
if [[ -n $ram ]] && awk -v v="$ram_mib" 'BEGIN { exit !(v > 0) }'; then
  echo "  runvm's VM RAM (QEMU -m $ram, runvm's default with no --memory): ${ram_mib} MiB;" \
    "idle PSS is $(awk -v p="${M[pss,runvm]}" -v r="$ram_mib" 'BEGIN { printf "%.0f", 100 * p / 1024 / r }')% of it"
else
  echo "  runvm's VM RAM: QEMU -m '${ram:-not found}' (runvm's default with no --memory: 512 MiB)"
fi
echo "  containerd-shim-runc-v2 (one per container, either runtime; not counted above):" \
  "runc's $(mib "${SHIM_PSS[runc]:-0}") MiB, runvm's $(mib "${SHIM_PSS[runvm]:-0}") MiB PSS"
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (after)"
