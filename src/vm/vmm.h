// The VMM backend interface. The runtime boots, watches, pauses and stops a
// VM only through these two classes, so another VMM (Firecracker, cloud-
// hypervisor) can be added beside QEMU without touching the OCI code.
#pragma once

#include <chrono>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "vm/accel.h"

namespace runvm::vm {

// A host directory shared into the guest with virtio-fs under `tag`, besides
// the root (bind mounts; the agent mounts it where the spec says).
struct Share {
  std::string tag;
  std::string host_dir;
  // Served read-only by the host, whatever the guest mounts: a container
  // that may remount its `ro` bind read-write still cannot write it.
  bool readonly = false;
};

// A virtio-net device backed by a tap device the caller opened (in the
// container's network namespace): QEMU gets the descriptor, the guest sees
// the MAC and MTU given.
struct Nic {
  int tap_fd = -1;  // owned by the caller; must stay open until boot returns
  std::string mac;  // "aa:bb:cc:dd:ee:ff"
  // Advertised to the guest as the NIC's MTU and its upper bound; 0: none
  // (a spare NIC, whose MTU the guest sets when it is given an interface).
  uint32_t mtu = 1500;
};

// The descriptor number QEMU gets for NIC i's tap.
constexpr int kFirstTapFd = 10;

struct VmSpec {
  std::string kernel;
  std::string initramfs;
  std::string kernel_args;  // appended to the backend's own
  Accel accel = Accel::tcg;
  unsigned vcpus = 1;
  uint64_t memory_mib = 512;
  std::string rootfs;      // host directory shared as the guest's container root
  bool rootfs_readonly = false;  // served read-only by the host (root.readonly)
  std::vector<Share> shares;
  std::vector<Nic> nics;
  std::string work_dir;    // private directory for sockets and logs
};

class Vm {
 public:
  virtual ~Vm() = default;  // stops the VM and every helper process

  // The host end of the agent channel (non-blocking), valid after boot.
  virtual int agent_fd() const = 0;
  // Descriptors that become readable when a process of the VM exits.
  virtual std::vector<int> watch_fds() const = 0;
  // Empty while every process of the VM runs; else which one ended and how,
  // with the last lines it logged.
  virtual std::string check_failure() = 0;
  // Whether the VM has powered off by itself.
  virtual bool exited() = 0;
  virtual bool wait_exit(std::chrono::milliseconds timeout) = 0;
  virtual Status pause() = 0;
  virtual Status resume() = 0;
  // Stops the VM now.
  virtual void kill() = 0;
  // The host processes that serve the guest's files and hold a descriptor
  // per file the guest has cached (virtiofsd's workers), for the monitor's
  // watch on their descriptor limit (runtime/fs_pressure.h). `proc_fd` is
  // the host's /proc: the caller may have left the host's mount namespace.
  virtual std::vector<pid_t> file_server_pids(int proc_fd) const = 0;
  // The guest's console log (for error messages).
  virtual std::string console_log_path() const = 0;
  // What the VMM's threads are doing (state and wait channel of each), for
  // an error about a guest that did not answer; "" if unknown.
  virtual std::string describe_threads(int /*proc_fd*/) const { return ""; }
};

class VmmBackend {
 public:
  virtual ~VmmBackend() = default;
  virtual std::string name() const = 0;
  // Starts the VM and returns once the agent channel is connected (the
  // guest may still be booting).
  virtual Result<std::unique_ptr<Vm>> boot(const VmSpec& spec) = 0;
};

}  // namespace runvm::vm
