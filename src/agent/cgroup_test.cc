#include "agent/cgroup.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace runvm::agent {
namespace {

using nlohmann::json;
using Writes = std::vector<std::pair<std::string, std::string>>;

// The writes, or the error as the only "file".
Writes writes_of(const CgroupLimits& l, std::string_view cpu_max, std::string_view memory_max = "max") {
  auto w = cgroup_writes(l, cpu_max, memory_max);
  if (!w) return {{"error", w.error().message()}};
  return *w;
}

TEST(LimitsFromJson, AbsentAndNullWriteNothing) {
  auto l = msg::Resources::parse(json::parse(R"({"memory": null, "cpu": {"quota": null}})"));
  ASSERT_TRUE(l);
  EXPECT_FALSE(l->cpu_quota);
  EXPECT_TRUE(writes_of(*l, "max 100000").empty());
}

TEST(CgroupWrites, MapsToCgroupV2Files) {
  CgroupLimits l;
  l.memory_limit = 1 << 20;
  l.cpu_quota = 50000;
  l.cpu_period = 100000;
  l.cpu_shares = 1024;
  l.pids_limit = 100;
  EXPECT_EQ(writes_of(l, "max 100000\n"),
            (Writes{{"pids.max", "100"}, {"memory.max", "1048576"}, {"cpu.max", "50000 100000"},
                    {"cpu.weight", "39"}}));
}

TEST(CgroupWrites, NegativeRemovesZeroLeavesAlone) {
  CgroupLimits l;
  l.memory_limit = -1;
  l.pids_limit = 0;
  l.cpu_quota = -1;
  EXPECT_EQ(writes_of(l, "20000 50000\n"),
            (Writes{{"memory.swap.max", "max"}, {"memory.max", "max"}, {"cpu.max", "max 50000"}}));
}

TEST(CgroupWrites, HalfACpuMaxKeepsTheOtherHalf) {
  CgroupLimits quota_only;
  quota_only.cpu_quota = 25000;
  EXPECT_EQ(writes_of(quota_only, "max 200000\n"), (Writes{{"cpu.max", "25000 200000"}}));
  CgroupLimits period_only;
  period_only.cpu_period = 50000;
  EXPECT_EQ(writes_of(period_only, "10000 100000\n"), (Writes{{"cpu.max", "10000 50000"}}));
  EXPECT_EQ(writes_of(period_only, ""), (Writes{{"cpu.max", "max 50000"}}));
}

TEST(CgroupWrites, SwapIsMemoryPlusSwapAsRuncConvertsIt) {
  CgroupLimits l;
  l.memory_limit = 100 << 20;
  l.memory_swap = 300 << 20;
  l.memory_reservation = 50 << 20;
  EXPECT_EQ(writes_of(l, ""), (Writes{{"memory.swap.max", std::to_string(200 << 20)},
                                      {"memory.max", std::to_string(100 << 20)},
                                      {"memory.low", std::to_string(50 << 20)}}));
  l.memory_swap = 100 << 20;  // the same as memory: no swap at all
  EXPECT_EQ(writes_of(l, "")[0], (std::pair<std::string, std::string>{"memory.swap.max", "0"}));
  l.memory_swap = -1;
  EXPECT_EQ(writes_of(l, "")[0], (std::pair<std::string, std::string>{"memory.swap.max", "max"}));
  l.memory_swap = 50 << 20;
  EXPECT_EQ(writes_of(l, ""), (Writes{{"error", "memory+swap limit should be >= memory limit"}}));
  CgroupLimits swap_only;  // update --memory-swap: from the limit in force
  swap_only.memory_swap = 300 << 20;
  EXPECT_EQ(writes_of(swap_only, "", std::to_string(100 << 20) + "\n"),
            (Writes{{"memory.swap.max", std::to_string(200 << 20)}}));
  EXPECT_EQ(writes_of(swap_only, "", "max\n"),
            (Writes{{"error", "unable to set swap limit without memory limit"}}));
}

TEST(CgroupWrites, CpusetAndUnifiedComeLastUnifiedOverriding) {
  CgroupLimits l;
  l.cpuset_cpus = "0-1";
  l.cpuset_mems = "0";
  l.pids_limit = 10;
  l.unified = {{"pids.max", "20"}, {"memory.high", "1000000"}};
  EXPECT_EQ(writes_of(l, ""), (Writes{{"pids.max", "10"}, {"cpuset.cpus", "0-1"}, {"cpuset.mems", "0"},
                                      {"memory.high", "1000000"}, {"pids.max", "20"}}));
}

TEST(SharesToWeight, MatchesRunc) {
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(1024), 39u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
  EXPECT_EQ(shares_to_weight(1), 1u);
  EXPECT_EQ(shares_to_weight(1u << 30), 10000u);
}

TEST(ParseLimitValue, MaxIsZero) {
  EXPECT_EQ(parse_limit_value("max\n"), 0u);
  EXPECT_EQ(parse_limit_value("268435456\n"), 268435456u);
  EXPECT_EQ(parse_limit_value(""), 0u);
  EXPECT_EQ(parse_limit_value("12x"), 0u);
}

TEST(FlatKeyedValue, FindsWholeKeys) {
  const char* cpu = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n";
  EXPECT_EQ(flat_keyed_value(cpu, "usage_usec"), 1500u);
  EXPECT_EQ(flat_keyed_value(cpu, "system_usec"), 500u);
  EXPECT_EQ(flat_keyed_value(cpu, "usage"), 0u);
  EXPECT_EQ(flat_keyed_value("anon 4096\nfile 8192\nfile_mapped 1\n", "file"), 8192u);
  EXPECT_EQ(flat_keyed_value("", "file"), 0u);
}

TEST(MeminfoTotal, InBytes) {
  EXPECT_EQ(meminfo_total("MemTotal:         500000 kB\nMemFree: 1 kB\n"), 512000000u);
  EXPECT_EQ(meminfo_total("MemFree: 1 kB\n"), 0u);
}

}  // namespace
}  // namespace runvm::agent
