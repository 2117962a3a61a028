#!/usr/bin/env bash
# scripts/fuzz.sh TARGET [SECONDS]: runs one libFuzzer target with
# AddressSanitizer for SECONDS (default 60), from a seed corpus made here.
# Targets:
#   import_fuzz        a tar stream into a fresh root (src/transfer/import_fuzz.cc)
#   guest_frames_fuzz  bytes from the guest into the host's session and message
#                      parsers (src/proto/guest_frames_fuzz.cc)
#   spec_fuzz          config.json / process.json parsing (src/oci/spec_fuzz.cc)
# A separate clang build in build-fuzz/ (FUZZ_BUILD_DIR to change it);
# findings are left in build-fuzz/fuzz-artifacts/TARGET/ and the script
# exits non-zero.
set -euo pipefail

cd "$(dirname "$0")/.."
TARGET=${1:?usage: scripts/fuzz.sh import_fuzz|guest_frames_fuzz|spec_fuzz [SECONDS]}
SECONDS_TO_RUN=${2:-60}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}

# fuzzer-no-link: coverage for our code, libFuzzer's main only in the target.
CXX=${CXX:-clang++} cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,fuzzer-no-link -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address" >/dev/null
ninja -C "$BUILD" "$TARGET"

seeds="$BUILD/fuzz-seeds/$TARGET"
corpus="$BUILD/fuzz-corpus/$TARGET"
artifacts="$BUILD/fuzz-artifacts/$TARGET"
mkdir -p "$seeds" "$corpus" "$artifacts"

import_seeds() {
  tree=$(mktemp -d)  # global: the EXIT trap runs after this function returns
  trap 'rm -rf "$tree"' EXIT
  mkdir -p "$tree/t/dir/sub" "$tree/t/$(printf 'n%.0s' {1..150})"
  echo hello >"$tree/t/file"
  : >"$tree/t/empty"
  ln -s file "$tree/t/link"
  ln -s /etc "$tree/t/abs"
  ln "$tree/t/file" "$tree/t/dir/hard"
  echo deep >"$tree/t/dir/sub/deep"
  printf 'x' >"$tree/t/bad$(printf '\377')"
  truncate -s 1M "$tree/t/sparse" && printf 'data' | dd of="$tree/t/sparse" bs=1 seek=70000 conv=notrunc status=none
  setfattr -n user.seed -v 1 "$tree/t/file" 2>/dev/null || true
  mkfifo "$tree/t/fifo"
  for format in posix gnu ustar v7; do
    tar -C "$tree" --format="$format" --sparse --xattrs -cf "$seeds/tree-$format.tar" t 2>/dev/null || true
  done
  tar -C "$tree/t" --format=posix -cf "$seeds/file.tar" file
  tar -C "$tree" --format=posix -cf "$seeds/dotdot.tar" --transform 's,^t/file$,../escape,' t/file
  tar -C "$tree" --format=posix -cf "$seeds/absolute.tar" -P --transform 's,^t,/t,' t/link t/file
}

