#!/usr/bin/env bash
# Network benchmark (not a test): runvm against runc, side by side, on the
# same bundle joining the same network namespace. Two namespaces of our own:
# the "container" C, with a veth eth0 10.78.0.2/24 (MTU 1500), and the "host
# side" P with its peer 10.78.0.1/24 and a nettool server (bench/nettool.c,
# built static here) on port 5201. Each round, for runc and runvm (the order
# alternates by round), the container runs
#   nettool stream 10.78.0.1 5201 SECS   TCP throughput to P, 64 KiB writes
#   nettool rr 10.78.0.1 5201 2000       one-byte TCP round trips (NODELAY)
# and prints eth0's MTU as it sees it. runvm carries C's eth0 into the VM
# (a tap in C mirred to and from eth0, a virtio-net NIC in the guest; the tap
# has no vnet header, so no offloads): expect it to be slower. After each
# runvm round, C must hold no runvm-tap and eth0 no ingress qdisc.
# Prints every run, the medians per runtime and the ratios runvm/runc.
#
# Usage: bench/net_bench.sh [RUNS]      (default 3; plus one untimed warm-up)
# Environment: BENCH_SECS (stream seconds, default 5), RUNVM (default
# build/bin/runvm), RUNVM_KERNEL and RUNVM_INITRAMFS, BENCH_TIMEOUT (seconds
# per container run, default 120), BENCH_KEEP=1 keeps the work directory.
# runvm, its kernel and initramfs are copied into the work directory first,
# so a concurrent rebuild of the tree cannot change them mid-run.
# Exits non-zero if a run fails or its output lacks a figure, on a wrong MTU,
# or if anything of runvm is left in C. Needs root (ip netns, runc).
set -euo pipefail

RUNS=${1:-3}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
SECS=${BENCH_SECS:-5}
[[ $SECS =~ ^[1-9][0-9]*$ ]] || { echo "$0: BENCH_SECS must be a positive integer" >&2; exit 2; }
RR_COUNT=2000
PORT=5201
MTU=1500
BENCH_NAME=net_bench  # read by lib.sh
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
((EUID == 0)) || die "needs root (ip netns, tc, runc)"
for tool in jq ip tc; do command -v "$tool" >/dev/null || die "'$tool' not found"; done

# Private copies of runvm and its guest (lib.sh checked they exist).
mkdir -p "$WORK/bin" "$WORK/share/runvm"
cp "$RUNVM" "$WORK/bin/runvm"
cp "$KERNEL" "$WORK/share/runvm/vmlinuz"
cp "$INITRAMFS" "$WORK/share/runvm/initramfs.img"
RUNVM=$WORK/bin/runvm KERNEL=$WORK/share/runvm/vmlinuz INITRAMFS=$WORK/share/runvm/initramfs.img
export RUNVM_KERNEL=$KERNEL RUNVM_INITRAMFS=$INITRAMFS
"$RUNVM" --version >/dev/null 2>&1 || die "the copy of runvm does not run (copied mid-rebuild?)"

NS_C=rvnbc$$ NS_P=rvnbp$$
NS_MADE=()
SERVER_PID=
ID_PREFIX=nb-$$

# Every path out: stop the server and any container of ours, delete the
# namespaces we made, then lib.sh's cleanup (kills by PID anything naming
# $WORK, runc delete -f, removes $WORK).
net_cleanup() {
  local rc=$? c ns
  trap - EXIT
  set +e
  if [[ -n $SERVER_PID ]]; then kill -9 "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  if [[ -d $RUNVM_ROOT ]]; then
    for c in $("$RUNVM" --root "$RUNVM_ROOT" list -q 2>/dev/null); do
      timeout -k 2 20 "$RUNVM" --root "$RUNVM_ROOT" delete -f "$c" >/dev/null 2>&1
    done
  fi
  if [[ -d $RUNC_ROOT ]]; then
    for c in $("$RUNC" --root "$RUNC_ROOT" list -q 2>/dev/null); do
      "$RUNC" --root "$RUNC_ROOT" delete -f "$c" >/dev/null 2>&1
    done
  fi
  for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null || echo "$BENCH_NAME: could not delete netns $ns" >&2; done
  (exit "$rc")  # bench_cleanup takes the exit status from $?
  bench_cleanup
}
trap net_cleanup EXIT

