#include "runtime/fs_pressure.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

#include "common/unique_fd.h"

namespace runvm::runtime {
namespace {

using namespace std::chrono_literals;
using Clock = FsPressure::Clock;

TEST(FsPressure, IdleUseIsCheckedOncePerIntervalAndNeverReclaimed) {
  FsPressure p;
  Clock::time_point t{};
  EXPECT_EQ(p.ms_until_due(t), 0);
  EXPECT_FALSE(p.check({{100, 1024}, {20, 1024}}, t));  // under an eighth
  EXPECT_EQ(p.ms_until_due(t), 1000);
  EXPECT_EQ(p.ms_until_due(t + 400ms), 600);
}

TEST(FsPressure, BusyUseIsCheckedOftenAndHalfTheLimitReclaims) {
  FsPressure p;
  Clock::time_point t{};
  EXPECT_FALSE(p.check({{128, 1024}}, t));  // an eighth: busy, not yet over
  EXPECT_EQ(p.ms_until_due(t), 100);
  EXPECT_TRUE(p.check({{30, 1024}, {256, 1024}}, t + 100ms));  // either server at a quarter
}

TEST(FsPressure, AReclaimThatWorkedLetsTheNextOneComeSoon) {
  FsPressure p;
  Clock::time_point t{};
  ASSERT_TRUE(p.check({{600, 1024}}, t));
  EXPECT_FALSE(p.check({{200, 1024}}, t + 100ms));
  EXPECT_TRUE(p.check({{700, 1024}}, t + 400ms));
}

TEST(FsPressure, AReclaimThatDidNotHelpBacksOffDoubling) {
  FsPressure p;
  Clock::time_point t{};
  ASSERT_TRUE(p.check({{900, 1024}}, t));
  // Judged no sooner than three busy intervals later.
  EXPECT_FALSE(p.check({{900, 1024}}, t + 100ms));
  ASSERT_TRUE(p.check({{900, 1024}}, t + 300ms));  // still over: 1 s before the next
  EXPECT_FALSE(p.check({{900, 1024}}, t + 1200ms));
  ASSERT_TRUE(p.check({{900, 1024}}, t + 1300ms));  // and now 2 s
  EXPECT_FALSE(p.check({{900, 1024}}, t + 3200ms));
  EXPECT_TRUE(p.check({{900, 1024}}, t + 3300ms));
}

TEST(FsPressure, DeferPutsTheNextCheckOff) {
  FsPressure p;
  Clock::time_point t{};
  p.defer(t);
  EXPECT_EQ(p.ms_until_due(t), 1000);
}

TEST(FsPressure, AGoneProcessCountsForNothing) {
  FsPressure p;
  EXPECT_FALSE(p.check({{}}, Clock::time_point{}));
  EXPECT_FALSE(is_busy({}));
  EXPECT_FALSE(needs_reclaim({}));
}

TEST(ReadDescriptorUse, ReadsThisProcesssLimitAndCountsWhenBusy) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = {64, saved.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<UniqueFd> held;
  for (int i = 0; i < 39; ++i) held.emplace_back(::dup(0));
  UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  DescriptorUse use = read_descriptor_use(proc.get(), ::getpid());
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_EQ(use.limit, 64u);
  EXPECT_GE(use.open, 43u);  // counted: at least stdio, /proc and the 39 held
  EXPECT_LT(use.open, 64u);
  EXPECT_TRUE(needs_reclaim(use));
}

TEST(ReadDescriptorUse, NoSuchProcessIsUnknown) {
  UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  DescriptorUse use = read_descriptor_use(proc.get(), 0x3ffffff0);
  EXPECT_EQ(use.limit, 0u);
}

}  // namespace
}  // namespace runvm::runtime
