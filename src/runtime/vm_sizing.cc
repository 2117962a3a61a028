#include "runtime/vm_sizing.h"

#include <algorithm>

namespace runvm::runtime {

VmSize size_vm(const oci::Resources& r, const SizeOverrides& o, unsigned host_cpus) {
  VmSize size;
  if (r.memory_limit && *r.memory_limit > 0) {
    uint64_t mib = (static_cast<uint64_t>(*r.memory_limit) + (1 << 20) - 1) >> 20;
    size.memory_mib = std::max(mib, kMinMemoryMib);
  }
  if (r.cpu_quota && *r.cpu_quota > 0 && r.cpu_period && *r.cpu_period > 0) {
    uint64_t q = static_cast<uint64_t>(*r.cpu_quota);
    unsigned cpus = static_cast<unsigned>((q + *r.cpu_period - 1) / *r.cpu_period);
    size.vcpus = std::clamp(cpus, 1u, std::max(host_cpus, 1u));
  }
  if (o.vcpus) size.vcpus = std::max(*o.vcpus, 1u);
  if (o.memory_mib) size.memory_mib = std::max(*o.memory_mib, kMinMemoryMib);
  return size;
}

}  // namespace runvm::runtime
