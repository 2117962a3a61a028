#!/usr/bin/env bash
# Where does `runvm run` spend the time a bare boot does not? A profiling
# companion to bench/run_boot_bench.sh (not a test). Per run, interleaved:
#   (A) bare probe: bench/probe_init.c as /init of runvm's initramfs
#       contents, kernel argument bench_probe=poweroff: QEMU with runvm's
#       machine flags, no devices; the guest logs when /init starts.
#   (B) full probe: runvm's exact QEMU command line (devices, -sandbox) with
#       a virtiofsd started as runvm starts it, /init = the probe, which
#       repeats the agent's boot steps (modules, virtio-fs mount, port) and a
#       container-style /bin/true, logging a kernel-timestamped line after
#       each step.
#   (C) `runvm run` of /bin/true under `strace -ttt` (runvm's own process
#       only): its host-side timeline (start-up, sandbox probe, QEMU spawn,
#       agent handshake, the run, shutdown).
# Prints the median of each step over RUNS runs.
#
# Usage: bench/profile_boot.sh [RUNS]      (default 5)
set -euo pipefail

RUNS=${1:-5}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
BENCH_NAME=profile_boot  # read by lib.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v strace >/dev/null || die "'strace' not found"
ID_PREFIX=profile-$$

build_initramfs "$REPO/bench/probe_init.c" "$WORK/probe-initramfs.img"
cc -O2 -o "$WORK/stamp_lines" "$REPO/bench/stamp_lines.c"
BUNDLE=$WORK/bundle
make_bundle "$BUNDLE"
if command -v jq >/dev/null; then
  VIRTIOFSD=$("$RUNVM" check | jq -r .vmm.virtiofsd)
else
  VIRTIOFSD=$("$RUNVM" check | sed -n 's/.*"virtiofsd": *"\([^"]*\)".*/\1/p')
fi
[[ -x $VIRTIOFSD ]] || die "virtiofsd not found"

warm_up_runvm "$BUNDLE" "$ID_PREFIX"
# printk.devkmsg=on: /dev/kmsg writes are otherwise rate-limited to 10 lines.
qemu_argv "$WORK/probe-initramfs.img" none "printk.devkmsg=on bench_probe=poweroff"
BARE_ARGV=("${QEMU_ARGV[@]}")
qemu_argv "$WORK/probe-initramfs.img" devices "printk.devkmsg=on"
FULL_ARGV=("${QEMU_ARGV[@]}")

# Prints "STEP<TAB>seconds" for each bench-probe line of a console log.
probe_steps() {
  tr -d '\r' <"$1" | sed -n 's/^\[ *\([0-9.]*\)\] bench-probe: \(.*\)$/\2\t\1/p' |
    sed -E 's/ \([0-9]+ retries\)//; s/ \(status [0-9-]+\)//'
}

# start_stamping CONSOLE_LOG OUT: follows the console log in the background
# (STAMP_PID), each line stamped with the host's wall clock.
start_stamping() {
  "$WORK/stamp_lines" "$1" >"$2" &
  STAMP_PID=$!
}
stop_stamping() {
  kill -TERM "$STAMP_PID" 2>/dev/null || true
  wait "$STAMP_PID" 2>/dev/null || true
}

# probe_report T0_US T1_US CONSOLE_LOG STAMPS: QEMU's wall time, when the
# host saw the probe's first line (QEMU start-up, kernel decompression and
# boot, on the host's clock), the probe's steps on the guest's clock, and
# the wall time after the probe's poweroff line (power-off and QEMU exit).
probe_report() {
  local t0 t1
  t0=$(awk -v t="$1" 'BEGIN { printf "%.6f", t / 1e6 }')
  t1=$(awk -v t="$2" 'BEGIN { printf "%.6f", t / 1e6 }')
  printf 'qemu wall\t%s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
  awk -F'\t' -v t0="$t0" '$2 ~ /bench-probe: init$/ && !seen { seen = 1
    printf "qemu wall: exec to /init (host clock)\t%f\n", $1 - t0 }' "$4"
  probe_steps "$3"
  awk -F'\t' -v t1="$t1" '$2 ~ /bench-probe: poweroff$/ { off = $1 }
    END { if (off != "") printf "qemu wall: poweroff line to QEMU exit (host clock)\t%f\n", t1 - off }' "$4"
}

