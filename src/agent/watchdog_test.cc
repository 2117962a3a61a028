#include "agent/watchdog.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace runvm::agent {
namespace {

using namespace std::chrono_literals;

TEST(DescribeStalled, NamesTheStateWaitAndInnermostFramesWithoutOffsets) {
  StalledProcess p{57, "runvm-agent", 'D', "request_wait_answer",
                   "[<0>] request_wait_answer+0x12c/0x280 [fuse]\n"
                   "[<0>] fuse_simple_request+0x18f/0x2a0 [fuse]\n"
                   "[<0>] fuse_lookup_name+0xf4/0x200 [fuse]\n"
                   "[<0>] do_syscall_64+0x3b/0xc0\n"};
  EXPECT_EQ(describe_stalled(p, 3),
            "pid 57 (runvm-agent) D in request_wait_answer: request_wait_answer < fuse_simple_request < "
            "fuse_lookup_name");
  EXPECT_EQ(describe_stalled({3, "sh", 'S', "0", ""}), "pid 3 (sh) S");
  EXPECT_EQ(describe_stalled({4, "x", 'R', "", "garbage\n[<0>] \n"}), "pid 4 (x) R");
}

TEST(DescendantsOf, AreTheRootAndEveryLevelBelowItBreadthFirst) {
  std::vector<std::pair<pid_t, pid_t>> table = {{1, 0}, {2, 0}, {10, 1}, {11, 1}, {20, 10}, {30, 20}, {40, 2}};
  EXPECT_EQ(descendants_of(1, table), (std::vector<pid_t>{1, 10, 11, 20, 30}));
  EXPECT_EQ(descendants_of(10, table), (std::vector<pid_t>{10, 20, 30}));
  EXPECT_EQ(descendants_of(99, table), (std::vector<pid_t>{99}));
}

class WatchdogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/runvm-watchdog-XXXXXX";
    int fd = ::mkstemp(name);
    ASSERT_GE(fd, 0);
    ::close(fd);
    console_ = name;
  }
  void TearDown() override { ::unlink(console_.c_str()); }

  std::string console() {
    std::ifstream in(console_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Waits (bounded) until the console holds `text`.
  bool wait_for(const std::string& text) {
    for (int i = 0; i < 500; ++i) {
      if (console().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::string console_;
};

TEST_F(WatchdogTest, AStepThatOutlastsTheLimitIsReportedWithTheAgentsChildren) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  {
    Watchdog watchdog = Watchdog::start(200ms, console_);
    watchdog.begin("create");
    EXPECT_TRUE(wait_for("the agent has been in \"create\" for")) << console();
    EXPECT_TRUE(wait_for("pid " + std::to_string(child) + " (")) << console();
    EXPECT_TRUE(wait_for("pid " + std::to_string(::getpid()) + " (")) << "the agent itself: " << console();
    watchdog.end();
    EXPECT_TRUE(wait_for("\"create\" ended")) << console();
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

TEST_F(WatchdogTest, StepsThatEndInTimeAreNotReported) {
  Watchdog watchdog = Watchdog::start(300ms, console_);
  for (int i = 0; i < 5; ++i) {
    watchdog.begin("exec");
    std::this_thread::sleep_for(20ms);
    watchdog.end();
  }
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(console(), "");
  // It is alive all the same: a long step now is reported.
  watchdog.begin("ps");
  EXPECT_TRUE(wait_for("the agent has been in \"ps\"")) << console();
}

TEST(Watchdog, ADisabledOneDoesNothing) {
  Watchdog watchdog;
  watchdog.begin("create");
  watchdog.end();
}

}  // namespace
}  // namespace runvm::agent
