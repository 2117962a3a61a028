#!/usr/bin/env bash
# scripts/test.sh [unit|hostile|integration|e2e|all]: runs the test suite from build/
# (scripts/setup.sh first). The hostile tier drives the monitor with a fake,
# misbehaving agent (no VM). The integration tier boots real VMs under QEMU
# and needs root; the e2e tier also drives them through a private containerd.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
TIER=${1:-all}

cmake --build "$BUILD_DIR" >/dev/null
case "$TIER" in
  unit) labels=(-L unit) ;;
  hostile) labels=(-L hostile) ;;
  integration) labels=(-L integration) ;;
  e2e) labels=(-L e2e) ;;
  all) labels=() ;;
  *) echo "usage: $0 [unit|hostile|integration|e2e|all]" >&2; exit 2 ;;
esac
cd "$BUILD_DIR"
# Two at a time: the machines have two cores and each VM runs a vCPU thread.
ctest "${labels[@]}" -j2 --output-on-failure --timeout 600
