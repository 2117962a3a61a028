// Keeps virtiofsd below its descriptor limit.
//
// virtiofsd (the C one QEMU ships) holds an O_PATH descriptor for every
// inode the guest kernel has cached, and the guest lets go of inodes only
// under memory pressure. So a guest that touches more files than virtiofsd
// may open (a `runvm cp` of 20,000 files, a `find /`) fails with EMFILE,
// however much memory it has. The monitor watches each virtiofsd's open
// descriptors and, past a quarter of its limit, asks the agent to drop the guest's
// unused dentries and inodes (each drop is a FUSE FORGET, and virtiofsd
// closes the descriptor). See docs/ARCHITECTURE.md, "virtiofsd's
// descriptors".
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace runvm::runtime {

// What one file server has open, and may.
struct DescriptorUse {
  uint64_t open = 0;
  uint64_t limit = 0;  // 0: unknown (the process is gone)
};

// Reads one process's use, through `proc_fd`, the host's /proc (the monitor
// has left the host's mount namespace by then): its soft RLIMIT_NOFILE and its descriptor
// table's size (one line of /proc/PID/status), an upper bound on what it
// has open. /proc/PID/fd is counted only when that bound is busy (see
// is_busy), so an idle check costs next to nothing.
DescriptorUse read_descriptor_use(int proc_fd, pid_t pid);

class FsPressure {
 public:
  using Clock = std::chrono::steady_clock;
  // How often to look while descriptors are few, and while they are not.
  static constexpr std::chrono::milliseconds kIdleInterval{1000};
  static constexpr std::chrono::milliseconds kBusyInterval{100};
  // After a reclaim that did not bring use below the threshold (the guest
  // holds those files open), wait this long, doubling up to kMaxBackoff.
  static constexpr std::chrono::milliseconds kFirstBackoff{1000};
  static constexpr std::chrono::milliseconds kMaxBackoff{30000};

  // Milliseconds until the next check is due (0: now).
  int ms_until_due(Clock::time_point now) const;
  // Puts the next check off by an idle interval, without looking (the VM
  // is paused: the guest could not act, and nothing grows meanwhile).
  void defer(Clock::time_point now) { next_check_ = now + kIdleInterval; }
  // Given the use of every file server, whether to ask the guest to reclaim
  // now; schedules the next check.
  bool check(const std::vector<DescriptorUse>& use, Clock::time_point now);

 private:
  Clock::time_point next_check_{};
  Clock::time_point no_reclaim_before_{};
  std::chrono::milliseconds backoff_{0};
  bool reclaimed_last_ = false;
};

// Busy from an eighth of the limit, reclaim from a quarter: the guest can
// open files faster than a check comes round, and the rest is headroom.
bool is_busy(const DescriptorUse& u);
bool needs_reclaim(const DescriptorUse& u);

}  // namespace runvm::runtime
