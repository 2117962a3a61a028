#!/usr/bin/env bash
# Pod benchmark (not a test): what a second container of a pod costs, runvm
# against runc, side by side, on one busybox bundle. A pod is what
# Kubernetes makes: a first container ("pause", `sleep 100000`) in a network
# namespace the bench made (loopback up), then containers whose specs join
# its network, IPC and UTS namespaces by path (/proc/PID/ns/...), as
# containerd's CRI writes them. Under runvm the first container boots the
# VM and each later one is added to it (docs/ARCHITECTURE.md, "Pods").
#
#   join   per round, runc then runvm: the pause container is created and
#          started (untimed); then a second container (`sleep 100000`) is
#          created and started: timed from the exec of `create` to the
#          return of `start`, when its process runs (create and start are
#          logged apart too). Then both are killed and deleted (untimed).
#   memory per runtime, one pod grown to 1, 2 and 4 containers; after each
#          size a settle time, then the PSS (smaps_rollup) of every host
#          process of the pod: each container's PID from `state` (runvm: the
#          VM's monitor, or a joined container's stand-in; runc: the
#          container's process) and all their descendants (QEMU, virtiofsd).
#
# Prints every run, the medians, min..max and the ratio runvm/runc, the
# memory table, and what the second and later containers add. Results:
# docs/benchmarks.md.
#
# Usage: bench/pod_bench.sh [RUNS]      (default 10)
# Environment: RUNVM (default build/bin/runvm), RUNVM_KERNEL and
# RUNVM_INITRAMFS (a variant guest), BENCH_SETTLE (seconds before memory is
# read, default 10), BENCH_TIMEOUT (seconds per command, default 60),
# BENCH_KEEP=1 keeps the work directory.
# Exits non-zero if a command fails or times out, or if anything (state,
# process, the namespace) is left behind.
set -euo pipefail

RUNS=${1:-10}
SETTLE=${BENCH_SETTLE:-10}
[[ $RUNS =~ ^[1-9][0-9]*$ && $SETTLE =~ ^[0-9]+$ ]] || { echo "usage: $0 [RUNS]  (env: BENCH_SETTLE)" >&2; exit 2; }
BENCH_NAME=pod_bench  # read by lib.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || die "'jq' not found"
command -v ip >/dev/null || die "'ip' not found (iproute2)"
NS=rvpodb$$
ID=pb$$

bench_extra_cleanup() { ip netns del "$NS" 2>/dev/null; }  # after lib.sh's cleanup removed the containers

ip netns add "$NS"
ip -n "$NS" link set lo up

# bundle NAME [PAUSE_PID]: a bundle whose process sleeps; with PAUSE_PID it
# joins that container's network, IPC and UTS namespaces.
bundle() {
  local dir=$WORK/$1 pid=${2:-}
  make_bundle "$dir"
  ln -s busybox "$dir/rootfs/bin/sleep"
  local ns
  if [[ -z $pid ]]; then
    ns='[{"type":"pid"},{"type":"network","path":"/run/netns/'$NS'"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]'
  else
    ns='[{"type":"pid"},{"type":"network","path":"/run/netns/'$NS'"},{"type":"ipc","path":"/proc/'$pid'/ns/ipc"},'
    ns+='{"type":"uts","path":"/proc/'$pid'/ns/uts"},{"type":"mount"}]'
  fi
  jq --argjson ns "$ns" '.process.args = ["/bin/sleep", "100000"] | .linux.namespaces = $ns |
                         if .linux.namespaces[3].path then del(.hostname) else . end' \
    "$dir/config.json" >"$dir/config.json.new"
  mv "$dir/config.json.new" "$dir/config.json"
  echo "$dir"
}

rt_cmd() {
  case $1 in
    runc) RT=("$RUNC" --root "$RUNC_ROOT") ;;
    runvm) RT=(env -u RUNVM_KERNEL_ARGS "$RUNVM" --root "$RUNVM_ROOT") ;;
  esac
}

# step LOG CMD...: runs CMD under the timeout (stdio to LOG); dies with LOG
# if it fails.
step() {
  local log=$1 rc=0
  shift
  timeout -k 5 "$TIMEOUT" "$@" </dev/null >"$log" 2>&1 || rc=$?
  if ((rc != 0)); then
    echo "$BENCH_NAME: '$*' failed (exit $rc):" >&2
    sed 's/^/  /' "$log" >&2
    die "run failed"
  fi
}

pid_of() {  # ID: the container's PID from `state`
  "${RT[@]}" state "$1" | jq -r .pid
}

# start_container RT ID BUNDLE: create and start; sets T_CREATE, T_START (µs).
start_container() {
  local id=$2 dir=$3 t0 t1 t2
  rt_cmd "$1"
  t0=${EPOCHREALTIME/./}
  step "$WORK/$id-create.log" "${RT[@]}" create --bundle "$dir" "$id"
  t1=${EPOCHREALTIME/./}
  step "$WORK/$id-start.log" "${RT[@]}" start "$id"
  t2=${EPOCHREALTIME/./}
  T_CREATE=$((t1 - t0))
  T_START=$((t2 - t1))
}

remove_all() {  # RT IDS...: SIGKILL and delete, the joined ones first
  local rt=$1 id
  shift
  rt_cmd "$rt"
  for id in "$@"; do
    step "$WORK/$id-delete.log" "${RT[@]}" delete -f "$id"
  done
}

