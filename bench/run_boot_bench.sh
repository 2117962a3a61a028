#!/usr/bin/env bash
# Boot benchmark (not a test): times `runvm run` of /bin/true against
#   (a) a bare QEMU boot of the same kernel and initramfs contents whose /init
#       (bench/poweroff_init.c) powers the VM off at once, with the machine,
#       CPU, accelerator, memory and kernel arguments runvm uses (taken from
#       `runvm --debug`, tsc_early_khz included) but none of its devices (no
#       virtio-fs, no virtio-serial), no -sandbox and no virtiofsd;
#   (b) `runvm run` of a busybox bundle whose process is /bin/true;
#   (c) `runc run` of the same bundle.
# Each is timed from exec to exit. Runs are interleaved round-robin (a, b, c,
# a, b, c, ...) so that drift on a shared machine hits all three alike.
# Prints every run, the medians, the ratio runvm/bare and runvm's overhead
# in ms. Results and analysis: docs/benchmarks.md; where runvm's extra time
# goes: bench/profile_boot.sh.
#
# Usage: bench/run_boot_bench.sh [RUNS]      (default 10)
# Environment: RUNVM (default build/bin/runvm), RUNVM_KERNEL and
# RUNVM_INITRAMFS (a variant guest, used by runvm and the bare boot alike),
# BENCH_TIMEOUT (seconds per run, default 60), BENCH_KEEP=1 keeps the work
# directory for a look.
# Exits non-zero if any run fails or times out; missing the overhead target
# is reported, not an error.
set -euo pipefail

RUNS=${1:-10}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
TARGET_RATIO=1.15
BENCH_NAME=run_boot_bench  # read by lib.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ID_PREFIX=bench-$$

build_initramfs "$REPO/bench/poweroff_init.c" "$WORK/bare-initramfs.img"
BUNDLE=$WORK/bundle
make_bundle "$BUNDLE"

warm_up_runvm "$BUNDLE" "$ID_PREFIX"
qemu_argv "$WORK/bare-initramfs.img" none ""
BARE_ARGV=("${QEMU_ARGV[@]}")
if [[ " ${QEMU_TOKENS[*]} " == *" -accel tcg"* && $(qemu_kernel_args) != *tsc_early_khz=* ]]; then
  die "runvm's kernel arguments lack tsc_early_khz under TCG: $(qemu_kernel_args)"
fi

# QEMU exits 0 on a panic too (panic=-1, -no-reboot): the console says which.
run_bare() {  # N
  local console=$WORK/bare-console-$1.log
  timeout -k 5 "$TIMEOUT" "${BARE_ARGV[@]}" \
    -chardev "file,id=console,path=$console" -serial chardev:console </dev/null || return
  if grep -q 'Kernel panic' "$console"; then
    cat "$console"
    return 1
  fi
}
run_bare warmup >"$WORK/warmup-bare.log" 2>&1 || {
  cat "$WORK/warmup-bare.log" >&2
  die "warm-up bare boot failed"
}
run_runc "$BUNDLE" "$ID_PREFIX-warmup" >"$WORK/warmup-runc.log" 2>&1 || {
  cat "$WORK/warmup-runc.log" >&2
  die "warm-up runc run failed"
}

echo "== runvm run vs bare boot vs runc: $RUNS runs each, interleaved =="
print_machine
echo "guest:       $KERNEL ($(stat -c %s "$KERNEL") B)"
echo "             $INITRAMFS ($(stat -c %s "$INITRAMFS") B; bare: $(stat -c %s "$WORK/bare-initramfs.img") B)"
echo "bare qemu:   ${BARE_ARGV[*]/#$WORK/\$WORK} -chardev file,id=console,path=... -serial chardev:console"
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (before)"
echo

