# shellcheck shell=bash
# Shared by bench/docker_bench.sh, bench/cp_bench.sh and
# bench/density_bench.sh (sourced, not run, after the caller's root check):
# one private dockerd started the way tests/e2e/docker_test.cc starts it
# (its own data root, exec root, pidfile, socket, config file and
# containerd namespaces) under a short temp dir W (runvm keeps its Unix
# sockets in <exec-root>/runtime-runc/<namespace>/<64-hex id>/, and socket
# paths cannot exceed 107 bytes), a snapshot of runvm and its guest, and the
# part of the cleanup that removes all of it.
# The caller provides BENCH_NAME, die, TIMEOUT (seconds per docker command),
# BUSYBOX (a static busybox) and IMAGE (the image's name), and calls
# docker_cleanup from its EXIT trap (or sets docker_exit_cleanup as the
# trap). A caller with a temp dir of its own sets WORK: what names WORK or
# lies under it is the run's, as is what names W.

DOCKER_CLI=/usr/bin/docker  # the docker.io 20.10 client: it matches the daemon's API
DOCKERD=$(command -v dockerd || true)
[[ -n $DOCKERD && -x $DOCKER_CLI ]] || die "dockerd or $DOCKER_CLI not found (package docker.io)"
for tool in findmnt setsid timeout tar; do
  command -v "$tool" >/dev/null || die "'$tool' not found"
done

