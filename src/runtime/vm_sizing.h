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
// cpu quota/period rounds up to whole vCPUs, capped at host_cpus.
VmSize size_vm(const oci::Resources& resources, const SizeOverrides& overrides,
               unsigned host_cpus);

}  // namespace runvm::runtime
