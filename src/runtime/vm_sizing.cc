#include "runtime/vm_sizing.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>

namespace runvm::runtime {

uint64_t ram_for_limit_mib(uint64_t limit_mib) { return limit_mib + kGuestOverheadMib + limit_mib / 32; }

uint64_t usable_memory_mib(uint64_t ram_mib) {
  if (ram_mib <= kGuestOverheadMib) return 0;
  uint64_t usable = (ram_mib - kGuestOverheadMib) * 32 / 33;
  while (ram_for_limit_mib(usable + 1) <= ram_mib) ++usable;
  return usable;
}

namespace {
Result<uint64_t> annotation_number(const std::map<std::string, std::string>& annotations, const char* key,
                                   uint64_t max, const char* what) {
  auto it = annotations.find(key);
  if (it == annotations.end()) return uint64_t{0};
  uint64_t n = 0;
  const std::string& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n > max)
    return fail(std::string("annotation ") + key + "=\"" + text + "\": expected " + what);
  return n;
}
}  // namespace

Result<PodSize> pod_size(const std::map<std::string, std::string>& annotations) {
  constexpr uint64_t kMaxBytes = uint64_t{1} << 50;
  PodSize pod;
  uint64_t memory = TRY(annotation_number(annotations, kCriSandboxMemory, kMaxBytes, "the pod's memory in bytes"));
  uint64_t quota = TRY(annotation_number(annotations, kCriSandboxCpuQuota, uint64_t{1} << 40, "microseconds"));
  uint64_t period = TRY(annotation_number(annotations, kCriSandboxCpuPeriod, uint64_t{1} << 40, "microseconds"));
  if (memory > 0) pod.memory_bytes = memory;
  if (quota > 0 && period > 0) pod.vcpus = static_cast<unsigned>(std::min<uint64_t>((quota + period - 1) / period, 4096));
  uint64_t own_memory = TRY(annotation_number(annotations, kPodMemoryAnnotation, kMaxBytes, "the pod's memory in bytes"));
  uint64_t own_cpus = TRY(annotation_number(annotations, kPodCpusAnnotation, 4096, "a number of CPUs"));
  if (own_memory > 0) pod.memory_bytes = own_memory;
  if (own_cpus > 0) pod.vcpus = static_cast<unsigned>(own_cpus);
  return pod;
}

VmSize size_vm(const oci::Resources& r, const SizeOverrides& o, unsigned host_cpus, const PodSize& pod) {
  VmSize size;
  uint64_t limit = r.memory_limit && *r.memory_limit > 0 ? static_cast<uint64_t>(*r.memory_limit) : 0;
  if (pod.memory_bytes) limit = std::max(limit, *pod.memory_bytes);
  if (limit > 0) {
    uint64_t mib = (limit + (1 << 20) - 1) >> 20;
    size.memory_mib = std::max(ram_for_limit_mib(mib), kMinMemoryMib);
  }
  if (pod.vcpus) size.vcpus = std::clamp(*pod.vcpus, 1u, std::max(host_cpus, 1u));
  if (r.cpu_quota && *r.cpu_quota > 0 && r.cpu_period && *r.cpu_period > 0) {
    uint64_t q = static_cast<uint64_t>(*r.cpu_quota);
    unsigned cpus = static_cast<unsigned>((q + *r.cpu_period - 1) / *r.cpu_period);
    size.vcpus = std::clamp(std::max(cpus, size.vcpus), 1u, std::max(host_cpus, 1u));
  }
  // A cpuset names the guest's CPUs: the VM gets as many as it needs.
  if (auto highest = oci::highest_in_cpu_list(r.cpuset_cpus, "cpus"); highest && *highest)
    size.vcpus = std::clamp(std::max(size.vcpus, **highest + 1), 1u, std::max(host_cpus, 1u));
  if (o.vcpus) size.vcpus = std::max(*o.vcpus, 1u);
  if (o.memory_mib) size.memory_mib = std::max(*o.memory_mib, kMinMemoryMib);
  return size;
}

Status check_vm_memory(const oci::Resources& r, const SizeOverrides& o, uint64_t host_mib) {
  std::string host = std::to_string(host_mib) + " MiB";
  if (o.memory_mib) {
    std::string flag = "--vm-memory " + std::to_string(*o.memory_mib);
    if (*o.memory_mib < kMinMemoryMib)
      return fail(flag + ": the VM needs at least " + std::to_string(kMinMemoryMib) +
                  " MiB to boot (the value is in MiB)");
    if (host_mib && *o.memory_mib > host_mib)
      return fail(flag + ": more memory than the host has (" + host + "); the value is the VM's memory in MiB");
  }
  if (r.memory_limit && *r.memory_limit > 0) {
    int64_t limit = *r.memory_limit;
    std::string field = "linux.resources.memory.limit: " + std::to_string(limit) + " bytes";
    if (limit < kMinContainerMemoryBytes)
      return fail(field + " is below the " + std::to_string(kMinContainerMemoryBytes >> 20) +
                  " MiB a container's process needs to start (the limit is in bytes)");
    uint64_t mib = (static_cast<uint64_t>(limit) + (1 << 20) - 1) >> 20;
    if (host_mib && !o.memory_mib && mib > host_mib)
      return fail(field + " (" + std::to_string(mib) + " MiB) is more memory than the host has (" + host +
                  "); runvm gives the container's VM that much memory (use a smaller limit, or -1 for none)");
  }
  return ok();
}

uint64_t host_memory_mib() {
  long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || size <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(size) >> 20;
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