# Docker's cgroup parent in every hierarchy (v1 controllers, the unified
# hierarchy of a hybrid host, or the root of a pure v2 host); those that
# exist now are not ours to remove.
CGROUP_PARENTS=(/sys/fs/cgroup/docker)
for d in /sys/fs/cgroup/*/; do CGROUP_PARENTS+=("${d}docker"); done
declare -A CGROUP_EXISTED
for d in "${CGROUP_PARENTS[@]}"; do [[ -d $d ]] && CGROUP_EXISTED[$d]=1; done

W=  # made by docker_dir, which the caller runs once its cleanup trap is set
DOCKER=()
DOCKERD_PID=
CONTAINER_IDS=()   # every container started with -d (full ids)
CONTAINER_PIDS=()  # their State.Pid

alive() {  # PID: exists and is not a zombie
  local stat
  { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}
descendants() {  # PID: its descendants' PIDs, parents first
  local f stat p pp
  local -A kids=()
  for f in /proc/[0-9]*/stat; do
    { stat=$(<"$f"); } 2>/dev/null || continue
    p=${f#/proc/}
    p=${p%/stat}
    stat=${stat##*) }
    read -r _ pp _ <<<"$stat"
    kids[$pp]+=" $p"
  done
  local -a queue=("$1")
  while ((${#queue[@]})); do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    [[ $p != "$1" ]] && echo "$p"
    # shellcheck disable=SC2206
    queue+=(${kids[$p]:-})
  done
}
# OURS = an ERE alternation of the run's directories (empty: none yet). An
# empty alternative would match every path, hence no trailing '|'.
ours_re() {
  OURS=${WORK:-}
  [[ -n $W ]] && OURS+=${OURS:+|}$W
  return 0
}
# names_ours PID: whether the process's command line names one of the
# run's directories (as a path).
names_ours() {
  local cmd OURS
  ours_re
  [[ -n $OURS ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
  [[ $cmd =~ ($OURS)(/|[[:space:]]|$) ]]
}
# Our processes: dockerd, its containerd, the shims, runvm's monitors, QEMU,
# virtiofsd.
processes_ours() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    names_ours "$p" && echo "$p"
  done
  return 0
}
mounts_ours() {  # deepest first
  local OURS
  ours_re
  [[ -n $OURS ]] || return 0
  findmnt -rn -o TARGET | { grep -E "^($OURS)(/|$)" || true; } |
    awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}
container_pid_is_ours() {  # PID: its cgroup names one of our containers
  local id
  for id in "${CONTAINER_IDS[@]}"; do
    grep -q "$id" "/proc/$1/cgroup" 2>/dev/null && return 0
  done
  return 1
}

# What is left of the run: processes naming its directories, our
# containers' processes and cgroups, mounts under its directories, the
# directories.
leftovers() {
  local p id d
  for p in $(processes_ours); do echo "process: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"; done
  for p in "${CONTAINER_PIDS[@]}"; do
    alive "$p" && container_pid_is_ours "$p" && echo "container process: $p"
  done
  for id in "${CONTAINER_IDS[@]}"; do
    for d in "${CGROUP_PARENTS[@]}"; do [[ -d $d/$id ]] && echo "cgroup: $d/$id"; done
  done
  mounts_ours | sed 's/^/mount: /'
  [[ -n ${WORK:-} && -e $WORK ]] && echo "directory: $WORK"
  [[ -n $W && -e $W ]] && echo "directory: $W"
  return 0
}

stop_dockerd() {
  local pid i
  pid=$(cat "$W/docker.pid" 2>/dev/null || true)
  if ! [[ $pid =~ ^[0-9]+$ ]] || ! names_ours "$pid"; then pid=$DOCKERD_PID; fi
  [[ -n $pid ]] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 150; i++)); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      echo "$BENCH_NAME: dockerd $pid did not stop in 15 s: SIGKILL to its process group" >&2
      kill -KILL -- "-$pid" 2>/dev/null
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  [[ -n $DOCKERD_PID ]] && wait "$DOCKERD_PID" 2>/dev/null
  return 0
}

# docker_cleanup: the containers, dockerd, whatever still names the run's
# directories, the cgroups the run made, its mounts and its directories.
# For the caller's cleanup, under set +e: a failing step must not end it.
# The caller reports leftovers afterwards.
docker_cleanup() {
  local ids p d id m
  if [[ -n $DOCKERD_PID ]] && alive "$DOCKERD_PID"; then
    ids=$(timeout -k 5 20 "${DOCKER[@]}" ps -aq 2>/dev/null)
    # shellcheck disable=SC2086
    [[ -n $ids ]] && timeout -k 5 120 "${DOCKER[@]}" rm -f $ids >/dev/null 2>&1
  fi
  [[ -n $W ]] && stop_dockerd
  for _ in 1 2; do  # a dying dockerd's containerd and shims, runvm's monitors, QEMU, virtiofsd
    for p in $(processes_ours); do
      echo "$BENCH_NAME: killing leftover $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)" >&2
      kill -KILL "$p" 2>/dev/null
    done
    for p in "${CONTAINER_PIDS[@]}"; do
      if alive "$p" && container_pid_is_ours "$p"; then
        echo "$BENCH_NAME: killing leftover container process $p" >&2
        kill -KILL "$p" 2>/dev/null
      fi
    done
    sleep 0.3
  done
  # The containers' cgroups (the runtimes remove them on delete: this is for
  # a run that died), then Docker's parents that this run made.
  for id in "${CONTAINER_IDS[@]}"; do
    for d in "${CGROUP_PARENTS[@]}"; do
      [[ -d $d/$id ]] && rmdir "$d/$id" 2>/dev/null
    done
  done
  for _ in 1 2 3; do  # a runtime may remove its cgroups a moment late
    m=0
    for d in "${CGROUP_PARENTS[@]}"; do
      [[ -d $d && -z ${CGROUP_EXISTED[$d]:-} ]] && { rmdir "$d" 2>/dev/null || m=1; }
    done
    ((m)) || break
    sleep 0.5
  done
  for d in "${CGROUP_PARENTS[@]}"; do
    [[ -d $d && -z ${CGROUP_EXISTED[$d]:-} ]] &&
      echo "$BENCH_NAME: note: $d (made during the run) is not empty: kept;" \
        "in it: $(cd "$d" && find . -mindepth 1 -maxdepth 1 -type d -printf '%f ' 2>/dev/null)" >&2
  done
  for _ in 1 2 3; do
    m=$(mounts_ours)
    [[ -z $m ]] && break
    while IFS= read -r p; do umount -l "$p" 2>/dev/null; done <<<"$m"
  done
  [[ -n ${WORK:-} ]] && rm -rf "$WORK"
  [[ -n $W ]] && rm -rf "$W"
  return 0
}

# docker_dir PREFIX NS_PREFIX: W = a fresh /tmp/PREFIXXXX, the containerd
# namespace NS (unique while W exists, short for the socket paths) and the
# client's DOCKER command line, with a config of its own: nothing of the
# user's.
docker_dir() {
  W=$(mktemp -d "/tmp/$1XXX")
  chmod 711 "$W"
  NS=$2${W#/tmp/"$1"}
  DOCKER=("$DOCKER_CLI" -H "unix://$W/docker.sock")
  export DOCKER_CONFIG=$W/client
  unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
}

# snapshot_runvm DIR CHECK_OUT: copies $RUNVM, $KERNEL and $INITRAMFS into
# DIR in runvm's install layout (bin/runvm, share/runvm/), so that a
# concurrent rebuild (the files missing or half-written for a moment) cannot
# break the run, and writes the copy's `runvm check` to CHECK_OUT. Waits for
# the files to be there and stable; retries a failed copy.
snapshot_runvm() {
  local dst=$1 out=$2 try s1 s2
  mkdir -p "$dst/bin" "$dst/share/runvm"
  for ((try = 1; ; try++)); do
    if [[ -x $RUNVM && -f $KERNEL && -f $INITRAMFS ]]; then
      s1=$(stat -c '%s %Y' "$RUNVM" "$KERNEL" "$INITRAMFS")
      sleep 1
      s2=$(stat -c '%s %Y' "$RUNVM" "$KERNEL" "$INITRAMFS" 2>/dev/null || true)
      if [[ $s1 == "$s2" ]] &&
        cp "$RUNVM" "$dst/bin/runvm" 2>/dev/null &&
        cp "$KERNEL" "$dst/share/runvm/vmlinuz" 2>/dev/null &&
        cp "$INITRAMFS" "$dst/share/runvm/initramfs.img" 2>/dev/null &&
        [[ $(stat -c '%s %Y' "$RUNVM" "$KERNEL" "$INITRAMFS" 2>/dev/null) == "$s1" ]] &&
        "$dst/bin/runvm" check >"$out" 2>/dev/null; then
        break
      fi
    fi
    ((try < 60)) || die "$RUNVM, $KERNEL or $INITRAMFS missing or changing for 2 minutes (build the project first)"
    echo "$BENCH_NAME: $RUNVM or its guest is missing or being rebuilt; retrying" >&2
    sleep 1
  done
}

# dk ARGS...: docker ARGS (stdin /dev/null, a time limit), its stdout on
# stdout; dies with its stderr if it fails. Use as `x=$(dk ...)` or plain,
# never inside another command's arguments (set -e would not see it).
dk() {
  local rc=0 err
  err=$(mktemp "$W/dk-err.XXXXXX")
  timeout -k 5 "$TIMEOUT" "${DOCKER[@]}" "$@" </dev/null 2>"$err" || rc=$?
  if ((rc != 0)); then
    echo "$BENCH_NAME: 'docker $*' failed (exit $rc); its stderr:" >&2
    sed 's/^/  /' "$err" >&2
    exit 1
  fi
  rm -f "$err"
}

# start_dockerd [DOCKERD-FLAG...]: the daemon, flags as in
# tests/e2e/docker_test.cc plus the caller's; an empty config file so that
# no /etc/docker/daemon.json changes it. In its own session (process
# group), with no runvm guest overrides in its environment (a runtime's
# guest is next to its binary). Waits until it answers; sets DOCKERD_PID and
# DOCKER_VERSION.
start_dockerd() {
  local up=0 i
  echo '{}' >"$W/daemon.json"
  env -u RUNVM_KERNEL -u RUNVM_INITRAMFS -u RUNVM_KERNEL_ARGS \
    setsid "$DOCKERD" --iptables=false --bridge=none \
    --data-root "$W/data" --exec-root "$W" \
    --pidfile "$W/docker.pid" -H "unix://$W/docker.sock" \
    --config-file "$W/daemon.json" "$@" \
    --containerd-namespace "$NS" --containerd-plugins-namespace "${NS}p" \
    </dev/null >"$W/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for ((i = 0; i < 150; i++)); do
    alive "$DOCKERD_PID" || { tail -20 "$W/dockerd.log" >&2; die "dockerd exited at start"; }
    if timeout 5 "${DOCKER[@]}" version >/dev/null 2>&1; then up=1; break; fi
    sleep 0.2
  done
  ((up)) || { tail -20 "$W/dockerd.log" >&2; die "dockerd did not answer 'docker version' within 30 s"; }
  # shellcheck disable=SC2034  # the caller's header prints it
  DOCKER_VERSION=$(dk version -f 'client {{.Client.Version}}, server {{.Server.Version}} (API {{.Server.APIVersion}})')
}

# import_busybox "APPLET..." [DIR...]: IMAGE = a `docker import` of a
# busybox-static rootfs with those applets, /etc/passwd and /etc/group for
# root, and the directories DIR besides the usual ones.
import_busybox() {
  local applet d
  local -a applets
  read -r -a applets <<<"$1"
  shift
  mkdir -p "$W/rootfs"/{bin,etc,proc,sys,dev,tmp,root}
  for d in "$@"; do mkdir -p "$W/rootfs/$d"; done
  chmod 1777 "$W/rootfs/tmp"
  cp "$BUSYBOX" "$W/rootfs/bin/busybox"
  for applet in "${applets[@]}"; do ln -s busybox "$W/rootfs/bin/$applet"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$W/rootfs/etc/passwd"
  echo 'root:x:0:' >"$W/rootfs/etc/group"
  tar -C "$W/rootfs" --numeric-owner --owner=0 --group=0 -cf "$W/rootfs.tar" .
  rm -rf "$W/rootfs"
  dk import "$W/rootfs.tar" "$IMAGE" >/dev/null
}

# start_sleeper RUNTIME NAME: a detached `sleep 100000` container, recorded
# for the cleanup; sets CID (full id) and CPID (State.Pid).
start_sleeper() {
  CID=$(dk run -d --name "$2" --network none --runtime "$1" "$IMAGE" sleep 100000)
  [[ $CID =~ ^[0-9a-f]{64}$ ]] || die "docker run -d $2: unexpected output '$CID'"
  CONTAINER_IDS+=("$CID")
  CPID=$(dk inspect -f '{{.State.Pid}}' "$CID")
  [[ $CPID =~ ^[1-9][0-9]*$ ]] || die "$2: State.Pid is '$CPID'"
  CONTAINER_PIDS+=("$CPID")
}

# docker_exit_cleanup: an EXIT trap for a caller with nothing of its own to
# remove: docker_cleanup, then what is left (an error if anything), and the
# exit status.
docker_exit_cleanup() {
  local rc=$? left msg
  trap - EXIT INT TERM ERR
  set +e  # a failing step here must not end the cleanup
  docker_cleanup
  left=$(leftovers)
  if [[ -n $left ]]; then
    sed "s/^/$BENCH_NAME: left behind: /" <<<"$left" >&2
    ((rc == 0)) && rc=1
  else
    msg="left behind: nothing (no process naming $W, no container process, no mount, no $W)"
    if ((rc == 0)); then echo "$msg"; else echo "$BENCH_NAME: $msg" >&2; fi
  fi
  exit "$rc"
}
