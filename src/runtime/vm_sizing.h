// How big a VM a container gets: defaults that boot reliably, the spec's
// linux.resources where set, then explicit overrides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

#include "oci/spec.h"

namespace runvm::runtime {

constexpr unsigned kDefaultVcpus = 1;
constexpr uint64_t kDefaultMemoryMib = 512;
// Below this the guest kernel and agent do not boot reliably.
constexpr uint64_t kMinMemoryMib = 128;

// What the guest kernel, the agent and their caches take of the VM's RAM
// besides the container: measured with the Debian cloud kernel (TCG), RAM
// minus MemAvailable is ~72 MiB at 128 MiB, ~77 at 256 and ~86 at 512
// (the kernel's page tables for RAM grow with it). A memory limit gets this
// on top, so the container can use all of its limit, as under runc.
constexpr uint64_t kGuestOverheadMib = 96;
// The RAM of a VM whose container may use `limit_mib`: the limit, the
// guest's overhead and 1/32 of the limit for what grows with it.
uint64_t ram_for_limit_mib(uint64_t limit_mib);
// The inverse: the most a container may use in a VM of `ram_mib`.
uint64_t usable_memory_mib(uint64_t ram_mib);

struct VmSize {
  unsigned vcpus = kDefaultVcpus;
  uint64_t memory_mib = kDefaultMemoryMib;
};

struct SizeOverrides {
  std::optional<unsigned> vcpus;
  std::optional<uint64_t> memory_mib;
};

// memory.limit (bytes) rounds up to MiB, gets the guest's overhead on top
// (ram_for_limit_mib) and is raised to kMinMemoryMib;
// cpu quota/period rounds up to whole vCPUs, and cpu.cpus to one more than
// the highest CPU it names, capped at host_cpus.
VmSize size_vm(const oci::Resources& resources, const SizeOverrides& overrides,
               unsigned host_cpus);

// The smallest memory.limit a container's process can be set up under (as
// Docker's minimum): below it the guest kills the process before it runs.
constexpr int64_t kMinContainerMemoryBytes = 6 << 20;

// Refuses, before anything boots, what the VM cannot be: --vm-memory below
// kMinMemoryMib or above the host's memory (`host_memory_mib`; 0: unknown),
// a memory.limit beyond the host's memory (it sizes the VM) or below
// kMinContainerMemoryBytes. The error names the field or flag and why.
Status check_vm_memory(const oci::Resources& resources, const SizeOverrides& overrides,
                       uint64_t host_memory_mib);
// The host's physical memory in MiB (0 if unknown).
uint64_t host_memory_mib();

// Whether the guest can honour cpu.cpus with `vcpus` vCPUs: a CPU it names
// must be a vCPU of the VM. `field` names where the list came from
// (linux.resources.cpu.cpus, --cpuset-cpus) and the error says the fix.
Status check_cpuset(const std::string& cpus, unsigned vcpus, const std::string& field);

}  // namespace runvm::runtime
