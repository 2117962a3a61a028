// Where the container's monitor lives on the host: its cgroup
// (linux.cgroupsPath) and its namespaces (linux.namespaces), entered before
// QEMU starts so that QEMU and virtiofsd inherit them. Container engines
// find the container through its PID: Docker's prestart hook configures the
// network namespace at /proc/<pid>/ns/net, and containerd's shim reads
// usage from the cgroup in /proc/<pid>/cgroup.
//
// The container's processes themselves run in the guest, in the guest's own
// namespaces; so a new PID namespace needs nothing on the host, and joining
// another container's PID or user namespace cannot be honoured (an error
// says so).
#pragma once

#include <cstdint>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"

namespace runvm::runtime {

// Joins (path) or creates (no path) the host-side namespaces of the spec.
Status enter_namespaces(const std::vector<oci::Namespace>& namespaces);

// `path` cleaned as if rooted at "/" (runc's libcontainer/utils.CleanPath):
// "." and empty components dropped, ".." removing the one before it and
// never climbing above "/". Always absolute; "/" for nothing left.
std::string confine_cgroup_path(const std::string& path);

// The cgroup directory, relative to each hierarchy's root, for a
// cgroupsPath: "/a/b" as is, "a/b" below the caller's own cgroup, and
// systemd's "slice:prefix:name" as "/slice/prefix-name.scope"; always
// cleaned (confine_cgroup_path), so ".." cannot leave the cgroup tree nor,
// for a relative path, the caller's own cgroup.
std::string cgroup_relative_path(const std::string& cgroups_path, bool systemd,
                                 const std::string& own_cgroup);

// The cgroup of a container whose spec has no linux.cgroupsPath, as runc
// picks it: "/<id>" at each hierarchy's root, or with --systemd-cgroup
// systemd's default scope, "/system.slice/runc-<id>.scope".
std::string default_cgroup_path(const std::string& id, bool systemd);

// What runc checks before a container joins its cgroup: one that is frozen
// (cgroup v1 freezer.state FROZEN, v2 cgroup.freeze 1) fails at once, since
// joining it would freeze the container's monitor; one that already holds
// processes gets runc's warning. A cgroup that does not exist yet is fine.
Status check_cgroup_before_join(const std::string& relative);
// The decisions of check_cgroup_before_join, pure: a freezer.state's or a
// cgroup.freeze's content.
bool freezer_says_frozen(std::string_view freezer_state_or_freeze);

// Moves this process into `relative` in every mounted hierarchy (cgroup v2
// alone, or each v1 controller plus the unified one on a hybrid host),
// creating the directories.
Status join_cgroup(const std::string& relative);
// The host memory limit for a VM of `vm_memory_mib`: the guest's RAM plus
// kHostMemoryAllowanceMiB for QEMU (its TCG translation cache, device state)
// and virtiofsd, which live in the container's cgroup too.
inline constexpr uint64_t kHostMemoryAllowanceMiB = 256;
uint64_t host_memory_limit_bytes(uint64_t vm_memory_mib);
// Sets the memory limit of `relative` where a memory controller is mounted
// (cgroup v1 memory.limit_in_bytes, v2 memory.max).
Status limit_cgroup_memory(const std::string& relative, uint64_t bytes);
// Writes what the host cgroup carries of `resources` (host_cgroup.h: CPU
// and block I/O) into `relative` in every hierarchy that takes it. A
// setting no mounted hierarchy can take (blkio.weight without a weighing
// I/O scheduler, say) fails naming the field, as runc fails.
Status apply_host_resources(const std::string& relative, const oci::Resources& resources);
// Removes the leaf directories join_cgroup made, waiting up to `wait` for
// the processes that were in them to be gone (EBUSY). It kills nothing.
void remove_cgroup(const std::string& relative, std::chrono::milliseconds wait = std::chrono::seconds(10));

}  // namespace runvm::runtime
