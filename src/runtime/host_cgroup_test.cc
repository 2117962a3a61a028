#include "runtime/host_cgroup.h"

#include <gtest/gtest.h>

namespace runvm::runtime {
namespace {

// file=value for each write's candidates, "|" between candidates.
std::vector<std::string> flatten(const std::vector<CgroupWrite>& writes) {
  std::vector<std::string> out;
  for (const auto& w : writes) {
    std::string line = w.field + ":";
    for (size_t i = 0; i < w.candidates.size(); ++i)
      line += (i ? " | " : " ") + w.candidates[i].file + "=" + w.candidates[i].value;
    out.push_back(line);
  }
  return out;
}

TEST(HostCgroupWrites, NothingSetWritesNothing) {
  oci::Resources r;
  r.memory_limit = 1 << 30;
  r.pids_limit = 10;
  r.block_io.weight = 0;  // Docker's default: unset
  EXPECT_TRUE(host_cgroup_writes(r).empty());
}

TEST(HostCgroupWrites, CpuAsRuncWritesItPeriodBeforeQuota) {
  oci::Resources r;
  r.cpu_shares = 512;
  r.cpu_quota = 50000;
  r.cpu_period = 200000;
  r.cpuset_cpus = "0-1";
  r.cpuset_mems = "0";
  std::vector<std::string> want = {
      "cpu.shares: cpu.shares=512 | cpu.weight=20",
      "cpu.period: cpu.cfs_period_us=200000 | cpu.max=50000 200000",
      "cpu.quota: cpu.cfs_quota_us=50000 | cpu.max=50000 200000",
      "cpu.cpus: cpuset.cpus=0-1",
      "cpu.mems: cpuset.mems=0",
  };
  EXPECT_EQ(flatten(host_cgroup_writes(r)), want);
}

TEST(HostCgroupWrites, UnlimitedQuotaAndDefaultPeriod) {
  oci::Resources r;
  r.cpu_quota = -1;
  EXPECT_EQ(flatten(host_cgroup_writes(r)),
            std::vector<std::string>{"cpu.quota: cpu.cfs_quota_us=-1 | cpu.max=max 100000"});
}

TEST(HostCgroupWrites, BlockIoWeightsAndThrottlesPerDevice) {
  oci::Resources r;
  r.block_io.weight = 500;
  r.block_io.leaf_weight = 300;
  r.block_io.weight_device = {{8, 0, 200, std::nullopt}};
  r.block_io.throttle_read_bps = {{8, 16, 1048576}};
  r.block_io.throttle_write_iops = {{253, 1, 100}};
  std::vector<std::string> want = {
      "blockIO.weight: blkio.bfq.weight=500 | blkio.weight=500 | io.bfq.weight=500 | io.weight=default 4950",
      "blockIO.leafWeight: blkio.leaf_weight=300",
      "blockIO.weightDevice: blkio.bfq.weight_device=8:0 200 | blkio.weight_device=8:0 200 | "
      "io.bfq.weight=8:0 200 | io.weight=8:0 1920",
      "blockIO.throttleReadBpsDevice: blkio.throttle.read_bps_device=8:16 1048576 | io.max=8:16 rbps=1048576",
      "blockIO.throttleWriteIOPSDevice: blkio.throttle.write_iops_device=253:1 100 | io.max=253:1 wiops=100",
  };
  EXPECT_EQ(flatten(host_cgroup_writes(r)), want);
}

TEST(HostCgroupWrites, RuncsV2Conversions) {
  EXPECT_EQ(cpu_shares_to_weight(0), 0u);
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(1024), 39u);
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
}

}  // namespace
}  // namespace runvm::runtime
