// The agent's first steps as PID 1: the guest's own filesystems, the kernel
// modules the initramfs carries, the container's root share, and the port to
// the host. Each returns an error that names what failed.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::agent {

constexpr const char* kModuleList = "/etc/runvm/modules";
// Loaded only for a container with network interfaces (virtio-net).
constexpr const char* kNetworkModuleList = "/etc/runvm/modules-network";
constexpr const char* kRootTag = "rootfs";          // virtio-fs tag
constexpr const char* kContainerRoot = "/container";  // where the root share is mounted
constexpr const char* kPortName = "runvm.agent";

// /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm.
Status mount_guest_filesystems();

// Loads each module named in `list` (kModuleList at boot), in order.
Status load_modules(const char* list = kModuleList);

// Mounts the virtio-fs root share at kContainerRoot (read-write: the
// container's mounts are set up first, then it is made read-only if asked).
Status mount_container_root();
// Mounts the extra virtio-fs share `tag` (a bind mount's host directory) at
// share_path(tag), once.
Status mount_share(const std::string& tag);
std::string share_path(const std::string& tag);

// Opens the virtio-serial port named kPortName, waiting for the device to
// announce its name.
Result<UniqueFd> open_host_port();

// Sends everything to /dev/console so it lands in the VM's console log.
void log_to_console();

[[noreturn]] void power_off();

}  // namespace runvm::agent
