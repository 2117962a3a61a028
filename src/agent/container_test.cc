#include "agent/container.h"

#include <gtest/gtest.h>

namespace runvm::agent {
namespace {

TEST(ChildReport, ReadyAlone) {
  auto r = parse_child_report(report_ready());
  EXPECT_TRUE(r.ready);
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.failure);
  EXPECT_FALSE(parse_child_report("").complete);
}

TEST(ChildReport, PidThenFailureInEitherOrder) {
  std::string failure = report_failure(127, "exec: \"x\": executable file not found in $PATH");
  for (const std::string& text : {report_pid(57) + failure, failure + report_pid(57)}) {
    auto r = parse_child_report(text);
    EXPECT_EQ(r.pid, 57);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->exit_code, 127);
    EXPECT_EQ(r.failure->message, "exec: \"x\": executable file not found in $PATH");
  }
}

TEST(ChildReport, MessageMayHoldRecordCharacters) {
  auto r = parse_child_report(report_failure(1, "P1\nR\nF2 3\n") + report_pid(9));
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->message, "P1\nR\nF2 3\n");
  EXPECT_EQ(r.pid, 9);
}

TEST(ChildReport, PartialRecordsAreNotComplete) {
  std::string failure = report_failure(126, "permission denied");
  auto r = parse_child_report(failure.substr(0, failure.size() - 3));
  EXPECT_FALSE(r.failure);
  EXPECT_FALSE(r.complete);
  EXPECT_FALSE(parse_child_report("P12").pid);
  EXPECT_FALSE(parse_child_report("Px\n").pid);
  EXPECT_FALSE(parse_child_report("garbage").complete);
}

TEST(SysctlPath, DotsBecomeDirectoriesUnderProcSys) {
  EXPECT_EQ(sysctl_path("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
  EXPECT_EQ(sysctl_path("kernel.shmmax"), "/proc/sys/kernel/shmmax");
  EXPECT_EQ(sysctl_path("fs.mqueue.msg_max"), "/proc/sys/fs/mqueue/msg_max");
}

}  // namespace
}  // namespace runvm::agent
