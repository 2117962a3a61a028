#!/usr/bin/env bash
# Lifecycle benchmark (not a test): runvm against runc, side by side, on the
# same busybox bundle whose process is a long-running `sleep 1000`. Each
# round, for runc and then runvm (each with its own temporary --root), times
# from exec to exit of the command:
#   create   `create --bundle B ID` (stdio to a file: runvm's create forks a
#            monitor that keeps the container's stdio, so never a pipe);
#   start    `start ID`;
#   exec     `exec ID /bin/true` (busybox true) while the process runs;
#   kill+delete  `kill ID KILL`, then `state ID` polled until "stopped",
#            then `delete ID`, timed together (the three parts are logged too).
# Prints every run, the medians and ranges per operation, the ratio
# runvm/runc per operation, and runvm's start median against its exec median
# (the issue: start should cost about as much as an exec; the boot belongs
# to create). Results: docs/benchmarks.md.
#
# Usage: bench/lifecycle_bench.sh [RUNS]      (default 10)
# Environment: RUNVM (default build/bin/runvm), RUNVM_KERNEL and
# RUNVM_INITRAMFS (a variant guest), BENCH_TIMEOUT (seconds per command,
# default 60), BENCH_KEEP=1 keeps the work directory for a look.
# Exits non-zero if any command fails or times out, or if anything
# (container state, QEMU, virtiofsd, monitor) is left behind.
set -euo pipefail

RUNS=${1:-10}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
BENCH_NAME=lifecycle_bench  # read by lib.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || die "'jq' not found"
ID_PREFIX=lc-$$
POLL_S=0.005  # between `state` polls while waiting for "stopped"


BUNDLE=$WORK/bundle
make_bundle "$BUNDLE"
ln -s busybox "$BUNDLE/rootfs/bin/sleep"
jq '.process.args = ["/bin/sleep", "1000"]' "$BUNDLE/config.json" >"$WORK/config.json"
mv "$WORK/config.json" "$BUNDLE/config.json"
for f in bin/true bin/sleep; do
  [[ -x $BUNDLE/rootfs/$f ]] || die "$BUNDLE/rootfs/$f missing"
done

rt_cmd() {  # RUNTIME: the command line prefix for runc or runvm
  case $1 in
    runc) RT=("$RUNC" --root "$RUNC_ROOT") ;;
    runvm) RT=(env -u RUNVM_KERNEL_ARGS "$RUNVM" --root "$RUNVM_ROOT") ;;
  esac
}


# wait_stopped ID LOG: polls `state ID` until its status is "stopped".
wait_stopped() {
  local id=$1 log=$2 deadline=$((${EPOCHREALTIME/./} + TIMEOUT * 1000000)) status
  while :; do
    "${RT[@]}" state "$id" >"$log" 2>&1 || { sed 's/^/  /' "$log" >&2; return 1; }
    status=$(jq -r .status "$log")
    [[ $status == stopped ]] && return 0
    ((${EPOCHREALTIME/./} < deadline)) || { echo "still '$status' after ${TIMEOUT}s" >&2; return 1; }
    sleep "$POLL_S"
  done
}

# lifecycle RUNTIME N: one create, start, exec, kill+delete; sets
# T_<op>_<runtime>[N] (µs) and the parts of kill+delete.
declare -A T
RUNC_PIDS=()
lifecycle() {
  local rt=$1 n=$2 id=$ID_PREFIX-$2 d t0 t1 tk tw
  local logs=$WORK/$rt-$n
  rt_cmd "$rt"
  timed d "$logs-create.log" "${RT[@]}" create --bundle "$BUNDLE" "$id"
  T[create,$rt,$n]=$d
  timed d "$logs-start.log" "${RT[@]}" start "$id"
  T[start,$rt,$n]=$d
  if [[ $rt == runc ]]; then  # untimed: runc's process is not under $WORK
    "${RT[@]}" state "$id" >"$logs-pid.log" 2>&1 || die "runc state $id failed"
    RUNC_PIDS+=("$(jq -r .pid "$logs-pid.log")")
  fi
  timed d "$logs-exec.log" "${RT[@]}" exec "$id" /bin/true
  T[exec,$rt,$n]=$d
  t0=${EPOCHREALTIME/./}
  timed d "$logs-kill.log" "${RT[@]}" kill "$id" KILL
  tk=${EPOCHREALTIME/./}
  wait_stopped "$id" "$logs-state.log" || die "$rt $id did not stop"
  tw=${EPOCHREALTIME/./}
  timed d "$logs-delete.log" "${RT[@]}" delete "$id"
  t1=${EPOCHREALTIME/./}
  T[killdel,$rt,$n]=$((t1 - t0))
  T[kill,$rt,$n]=$((tk - t0))
  T[wait,$rt,$n]=$((tw - tk))
  T[delete,$rt,$n]=$((t1 - tw))
}

