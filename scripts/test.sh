#!/usr/bin/env bash
# scripts/test.sh [unit|hostile|integration|e2e|all] [REGEX]: runs the test suite from
# build/ (scripts/setup.sh first); REGEX (ctest -R) keeps the tests whose names match,
# e.g. `scripts/test.sh e2e CriTest` for the Kubernetes (CRI) tests alone. The hostile tier drives the monitor with a fake,
# misbehaving agent (no VM). The integration tier boots real VMs under QEMU
# and needs root; the e2e tier also drives them through a private containerd.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
TIER=${1:-all}
FILTER=${2:-}

cmake --build "$BUILD_DIR" >/dev/null
case "$TIER" in
  unit) labels=(-L unit) ;;
  hostile) labels=(-L hostile) ;;
  integration) labels=(-L integration) ;;
  e2e) labels=(-L e2e) ;;
  all) labels=() ;;
  *) echo "usage: $0 [unit|hostile|integration|e2e|all] [REGEX]" >&2; exit 2 ;;
esac
if [[ -n "$FILTER" ]]; then labels+=(-R "$FILTER"); fi
cd "$BUILD_DIR"
# Two at a time: the machines have two cores and each VM runs a vCPU thread.
ctest "${labels[@]}" -j2 --output-on-failure --timeout 600
