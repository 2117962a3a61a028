#!/usr/bin/env bash
# scripts/soak.sh [WORKERS] [CYCLES]: the long soak (issue 16). Runs the
# integration tier's SoakTest with more workers and cycles (defaults 4 and
# 50; CI's test.sh runs 3 x 3): each worker creates, starts, execs in,
# kills and deletes containers, force-deletes running ones and runs
# short-lived ones, half of them on a network namespace the test makes; at
# the end every leaked process, mount, tap, qdisc, cgroup and state
# directory is counted and must be zero. Prints the counts; exits non-zero
# on any failed step or leak. Needs root and scripts/setup.sh's build.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
export RUNVM_SOAK_WORKERS=${1:-4}
export RUNVM_SOAK_CYCLES=${2:-50}
cmake --build "$BUILD_DIR" >/dev/null
start=$(date +%s)
"$BUILD_DIR/tests/soak_test" --gtest_filter='SoakTest.*'
echo "soak: ${RUNVM_SOAK_WORKERS} workers x ${RUNVM_SOAK_CYCLES} cycles in $(( $(date +%s) - start )) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