# leftovers: prints anything of ours still there (state or processes).
leftovers() {
  local c
  for c in $("$RUNVM" --root "$RUNVM_ROOT" list -q 2>/dev/null); do echo "runvm state: $c"; done
  for c in $("$RUNC" --root "$RUNC_ROOT" list -q 2>/dev/null); do echo "runc state: $c"; done
  pgrep -af -- "$WORK" | grep -v "^$$ " | sed 's/^/process: /' || true
  # An exited one not yet reaped by its parent (a zombie) holds nothing.
  for c in "${RUNC_PIDS[@]}"; do
    [[ -d /proc/$c && $(awk '{ print $3 }' "/proc/$c/stat" 2>/dev/null) != Z ]] &&
      echo "runc container process: $c $(tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null)"
  done
  return 0
}

# Warm-up (untimed): page cache, and the whole sequence once for each.
lifecycle runc 0
lifecycle runvm 0

echo "== lifecycle: create, start, exec /bin/true, kill+delete; runvm vs runc: $RUNS rounds, interleaved =="
print_machine
echo "guest:       $KERNEL ($(stat -c %s "$KERNEL") B)"
echo "             $INITRAMFS ($(stat -c %s "$INITRAMFS") B)"
echo "bundle:      busybox-static, process 'sleep 1000', read-only root, /proc, /dev tmpfs"
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (before)"
echo

OPS=(create start exec killdel)
printf '%-6s %-6s %10s %10s %10s %13s   %s\n' round rt "create" "start" "exec" "kill+delete" \
  "(kill / wait stopped / delete)"
for ((n = 1; n <= RUNS; n++)); do
  for rt in runc runvm; do
    lifecycle "$rt" "$n"
    printf '%-6s %-6s %10s %10s %10s %13s   (%s / %s / %s)\n' "$n" "$rt" \
      "$(ms "${T[create,$rt,$n]}")" "$(ms "${T[start,$rt,$n]}")" "$(ms "${T[exec,$rt,$n]}")" \
      "$(ms "${T[killdel,$rt,$n]}")" "$(ms "${T[kill,$rt,$n]}")" "$(ms "${T[wait,$rt,$n]}")" \
      "$(ms "${T[delete,$rt,$n]}")"
  done
done
echo

declare -A M
printf '%-16s %10s %16s %10s %16s %12s\n' "median (ms)" runc "runc range" runvm "runvm range" runvm/runc
for op in "${OPS[@]}" kill wait delete; do
  for rt in runc runvm; do
    # shellcheck disable=SC2046
    M[$op,$rt]=$(median $(values "$op" "$rt"))
  done
  label=$op
  [[ $op == killdel ]] && label=kill+delete
  [[ $op == kill || $op == wait || $op == delete ]] && label="  ${op/wait/wait stopped}"
  printf '%-16s %10s %16s %10s %16s %12s\n' "$label" "$(ms "${M[$op,runc]}")" "$(range "$op" runc)" \
    "$(ms "${M[$op,runvm]}")" "$(range "$op" runvm)" \
    "$(awk -v a="${M[$op,runvm]}" -v b="${M[$op,runc]}" 'BEGIN { printf "%.1f", a / b }')"
done
echo
# The issue's check: start ≈ exec for runvm (the boot belongs to create).
# Paired per round too, since drift hits both of a round alike.
diffs=()
for ((n = 1; n <= RUNS; n++)); do diffs+=($((T[start,runvm,$n] - T[exec,runvm,$n]))); done
read -r dlo dhi <<<"$(printf '%s\n' "${diffs[@]}" | sort -n | sed -n '1p;$p' | paste -sd' ')"
awk -v s="${M[start,runvm]}" -v e="${M[exec,runvm]}" -v c="${M[create,runvm]}" \
  -v d="$(median "${diffs[@]}")" -v lo="$dlo" -v hi="$dhi" 'BEGIN {
    r = s / e
    printf "runvm start vs exec (medians): %.1f ms vs %.1f ms, start/exec = %.2f\n", s / 1000, e / 1000, r
    printf "  per round start - exec:      median %.1f ms (%.1f .. %.1f)\n", d / 1000, lo / 1000, hi / 1000
    printf "  start ~ exec (within 0.67x .. 1.5x): %s\n",
      (r >= 2 / 3 && r <= 1.5) ? "holds" : (r < 1 ? "no: start is cheaper than exec" : "no: start costs more than exec")
    printf "  start / create:              %.3f (the boot is in create: %.1f ms)\n", s / c, c / 1000
  }'
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (after)"

left=$(leftovers)
[[ -z $left ]] || { echo "$left" >&2; die "left behind after the rounds (see above)"; }
echo "left behind: nothing (no runvm/runc state, no process naming $WORK)"
