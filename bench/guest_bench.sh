#!/usr/bin/env bash
# Guest benchmark (not a test): runvm's guests side by side in one run, the
# Debian cloud kernel against runvm's own microVM kernel (issue 14), with
# runc beside them. Each guest is a directory holding a vmlinuz and an
# initramfs.img (a build tree's share/runvm); runvm is the same binary for
# all of them, pointed at each guest with RUNVM_KERNEL and RUNVM_INITRAMFS.
#
#   run    `runvm run` of a busybox bundle whose process is /bin/true, exec to
#          exit, per guest, and `runc run` of the same bundle; interleaved
#          round-robin (one untimed warm-up each).
#   idle   per guest, K containers (`sleep 100000`, create + start) left
#          idle; after a settle time, each container's host memory: the PSS
#          (smaps_rollup) of its monitor and every process below it (QEMU,
#          virtiofsd), and the host CPU its processes burn over 10 s while
#          idle (utime + stime from /proc, in % of one core).
#
# Prints every run, the medians, min..max, each guest against the first
# (the ratio the issue's targets are about) and runc.
#
# Usage: bench/guest_bench.sh [RUNS]      (default 10)
# Environment: GUESTS (default "cloud=build/share/runvm
# microvm=build-mv/share/runvm": NAME=DIR pairs, the first is the baseline;
# NAME=DIR,QEMU also runs that guest with another QEMU command, RUNVM_QEMU,
# say a wrapper that adds an option being measured),
# RUNVM (default build/bin/runvm), BENCH_IDLE (containers per guest, default
# 3), BENCH_SETTLE (seconds before memory is read, default 15),
# BENCH_TIMEOUT (seconds per command, default 60), BENCH_KEEP=1.
# Exits non-zero if a command fails, or if anything is left behind.
set -euo pipefail

RUNS=${1:-10}
IDLE=${BENCH_IDLE:-3}
SETTLE=${BENCH_SETTLE:-15}
[[ $RUNS =~ ^[1-9][0-9]*$ && $IDLE =~ ^[1-9][0-9]*$ && $SETTLE =~ ^[0-9]+$ ]] ||
  { echo "usage: $0 [RUNS]  (env: GUESTS, BENCH_IDLE, BENCH_SETTLE)" >&2; exit 2; }
BENCH_NAME=guest_bench  # read by lib.sh
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GUESTS=${GUESTS:-"cloud=$REPO_DIR/build/share/runvm microvm=$REPO_DIR/build-mv/share/runvm"}
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || die "'jq' not found"
ID=gb$$