# The two namespaces and the veth pair.
for ns in "$NS_C" "$NS_P"; do
  [[ -e /run/netns/$ns ]] && die "netns $ns already exists"
  ip netns add "$ns" || die "ip netns add $ns failed"
  NS_MADE+=("$ns")
done
ip -n "$NS_C" link add eth0 type veth peer name peer0 netns "$NS_P"
ip -n "$NS_C" link set lo up
ip -n "$NS_C" link set eth0 mtu "$MTU" up
ip -n "$NS_C" addr add 10.78.0.2/24 dev eth0
ip -n "$NS_P" link set lo up
ip -n "$NS_P" link set peer0 mtu "$MTU" up
ip -n "$NS_P" addr add 10.78.0.1/24 dev peer0

# nettool, the server in P, and a check from C itself (no container).
cc -static -O2 -o "$WORK/nettool" "$REPO/bench/nettool.c" || die "could not build bench/nettool.c"
ip netns exec "$NS_P" "$WORK/nettool" server "$PORT" </dev/null >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ip netns exec "$NS_C" "$WORK/nettool" rr 10.78.0.1 "$PORT" 10 >"$WORK/probe.log" 2>&1 || {
  cat "$WORK/probe.log" "$WORK/server.log" >&2
  die "the server in $NS_P is not reachable from $NS_C"
}

# One bundle, one config.json, for both runtimes.
BUNDLE=$WORK/bundle
make_bundle "$BUNDLE"
cp "$WORK/nettool" "$BUNDLE/rootfs/bin/nettool"
SCRIPT="echo guest_\$(busybox ip -o link show dev eth0 | busybox grep -o 'mtu [0-9]*' | busybox tr ' ' =) &&
nettool stream 10.78.0.1 $PORT $SECS && nettool rr 10.78.0.1 $PORT $RR_COUNT"
jq --arg ns "/run/netns/$NS_C" --arg script "$SCRIPT" '
  .process.args = ["/bin/sh", "-c", $script] |
  .linux.namespaces = [.linux.namespaces[] | if .type == "network" then .path = $ns else . end]' \
  "$BUNDLE/config.json" >"$WORK/config.json"
mv "$WORK/config.json" "$BUNDLE/config.json"

# field LOG KEY: the value of KEY=... in LOG; empty if none.
field() { grep -o "$2=[0-9.]*" "$1" | tail -1 | cut -d= -f2; }

# check_c_clean: eth0 in C keeps its MTU; no runvm tap, no ingress qdisc,
# no QEMU of ours. Prints what it saw, dies if anything is left.
check_c_clean() {
  local links qdiscs mtu qemu
  links=$(ip -n "$NS_C" -o link)
  qdiscs=$(tc -n "$NS_C" qdisc show)
  mtu=$(ip -n "$NS_C" -o link show dev eth0 | grep -o 'mtu [0-9]*' | cut -d' ' -f2)
  qemu=$(pgrep -af qemu-system | grep -F -- "$WORK" || true)
  if grep -q runvm-tap <<<"$links" || grep -q ingress <<<"$qdiscs" || [[ $mtu != "$MTU" || -n $qemu ]]; then
    printf '%s\n' "links in $NS_C:" "$links" "qdiscs in $NS_C:" "$qdiscs" "QEMU:" "$qemu" >&2
    die "left behind in $NS_C after runvm (or eth0's MTU changed: $mtu)"
  fi
  echo "ok: C's eth0 mtu $mtu, no runvm-tap, no ingress qdisc"
}

