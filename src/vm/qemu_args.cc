#include "vm/qemu_args.h"

#include <sys/resource.h>

namespace runvm::vm {

VmFiles vm_files(const std::string& dir) {
  return {dir + "/agent.sock", dir + "/virtiofs.sock", dir + "/console.log",
          dir + "/qemu.log", dir + "/virtiofsd.log"};
}

std::string share_socket(const std::string& dir, const std::string& tag) {
  return dir + "/share-" + tag + ".sock";
}

std::string share_log(const std::string& dir, const std::string& tag) {
  return dir + "/virtiofsd-" + tag + ".log";
}

std::vector<std::string> qemu_command_line(const QemuPaths& paths, const VmSpec& spec,
                                           const VmFiles& files, bool sandbox) {
  // QEMU runs in the work directory and names its sockets relative to it:
  // socket paths must fit in 107 bytes, and state paths (Docker's) do not.
  // (The console log keeps its full path, which also names the VM's
  // directory on QEMU's command line.)
  auto local = [&](const std::string& path) {
    std::string prefix = spec.work_dir + "/";
    return !spec.work_dir.empty() && path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : path;
  };
  std::string mem = std::to_string(spec.memory_mib) + "M";
  std::string args = kBaseKernelArgs;
  if (!spec.kernel_args.empty()) args += " " + spec.kernel_args;
  std::vector<std::string> cmd = {
      paths.qemu,
      // Named threads (main, "CPU 0/TCG", ...): the errors about a guest that
      // did not answer say what each was doing.
      "-name", "runvm,debug-threads=on",
      // virtio-fs needs guest memory the vhost-user daemon can map.
      "-M", "microvm,memory-backend=mem",
      "-object", "memory-backend-memfd,id=mem,size=" + mem + ",share=on",
      "-m", mem,
      "-smp", std::to_string(spec.vcpus),
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-kernel", spec.kernel,
      "-initrd", spec.initramfs,
      "-append", args,
      // libvhost-user (virtiofsd) refuses legacy virtio-mmio devices.
      "-global", "virtio-mmio.force-legacy=false",
      "-chardev", "socket,id=rootfs,path=" + local(files.virtiofs_socket),
      "-device", "vhost-user-fs-device,chardev=rootfs,tag=rootfs",
      "-device", "virtio-serial-device",
      "-chardev", "socket,id=agent,path=" + local(files.agent_socket),
      "-device", "virtserialport,chardev=agent,name=runvm.agent",
      "-chardev", "file,id=console,path=" + files.console_log,
      "-serial", "chardev:console",
  };
  for (const auto& share : spec.shares) {
    std::string dir = spec.work_dir;
    cmd.insert(cmd.end(), {"-chardev", "socket,id=share-" + share.tag + ",path=" + local(share_socket(dir, share.tag)),
                           "-device", "vhost-user-fs-device,chardev=share-" + share.tag + ",tag=" + share.tag});
  }
  for (size_t i = 0; i < spec.nics.size(); ++i) {
    const Nic& nic = spec.nics[i];
    std::string id = "net" + std::to_string(i);
    cmd.insert(cmd.end(), {"-netdev", "tap,id=" + id + ",fd=" + std::to_string(kFirstTapFd + i),
                           "-device", "virtio-net-device,netdev=" + id + ",mac=" + nic.mac +
                                          (nic.mtu ? ",host_mtu=" + std::to_string(nic.mtu) : "")});
  }
  if (spec.accel == Accel::kvm) {
    cmd.insert(cmd.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    cmd.insert(cmd.end(), {"-accel", "tcg,thread=multi", "-cpu", "max"});
  }
  if (sandbox)
    cmd.insert(cmd.end(), {"-sandbox", "on,obsolete=deny,elevateprivileges=deny,"
                                       "spawn=deny,resourcecontrol=deny"});
  return cmd;
}

uint64_t hard_nofile_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) < 0 || limit.rlim_max == RLIM_INFINITY) return 1048576;
  return limit.rlim_max;
}

std::vector<std::string> virtiofsd_command_line(const QemuPaths& paths, const std::string& source) {
  return {paths.virtiofsd,
          "--fd=3",
          "-o", "source=" + source,
          // auto: the guest revalidates after a timeout, so host-side changes
          // show up; see docs/ARCHITECTURE.md.
          "-o", "cache=auto",
          "-o", "xattr",
          "-o", "no_readdirplus",
          // virtiofsd holds a descriptor for every inode the guest has
          // cached, so its soft limit caps how many files a container can
          // touch (a 1024 soft limit fails a copy of a few thousand files
          // with EMFILE). Raise it to the hard limit, which needs no
          // privilege; above that would need CAP_SYS_RESOURCE, which the
          // hosts here lack.
          "--rlimit-nofile=" + std::to_string(hard_nofile_limit()),
          "-o", "log_level=warn"};
}

}  // namespace runvm::vm