run_bare_probe() {  # N
  local log=$WORK/bare-$1.console t0 t1
  start_stamping "$log" "$WORK/bare-$1.stamps"
  t0=${EPOCHREALTIME/./}
  timeout -k 5 "$TIMEOUT" "${BARE_ARGV[@]}" \
    -chardev "file,id=console,path=$log" -serial chardev:console </dev/null >"$WORK/bare-$1.out" 2>&1 ||
    { stop_stamping; cat "$WORK/bare-$1.out" >&2; die "bare probe boot $1 failed"; }
  t1=${EPOCHREALTIME/./}
  stop_stamping
  probe_report "$t0" "$t1" "$log" "$WORK/bare-$1.stamps" >"$WORK/bare-$1.steps"
}

run_full_probe() {  # N
  local log=$WORK/full-$1.console t0 t1 vpid i
  rm -f "$WORK/vfs.sock" "$WORK/agent.sock"
  "$VIRTIOFSD" --socket-path="$WORK/vfs.sock" -o source="$BUNDLE/rootfs" -o cache=auto \
    -o xattr --rlimit-nofile=0 -o log_level=warn 2>"$WORK/virtiofsd-$1.log" &
  vpid=$!
  for ((i = 0; i < 500; i++)); do
    [[ -S $WORK/vfs.sock ]] && break
    sleep 0.01
  done
  start_stamping "$log" "$WORK/full-$1.stamps"
  t0=${EPOCHREALTIME/./}
  timeout -k 5 "$TIMEOUT" "${FULL_ARGV[@]}" \
    -chardev "file,id=console,path=$log" -serial chardev:console </dev/null >"$WORK/full-$1.out" 2>&1 ||
    { stop_stamping; kill "$vpid" 2>/dev/null; cat "$WORK/full-$1.out" >&2; die "full probe boot $1 failed"; }
  t1=${EPOCHREALTIME/./}
  stop_stamping
  # virtiofsd exits when its VM goes; give it a moment, then stop it.
  for ((i = 0; i < 200; i++)); do
    kill -0 "$vpid" 2>/dev/null || break
    sleep 0.01
  done
  kill "$vpid" 2>/dev/null || true
  wait "$vpid" 2>/dev/null || true
  grep -q 'bench-probe: FAIL' "$log" && { cat "$log" >&2; die "full probe boot $1: a step failed"; }
  probe_report "$t0" "$t1" "$log" "$WORK/full-$1.stamps" >"$WORK/full-$1.steps"
}