# timed NAME LOG CMD...: runs CMD, prints its duration in µs; fails if CMD does.
timed() {
  local name=$1 log=$2 t0 t1 rc=0
  shift 2
  t0=${EPOCHREALTIME/./}
  "$@" >"$log" 2>&1 || rc=$?
  t1=${EPOCHREALTIME/./}
  if ((rc != 0)); then
    echo "$BENCH_NAME: $name failed (exit $rc); its output:" >&2
    sed 's/^/  /' "$log" >&2
    return 1
  fi
  echo $((t1 - t0))
}

declare -a T_BARE T_RUNVM T_RUNC
for ((n = 1; n <= RUNS; n++)); do
  T_BARE[n]=$(timed "bare boot #$n" "$WORK/bare-$n.log" run_bare "$n") || die "run $n failed"
  T_RUNVM[n]=$(timed "runvm run #$n" "$WORK/runvm-$n.log" \
    run_runvm "$BUNDLE" "$ID_PREFIX-$n") || die "run $n failed"
  T_RUNC[n]=$(timed "runc run #$n" "$WORK/runc-$n.log" \
    run_runc "$BUNDLE" "$ID_PREFIX-$n") || die "run $n failed"
done

printf '%-8s %12s %12s %12s %16s\n' run "bare (ms)" "runvm (ms)" "runc (ms)" "runvm-bare (ms)"
for ((n = 1; n <= RUNS; n++)); do
  printf '%-8s %12s %12s %12s %16s\n' "$n" "$(ms "${T_BARE[n]}")" "$(ms "${T_RUNVM[n]}")" \
    "$(ms "${T_RUNC[n]}")" "$(ms $((T_RUNVM[n] - T_BARE[n])))"
done
m_bare=$(median "${T_BARE[@]}")
m_runvm=$(median "${T_RUNVM[@]}")
m_runc=$(median "${T_RUNC[@]}")
diffs=()
for ((n = 1; n <= RUNS; n++)); do diffs+=($((T_RUNVM[n] - T_BARE[n]))); done
printf '%-8s %12s %12s %12s %16s\n' median "$(ms "$m_bare")" "$(ms "$m_runvm")" "$(ms "$m_runc")" \
  "$(ms "$(median "${diffs[@]}")")"
minmax() { printf '%s\n' "$@" | sort -n | sed -n '1p;$p' | paste -sd' '; }
range() { local lo hi; read -r lo hi <<<"$(minmax "$@")"; echo "$(ms "$lo")..$(ms "$hi")"; }
printf '%-8s %12s %12s %12s %16s\n' range "$(range "${T_BARE[@]}")" "$(range "${T_RUNVM[@]}")" \
  "$(range "${T_RUNC[@]}")" "$(range "${diffs[@]}")"
echo
# The ratio of the medians, and a 95% bootstrap interval for it (rounds
# resampled with replacement, 2000 times): on a noisy host, whether the
# target is met can be beyond what RUNS runs resolve.
for ((n = 1; n <= RUNS; n++)); do echo "${T_BARE[n]} ${T_RUNVM[n]}"; done |
  awk -v c="$m_runc" -v t="$TARGET_RATIO" '
    function med(a, k,   i, j, x) {
      for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
      return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    { b[NR] = $1; r[NR] = $2 }
    END {
      n = NR
      for (i = 1; i <= n; i++) { bb[i] = b[i]; rr[i] = r[i] }
      mb = med(bb, n); mr = med(rr, n); ratio = mr / mb
      srand(1)
      for (s = 1; s <= 2000; s++) {
        for (i = 1; i <= n; i++) { k = int(rand() * n) + 1; bb[i] = b[k]; rr[i] = r[k] }
        q[s] = med(rr, n) / med(bb, n)
      }
      med(q, 2000)
      printf "ratio runvm/bare (medians): %.3f  (target <= %.2f: %s)\n", ratio, t,
             ratio <= t ? "met" : "NOT met"
      printf "  95%% bootstrap interval:   %.3f .. %.3f\n", q[50], q[1951]
      printf "runvm overhead over bare:   %.1f ms (%.1f%%)\n", (mr - mb) / 1000, (ratio - 1) * 100
      printf "runc median:                %.1f ms\n", c / 1000
    }'
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (after)"
