// Assembling QEMU's and virtiofsd's command lines: pure functions, so the
// exact flags are unit tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vm/vmm.h"

namespace runvm::vm {

struct QemuPaths {
  std::string qemu;       // qemu-system-x86_64
  std::string virtiofsd;
};

// Socket and log paths inside spec.work_dir.
struct VmFiles {
  std::string agent_socket;
  std::string virtiofs_socket;
  std::string console_log;
  std::string qemu_log;
  std::string virtiofsd_log;
};

VmFiles vm_files(const std::string& work_dir);
// The vhost-user socket and log of an extra share's virtiofsd.
std::string share_socket(const std::string& work_dir, const std::string& tag);
std::string share_log(const std::string& work_dir, const std::string& tag);

constexpr const char* kBaseKernelArgs =
    "console=ttyS0 quiet panic=-1 reboot=t pci=off random.trust_cpu=on";

std::vector<std::string> qemu_command_line(const QemuPaths& paths, const VmSpec& spec,
                                           const VmFiles& files, bool sandbox);

// RLIMIT_NOFILE's hard limit (1048576 when unlimited).
uint64_t hard_nofile_limit();

// virtiofsd is handed its listening socket as fd 3; it serves `source`.
std::vector<std::string> virtiofsd_command_line(const QemuPaths& paths, const std::string& source);

}  // namespace runvm::vm
