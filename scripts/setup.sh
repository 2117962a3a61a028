#!/usr/bin/env bash
# scripts/setup.sh: installs everything runvm needs on a fresh Debian 12
# machine (build tools, libraries, QEMU, virtiofsd, busybox for the tests),
# fetches the guest kernel and builds runvm, its guest agent and initramfs
# into build/. Safe to run again: it only does what is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  qemu-system-x86 qemu-utils busybox-static runc kmod cpio binutils
  containerd docker.io podman
  libarchive-dev libacl1-dev zlib1g-dev libseccomp-dev iproute2 iperf3 wget python3
  clang libclang-rt-14-dev
  # runvm's own guest kernel (the default RUNVM_GUEST_KERNEL=runvm-microvm)
  # is built from this source package: once per machine (about 12 minutes
  # on 2 cores), then taken from /var/cache/runvm/kernel.
  linux-source-6.1 bc bison flex libelf-dev
  # The CRI (Kubernetes) e2e tier talks to containerd's CRI plugin through a
  # gRPC client generated from tests/e2e/cri/cri_api.proto (test-only), and
  # gives pods a network with the CNI plugins (bridge, host-local, loopback).
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  containernetworking-plugins
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The guest kernel recipe resolves the current package through apt's lists.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  apt-get update -qq
fi

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR"
echo "setup: built $BUILD_DIR/bin/runvm with its guest in $BUILD_DIR/share/runvm"
