# shellcheck shell=bash
# Shared by the benchmarks that run runvm and runc directly (sourced, not
# run). Sets REPO, RUNVM, KERNEL, INITRAMFS, RUNC, BUSYBOX and WORK (a fresh
# temporary directory) and installs a cleanup trap that force-deletes the
# runvm containers under RUNVM_ROOT, kills, by PID, any process still naming
# WORK on its command line, force-deletes runc's containers, runs the
# script's bench_extra_cleanup if it has one, and then removes WORK.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNVM=${RUNVM:-$REPO/build/bin/runvm}
# runvm itself reads RUNVM_KERNEL and RUNVM_INITRAMFS too, so setting them
# benchmarks a variant guest end to end (runvm and the bare boot alike).
KERNEL=${RUNVM_KERNEL:-$REPO/build/share/runvm/vmlinuz}
INITRAMFS=${RUNVM_INITRAMFS:-$REPO/build/share/runvm/initramfs.img}
TIMEOUT=${BENCH_TIMEOUT:-60}
BENCH_NAME=${BENCH_NAME:-bench}

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

for f in "$RUNVM" "$KERNEL" "$INITRAMFS"; do
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
RUNVM_ROOT=$WORK/runvm-root
RUNC_ROOT=$WORK/runc-root

bench_cleanup() {
  local rc=$? pid cmd c
  trap - EXIT INT TERM
  # runvm's containers first, through runvm, while their monitors live: a
  # VM's cgroup, redirects and pod share mounts go with its delete.
  if [[ -d $RUNVM_ROOT ]]; then
    for c in $("$RUNVM" --root "$RUNVM_ROOT" list -q 2>/dev/null); do
      timeout -k 2 20 "$RUNVM" --root "$RUNVM_ROOT" delete -f "$c" >/dev/null 2>&1 || true
    done
  fi
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
    if [[ $cmd == *"$WORK"* ]]; then
      echo "$BENCH_NAME: killing leftover $pid: ${cmd:0:120}" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  if [[ -d $RUNC_ROOT ]]; then
    for c in $("$RUNC" --root "$RUNC_ROOT" list -q 2>/dev/null); do
      "$RUNC" --root "$RUNC_ROOT" delete -f "$c" >/dev/null 2>&1 || true
    done
  fi
  # What a benchmark made besides (a network namespace, say), once its
  # containers are gone.
  if declare -F bench_extra_cleanup >/dev/null; then bench_extra_cleanup || true; fi
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "$BENCH_NAME: kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# build_initramfs INIT_C OUT: runvm's initramfs with /init replaced by
# INIT_C compiled static. The agent's bytes the new init does not replace
# stay in as an unused file, so the kernel unpacks an image of the same size
# with the same modules.
build_initramfs() {
  local src=$1 out=$2 dir
  dir=$(mktemp -d "$WORK/initramfs.XXXXXX")
  cc -static -O2 -o "$dir.init" "$src"
  (cd "$dir" && cpio -idm --quiet <"$INITRAMFS")
  [[ -f $dir/init ]] || die "$INITRAMFS has no /init"
  local agent_size init_size
  agent_size=$(stat -c %s "$dir/init")
  init_size=$(stat -c %s "$dir.init")
  if ((agent_size > init_size)); then
    head -c $((agent_size - init_size)) "$dir/init" >"$dir/.bench-pad"
  fi
  cp "$dir.init" "$dir/init"
  (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort |
    cpio -o -H newc --quiet --owner=0:0 --reproducible) >"$out"
  rm -rf "$dir" "$dir.init"
}

# make_bundle DIR: a static busybox rootfs whose process is /bin/true, with
# a config.json both runvm and runc accept (no terminal).
make_bundle() {
  local bundle=$1 applet
  mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev"
  cp "$BUSYBOX" "$bundle/rootfs/bin/busybox"
  for applet in sh true false echo cat ls; do ln -s busybox "$bundle/rootfs/bin/$applet"; done
  cat >"$bundle/config.json" <<'EOF'
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
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
  }
}
EOF
}

# run_runvm BUNDLE ID [runvm options...]: runvm's own kernel arguments only
# (RUNVM_KERNEL_ARGS would change the boot), stdin from /dev/null.
run_runvm() {
  local bundle=$1 id=$2
  shift 2
  env -u RUNVM_KERNEL_ARGS timeout -k 5 "$TIMEOUT" \
    "$RUNVM" "$@" --root "$RUNVM_ROOT" run --bundle "$bundle" "$id" </dev/null
}

run_runc() {  # BUNDLE ID
  timeout -k 5 "$TIMEOUT" "$RUNC" --root "$RUNC_ROOT" run --bundle "$1" "$2" </dev/null
}

# runvm_qemu_tokens LOG: QEMU_TOKENS = the QEMU command line that a
# `runvm --debug run` logged to LOG, split on spaces (runvm logs it joined).
# Warm-up (untimed): fills the page cache, and runvm's debug log gives the
# exact QEMU command line the bare boot is derived from (QEMU_TOKENS).
warm_up_runvm() {  # BUNDLE ID_PREFIX
  run_runvm "$1" "$2-warmup" --debug >"$WORK/warmup-runvm.log" 2>&1 || {
    cat "$WORK/warmup-runvm.log" >&2
    die "warm-up runvm run failed"
  }
  runvm_qemu_tokens "$WORK/warmup-runvm.log"
}

runvm_qemu_tokens() {
  local line
  line=$(sed -n 's/^.*qemu command line: //p' "$1" | head -1)
  [[ -n $line ]] || die "no 'qemu command line' in runvm --debug output ($1)"
  read -r -a QEMU_TOKENS <<<"$line"
}

