#!/usr/bin/env bash
# Boot benchmark (not a test): times `runvm run` of /bin/true against
#   (a) a bare QEMU boot of the same kernel and initramfs contents whose /init
#       (bench/poweroff_init.c) powers the VM off at once, with the machine,
#       CPU, accelerator, memory and kernel arguments runvm uses but none of
#       its devices (no virtio-fs, no virtio-serial) and no virtiofsd;
#   (b) `runvm run` of a busybox bundle whose process is /bin/true;
#   (c) `runc run` of the same bundle.
# Runs are interleaved round-robin (a, b, c, a, b, c, ...) so that drift on a
# shared machine hits all three alike. Prints every run, the medians, the
# ratio runvm/bare and runvm's overhead in ms. Results: docs/benchmarks.md.
#
# Usage: bench/run_boot_bench.sh [RUNS]      (default 10)
# Environment: RUNVM (default build/bin/runvm), BENCH_TIMEOUT (seconds per
# run, default 60), BENCH_KEEP=1 keeps the work directory for a look.
# Exits non-zero if any run fails or times out; missing the overhead target
# is reported, not an error.
set -euo pipefail

RUNS=${1:-10}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
TIMEOUT=${BENCH_TIMEOUT:-60}
TARGET_RATIO=1.15

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNVM=${RUNVM:-$REPO/build/bin/runvm}
KERNEL=$REPO/build/share/runvm/vmlinuz
INITRAMFS=$REPO/build/share/runvm/initramfs.img

die() { echo "run_boot_bench: $*" >&2; exit 1; }

for f in "$RUNVM" "$KERNEL" "$INITRAMFS" "$REPO/bench/poweroff_init.c"; do
  [[ -e $f ]] || die "$f not found (build the project first)"
done
for tool in qemu-system-x86_64 runc cpio cc timeout; do
  command -v "$tool" >/dev/null || die "'$tool' not found"
done
BUSYBOX=$(command -v busybox || true)
[[ -n $BUSYBOX ]] || die "busybox not found (apt-get install busybox-static)"
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
  die "$BUSYBOX is not static (apt-get install busybox-static)"
RUNC=$(command -v runc)

WORK=$(mktemp -d /tmp/runvm-bench.XXXXXX)
ID_PREFIX=bench-$$
RUNVM_ROOT=$WORK/runvm-root
RUNC_ROOT=$WORK/runc-root

# Kills, by PID, whatever still runs with our work directory on its command
# line (QEMU, virtiofsd, runc: normally nothing), then removes everything.
cleanup() {
  local rc=$? pid cmd
  trap - EXIT INT TERM
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [[ $pid == "$$" ]] && continue
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
    if [[ $cmd == *"$WORK"* ]]; then
      echo "run_boot_bench: killing leftover $pid: ${cmd:0:120}" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  if [[ -d $RUNC_ROOT ]]; then
    for c in $("$RUNC" --root "$RUNC_ROOT" list -q 2>/dev/null); do
      "$RUNC" --root "$RUNC_ROOT" delete -f "$c" >/dev/null 2>&1 || true
    done
  fi
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "run_boot_bench: kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# ---- the bare-boot initramfs: runvm's, with /init powering off ------------
mkdir -p "$WORK/initramfs"
cc -static -O2 -o "$WORK/poweroff" "$REPO/bench/poweroff_init.c"
(cd "$WORK/initramfs" && cpio -idm --quiet <"$INITRAMFS")
[[ -f $WORK/initramfs/init ]] || die "$INITRAMFS has no /init"
agent_size=$(stat -c %s "$WORK/initramfs/init")
poweroff_size=$(stat -c %s "$WORK/poweroff")
# Keep the image the same size: the agent's bytes the small init does not
# replace stay in as an unused file (the kernel unpacks the same amount).
if ((agent_size > poweroff_size)); then
  head -c $((agent_size - poweroff_size)) "$WORK/initramfs/init" >"$WORK/initramfs/.bench-pad"
fi
cp "$WORK/poweroff" "$WORK/initramfs/init"
(cd "$WORK/initramfs" && find . -mindepth 1 | LC_ALL=C sort |
  cpio -o -H newc --quiet --owner=0:0 --reproducible) >"$WORK/bare-initramfs.img"
rm -rf "$WORK/initramfs"

# ---- the bundle: static busybox, /bin/true --------------------------------
BUNDLE=$WORK/bundle
mkdir -p "$BUNDLE/rootfs/bin"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
for applet in sh true false echo cat ls; do ln -s busybox "$BUNDLE/rootfs/bin/$applet"; done
cat >"$BUNDLE/config.json" <<'EOF'
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["/bin/true"],
    "env": ["PATH=/bin"],
    "cwd": "/",
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "bench",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
  }
}
EOF

