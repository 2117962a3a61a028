#!/usr/bin/env bash
# Copy benchmark (not a test): `runvm cp` against `docker cp` on a runc
# container, side by side, for two payloads and both directions:
#   big    one file of BENCH_BIG_MB MiB (default 1024) of random bytes;
#   small  BENCH_FILES files (default 20000) of 1-8 KiB of random bytes in
#          20 directories two levels deep (small/dI/eJ/fNNNNNN);
#   in     `runvm cp SRC c1:/data/`      vs `docker cp SRC C:/data/`;
#   out    `runvm cp c1:/data/X DEST/`   vs `docker cp C:/data/X DEST/`.
# runvm: a busybox bundle (lib.sh's make_bundle, a network namespace, a
# writable root, process `sleep 100000`), `runvm create` (stdio to files)
# and `start`; /data is on the rootfs share (not the guest's /tmp tmpfs), so
# a copy in is checked on the host's bundle rootfs. Docker: one private
# dockerd started as bench/docker_bench.sh starts it (bench/docker_lib.sh:
# short temp dir /tmp/cbXXX as exec root, --iptables=false --bridge=none,
# its own containerd namespaces, the docker.io 20.10 client
# /usr/bin/docker), an imported busybox-static image, `docker run -d
# --runtime runc --network none IMG sleep 100000`; a copy in is checked
# inside the container (busybox md5sum through `docker exec`).
# Per copy: wall time (exec to exit), MiB/s of payload bytes, the copying
# client's peak RSS (/usr/bin/time %M, else VmHWM polled), and on the other
# side: runvm's monitor VmHWM and QEMU's and virtiofsd's VmRSS before ->
# after; dockerd's VmRSS and VmHWM before -> after (dockerd is long-lived,
# so this is its growth over the copy, not a per-copy peak; the
# `docker-untar`/`docker-tar` helpers dockerd re-execs are not counted).
# Every copy is verified: size and md5 of the big file; file count and one
# md5 over `find . -type f | sort | xargs md5sum` of the small tree.
# Each round runs docker then runvm for each payload and direction; the
# page cache is warm for both (the sources were just written or copied).
#
# Usage: bench/cp_bench.sh [RUNS]      (default 1; medians when RUNS > 1)
# Environment: BENCH_BIG_MB (default 1024), BENCH_FILES (default 20000),
# BENCH_CP_TIMEOUT (seconds per copy, default 3600), BENCH_TIMEOUT (seconds
# per other command, default 120), RUNVM (default build/bin/runvm),
# RUNVM_KERNEL and RUNVM_INITRAMFS (a variant guest). runvm and its guest
# are copied into the work directory first, so a concurrent rebuild of the
# tree cannot break the run.
# Needs root, dockerd and /usr/bin/docker (docker.io), busybox-static, jq,
# perl. Exits non-zero if a command fails or times out, a copy does not
# verify, or anything of the run (process, container, mount, cgroup, temp
# directory) is left behind after the cleanup.
set -eEuo pipefail
shopt -s inherit_errexit  # a failure inside $(...) fails the substitution too

RUNS=${1:-1}
BIG_MB=${BENCH_BIG_MB:-1024}
NFILES=${BENCH_FILES:-20000}
CP_TIMEOUT=${BENCH_CP_TIMEOUT:-3600}
export BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}  # lib.sh's TIMEOUT
USAGE="usage: $0 [RUNS]   (env: BENCH_BIG_MB, BENCH_FILES, BENCH_CP_TIMEOUT, BENCH_TIMEOUT, RUNVM)"
[[ $RUNS =~ ^[1-9][0-9]*$ && $BIG_MB =~ ^[1-9][0-9]*$ && $NFILES =~ ^[1-9][0-9]*$ &&
  $CP_TIMEOUT =~ ^[1-9][0-9]*$ && $BENCH_TIMEOUT =~ ^[1-9][0-9]*$ ]] || { echo "$USAGE" >&2; exit 2; }
T_START=${EPOCHREALTIME/./}
BENCH_NAME=cp_bench  # read by lib.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # REPO RUNVM KERNEL INITRAMFS BUSYBOX WORK die make_bundle median print_machine
RUNVM_ROOT=$WORK/rr
IMAGE=runvm-cp-bench-busybox:1
ID=c1

