// How big a VM a container gets: defaults that boot reliably, the spec's
// linux.resources where set, then explicit overrides.
#pragma once

#include <cstdint>
#include <optional>

#include "oci/spec.h"

namespace runvm::runtime {

constexpr unsigned kDefaultVcpus = 1;
constexpr uint64_t kDefaultMemoryMib = 512;
// Below this the guest kernel and agent do not boot reliably.
constexpr uint64_t kMinMemoryMib = 128;

struct VmSize {
  unsigned vcpus = kDefaultVcpus;
  uint64_t memory_mib = kDefaultMemoryMib;
};

struct SizeOverrides {
  std::optional<unsigned> vcpus;
  std::optional<uint64_t> memory_mib;
};

// memory.limit (bytes) rounds up to MiB and is raised to kMinMemoryMib;
// cpu quota/period rounds up to whole vCPUs, and cpu.cpus to one more than
// the highest CPU it names, capped at host_cpus.
VmSize size_vm(const oci::Resources& resources, const SizeOverrides& overrides,
               unsigned host_cpus);

// Whether the guest can honour cpu.cpus with `vcpus` vCPUs: a CPU it names
// must be a vCPU of the VM. `field` names where the list came from
// (linux.resources.cpu.cpus, --cpuset-cpus) and the error says the fix.
Status check_cpuset(const std::string& cpus, unsigned vcpus, const std::string& field);

}  // namespace runvm::runtime
