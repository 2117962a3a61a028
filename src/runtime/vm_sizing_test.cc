#include "runtime/vm_sizing.h"

#include <gtest/gtest.h>

namespace runvm::runtime {
namespace {

// A pod's first container sizes the VM for the pod, as the CRI says.
TEST(VmSizing, APodsSizeFromTheCriOrRunvmsAnnotations) {
  std::map<std::string, std::string> cri = {{kCriSandboxMemory, "268435456"},
                                            {kCriSandboxCpuQuota, "150000"},
                                            {kCriSandboxCpuPeriod, "100000"}};
  PodSize pod = pod_size(cri).value();
  EXPECT_EQ(pod.memory_bytes, uint64_t{256} << 20);
  EXPECT_EQ(pod.vcpus, 2u) << "1.5 CPUs round up";
  VmSize s = size_vm({}, {}, 8, pod);
  EXPECT_EQ(s.memory_mib, ram_for_limit_mib(256));
  EXPECT_EQ(s.vcpus, 2u);
  oci::Resources bigger;
  bigger.memory_limit = int64_t{512} << 20;
  EXPECT_EQ(size_vm(bigger, {}, 8, pod).memory_mib, ram_for_limit_mib(512)) << "the larger of the two";
  EXPECT_EQ(size_vm({}, {}, 1, pod).vcpus, 1u) << "capped at the host's CPUs";
  EXPECT_EQ(size_vm({}, {3, 1024}, 8, pod).memory_mib, 1024u) << "overrides win";

  // The CRI writes 0 for a pod without limits: nothing is set.
  PodSize none = pod_size({{kCriSandboxMemory, "0"}, {kCriSandboxCpuQuota, "0"}, {kCriSandboxCpuPeriod, "100000"}}).value();
  EXPECT_FALSE(none.memory_bytes);
  EXPECT_FALSE(none.vcpus);
  EXPECT_EQ(size_vm({}, {}, 8, none).memory_mib, kDefaultMemoryMib);

  // runvm's own annotations win over the CRI's.
  cri[kPodMemoryAnnotation] = "1073741824";
  cri[kPodCpusAnnotation] = "3";
  pod = pod_size(cri).value();
  EXPECT_EQ(pod.memory_bytes, uint64_t{1} << 30);
  EXPECT_EQ(pod.vcpus, 3u);

  for (const char* bad : {"", "-1", "12k", "1e9", "99999999999999999999"}) {
    auto r = pod_size({{kPodMemoryAnnotation, bad}});
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find("annotation io.runvm.pod.memory"), std::string::npos) << r.error().message();
  }
  EXPECT_FALSE(pod_size({{kCriSandboxCpuQuota, "x"}}));
  EXPECT_FALSE(pod_size({{kPodCpusAnnotation, "5000"}}));
}

TEST(VmSizing, DefaultsWithoutResources) {
  VmSize s = size_vm({}, {}, 8);
  EXPECT_EQ(s.vcpus, kDefaultVcpus);
  EXPECT_EQ(s.memory_mib, kDefaultMemoryMib);
}

// The container gets all of its limit: the guest kernel's share comes on top.
TEST(VmSizing, MemoryLimitGetsTheGuestsOverheadOnTop) {
  oci::Resources r;
  r.memory_limit = (1LL << 30) + 1;
  EXPECT_EQ(size_vm(r, {}, 2).memory_mib, 1025u + kGuestOverheadMib + 1025u / 32);
  r.memory_limit = 128LL << 20;
  EXPECT_EQ(size_vm(r, {}, 2).memory_mib, 128u + kGuestOverheadMib + 4);
  r.memory_limit = 8LL << 20;
  EXPECT_EQ(size_vm(r, {}, 2).memory_mib, kMinMemoryMib) << "the floor";
}

TEST(VmSizing, UsableMemoryIsTheLimitThatSizedTheVm) {
  for (uint64_t limit : {1u, 64u, 128u, 256u, 1000u, 1025u, 4096u})
    EXPECT_EQ(usable_memory_mib(ram_for_limit_mib(limit)), limit) << limit;
  EXPECT_EQ(usable_memory_mib(kGuestOverheadMib), 0u);
  EXPECT_EQ(usable_memory_mib(512), 404u);
}

TEST(VmSizing, CpuQuotaRoundsUpToWholeVcpusCappedAtHost) {
  oci::Resources r;
  r.cpu_quota = 150000;
  r.cpu_period = 100000;
  EXPECT_EQ(size_vm(r, {}, 8).vcpus, 2u);
  r.cpu_quota = 800000;
  EXPECT_EQ(size_vm(r, {}, 2).vcpus, 2u);
  r.cpu_quota = -1;  // unlimited
  EXPECT_EQ(size_vm(r, {}, 8).vcpus, kDefaultVcpus);
}

TEST(VmSizing, OverridesWin) {
  oci::Resources r;
  r.memory_limit = 1LL << 30;
  SizeOverrides o{3u, 256u};
  VmSize s = size_vm(r, o, 2);
  EXPECT_EQ(s.vcpus, 3u);
  EXPECT_EQ(s.memory_mib, 256u);
}

TEST(VmSizing, ACpusetGetsTheVcpusItNamesUpToTheHosts) {
  oci::Resources r;
  r.cpuset_cpus = "1";
  EXPECT_EQ(size_vm(r, {}, 8).vcpus, 2u);
  r.cpuset_cpus = "0,5-6";
  EXPECT_EQ(size_vm(r, {}, 8).vcpus, 7u);
  EXPECT_EQ(size_vm(r, {}, 2).vcpus, 2u) << "capped at the host's CPUs; check_cpuset refuses it then";
  r.cpuset_cpus = "0";
  EXPECT_EQ(size_vm(r, {}, 8).vcpus, kDefaultVcpus);
  r.cpuset_cpus = "3";
  EXPECT_EQ(size_vm(r, SizeOverrides{2u, std::nullopt}, 8).vcpus, 2u) << "--vm-vcpus wins";
}

TEST(VmSizing, ACpuBeyondTheVcpusIsRefusedWithTheFix) {
  EXPECT_TRUE(check_cpuset("", 1, "linux.resources.cpu.cpus"));
  EXPECT_TRUE(check_cpuset("0-1", 2, "linux.resources.cpu.cpus"));
  auto refused = check_cpuset("0,3", 2, "linux.resources.cpu.cpus");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message(),
            "linux.resources.cpu.cpus: CPU 3 is not in the VM, which has 2 vCPUs (0-1), fixed at boot; name "
            "CPUs below 2, or create the container with more (runvm --vm-vcpus 4)");
  EXPECT_FALSE(check_cpuset("1", 1, "cpu.cpus"));
  EXPECT_FALSE(check_cpuset("x", 4, "cpu.cpus"));
}

