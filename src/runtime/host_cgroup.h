// What the container's host cgroup carries of linux.resources (issue 16,
// item 8). The host cgroup holds the VM as a whole: QEMU (its vCPU threads
// are the container's CPU time) and virtiofsd (the container's file I/O
// reaches the host's disks through it). So CPU and block-I/O limits apply
// there as well as, for CPU, inside the guest; memory and pids do not carry
// over one to one (docs/ARCHITECTURE.md, "Limits: guest, host or both").
//
// Pure: a spec's resources in, the files to write out, as cgroup v1 and v2
// name them (runc's conversions). placement.h's apply_host_resources writes
// them.
#pragma once

#include <string>
#include <vector>

#include "oci/spec.h"

namespace runvm::runtime {

// One setting, with the files that can take it: the first of `candidates`
// that exists in a hierarchy's cgroup is written there (v1 files first, then
// v2's); a setting no hierarchy can take is an error naming `field`.
struct CgroupWrite {
  std::string field;  // "cpu.shares", "blockIO.weight", ...: the spec's name
  struct Candidate {
    std::string file, value;
  };
  std::vector<Candidate> candidates;
};

// The writes for `r`, in the order they must happen (the CFS period before
// the quota). Fields `r` leaves unset give none.
std::vector<CgroupWrite> host_cgroup_writes(const oci::Resources& r);

// runc's conversions to cgroup v2 (libcontainer/cgroups/utils.go).
uint64_t cpu_shares_to_weight(uint64_t shares);
uint64_t blkio_weight_to_io_weight(uint64_t weight);

}  // namespace runvm::runtime