# bench RUNTIME N: one container run; sets R[<figure>,RUNTIME,N].
declare -A R
bench() {
  local rt=$1 n=$2 id=$ID_PREFIX-$1-$2 log=$WORK/$1-$2.log rc=0 t0 t1 k v
  t0=${EPOCHREALTIME/./}
  case $rt in
    runc) run_runc "$BUNDLE" "$id" >"$log" 2>&1 || rc=$? ;;
    runvm) run_runvm "$BUNDLE" "$id" >"$log" 2>&1 || rc=$? ;;
  esac
  t1=${EPOCHREALTIME/./}
  if ((rc != 0)); then
    echo "$BENCH_NAME: $rt round $n failed (exit $rc); its output:" >&2
    sed 's/^/  /' "$log" >&2
    die "run failed"
  fi
  if [[ $rt == runvm ]]; then
    "$RUNVM" --root "$RUNVM_ROOT" delete -f "$id" >/dev/null 2>&1 || true  # normally gone already
  fi
  R[wall,$rt,$n]=$(ms $((t1 - t0)))
  for k in throughput_mbit rr_median_us rr_p90_us guest_mtu; do
    v=$(field "$log" "$k")
    [[ -n $v ]] || { sed 's/^/  /' "$log" >&2; die "$rt round $n: no $k in its output"; }
    R[$k,$rt,$n]=$v
  done
  [[ ${R[guest_mtu,$rt,$n]} == "$MTU" ]] || die "$rt round $n: eth0 mtu ${R[guest_mtu,$rt,$n]} in the container, want $MTU"
  printf '%-6s %-6s %12s %12s %12s %6s %10s\n' "$n" "$rt" "${R[throughput_mbit,$rt,$n]}" \
    "${R[rr_median_us,$rt,$n]}" "${R[rr_p90_us,$rt,$n]}" "${R[guest_mtu,$rt,$n]}" "${R[wall,$rt,$n]}"
  if [[ $rt == runvm ]]; then check_c_clean; fi
}

echo "== net: TCP stream ${SECS}s + $RR_COUNT one-byte round trips to a server in another netns; runvm vs runc: $RUNS rounds, interleaved =="
print_machine
echo "guest:       $KERNEL ($(stat -c %s "$KERNEL") B)"
echo "             $INITRAMFS ($(stat -c %s "$INITRAMFS") B)"
echo "network:     veth eth0 10.78.0.2/24 mtu $MTU in netns $NS_C -> peer 10.78.0.1/24 in netns $NS_P (nettool server :$PORT)"
echo "             runvm: tap + tc mirred in $NS_C, virtio-net in the guest (no vnet header, no offloads)"
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (before)"
echo
printf '%-6s %-6s %12s %12s %12s %6s %10s\n' round rt "stream Mbit/s" "rr med us" "rr p90 us" mtu "wall ms"
for ((n = 0; n <= RUNS; n++)); do  # round 0: warm-up, not counted
  if ((n % 2)); then order=(runc runvm); else order=(runvm runc); fi
  for rt in "${order[@]}"; do bench "$rt" "$n"; done
  if ((n == 0)); then echo "(round 0 is a warm-up, not in the medians)"; fi
done
echo

declare -A M
values() {  # FIGURE RT
  local n
  for ((n = 1; n <= RUNS; n++)); do echo "${R[$1,$2,$n]}"; done
}
printf '%-22s %12s %12s %12s\n' median runc runvm runvm/runc
for k in throughput_mbit rr_median_us rr_p90_us; do
  for rt in runc runvm; do
    # shellcheck disable=SC2046
    M[$k,$rt]=$(median $(values "$k" "$rt"))
  done
  printf '%-22s %12s %12s %12s\n' "$k" "${M[$k,runc]}" "${M[$k,runvm]}" \
    "$(awk -v a="${M[$k,runvm]}" -v b="${M[$k,runc]}" 'BEGIN { printf (b > 0 ? "%.3f" : "nan"), a / b }')"
done
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (after)"
check_c_clean