declare -A T
join_round() {  # RT N
  local rt=$1 n=$2 pause=$ID-$1-$2-p app=$ID-$1-$2-a pid
  start_container "$rt" "$pause" "$PAUSE_BUNDLE"
  pid=$(pid_of "$pause")
  local app_bundle
  app_bundle=$(bundle "$rt-$n-app" "$pid")
  start_container "$rt" "$app" "$app_bundle"
  T[join,$rt,$n]=$((T_CREATE + T_START))
  T[create,$rt,$n]=$T_CREATE
  T[start,$rt,$n]=$T_START
  remove_all "$rt" "$app" "$pause"
  rm -rf "$app_bundle"
}

PAUSE_BUNDLE=$(bundle pause)

join_round runc 0  # warm-up, untimed
join_round runvm 0

echo "== pods: a second container joining a running pod; runvm vs runc: $RUNS rounds, interleaved =="
print_machine
echo "guest:       $KERNEL ($(stat -c %s "$KERNEL") B)"
echo "bundle:      busybox-static, 'sleep 100000', read-only root; network namespace $NS (loopback only)"
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (before)"
echo
printf '%-6s %-6s %14s %10s %10s\n' round rt "create+start" create start
for ((n = 1; n <= RUNS; n++)); do
  for rt in runc runvm; do
    join_round "$rt" "$n"
    printf '%-6s %-6s %14s %10s %10s\n' "$n" "$rt" "$(ms "${T[join,$rt,$n]}")" \
      "$(ms "${T[create,$rt,$n]}")" "$(ms "${T[start,$rt,$n]}")"
  done
done
echo

declare -A M
printf '%-22s %10s %16s %10s %16s %11s\n' "median (ms)" runc "runc range" runvm "runvm range" runvm/runc
for op in join create start; do
  for rt in runc runvm; do
    # shellcheck disable=SC2046
    M[$op,$rt]=$(median $(values "$op" "$rt"))
  done
  label=$op
  [[ $op == join ]] && label="2nd: create+start"
  [[ $op != join ]] && label="  $op"
  printf '%-22s %10s %16s %10s %16s %11s\n' "$label" "$(ms "${M[$op,runc]}")" "$(range "$op" runc)" \
    "$(ms "${M[$op,runvm]}")" "$(range "$op" runvm)" \
    "$(awk -v a="${M[$op,runvm]}" -v b="${M[$op,runc]}" 'BEGIN { printf "%.1f", a / b }')"
done
awk -v j="${M[join,runvm]}" 'BEGIN { printf "runvm: a second container of a running pod in %.0f ms (target: at most 250 ms): %s\n",
  j / 1000, (j <= 250000) ? "met" : "not met" }'
echo

# --- memory -----------------------------------------------------------------
pod_pss() {  # RT IDS...: the pod's PSS in kB
  local rt=$1 id total=0 pids=() p v
  shift
  rt_cmd "$rt"
  for id in "$@"; do pids+=("$(pid_of "$id")"); done
  for p in $(descendants "${pids[@]}"); do
    v=$(pss_kb "$p")
    [[ -n $v ]] && total=$((total + v))
  done
  echo "$total"
}

echo "-- memory: one pod per runtime grown to 1, 2 and 4 containers, PSS after ${SETTLE} s"
declare -A P
for rt in runc runvm; do
  ids=("$ID-$rt-m-p")
  start_container "$rt" "${ids[0]}" "$PAUSE_BUNDLE"
  pause_pid=$(pid_of "${ids[0]}")
  for size in 1 2 4; do
    while ((${#ids[@]} < size)); do
      k=${#ids[@]}
      b=$(bundle "$rt-m-$k" "$pause_pid")
      ids+=("$ID-$rt-m-$k")
      start_container "$rt" "${ids[-1]}" "$b"
    done
    sleep "$SETTLE"
    P[$rt,$size]=$(pod_pss "$rt" "${ids[@]}")
  done
  # joined ones first, then the pause container
  rev=()
  for ((k = ${#ids[@]} - 1; k >= 0; k--)); do rev+=("${ids[$k]}"); done
  remove_all "$rt" "${rev[@]}"
done
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
printf '%-8s %12s %12s %12s %18s\n' "PSS MiB" "1 container" "2" "4" "each one after 1st"
for rt in runc runvm; do
  printf '%-8s %12s %12s %12s %18s\n' "$rt" "$(mib "${P[$rt,1]}")" "$(mib "${P[$rt,2]}")" "$(mib "${P[$rt,4]}")" \
    "$(awk -v a="${P[$rt,4]}" -v b="${P[$rt,1]}" 'BEGIN { printf "%.1f", (a - b) / 3 / 1024 }')"
done
echo

# Nothing of the run may remain.
left=$( { "$RUNVM" --root "$RUNVM_ROOT" list -q; "$RUNC" --root "$RUNC_ROOT" list -q; } 2>/dev/null || true)
[[ -z $left ]] || die "containers left: $left"
if pgrep -af -- "$WORK" | grep -v "^$$ " | grep -q .; then die "processes left: $(pgrep -af -- "$WORK")"; fi
echo "nothing left behind"