# ---- the three commands ----------------------------------------------------
# runvm's own kernel arguments only: RUNVM_KERNEL_ARGS would change the boot.
run_runvm() {  # ID [extra runvm options...]
  local id=$1; shift
  env -u RUNVM_KERNEL_ARGS timeout -k 5 "$TIMEOUT" \
    "$RUNVM" "$@" --root "$RUNVM_ROOT" run --bundle "$BUNDLE" "$id" </dev/null
}
run_runc() {  # ID
  timeout -k 5 "$TIMEOUT" "$RUNC" --root "$RUNC_ROOT" run --bundle "$BUNDLE" "$1" </dev/null
}
BARE_ARGV=()
run_bare() {  # N
  timeout -k 5 "$TIMEOUT" "${BARE_ARGV[@]}" \
    -chardev "file,id=console,path=$WORK/bare-console-$1.log" -serial chardev:console </dev/null
}

# Warm-up (untimed): fills the page cache, and runvm's debug log gives the
# exact QEMU command line, whose machine, CPU, accelerator, memory and kernel
# arguments (tsc_early_khz included) the bare boot reuses.
if ! run_runvm "$ID_PREFIX-warmup" --debug >"$WORK/warmup-runvm.log" 2>&1; then
  cat "$WORK/warmup-runvm.log" >&2
  die "warm-up runvm run failed"