((EUID == 0)) || die "needs root (dockerd, cgroups, /proc/PID/status of dockerd)"
# shellcheck source=bench/docker_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/docker_lib.sh"  # DOCKERD DOCKER W NS dk start_dockerd docker_cleanup ...
for tool in jq perl md5sum; do
  command -v "$tool" >/dev/null || die "'$tool' not found"
done
TIME_BIN=
[[ -x /usr/bin/time ]] && TIME_BIN=/usr/bin/time

# ---------------------------------------------------------------- cleanup
NETNS_BEFORE=$(ls /run/netns 2>/dev/null | sort || true)
RUNVM_CREATED=0
SAMPLER_PID=

cp_cleanup() {
  local rc=$? id left new
  trap - EXIT INT TERM ERR
  set +e  # a failing step here must not end the cleanup
  [[ -n $SAMPLER_PID ]] && { kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; }
  if ((RUNVM_CREATED)); then
    timeout -k 2 30 "$RUNVM" --root "$RUNVM_ROOT" delete --force "$ID" >/dev/null 2>&1 ||
      echo "$BENCH_NAME: runvm delete --force $ID failed" >&2
  fi
  if [[ -d $RUNVM_ROOT ]]; then
    for id in $("$RUNVM" --root "$RUNVM_ROOT" list -q 2>/dev/null); do
      timeout -k 2 30 "$RUNVM" --root "$RUNVM_ROOT" delete --force "$id" >/dev/null 2>&1
    done
  fi
  docker_cleanup
  left=$(leftovers)
  new=$(comm -13 <(echo "$NETNS_BEFORE") <(ls /run/netns 2>/dev/null | sort) | paste -sd' ')
  [[ -n $new ]] && echo "$BENCH_NAME: note: /run/netns gained '$new' during the run" \
    "(this script names none there; other work on the host may have)" >&2
  if [[ -n $left ]]; then
    sed "s/^/$BENCH_NAME: left behind: /" <<<"$left" >&2
    ((rc == 0)) && rc=1
  else
    echo "left behind: nothing (no runvm container, no process naming $WORK or ${W:-the docker dir}," \
      "no container process, no mount, no cgroup, no temp dir)" >&2
  fi
  echo "total wall time: $(((${EPOCHREALTIME/./} - T_START) / 1000000)) s" >&2
  exit "$rc"
}
trap cp_cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "$BENCH_NAME: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