# qemu_argv INITRD DEVICES EXTRA_KARGS: QEMU_ARGV = QEMU_TOKENS with our
# initramfs, EXTRA_KARGS appended to the kernel arguments and, unless
# DEVICES is "devices", no -chardev/-device/-serial/-global/-sandbox (no
# virtio-fs, no virtio-serial, no console: the caller adds a console).
# With DEVICES=devices the virtio-fs socket and agent socket paths are
# replaced by $WORK/vfs.sock (a virtiofsd the caller starts) and a listening
# agent socket, and the console chardev is dropped too.
qemu_argv() {
  local initrd=$1 devices=$2 extra=$3 i=1 opt val
  local -a kargs
  QEMU_ARGV=("${QEMU_TOKENS[0]}")
  while ((i < ${#QEMU_TOKENS[@]})); do
    opt=${QEMU_TOKENS[i]} val=${QEMU_TOKENS[i + 1]:-}
    case $opt in
      -append)
        kargs=()
        ((i += 1))
        while ((i < ${#QEMU_TOKENS[@]})) && [[ ${QEMU_TOKENS[i]} != -* ]]; do
          kargs+=("${QEMU_TOKENS[i]}")
          ((i += 1))
        done
        [[ -n $extra ]] && kargs+=("$extra")
        QEMU_ARGV+=(-append "${kargs[*]}")
        continue
        ;;
      -nodefaults | -no-user-config | -no-reboot)
        QEMU_ARGV+=("$opt")
        ((i += 1))
        continue
        ;;
      -initrd) QEMU_ARGV+=(-initrd "$initrd") ;;
      -chardev)
        if [[ $devices == devices && $val == socket,id=rootfs,* ]]; then
          QEMU_ARGV+=(-chardev "socket,id=rootfs,path=$WORK/vfs.sock")
        elif [[ $devices == devices && $val == socket,id=agent,* ]]; then
          QEMU_ARGV+=(-chardev "socket,id=agent,path=$WORK/agent.sock,server=on,wait=off")
        fi
        ;;
      -device | -global | -sandbox)
        [[ $devices == devices ]] && QEMU_ARGV+=("$opt" "$val")
        ;;
      -serial) ;;
      *) QEMU_ARGV+=("$opt" "$val") ;;
    esac
    ((i += 2))
  done
}

# The kernel arguments in QEMU_ARGV.
qemu_kernel_args() {
  local i
  for ((i = 0; i < ${#QEMU_ARGV[@]}; i++)); do
    [[ ${QEMU_ARGV[i]} == -append ]] && { echo "${QEMU_ARGV[i + 1]}"; return; }
  done
}

print_machine() {
  local check_json accel cpu_model
  check_json=$("$RUNVM" check 2>/dev/null || true)
  if command -v jq >/dev/null; then
    accel=$(jq -r '.accelerator.name + " (" + .accelerator.reason + ")"' <<<"$check_json" 2>/dev/null || true)
  else
    accel=$(tr -d '\n' <<<"$check_json" |
      sed -n 's/.*"accelerator": *{[^}]*"name": *"\([^"]*\)".*/\1/p')
  fi
  cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "accelerator: ${accel:-unknown}"
  echo "host:        $(nproc) CPUs, $cpu_model," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel:      $(uname -r)"
  echo "qemu:        $(qemu-system-x86_64 --version | head -1)"
  echo "runc:        $("$RUNC" --version | head -1)"
  echo "runvm:       $("$RUNVM" --version 2>/dev/null | head -1)"
}

# pss_kb PID: the process's PSS in kB ("" if it is gone or a kernel thread).
pss_kb() { awk '/^Pss:/ { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || true; }
# descendants PID...: the PIDs and every process below them.
descendants() {
  local -A children=()
  local p pp
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    pp=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null) || continue
    [[ -n $pp ]] && children[$pp]+=" $p"
  done
  local queue=("$@") out=() seen=" "
  while ((${#queue[@]})); do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    [[ $seen == *" $p "* ]] && continue
    seen+="$p "
    out+=("$p")
    # shellcheck disable=SC2206
    queue+=(${children[$p]:-})
  done
  echo "${out[@]}"
}

# timed VAR LOG CMD...: runs CMD (stdin /dev/null, stdout and stderr to LOG,
# a file, at most $TIMEOUT s), sets VAR to its duration in µs; dies with LOG
# if CMD fails.
timed() {
  local var=$1 log=$2 t0 t1 rc=0
  shift 2
  t0=${EPOCHREALTIME/./}
  timeout -k 5 "$TIMEOUT" "$@" </dev/null >"$log" 2>&1 || rc=$?
  t1=${EPOCHREALTIME/./}
  if ((rc != 0)); then
    echo "$BENCH_NAME: '${*: -3}' failed (exit $rc); its output:" >&2
    sed 's/^/  /' "$log" >&2
    die "run failed"
  fi
  printf -v "$var" '%s' $((t1 - t0))
}

# values OP RT: the RUNS timed values T[OP,RT,1..RUNS]; range OP RT: their
# min..max in ms.
values() {
  local n
  for ((n = 1; n <= RUNS; n++)); do echo "${T[$1,$2,$n]}"; done
}
range() {
  local lo hi
  read -r lo hi <<<"$(values "$1" "$2" | sort -n | sed -n '1p;$p' | paste -sd' ')"
  echo "$(ms "$lo")..$(ms "$hi")"
}
