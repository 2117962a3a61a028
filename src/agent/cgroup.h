// The containers' guest cgroups (v2): each container of the VM has its own,
// /sys/fs/cgroup/<container name> (GuestCgroup), which holds its init and
// every exec, carries the limits of its linux.resources, and is what `ps`,
// `stats`, `signal --all` and `update` act on for it. Parsing and the
// translation of limits into cgroup files are pure functions, unit-tested.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "common/unique_fd.h"
#include "proto/messages.h"

namespace runvm::agent {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

// The members of linux.resources the agent applies (parsed at the
// boundary, proto/messages.h). Absent: leave as is.
using CgroupLimits = msg::Resources;

// The cgroup files to write, in runc's order, as (file, value).
// `current_cpu_max` is the cgroup's cpu.max now, so a quota or a period
// given alone keeps the other half; `current_memory_max` its memory.max, the
// memory limit a swap limit given alone (update --memory-swap) counts from.
// An error for a swap limit runc refuses (no memory limit, or less than it).
using CgroupWrites = std::vector<std::pair<std::string, std::string>>;
Result<CgroupWrites> cgroup_writes(const CgroupLimits& limits, std::string_view current_cpu_max,
                                   std::string_view current_memory_max = "max");

// runc's ConvertMemorySwapToCgroupV2Value: memory.swap.max from the spec's
// swap (memory + swap) and memory limit; -1 is "max", 0 leaves it alone.
Result<int64_t> swap_to_cgroup_v2(int64_t swap, int64_t memory);

// runc's mapping of cpu.shares (2..262144) onto cpu.weight (1..10000).
uint64_t shares_to_weight(uint64_t shares);

// "max" or a number, as in memory.max and pids.max: 0 for "max".
uint64_t parse_limit_value(std::string_view text);

// A "key value" per line file (cpu.stat, memory.stat): the value of key, 0
// when absent.
uint64_t flat_keyed_value(std::string_view text, std::string_view key);

// Every "key value" line of such a file, at most `max` of them.
std::map<std::string, uint64_t> flat_keyed_values(std::string_view text, size_t max);

// /proc/meminfo's MemTotal in bytes.
uint64_t meminfo_total(std::string_view text);

// --- The live cgroups -----------------------------------------------------

// Mounts cgroup2 and enables cpuset, cpu, memory and pids for children. A
// controller the kernel lacks is logged and skipped.
Status set_up_guest_cgroup();
bool guest_cgroup_ready();

// The controllers that could not be enabled ("memory", ...): their limits
// and stats are unavailable.
const std::vector<std::string>& missing_controllers();

// Writes "0" (the caller) into a cgroup.procs fd; for children. True for -1
// (no cgroup).
bool join_cgroup(int procs_fd);

// One container's guest cgroup. Without a guest cgroup (set_up_guest_cgroup
// failed) it is empty: nothing to join, limits refused, no stats.
class GuestCgroup {
 public:
  GuestCgroup() = default;
  // Creates /sys/fs/cgroup/<name> (msg::valid_container_name).
  static Result<GuestCgroup> make(const std::string& name);

  bool exists() const { return !dir_.empty(); }
  const std::string& path() const { return dir_; }

  // cgroup.procs, open for writing: a child writes "0" to it to join before
  // it does anything else. Empty if there is no cgroup.
  UniqueFd open_procs() const;
  // exec --cgroup: cgroup.procs of an existing sub-cgroup
  // (msg::valid_sub_cgroup), opened beneath this one; "" is this one.
  Result<UniqueFd> open_sub_procs(const std::string& sub) const;

  Status apply_limits(const CgroupLimits& limits) const;
  // Its processes and those of every cgroup below it (exec --cgroup, or
  // ones the container made), depth first, bounded.
  std::vector<pid_t> pids() const;
  // SIGKILL through cgroup.kill (atomic: no fork can escape), else one by
  // one.
  void signal(int sig) const;
  // The stats answer's cpu/memory/pids members (its request number unset).
  msg::StatsAnswer stats() const;
  // Freezes or thaws its processes (cgroup.freeze), waiting up to a few
  // seconds for the freeze to take (cgroup.events' "frozen").
  Status freeze(bool frozen) const;
  // Removes it once it is empty (its container is gone), children first;
  // best effort.
  void remove() const;

 private:
  std::string file(const char* name) const { return dir_ + "/" + name; }
  std::string dir_;
};

}  // namespace runvm::agent