# ---------------------------------------------------------------- helpers
mibs() { awk -v b="$1" -v us="$2" 'BEGIN { if (us > 0) printf "%.1f", b / 1048576 / (us / 1e6); else print "n/a" }'; }
secs() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e6 }'; }
mib() { awk -v kb="$1" 'BEGIN { if (kb == "" || kb == "?") print "?"; else printf "%.1f", kb / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
status_kb() {  # PID FIELD: /proc/PID/status FIELD in kB, or ?
  local v
  v=$(awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status" 2>/dev/null) || v=
  if [[ $v =~ ^[0-9]+$ ]]; then echo "$v"; else echo '?'; fi
}

# sampler ROOT OUT: until killed, every 20 ms, writes to OUT "RSS HWM COMM":
# the largest VmRSS of process ROOT seen, and the largest VmHWM of any of
# its descendants other than containerd, shims, runc and the containers'
# processes (dockerd's re-exec'd archive helpers), with that one's comm.
# No fork per sample (bash's read on /proc files), to stay off the CPUs the
# copy needs.
kb_of() {  # FILE FIELD: sets KB (the /proc status FIELD, kB) or empty
  local k v _
  KB=
  while read -r k v _; do
    [[ $k == "$2:" ]] && { KB=$v; return 0; }
  done <"$1" 2>/dev/null
  return 0
}
sampler() {
  local root=$1 out=$2 max_rss=0 max_hwm=0 max_comm=- p c f comm line
  local -a queue subs
  trap - ERR
  set +e
  while :; do
    kb_of "/proc/$root/status" VmRSS
    [[ $KB =~ ^[0-9]+$ ]] && ((KB > max_rss)) && max_rss=$KB
    queue=("$root")
    while ((${#queue[@]})); do
      p=${queue[0]}
      queue=("${queue[@]:1}")
      subs=()
      for f in /proc/"$p"/task/*/children; do
        line=
        read -r -d '' line <"$f" 2>/dev/null
        # shellcheck disable=SC2206
        subs+=($line)
      done
      for c in "${subs[@]}"; do
        comm=
        read -r comm <"/proc/$c/comm" 2>/dev/null
        case $comm in
          containerd* | runc* | sleep | '') continue ;;
        esac
        queue+=("$c")
        kb_of "/proc/$c/status" VmHWM
        if [[ $KB =~ ^[0-9]+$ ]] && ((KB > max_hwm)); then max_hwm=$KB max_comm=$comm; fi
      done
    done
    echo "$max_rss $max_hwm $max_comm" >"$out.tmp" && mv "$out.tmp" "$out"
    sleep 0.02
  done
}

# run_peak LOG TIMEOUT CMD...: runs CMD (stdin /dev/null, stdout and stderr
# to LOG); sets RUN_US (exec to exit, µs) and RUN_KB (its peak RSS, kB);
# dies with LOG if CMD fails or runs past TIMEOUT seconds.
run_peak() {
  local log=$1 limit=$2 t0 t1 rc=0 pid hwm deadline
  shift 2
  RUN_KB='?'
  if [[ -n $TIME_BIN ]]; then
    t0=${EPOCHREALTIME/./}
    timeout -k 5 "$limit" "$TIME_BIN" -f %M -o "$log.rss" "$@" </dev/null >"$log" 2>&1 || rc=$?
    t1=${EPOCHREALTIME/./}
    RUN_KB=$(tail -1 "$log.rss" 2>/dev/null || echo '?')
  else  # poll VmHWM (a last read just before exit can be missed: a lower bound)
    t0=${EPOCHREALTIME/./}
    "$@" </dev/null >"$log" 2>&1 &
    pid=$!
    deadline=$((t0 + limit * 1000000))
    while alive "$pid"; do
      hwm=$(status_kb "$pid" VmHWM)
      [[ $hwm != '?' ]] && RUN_KB=$hwm
      if ((${EPOCHREALTIME/./} > deadline)); then kill -KILL "$pid" 2>/dev/null; break; fi
      sleep 0.02
    done
    wait "$pid" || rc=$?
    t1=${EPOCHREALTIME/./}
  fi
  if ((rc != 0)); then
    echo "$BENCH_NAME: '$*' failed (exit $rc); its output:" >&2
    sed 's/^/  /' "$log" >&2
    exit 1
  fi
  [[ $RUN_KB =~ ^[0-9]+$ ]] || RUN_KB='?'
  RUN_US=$((t1 - t0))
}

# rv ARGS...: runvm --root RUNVM_ROOT ARGS (the same), stdout on stdout.
rv() {
  local rc=0 err
  err=$(mktemp "$WORK/rv-err.XXXXXX")
  env -u RUNVM_KERNEL_ARGS timeout -k 5 "$TIMEOUT" "$RUNVM" --root "$RUNVM_ROOT" "$@" </dev/null 2>"$err" || rc=$?
  if ((rc != 0)); then
    echo "$BENCH_NAME: 'runvm $*' failed (exit $rc); its stderr:" >&2
    sed 's/^/  /' "$err" >&2
    exit 1
  fi
  rm -f "$err"
}

# Checksums, the same commands on the host and in a busybox container:
# a file: "SIZE MD5"; a tree: "COUNT MD5" (one md5 over md5sum's lines for
# every file, sorted by relative path).
# shellcheck disable=SC2016  # expanded by the sh that runs it
SUM_FILE='f=$1; echo "$(stat -c %s "$f") $(md5sum <"$f" | cut -d" " -f1)"'
# shellcheck disable=SC2016
SUM_TREE='cd "$1" && n=$(find . -type f | wc -l) && echo "$n $(find . -type f | LC_ALL=C sort | xargs md5sum | md5sum | cut -d" " -f1)"'
host_sum() {  # big|small PATH
  if [[ $1 == big ]]; then sh -c "$SUM_FILE" sh "$2"; else sh -c "$SUM_TREE" sh "$2"; fi
}
docker_sum() {  # big|small PATH-in-container
  local s
  if [[ $1 == big ]]; then s=$SUM_FILE; else s=$SUM_TREE; fi
  dk exec "$CID" sh -c "$s" sh "$2"
}
squash() { tr -s ' \t\n' '  ' <<<"$1" | sed 's/^ //; s/ $//'; }

# ---------------------------------------------------------------- setup: runvm snapshot
snapshot_runvm "$WORK/rt" /dev/null
RUNVM_ORIG=$RUNVM
RUNVM=$WORK/rt/bin/runvm
KERNEL=$WORK/rt/share/runvm/vmlinuz
INITRAMFS=$WORK/rt/share/runvm/initramfs.img
export RUNVM_KERNEL=$KERNEL RUNVM_INITRAMFS=$INITRAMFS

# ---------------------------------------------------------------- setup: payloads
SRC=$WORK/src
mkdir -p "$SRC"
head -c $((BIG_MB * 1048576)) /dev/urandom >"$SRC/big.bin"
perl -MFile::Path=make_path -e '
  my ($dir, $n) = @ARGV;
  open(my $r, "<:raw", "/dev/urandom") or die "urandom: $!";
  for my $i (0 .. $n - 1) {
    my $d = sprintf("%s/d%d/e%d", $dir, $i % 4, int($i / 4) % 5);
    make_path($d);
    my $size = 1024 + int(rand(7169));  # 1 KiB .. 8 KiB
    read($r, my $buf, $size) == $size or die "short read";
    open(my $f, ">:raw", sprintf("%s/f%06d", $d, $i)) or die "$d: $!";
    print $f $buf or die;
    close($f) or die;
  }' "$SRC/small" "$NFILES"
declare -A BYTES WANT
BYTES[big]=$(stat -c %s "$SRC/big.bin")
BYTES[small]=$(find "$SRC/small" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
WANT[big]=$(host_sum big "$SRC/big.bin")
WANT[small]=$(host_sum small "$SRC/small")
[[ ${WANT[small]%% *} == "$NFILES" ]] || die "made ${WANT[small]%% *} small files, not $NFILES"
declare -A NAME=([big]=big.bin [small]=small)

# ---------------------------------------------------------------- setup: runvm container
BUNDLE=$WORK/bundle
make_bundle "$BUNDLE"
for applet in sleep rm mkdir; do ln -s busybox "$BUNDLE/rootfs/bin/$applet"; done
mkdir -p "$BUNDLE/rootfs/data"
jq '.process.args = ["/bin/sleep", "100000"] | .root.readonly = false
  | .linux.namespaces |= (if any(.[]; .type == "network") then . else . + [{"type": "network"}] end)' \
  "$BUNDLE/config.json" >"$WORK/config.json"
mv "$WORK/config.json" "$BUNDLE/config.json"
RUNVM_CREATED=1  # from here on the cleanup deletes it (a failed create may leave state)
env -u RUNVM_KERNEL_ARGS timeout -k 5 "$TIMEOUT" "$RUNVM" --root "$RUNVM_ROOT" \
  create --bundle "$BUNDLE" "$ID" </dev/null >"$WORK/c1.stdout" 2>"$WORK/c1.stderr" ||
  { sed 's/^/  /' "$WORK/c1.stderr" >&2; die "runvm create failed"; }
rv start "$ID"
MON_PID=$(rv state "$ID" | jq -r .pid)
[[ $MON_PID =~ ^[1-9][0-9]*$ ]] && alive "$MON_PID" || die "runvm state $ID: pid '$MON_PID' is not running"
QEMU_PID='' VFS_PID=''
# A few tries: one run of the whole bench once came back without them
# (a /proc walk that raced with processes coming and going).
for _ in 1 2 3 4 5; do
  for p in $(descendants "$MON_PID"); do
    case $(cat "/proc/$p/comm" 2>/dev/null) in
      qemu-system*) [[ -z $QEMU_PID ]] && QEMU_PID=$p ;;
      virtiofsd*) [[ -z $VFS_PID ]] && VFS_PID=$p ;;
    esac
  done
  [[ -n $QEMU_PID && -n $VFS_PID ]] && break
  sleep 0.2
done

# ---------------------------------------------------------------- setup: dockerd
docker_dir cb c
# shellcheck disable=SC2119  # runc only: no runtime to add
start_dockerd
import_busybox "sh true sleep cat rm stat md5sum cut find sort xargs wc echo" data
STORAGE=$(dk info -f '{{.Driver}}')
start_sleeper runc cb-runc

# ---------------------------------------------------------------- header
echo "== cp: runvm cp vs docker cp (runc), $RUNS round(s) =="
print_machine
echo "docker:      $DOCKER_VERSION; $DOCKERD; storage driver $STORAGE; client $DOCKER_CLI"
echo "runvm:       snapshot of $RUNVM_ORIG at $RUNVM; guest $(stat -c %s "$KERNEL") B kernel," \
  "$(stat -c %s "$INITRAMFS") B initramfs"
echo "runvm VM:    monitor $MON_PID, QEMU ${QEMU_PID:-?}, virtiofsd ${VFS_PID:-?};" \
  "$(tr '\0' ' ' <"/proc/${QEMU_PID:-0}/cmdline" 2>/dev/null | grep -oE '(-accel|-smp|-m) [^ ]+' | paste -sd' ' || true)"
echo "payloads:    big = 1 file, ${BYTES[big]} B ($(mib $((BYTES[big] / 1024))) MiB);" \
  "small = $NFILES files of 1-8 KiB, ${BYTES[small]} B ($(mib $((BYTES[small] / 1024))) MiB), 20 dirs"
if [[ -n $TIME_BIN ]]; then
  echo "peak RSS:    clients: $TIME_BIN -f %M; dockerd and its helpers: sampled every 20 ms"
else
  echo "peak RSS:    clients: VmHWM polled every 20 ms (a lower bound); dockerd and its helpers: sampled too"
fi
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (before)"
echo

# ---------------------------------------------------------------- the copies
# T[payload,dir,rt,n] µs; R[...] client peak kB; X[...] the other side.
declare -A T R X
OUT=$WORK/out
check() {  # WHAT GOT WANT
  [[ $(squash "$2") == "$(squash "$3")" ]] || die "$1: got '$(squash "$2")', want '$(squash "$3")'"
}
copy_docker() {  # PAYLOAD DIR N
  local p=$1 dir=$2 n=$3 log=$WORK/docker-$1-$2-$3.log rss0 hwm0 srss shwm scomm
  rss0=$(status_kb "$DOCKERD_PID" VmRSS) hwm0=$(status_kb "$DOCKERD_PID" VmHWM)
  [[ $dir == out ]] && { rm -rf "$OUT/docker" && mkdir -p "$OUT/docker"; }
  rm -f "$WORK/sampler"
  sampler "$DOCKERD_PID" "$WORK/sampler" &
  SAMPLER_PID=$!
  sleep 0.05  # its first sample: dockerd before the copy
  if [[ $dir == in ]]; then
    run_peak "$log" "$CP_TIMEOUT" "${DOCKER[@]}" cp "$SRC/${NAME[$p]}" "$CID:/data/"
  else
    run_peak "$log" "$CP_TIMEOUT" "${DOCKER[@]}" cp "$CID:/data/${NAME[$p]}" "$OUT/docker/"
  fi
  sleep 0.05
  kill "$SAMPLER_PID" 2>/dev/null
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=
  read -r srss shwm scomm <"$WORK/sampler" || { srss='?' shwm='?' scomm='?'; }
  T[$p,$dir,docker,$n]=$RUN_US R[$p,$dir,docker,$n]=$RUN_KB
  X[$p,$dir,docker,$n]="dockerd RSS $(mib "$rss0")->$(mib "$(status_kb "$DOCKERD_PID" VmRSS)")"
  X[$p,$dir,docker,$n]+=" (sampled peak $(mib "$srss")) HWM $(mib "$hwm0")->$(mib "$(status_kb "$DOCKERD_PID" VmHWM)")"
  if [[ $shwm =~ ^[0-9]+$ ]] && ((shwm > 0)); then
    X[$p,$dir,docker,$n]+="; helper $scomm peak $(mib "$shwm")"
  else
    X[$p,$dir,docker,$n]+="; no helper process seen"
  fi
  if [[ $dir == in ]]; then
    check "docker cp in $p (in the container)" "$(docker_sum "$p" "/data/${NAME[$p]}")" "${WANT[$p]}"
  else
    check "docker cp out $p" "$(host_sum "$p" "$OUT/docker/${NAME[$p]}")" "${WANT[$p]}"
    rm -rf "$OUT/docker"
  fi
}
copy_runvm() {  # PAYLOAD DIR N
  local p=$1 dir=$2 n=$3 log=$WORK/runvm-$1-$2-$3.log m0 q0 v0
  m0=$(status_kb "$MON_PID" VmHWM) q0=$(status_kb "${QEMU_PID:-0}" VmRSS) v0=$(status_kb "${VFS_PID:-0}" VmRSS)
  if [[ $dir == in ]]; then
    run_peak "$log" "$CP_TIMEOUT" env -u RUNVM_KERNEL_ARGS "$RUNVM" --root "$RUNVM_ROOT" \
      cp -q "$SRC/${NAME[$p]}" "$ID:/data/"
  else
    rm -rf "$OUT/runvm" && mkdir -p "$OUT/runvm"
    run_peak "$log" "$CP_TIMEOUT" env -u RUNVM_KERNEL_ARGS "$RUNVM" --root "$RUNVM_ROOT" \
      cp -q "$ID:/data/${NAME[$p]}" "$OUT/runvm/"
  fi
  T[$p,$dir,runvm,$n]=$RUN_US R[$p,$dir,runvm,$n]=$RUN_KB
  X[$p,$dir,runvm,$n]="monitor HWM $(mib "$m0")->$(mib "$(status_kb "$MON_PID" VmHWM)")"
  X[$p,$dir,runvm,$n]+=" QEMU RSS $(mib "$q0")->$(mib "$(status_kb "${QEMU_PID:-0}" VmRSS)")"
  X[$p,$dir,runvm,$n]+=" virtiofsd RSS $(mib "$v0")->$(mib "$(status_kb "${VFS_PID:-0}" VmRSS)")"
  if [[ $dir == in ]]; then  # /data is on the share: the host's bundle rootfs
    check "runvm cp in $p (bundle rootfs)" "$(host_sum "$p" "$BUNDLE/rootfs/data/${NAME[$p]}")" "${WANT[$p]}"
  else
    check "runvm cp out $p" "$(host_sum "$p" "$OUT/runvm/${NAME[$p]}")" "${WANT[$p]}"
    rm -rf "$OUT/runvm"
  fi
}

PAYLOADS=(big small)
DIRS=(in out)
printf '%-5s %-6s %-4s %-7s %9s %9s %10s   %s\n' round payld dir rt "time s" "MiB/s" "clientMiB" "other side (MiB, before->after)"
for ((n = 1; n <= RUNS; n++)); do
  for p in "${PAYLOADS[@]}"; do
    for dir in "${DIRS[@]}"; do
      for rt in docker runvm; do
        "copy_$rt" "$p" "$dir" "$n"
        printf '%-5s %-6s %-4s %-7s %9s %9s %10s   %s\n' "$n" "$p" "$dir" "$rt" \
          "$(secs "${T[$p,$dir,$rt,$n]}")" "$(mibs "${BYTES[$p]}" "${T[$p,$dir,$rt,$n]}")" \
          "$(mib "${R[$p,$dir,$rt,$n]}")" "${X[$p,$dir,$rt,$n]}"
      done
    done
    # Untimed: the copies in go, through each container (the guest's view
    # stays coherent), for the next round and the disk.
    dk exec "$CID" rm -rf "/data/${NAME[$p]}"
    rv exec "$ID" /bin/rm -rf "/data/${NAME[$p]}"
  done
done
echo

# ---------------------------------------------------------------- summary
vals() {  # KEY-PREFIX ARRAY-NAME
  local -n a=$2
  local k
  for ((k = 1; k <= RUNS; k++)); do echo "${a[$1,$k]}"; done
}
echo "== summary: median of $RUNS round(s); all copies verified (size+md5 / count+md5) =="
printf '%-7s %-4s %10s %9s %10s %9s %13s %14s %13s\n' payload dir "docker s" "MiB/s" "runvm s" "MiB/s" \
  "runvm/docker" "docker cli MiB" "runvm cp MiB"
for p in "${PAYLOADS[@]}"; do
  for dir in "${DIRS[@]}"; do
    # shellcheck disable=SC2046
    td=$(median $(vals "$p,$dir,docker" T)) tr_=$(median $(vals "$p,$dir,runvm" T))
    # shellcheck disable=SC2046
    rd=$(median $(vals "$p,$dir,docker" R)) rr=$(median $(vals "$p,$dir,runvm" R))
    printf '%-7s %-4s %10s %9s %10s %9s %13s %14s %13s\n' "$p" "$dir" "$(secs "$td")" \
      "$(mibs "${BYTES[$p]}" "$td")" "$(secs "$tr_")" "$(mibs "${BYTES[$p]}" "$tr_")" \
      "$(ratio "$tr_" "$td")" "$(mib "$rd")" "$(mib "$rr")"
  done
done
echo "(docker cp's copying is done by dockerd and an archive helper it re-execs ('exe'): see the per-copy lines;"
echo " dockerd's figures are its RSS before->after a copy and a 20 ms sampled peak, not a per-copy high-water mark)"
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (after)"
