#!/usr/bin/env bash
# What the spare NICs cost at boot (not a test): `runvm run` of /bin/true on
# a bundle that joins a network namespace with one veth (so its VM has a
# network), with the annotation io.runvm.network.spare-interfaces at 0 and
# at BENCH_SPARES (default 1, runvm's default), alternating run by run. The
# spares are more virtio-net devices the guest probes, taps, and a parking
# namespace the agent makes and moves them into (docs/ARCHITECTURE.md, "Networks connected while the
# container runs"). Prints every run, the medians and their difference.
#
# Usage: bench/spare_nics_bench.sh [RUNS]      (default 10 each; plus one warm-up)
# Environment: BENCH_SPARES (1), RUNVM (default build/bin/runvm), RUNVM_KERNEL and
# RUNVM_INITRAMFS, BENCH_TIMEOUT (seconds per run, default 120).
# Needs root (ip netns). Leaves nothing: the namespace and the work
# directory go on every path out.
set -euo pipefail

RUNS=${1:-10}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
BENCH_NAME=spare_nics_bench  # read by lib.sh
TIMEOUT=${BENCH_TIMEOUT:-120}
SPARES=${BENCH_SPARES:-1}
[[ $SPARES =~ ^[1-8]$ ]] || { echo "$0: BENCH_SPARES must be 1 to 8" >&2; exit 2; }
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
((EUID == 0)) || die "needs root (ip netns)"
for tool in jq ip; do command -v "$tool" >/dev/null || die "'$tool' not found"; done
export RUNVM_KERNEL=$KERNEL RUNVM_INITRAMFS=$INITRAMFS

NS=rvsn$$ NS_PEER=rvsp$$
NS_MADE=()
spare_cleanup() {
  local rc=$? ns
  trap - EXIT
  set +e
  for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null || echo "$BENCH_NAME: could not delete netns $ns" >&2; done
  (exit "$rc")
  bench_cleanup
}
trap spare_cleanup EXIT

for ns in "$NS" "$NS_PEER"; do
  [[ -e /run/netns/$ns ]] && die "netns $ns already exists"
  ip netns add "$ns"
  NS_MADE+=("$ns")
done
ip -n "$NS" link add eth0 type veth peer name peer0 netns "$NS_PEER"
ip -n "$NS" link set eth0 up
ip -n "$NS" addr add 10.79.0.2/24 dev eth0
ip -n "$NS_PEER" link set peer0 up

make_bundle "$WORK/b0"
jq --arg ns "/run/netns/$NS" '
  .linux.namespaces = [.linux.namespaces[] | if .type == "network" then .path = $ns else . end] |
  .annotations = {"io.runvm.network.spare-interfaces": "0"}' "$WORK/b0/config.json" >"$WORK/c0.json"
mv "$WORK/c0.json" "$WORK/b0/config.json"
cp -a "$WORK/b0" "$WORK/bS"
jq --arg n "$SPARES" '.annotations = {"io.runvm.network.spare-interfaces": $n}' "$WORK/b0/config.json" \
  >"$WORK/bS/config.json"

# run_ms 0|S N: one timed run (bundle b0 or bS), in milliseconds.
run_ms() {
  local start end
  start=$(date +%s%N)
  run_runvm "$WORK/b$1" "sn$1-$2" >"$WORK/run.log" 2>&1 || { cat "$WORK/run.log" >&2; die "runvm run failed ($1 spares)"; }
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

echo "== spare NICs: runvm run /bin/true with a veth, 0 vs $SPARES spare(s), $RUNS runs each =="
print_machine
run_ms S warmup >/dev/null
declare -a T0=() TS=()
for ((i = 1; i <= RUNS; i++)); do
  if ((i % 2)); then a=0 b=S; else a=S b=0; fi
  ta=$(run_ms "$a" "$i") tb=$(run_ms "$b" "$i")
  if [[ $a == 0 ]]; then T0+=("$ta") TS+=("$tb"); else TS+=("$ta") T0+=("$tb"); fi
  echo "run $i: 0 spares ${T0[-1]} ms, $SPARES spare(s) ${TS[-1]} ms"
done
m0=$(median "${T0[@]}") ms_=$(median "${TS[@]}")
echo "median: 0 spares $m0 ms, $SPARES spare(s) $ms_ ms, difference $(awk -v a="$ms_" -v b="$m0" 'BEGIN { printf "%.1f", a - b }') ms"
leftover=$(ip -n "$NS" -o link | grep -c runvm-tap || true)
((leftover == 0)) || die "$leftover runvm taps left in $NS"
