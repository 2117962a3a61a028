// How big a VM a container gets: defaults that boot reliably, the spec's
// linux.resources where set, then explicit overrides.
#pragma once

#include <cstdint>
#include <map>
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

// What the pod a VM is the first container of will need, where its engine
// says so: containerd's CRI puts the sum of the pod's container limits on
// the sandbox container (io.kubernetes.cri.sandbox-memory, bytes;
// io.kubernetes.cri.sandbox-cpu-quota and -period, microseconds), and
// runvm's own annotations say the same for any engine
// (io.runvm.pod.memory, bytes; io.runvm.pod.cpus, whole CPUs), winning over
// the CRI's. "0" is not set, as the CRI writes it for a pod without limits.
struct PodSize {
  std::optional<uint64_t> memory_bytes;
  std::optional<unsigned> vcpus;
};
inline constexpr const char* kCriSandboxMemory = "io.kubernetes.cri.sandbox-memory";
inline constexpr const char* kCriSandboxCpuQuota = "io.kubernetes.cri.sandbox-cpu-quota";
inline constexpr const char* kCriSandboxCpuPeriod = "io.kubernetes.cri.sandbox-cpu-period";
inline constexpr const char* kPodMemoryAnnotation = "io.runvm.pod.memory";
inline constexpr const char* kPodCpusAnnotation = "io.runvm.pod.cpus";
// An error names the annotation and what it must be.
Result<PodSize> pod_size(const std::map<std::string, std::string>& annotations);

// memory.limit (bytes) rounds up to MiB, gets the guest's overhead on top
// (ram_for_limit_mib) and is raised to kMinMemoryMib;
// cpu quota/period rounds up to whole vCPUs, and cpu.cpus to one more than
// the highest CPU it names, capped at host_cpus.
// A pod's size (pod_size) raises the VM to what the pod needs, as if it
// were the container's own limit; overrides still win.
VmSize size_vm(const oci::Resources& resources, const SizeOverrides& overrides,
               unsigned host_cpus, const PodSize& pod = {});

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