declare -A GUEST_DIR GUEST_QEMU
NAMES=()
for g in $GUESTS; do
  name=${g%%=*} dir=${g#*=}
  if [[ $dir == *,* ]]; then
    GUEST_QEMU[$name]=${dir#*,}
    dir=${dir%%,*}
  fi
  [[ -f $dir/vmlinuz && -f $dir/initramfs.img ]] || die "guest $name: no vmlinuz and initramfs.img in $dir"
  GUEST_DIR[$name]=$dir
  NAMES+=("$name")
done
((${#NAMES[@]} >= 1)) || die "GUESTS names no guest"


BUNDLE=$WORK/bundle
make_bundle "$BUNDLE"
IDLE_BUNDLE=$WORK/idle
make_bundle "$IDLE_BUNDLE"
ln -s busybox "$IDLE_BUNDLE/rootfs/bin/sleep"
jq '.process.args = ["/bin/sleep", "100000"]' "$IDLE_BUNDLE/config.json" >"$WORK/c.json"
mv "$WORK/c.json" "$IDLE_BUNDLE/config.json"

guest_cmd() {  # GUEST: RV = the runvm command line with that guest
  local dir=${GUEST_DIR[$1]} qemu=${GUEST_QEMU[$1]:-qemu-system-x86_64}
  RV=(env -u RUNVM_KERNEL_ARGS RUNVM_KERNEL="$dir/vmlinuz" RUNVM_INITRAMFS="$dir/initramfs.img"
      RUNVM_QEMU="$qemu" "$RUNVM" --root "$RUNVM_ROOT")
}
runvm_as() {  # GUEST ARGS...: runvm with that guest, under the time limit
  guest_cmd "$1"
  shift
  timeout -k 5 "$TIMEOUT" "${RV[@]}" "$@" </dev/null
}


declare -A T
one_round() {  # N
  local n=$1 g d
  timed d "$WORK/runc-$n.log" "$RUNC" --root "$RUNC_ROOT" run --bundle "$BUNDLE" "$ID-c-$n"
  T[runc,$n]=$d
  for g in "${NAMES[@]}"; do
    guest_cmd "$g"
    timed d "$WORK/$g-$n.log" "${RV[@]}" run --bundle "$BUNDLE" "$ID-$g-$n"
    T[$g,$n]=$d
  done
}

one_round 0  # warm-up

echo "== guests: runvm run /bin/true and idle containers, ${NAMES[*]} side by side; runc beside: $RUNS rounds =="
print_machine
for g in "${NAMES[@]}"; do
  echo "guest $g:   ${GUEST_DIR[$g]}/vmlinuz ($(stat -c %s "${GUEST_DIR[$g]}/vmlinuz") B)," \
    "initramfs $(stat -c %s "${GUEST_DIR[$g]}/initramfs.img") B${GUEST_QEMU[$g]:+, QEMU ${GUEST_QEMU[$g]}}"
done
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (before)"
echo
printf '%-6s %10s' round runc
for g in "${NAMES[@]}"; do printf ' %10s' "$g"; done
echo "   (ms)"
for ((n = 1; n <= RUNS; n++)); do
  one_round "$n"
  printf '%-6s %10s' "$n" "$(ms "${T[runc,$n]}")"
  for g in "${NAMES[@]}"; do printf ' %10s' "$(ms "${T[$g,$n]}")"; done
  echo
done
echo
round_values() { local n; for ((n = 1; n <= RUNS; n++)); do echo "${T[$1,$n]}"; done; }
declare -A M
base=${NAMES[0]}
printf '%-12s %10s %18s %12s %10s\n' "run (ms)" median "min..max" "/ $base" "/ runc"
for k in runc "${NAMES[@]}"; do
  # shellcheck disable=SC2046
  M[$k]=$(median $(round_values "$k"))
done
for k in runc "${NAMES[@]}"; do
  read -r lo hi <<<"$(round_values "$k" | sort -n | sed -n '1p;$p' | paste -sd' ')"
  printf '%-12s %10s %18s %12s %10s\n' "$k" "$(ms "${M[$k]}")" "$(ms "$lo")..$(ms "$hi")" \
    "$(awk -v a="${M[$k]}" -v b="${M[$base]}" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="${M[$k]}" -v b="${M[runc]}" 'BEGIN { printf "%.1f", a / b }')"
done
echo

# --- idle containers ----------------------------------------------------------
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)
echo "-- idle: $IDLE 'sleep 100000' containers per guest, PSS after ${SETTLE} s, CPU over the next 10 s"
printf '%-10s %6s %12s %14s\n' guest "#" "PSS MiB" "CPU % of core"
declare -A PSS CPU
for g in "${NAMES[@]}"; do
  ids=()
  for ((k = 1; k <= IDLE; k++)); do
    id=$ID-idle-$g-$k
    runvm_as "$g" create --bundle "$IDLE_BUNDLE" "$id" >"$WORK/$id.create.log" 2>&1 ||
      { cat "$WORK/$id.create.log" >&2; die "create $id failed"; }
    runvm_as "$g" start "$id" >/dev/null 2>&1 || die "start $id failed"
    ids+=("$id")
  done
  sleep "$SETTLE"
  declare -A procs=() t0=()
  for id in "${ids[@]}"; do
    pid=$("$RUNVM" --root "$RUNVM_ROOT" state "$id" | jq -r .pid)
    procs[$id]=$(descendants "$pid")
    t0[$id]=0
    for p in ${procs[$id]}; do t0[$id]=$((t0[$id] + $(ticks "$p"))); done
  done
  sleep 10
  for id in "${ids[@]}"; do
    total=0 t1=0
    for p in ${procs[$id]}; do
      v=$(pss_kb "$p")
      [[ -n $v ]] && total=$((total + v))
      t1=$((t1 + $(ticks "$p")))
    done
    cpu=$(awk -v d=$((t1 - t0[$id])) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz / 10 * 100 }')
    k=${id##*-}
    PSS[$g,$k]=$total
    CPU[$g,$k]=$cpu
    printf '%-10s %6s %12s %14s\n' "$g" "$k" "$(awk -v k="$total" 'BEGIN { printf "%.1f", k / 1024 }')" "$cpu"
  done
  for id in "${ids[@]}"; do
    "$RUNVM" --root "$RUNVM_ROOT" delete -f "$id" >/dev/null 2>&1 || die "delete $id failed"
  done
  unset procs t0
done
echo
printf '%-10s %14s %16s %14s\n' guest "PSS MiB (med)" "/ $base" "CPU % (med)"
for g in "${NAMES[@]}"; do
  pv=() cv=()
  for ((k = 1; k <= IDLE; k++)); do pv+=("${PSS[$g,$k]}"); cv+=("${CPU[$g,$k]}"); done
  M[pss,$g]=$(median "${pv[@]}")
  printf '%-10s %14s %16s %14s\n' "$g" "$(awk -v k="${M[pss,$g]}" 'BEGIN { printf "%.1f", k / 1024 }')" \
    "$(awk -v a="${M[pss,$g]}" -v b="${M[pss,$base]}" 'BEGIN { printf "%.2f", a / b }')" "$(median "${cv[@]}")"
done
echo

left=$("$RUNVM" --root "$RUNVM_ROOT" list -q 2>/dev/null || true)
[[ -z $left ]] || die "containers left: $left"
if pgrep -af -- "$WORK" | grep -v "^$$ " | grep -q .; then die "processes left: $(pgrep -af -- "$WORK")"; fi
echo "nothing left behind"