// Sizes the VM cannot have are refused with the field or flag and the
// reason, before QEMU is asked (its errors named neither).
TEST(VmSizing, MemoryTheVmCannotHaveIsRefusedWithTheCause) {
  oci::Resources none;
  EXPECT_TRUE(check_vm_memory(none, {}, 16384));
  SizeOverrides tiny{.memory_mib = 1};
  auto small = check_vm_memory(none, tiny, 16384);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().message(), "--vm-memory 1: the VM needs at least 128 MiB to boot (the value is in MiB)");
  SizeOverrides huge{.memory_mib = 100000000};
  auto big = check_vm_memory(none, huge, 16384);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message().find("--vm-memory 100000000: more memory than the host has (16384 MiB)"),
            std::string::npos)
      << big.error().message();
  EXPECT_TRUE(check_vm_memory(none, SizeOverrides{.memory_mib = 128}, 16384));

  oci::Resources r;
  r.memory_limit = int64_t{1} << 62;
  auto over = check_vm_memory(r, {}, 16384);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message().find("linux.resources.memory.limit: 4611686018427387904 bytes (4398046511104 MiB) "
                                        "is more memory than the host has (16384 MiB)"),
            std::string::npos)
      << over.error().message();
  r.memory_limit = 1;
  auto under = check_vm_memory(r, {}, 16384);
  ASSERT_FALSE(under);
  EXPECT_NE(under.error().message().find("linux.resources.memory.limit: 1 bytes is below the 6 MiB"), std::string::npos)
      << under.error().message();
  r.memory_limit = 64 << 20;
  EXPECT_TRUE(check_vm_memory(r, {}, 16384));
  r.memory_limit = -1;  // unlimited
  EXPECT_TRUE(check_vm_memory(r, {}, 16384));
  EXPECT_TRUE(check_vm_memory(r, {}, 0)) << "an unknown host size checks nothing against it";
  EXPECT_GT(host_memory_mib(), 0u);
}

}  // namespace
}  // namespace runvm::runtime
