#include "runtime/vm_sizing.h"

#include <algorithm>

namespace runvm::runtime {

uint64_t ram_for_limit_mib(uint64_t limit_mib) { return limit_mib + kGuestOverheadMib + limit_mib / 32; }

uint64_t usable_memory_mib(uint64_t ram_mib) {
  if (ram_mib <= kGuestOverheadMib) return 0;
  uint64_t usable = (ram_mib - kGuestOverheadMib) * 32 / 33;
  while (ram_for_limit_mib(usable + 1) <= ram_mib) ++usable;
  return usable;
}

VmSize size_vm(const oci::Resources& r, const SizeOverrides& o, unsigned host_cpus) {
  VmSize size;
  if (r.memory_limit && *r.memory_limit > 0) {
    uint64_t mib = (static_cast<uint64_t>(*r.memory_limit) + (1 << 20) - 1) >> 20;
    size.memory_mib = std::max(ram_for_limit_mib(mib), kMinMemoryMib);
  }
  if (r.cpu_quota && *r.cpu_quota > 0 && r.cpu_period && *r.cpu_period > 0) {
    uint64_t q = static_cast<uint64_t>(*r.cpu_quota);
    unsigned cpus = static_cast<unsigned>((q + *r.cpu_period - 1) / *r.cpu_period);
    size.vcpus = std::clamp(cpus, 1u, std::max(host_cpus, 1u));
  }
  // A cpuset names the guest's CPUs: the VM gets as many as it needs.
  if (auto highest = oci::highest_in_cpu_list(r.cpuset_cpus, "cpus"); highest && *highest)
    size.vcpus = std::clamp(std::max(size.vcpus, **highest + 1), 1u, std::max(host_cpus, 1u));
  if (o.vcpus) size.vcpus = std::max(*o.vcpus, 1u);
  if (o.memory_mib) size.memory_mib = std::max(*o.memory_mib, kMinMemoryMib);
  return size;
}

Status check_cpuset(const std::string& cpus, unsigned vcpus, const std::string& field) {
  auto highest = TRY(oci::highest_in_cpu_list(cpus, field));
  if (!highest || *highest < vcpus) return ok();
  return fail(field + ": CPU " + std::to_string(*highest) + " is not in the VM, which has " +
              std::to_string(vcpus) + " vCPU" + (vcpus == 1 ? "" : "s") + " (0-" + std::to_string(vcpus - 1) +
              "), fixed at boot; name CPUs below " + std::to_string(vcpus) +
              ", or create the container with more (runvm --vm-vcpus " + std::to_string(*highest + 1) + ")");
}

}  // namespace runvm::runtime