# Frames as the agent sends them (docs/protocol.md), one message or a few
# per seed; the target puts a HELLO in front.
guest_frames_seeds() {
  python3 - "$seeds" <<'PY'
import json, struct, sys, os
out = sys.argv[1]
def frame(t, stream, payload):
    s, p = stream.encode(), payload if isinstance(payload, bytes) else payload.encode()
    return struct.pack('<HBBI', 0x5652, t, len(s), len(p)) + s + p
def msg(body): return frame(6, 'control', json.dumps(body))
seeds = {
  'created': msg({'type': 'created', 'id': 'init', 'pid': 42}),
  'started': msg({'type': 'started', 'id': 'init', 'pid': 42}),
  'exit': frame(4, 'init/stdout', b'') + frame(4, 'init/stderr', b'') +
          msg({'type': 'exit', 'id': 'init', 'exit_code': 137, 'signal': 9}),
  'start_failed': msg({'type': 'start_failed', 'id': 'e1', 'message': 'exec: "x": not found', 'exit_code': 127}),
  'copied': msg({'type': 'copied', 'id': 't1', 'exit_code': 1, 'bytes': 5, 'entries': 1, 'errors': 0,
                 'error': 'destination: open /srv'}),
  'ps': msg({'type': 'ps', 'request': 7, 'processes': [{'pid': 1, 'ppid': 0, 'uid': 0, 'tty': '?', 'time_ms': 20,
             'start_time_ms': 1500, 'cmd': {'hex': '7368ff'}}]}),
  'stats': msg({'type': 'stats', 'request': 8, 'cpu': {'usage_ns': 1, 'user_ns': 1, 'system_ns': 0},
                'memory': {'usage': 1, 'limit': 1, 'cache': 0, 'total': 536870912}, 'pids': {'current': 1, 'limit': 0},
                'unavailable': ['memory']}),
  'stat_path': msg({'type': 'stat_path', 'request': 12, 'kind': 'symlink', 'mode': 41471, 'size': 9,
                    'link_target': '/run/x', 'root_share': False}) +
               msg({'type': 'stat_path', 'request': 13, 'errno': 2, 'message': 'open /nope'}),
  'dns': msg({'type': 'dns_query', 'query': 3, 'data': 'abcd0100', 'tcp': True}),
  'net': msg({'type': 'network_updated', 'error': 'no'}) + msg({'type': 'updated', 'request': 9}) +
         msg({'type': 'failed', 'request': 9, 'message': 'x'}),
  'streams': frame(2, 'e1/x', b'') + frame(3, 'init/stdout', b'hello') + frame(5, 'init/stdin', struct.pack('<I', 4096)) +
             frame(4, 'init/stdout', b''),
  'error': frame(7, '', 'bye'),
  'host_create': msg({'type': 'create', 'id': 'init', 'process': {'args': ['sh'], 'cwd': '/', 'env': [{'hex': 'ff3d31'}]},
                      'stdio': {'stdin': 'init/stdin', 'stdout': 'init/stdout', 'stderr': 'init/stderr'},
                      'binds': [{'destination': '/d', 'share': 'm0', 'subpath': '', 'readonly': True}],
                      'devices': [{'path': '/dev/net/tun', 'type': 'c', 'major': 10, 'minor': 200, 'mode': 438,
                                   'uid': 0, 'gid': 0}],
                      'nics': [{'slot': '02:72:76:00:00:00', 'mac': None}],
                      'masked_paths': ['/proc/kcore'], 'readonly_paths': ['/proc/sys'],
                      'seccomp': {'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 38,
                                  'architectures': ['SCMP_ARCH_X86_64'],
                                  'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},
                                               {'names': ['personality'], 'action': 'SCMP_ACT_ALLOW',
                                                'args': [{'index': 0, 'value': 8, 'op': 'SCMP_CMP_EQ'}]}]},
                      'sysctl': {'net.ipv4.ip_forward': '1'}, 'domainname': 'd',
                      'resources': {'memory': {'limit': 1048576, 'reservation': 1, 'swap': 2097152},
                                    'cpu': {'cpus': '0-1', 'mems': '0'}, 'unified': {'memory.high': 'max'}}}),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
PY
}

spec_seeds() {
  local runvm="$PWD/${BUILD_DIR:-build}/bin/runvm"
  if [ -x "$runvm" ]; then (cd "$seeds" && "$runvm" spec && mv config.json default.json); fi
  cat >"$seeds/full.json" <<'JSON'
{"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":1,"gid":2,"additionalGids":[3]},
 "args":["sh","-c","x"],"env":["A=1"],"cwd":"/w","rlimits":[{"type":"RLIMIT_NOFILE","hard":9,"soft":9}],
 "capabilities":{"bounding":["CAP_KILL"]},"noNewPrivileges":true,"oomScoreAdj":-5,
 "consoleSize":{"height":24,"width":80},"apparmorProfile":"p"},
 "root":{"path":"rootfs","readonly":true},"hostname":"h","domainname":"d",
 "mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid"]}],
 "hooks":{"prestart":[{"path":"/bin/true","args":["true"],"timeout":3}]},
 "linux":{"namespaces":[{"type":"pid"},{"type":"network","path":"/run/netns/x"}],
  "resources":{"memory":{"limit":1048576,"reservation":1,"swap":2097152},
   "cpu":{"quota":1,"period":2,"shares":3,"cpus":"0-3,5","mems":"0"},"pids":{"limit":4},
   "devices":[{"allow":true,"access":"rwm"}],"unified":{"memory.high":"max"},
   "hugepageLimits":[{"pageSize":"2MB","limit":0}],"blockIO":{"weight":0}},
  "sysctl":{"net.ipv4.ip_forward":"1","kernel.shmmax":"4096"},
  "devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229}],"cgroupsPath":"/a/b",
  "maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"],
  "seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"architectures":["SCMP_ARCH_X86_64"],
   "flags":["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
   "syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
    {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
    {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}},
 "annotations":{"a":"b"}}
JSON
}

if [ -z "$(ls -A "$seeds")" ]; then
  case "$TARGET" in
    import_fuzz) import_seeds ;;
    guest_frames_fuzz) guest_frames_seeds ;;
    spec_fuzz) spec_seeds ;;
  esac
fi

"$BUILD/bin/$TARGET" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 \
  -max_len=262144 -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "$seeds"
