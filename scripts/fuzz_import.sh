#!/usr/bin/env bash
# scripts/fuzz_import.sh [SECONDS]: fuzzes import_tar (src/transfer/
# import_fuzz.cc) with libFuzzer and AddressSanitizer for SECONDS (default
# 60), from a seed corpus of archives GNU tar makes. A separate clang build
# in build-fuzz/ (FUZZ_BUILD_DIR to change it); findings are left in
# build-fuzz/fuzz-artifacts/ and the script exits non-zero.
set -euo pipefail

cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}

# fuzzer-no-link: coverage for our code, libFuzzer's main only in the target.
CXX=${CXX:-clang++} cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,fuzzer-no-link -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address" >/dev/null
ninja -C "$BUILD" import_fuzz

seeds="$BUILD/fuzz-seeds"
corpus="$BUILD/fuzz-corpus"
artifacts="$BUILD/fuzz-artifacts"
mkdir -p "$seeds" "$corpus" "$artifacts"
if [ -z "$(ls -A "$seeds")" ]; then
  tree=$(mktemp -d)
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
fi

"$BUILD/bin/import_fuzz" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 \
  -max_len=262144 -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "$seeds"
