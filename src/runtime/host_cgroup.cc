#include "runtime/host_cgroup.h"

#include <algorithm>

namespace runvm::runtime {
namespace {

std::string device(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

void add_rates(std::vector<CgroupWrite>& out, const std::vector<oci::BlockDeviceRate>& list, const char* field,
               const char* v1_file, const char* v2_key) {
  for (const auto& d : list)
    out.push_back({std::string("blockIO.") + field,
                   {{v1_file, device(d.major, d.minor) + " " + std::to_string(d.rate)},
                    {"io.max", device(d.major, d.minor) + " " + v2_key + "=" + std::to_string(d.rate)}}});
}

}  // namespace

uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  return 1 + ((std::max<uint64_t>(shares, 2) - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  return 1 + ((std::max<uint64_t>(weight, 10) - 10) * 9999) / 990;
}

std::vector<CgroupWrite> host_cgroup_writes(const oci::Resources& r) {
  std::vector<CgroupWrite> out;
  if (r.cpu_shares && *r.cpu_shares != 0)
    out.push_back({"cpu.shares",
                   {{"cpu.shares", std::to_string(*r.cpu_shares)},
                    {"cpu.weight", std::to_string(cpu_shares_to_weight(*r.cpu_shares))}}});
  int64_t quota = r.cpu_quota.value_or(0);
  uint64_t period = r.cpu_period.value_or(0);
  // v1 takes the period first (a quota is judged against the period in
  // force); v2 takes both in one file.
  if (period != 0)
    out.push_back({"cpu.period",
                   {{"cpu.cfs_period_us", std::to_string(period)},
                    {"cpu.max", (quota > 0 ? std::to_string(quota) : std::string("max")) + " " +
                                    std::to_string(period)}}});
  if (quota != 0)
    out.push_back({"cpu.quota",
                   {{"cpu.cfs_quota_us", std::to_string(quota < 0 ? -1 : quota)},
                    {"cpu.max", (quota > 0 ? std::to_string(quota) : std::string("max")) + " " +
                                    std::to_string(period ? period : 100000)}}});
  if (!r.cpuset_cpus.empty()) out.push_back({"cpu.cpus", {{"cpuset.cpus", r.cpuset_cpus}}});
  if (!r.cpuset_mems.empty()) out.push_back({"cpu.mems", {{"cpuset.mems", r.cpuset_mems}}});

  const oci::BlockIO& b = r.block_io;
  // v1 names the weight blkio.bfq.weight under BFQ, blkio.weight under CFQ.
  if (b.weight.value_or(0) != 0) {
    std::string w = std::to_string(*b.weight);
    out.push_back({"blockIO.weight",
                   {{"blkio.bfq.weight", w},
                    {"blkio.weight", w},
                    {"io.bfq.weight", w},
                    {"io.weight", "default " + std::to_string(blkio_weight_to_io_weight(*b.weight))}}});
  }
  if (b.leaf_weight.value_or(0) != 0)
    out.push_back({"blockIO.leafWeight", {{"blkio.leaf_weight", std::to_string(*b.leaf_weight)}}});
  for (const auto& d : b.weight_device) {
    if (d.weight.value_or(0) != 0)
      out.push_back({"blockIO.weightDevice",
                     {{"blkio.bfq.weight_device", device(d.major, d.minor) + " " + std::to_string(*d.weight)},
                      {"blkio.weight_device", device(d.major, d.minor) + " " + std::to_string(*d.weight)},
                      {"io.bfq.weight", device(d.major, d.minor) + " " + std::to_string(*d.weight)},
                      {"io.weight", device(d.major, d.minor) + " " +
                                        std::to_string(blkio_weight_to_io_weight(*d.weight))}}});
    if (d.leaf_weight.value_or(0) != 0)
      out.push_back({"blockIO.weightDevice",
                     {{"blkio.leaf_weight_device", device(d.major, d.minor) + " " + std::to_string(*d.leaf_weight)}}});
  }
  add_rates(out, b.throttle_read_bps, "throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps");
  add_rates(out, b.throttle_write_bps, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps");
  add_rates(out, b.throttle_read_iops, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops");
  add_rates(out, b.throttle_write_iops, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops");
  return out;
}

}  // namespace runvm::runtime
