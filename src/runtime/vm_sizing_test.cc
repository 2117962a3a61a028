#include "runtime/vm_sizing.h"

#include <gtest/gtest.h>

namespace runvm::runtime {
namespace {

TEST(VmSizing, DefaultsWithoutResources) {
  VmSize s = size_vm({}, {}, 8);
  EXPECT_EQ(s.vcpus, kDefaultVcpus);
  EXPECT_EQ(s.memory_mib, kDefaultMemoryMib);
}

TEST(VmSizing, MemoryLimitRoundsUpAndHasAFloor) {
  oci::Resources r;
  r.memory_limit = (1LL << 30) + 1;
  EXPECT_EQ(size_vm(r, {}, 2).memory_mib, 1025u);
  r.memory_limit = 64LL << 20;
  EXPECT_EQ(size_vm(r, {}, 2).memory_mib, kMinMemoryMib);
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

}  // namespace
}  // namespace runvm::runtime