fi
qemu_line=$(sed -n 's/^.*qemu command line: //p' "$WORK/warmup-runvm.log" | head -1)
[[ -n $qemu_line ]] || die "no 'qemu command line' in runvm --debug output"
read -r -a tokens <<<"$qemu_line"
# Keep everything but the devices, their chardevs, the console (added per
# run), -sandbox (runvm's hardening, counted as runvm's cost) and the
# initramfs (ours instead). The -append value runs up to the next option.
BARE_ARGV=("${tokens[0]}")
i=1
while ((i < ${#tokens[@]})); do
  opt=${tokens[i]} val=${tokens[i + 1]:-}
  case $opt in
    -append)
      kargs=()
      ((i += 1))
      while ((i < ${#tokens[@]})) && [[ ${tokens[i]} != -* ]]; do
        kargs+=("${tokens[i]}")
        ((i += 1))
      done
      BARE_ARGV+=(-append "${kargs[*]}")
      continue
      ;;
    -nodefaults | -no-user-config | -no-reboot) BARE_ARGV+=("$opt"); ((i += 1)); continue ;;
    -chardev | -device | -serial | -sandbox | -global) ;;
    -initrd) BARE_ARGV+=(-initrd "$WORK/bare-initramfs.img") ;;
    *) BARE_ARGV+=("$opt" "$val") ;;
  esac
  ((i += 2))
done
KERNEL_ARGS=$(printf '%s\n' "${BARE_ARGV[@]}" | grep -A1 -x -- -append | tail -1)
[[ $KERNEL_ARGS == *tsc_early_khz=* ]] || [[ $qemu_line != *"-accel tcg"* ]] ||
  die "parsed kernel arguments lack tsc_early_khz: $KERNEL_ARGS"
if ! run_bare warmup >"$WORK/warmup-bare.log" 2>&1; then
  cat "$WORK/warmup-bare.log" >&2
  die "warm-up bare boot failed"
fi
grep -q 'Power down\|reboot' "$WORK/bare-console-warmup.log" 2>/dev/null ||
  true  # quiet boots print little; QEMU's exit status is the check
if ! run_runc "$ID_PREFIX-warmup" >"$WORK/warmup-runc.log" 2>&1; then
  cat "$WORK/warmup-runc.log" >&2
  die "warm-up runc run failed"
fi

# ---- the machine -------------------------------------------------------------
check_json=$("$RUNVM" check 2>/dev/null || true)
if command -v jq >/dev/null; then
  accel=$(jq -r '.accelerator.name + " (" + .accelerator.reason + ")"' <<<"$check_json" 2>/dev/null || true)
else
  accel=$(tr -d '\n' <<<"$check_json" | sed -n 's/.*"accelerator": *{[^}]*"name": *"\([^"]*\)".*/\1/p')
fi
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "== runvm boot benchmark: $RUNS runs each, interleaved =="
echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "accelerator: ${accel:-unknown}"
echo "host:        $(nproc) CPUs, $cpu_model, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "kernel:      $(uname -r)"
echo "qemu:        $(qemu-system-x86_64 --version | head -1)"
echo "runc:        $("$RUNC" --version | head -1)"
echo "runvm:       $("$RUNVM" --version 2>/dev/null | head -1)"
echo "guest:       $(stat -c %s "$KERNEL") B kernel, $(stat -c %s "$INITRAMFS") B initramfs" \
  "(bare: $(stat -c %s "$WORK/bare-initramfs.img") B)"
echo "bare qemu:   ${BARE_ARGV[*]} -chardev file,... -serial chardev:console"
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (before)"
echo

# ---- the runs ----------------------------------------------------------------
declare -a T_BARE T_RUNVM T_RUNC
failed=0
timed() {  # NAME LOG CMD...: runs CMD, prints its duration in µs; non-zero on failure
  local name=$1 log=$2; shift 2
  local t0 t1 rc=0
  t0=$(now_us)
  "$@" >"$log" 2>&1 || rc=$?
  t1=$(now_us)
  if ((rc != 0)); then
    echo "run_boot_bench: $name failed (exit $rc); its output:" >&2
    sed 's/^/  /' "$log" >&2
    return 1
  fi
  echo $((t1 - t0))
}
for ((n = 1; n <= RUNS; n++)); do
  T_BARE[n]=$(timed "bare boot #$n" "$WORK/bare-$n.log" run_bare "$n") || failed=1
  T_RUNVM[n]=$(timed "runvm run #$n" "$WORK/runvm-$n.log" run_runvm "$ID_PREFIX-$n") || failed=1
  T_RUNC[n]=$(timed "runc run #$n" "$WORK/runc-$n.log" run_runc "$ID_PREFIX-$n") || failed=1
  ((failed == 0)) || break
done
((failed == 0)) || die "a run failed; no figures"

ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-8s %12s %12s %12s\n' run "bare (ms)" "runvm (ms)" "runc (ms)"
for ((n = 1; n <= RUNS; n++)); do
  printf '%-8s %12s %12s %12s\n' "$n" "$(ms "${T_BARE[n]}")" "$(ms "${T_RUNVM[n]}")" "$(ms "${T_RUNC[n]}")"
done
m_bare=$(median "${T_BARE[@]:1}")
m_runvm=$(median "${T_RUNVM[@]:1}")
m_runc=$(median "${T_RUNC[@]:1}")
printf '%-8s %12s %12s %12s\n' median "$(ms "$m_bare")" "$(ms "$m_runvm")" "$(ms "$m_runc")"
echo
awk -v b="$m_bare" -v r="$m_runvm" -v c="$m_runc" -v t="$TARGET_RATIO" 'BEGIN {
  ratio = r / b
  printf "ratio runvm/bare (medians): %.3f  (target <= %.2f: %s)\n", ratio, t,
         ratio <= t ? "met" : "NOT met"
  printf "runvm overhead over bare:   %.1f ms (%.1f%%)\n", (r - b) / 1000, (ratio - 1) * 100
  printf "runc median:                %.1f ms\n", c / 1000
}'
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (after)"