# runvm under strace (runvm's own process only) with its console log
# stamped on the same clock: prints "EVENT<TAB>seconds".
run_runvm_traced() {  # N
  local trace=$WORK/runvm-$1.strace id=$ID_PREFIX-$1
  start_stamping "$RUNVM_ROOT/$id/console.log" "$WORK/runvm-$1.stamps"
  env -u RUNVM_KERNEL_ARGS timeout -k 5 "$TIMEOUT" strace -ttt -s 200 -o "$trace" \
    "$RUNVM" --root "$RUNVM_ROOT" run --bundle "$BUNDLE" "$id" </dev/null \
    >"$WORK/runvm-$1.out" 2>&1 ||
    { stop_stamping; cat "$WORK/runvm-$1.out" >&2; die "traced runvm run $1 failed"; }
  stop_stamping
  awk -F'\t' '
    FILENAME ~ /stamps$/ {
      if ($2 ~ /runvm-agent: .*loading modules/) loading = $1
      if ($2 ~ /runvm-agent: .*mounting the container root/) mounting = $1
      if ($2 ~ /runvm-agent: .*connected to the host/) connected = $1
      next
    }
    { split($0, f, " "); t = f[1]; last = f[length(f)] }
    FNR == 1 { t0 = t }
    / clone\(| clone3\(/ { nclone++; clone_t[nclone] = t; clone_pid[nclone] = last }
    /wait4\(/ && last ~ /^[0-9]+$/ { waited[last] = t }
    /accept4\(/ && !accepted { accepted = t }
    /read\(.*runvm-agent/ && !hello { hello = t }
    /read\(.*control\{\\"pid\\"/ && !started { started = t }
    /read\(.*exit_code/ && !exited { exited = t }
    /write\(.*shutdown/ && !shutdown { shutdown = t }
    /\+\+\+ exited/ { end = t }
    END {
      # The last clone before the agent channel is QEMU; earlier ones waited
      # for before it are probes, the first one not waited for is virtiofsd.
      for (i = 1; i <= nclone; i++) if (clone_t[i] < accepted) qemu = i
      for (i = 1; i < qemu; i++) {
        p = clone_pid[i]
        if ((p in waited) && waited[p] < clone_t[qemu]) probe += waited[p] - clone_t[i]
        else if (!vfsd) vfsd = clone_t[i]
      }
      q = clone_t[qemu]; qexit = waited[clone_pid[qemu]]
      printf "runvm start to QEMU spawn\t%f\n", q - t0
      printf "  within it: runvm start to virtiofsd spawn\t%f\n", vfsd - t0
      printf "  within it: sandbox probe (qemu -sandbox on -version)\t%f\n", probe
      printf "QEMU spawn to agent channel accepted\t%f\n", accepted - q
      printf "QEMU spawn to agent: loading modules (host clock)\t%f\n", loading - q
      printf "agent: loading modules to mounting the container root\t%f\n", mounting - loading
      printf "agent: mounting the container root to connected\t%f\n", connected - mounting
      printf "agent: connected to runvm reads its hello\t%f\n", hello - connected
      printf "hello to container started\t%f\n", started - hello
      printf "container started to exit status\t%f\n", exited - started
      printf "exit status to shutdown sent\t%f\n", shutdown - exited
      printf "shutdown sent to QEMU exit\t%f\n", qexit - shutdown
      printf "QEMU exit to runvm exit\t%f\n", end - qexit
      printf "total (traced)\t%f\n", end - t0
    }' "$WORK/runvm-$1.stamps" "$trace" >"$WORK/runvm-$1.steps"
}

# Median over runs of each step: the file names' prefix selects the kind.
# With "delta", each step's value is the time since the previous step.
summarize() {  # KIND delta|abs
  local kind=$1 mode=$2
  awk -F'\t' -v mode="$mode" '
    FNR == 1 { prev = ""; run++ }
    {
      step = $1; v = $2
      if (!(step in seen)) { seen[step] = 1; order[++n] = step }
      if (mode == "delta" && step !~ /^qemu wall/) {
        d = (prev == "") ? v : v - prev; prev = v; v = d
      }
      vals[step] = vals[step] " " v
    }
    END {
      for (i = 1; i <= n; i++) {
        c = split(substr(vals[order[i]], 2), a, " ")
        for (x = 1; x <= c; x++) for (y = x + 1; y <= c; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t }
        m = (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
        printf "  %-48s %9.1f ms   (min %.1f, max %.1f)\n", order[i], m * 1000, a[1] * 1000, a[c] * 1000
      }
    }' "$WORK/$kind"-*.steps
}

echo "== where runvm run's time goes: $RUNS runs each, interleaved =="
print_machine
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (before)"
for ((n = 1; n <= RUNS; n++)); do
  run_bare_probe "$n"
  run_full_probe "$n"
  run_runvm_traced "$n"
done
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (after)"
echo
echo "(A) bare probe boot, no devices (guest times from kernel start):"
summarize bare abs
echo
echo "(B) full probe boot, runvm's devices + virtiofsd (each step: time since the previous one;"
echo "    the first, init, is kernel start to /init):"
summarize full delta
echo
echo "(C) runvm run under strace, host side:"
summarize runvm abs

# One more full probe boot with initcall_debug, its kernel log copied to the
# console: how much of each module's step is its init function (device probe
# included) rather than loading it (reading, signature check, relocation).
qemu_argv "$WORK/probe-initramfs.img" devices "printk.devkmsg=on initcall_debug bench_dmesg=1"
FULL_ARGV=("${QEMU_ARGV[@]}")
run_full_probe initcalls
echo
echo "(D) one full probe boot with initcall_debug: module init functions, and the"
echo "    slowest built-in initcalls (the bare boot's own cost):"
tr -d '\r' <"$WORK/full-initcalls.console" |
  sed -n '/bench-probe: dmesg begin/,/bench-probe: dmesg end/p' |
  sed -n 's/.*initcall \([^ ]*\) \(\[[a-z_]*\] \)\{0,1\}returned .* after \([0-9]*\) usecs.*/\3 \1 \2/p' |
  awk '{ us = $1; fn = $2; sub(/\+.*/, "", fn); mod = $3
         if (mod != "") printf "  module %-40s init %7.1f ms\n", mod, us / 1000
         else print us, fn > "/dev/stderr" }' 2>"$WORK/builtin-initcalls"
sort -rn "$WORK/builtin-initcalls" |
  awk 'NR <= 12 { printf "  built-in %-38s %7.1f ms\n", $2, $1 / 1000 }'
awk '{ t += $1 } END { printf "  all built-in initcalls                          %7.1f ms\n", t / 1000 }' \
  "$WORK/builtin-initcalls"
