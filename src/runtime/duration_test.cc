#include "runtime/duration.h"

#include <gtest/gtest.h>

namespace runvm::runtime {
namespace {

using namespace std::chrono_literals;

TEST(GoDuration, ParsesWhatRuncsFlagsTake) {
  EXPECT_EQ(*parse_go_duration("100ms"), 100ms);
  EXPECT_EQ(*parse_go_duration("1s"), 1s);
  EXPECT_EQ(*parse_go_duration("5m"), 5min);
  EXPECT_EQ(*parse_go_duration("1h30m"), 90min);
  EXPECT_EQ(*parse_go_duration("1.5s"), 1500ms);
  EXPECT_EQ(*parse_go_duration(".5s"), 500ms);
  EXPECT_EQ(*parse_go_duration("250us"), 250us);
  EXPECT_EQ(*parse_go_duration("0"), 0ns);
  EXPECT_EQ(*parse_go_duration("-2s"), -2s);
}

TEST(GoDuration, RefusesWithGosMessages) {
  auto bare = parse_go_duration("1");
  ASSERT_FALSE(bare);
  EXPECT_EQ(bare.error().describe(), "time: missing unit in duration \"1\"");
  auto days = parse_go_duration("1d");
  ASSERT_FALSE(days);
  EXPECT_EQ(days.error().describe(), "time: unknown unit \"d\" in duration \"1d\"");
  for (const char* bad : {"", "s", ".s", "-", "1..5s", "9999999999h"}) EXPECT_FALSE(parse_go_duration(bad)) << bad;
}

}  // namespace
}  // namespace runvm::runtime
