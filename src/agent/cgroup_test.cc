#include "agent/cgroup.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace runvm::agent {
namespace {

using nlohmann::json;
using Writes = std::vector<std::pair<std::string, std::string>>;

TEST(LimitsFromJson, AbsentAndNullWriteNothing) {
  auto l = msg::Resources::parse(json::parse(R"({"memory": null, "cpu": {"quota": null}})"));
  ASSERT_TRUE(l);
  EXPECT_FALSE(l->cpu_quota);
  EXPECT_TRUE(cgroup_writes(*l, "max 100000").empty());
}

TEST(CgroupWrites, MapsToCgroupV2Files) {
  CgroupLimits l;
  l.memory_limit = 1 << 20;
  l.cpu_quota = 50000;
  l.cpu_period = 100000;
  l.cpu_shares = 1024;
  l.pids_limit = 100;
  EXPECT_EQ(cgroup_writes(l, "max 100000\n"),
            (Writes{{"memory.max", "1048576"}, {"cpu.max", "50000 100000"},
                    {"cpu.weight", "39"}, {"pids.max", "100"}}));
}

TEST(CgroupWrites, NegativeRemovesZeroLeavesAlone) {
  CgroupLimits l;
  l.memory_limit = -1;
  l.pids_limit = 0;
  l.cpu_quota = -1;
  EXPECT_EQ(cgroup_writes(l, "20000 50000\n"),
            (Writes{{"memory.max", "max"}, {"cpu.max", "max 50000"}}));
}

TEST(CgroupWrites, HalfACpuMaxKeepsTheOtherHalf) {
  CgroupLimits quota_only;
  quota_only.cpu_quota = 25000;
  EXPECT_EQ(cgroup_writes(quota_only, "max 200000\n"), (Writes{{"cpu.max", "25000 200000"}}));
  CgroupLimits period_only;
  period_only.cpu_period = 50000;
  EXPECT_EQ(cgroup_writes(period_only, "10000 100000\n"), (Writes{{"cpu.max", "10000 50000"}}));
  EXPECT_EQ(cgroup_writes(period_only, ""), (Writes{{"cpu.max", "max 50000"}}));
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
