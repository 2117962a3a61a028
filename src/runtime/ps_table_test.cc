#include "runtime/ps_table.h"

#include <gtest/gtest.h>

namespace runvm::runtime {
namespace {

// Noon, so that a start a few minutes earlier is still today in any zone
// the test runs in... unless the zone is far off; STIME is checked for its
// shape, not its value.
const std::time_t kNow = 1765108800;  // 2025-12-07T12:00:00Z

std::vector<msg::PsEntry> processes() {
  msg::PsEntry init{1, 0, 0, "", 61000, 2000, "sh -c while true; do sleep 1; done", 'S'};
  msg::PsEntry exec{7, 0, 1000, "pts/0", 0, 100000, "/bin/top -b", 'R'};
  return {init, exec};
}

std::string table(const std::vector<std::string>& args) {
  auto format = parse_ps_args(args);
  EXPECT_TRUE(format) << (format ? "" : format.error().describe());
  return format ? render_ps(*format, processes(), 122000, kNow) : "";
}

TEST(PsTable, TheDefaultIsPsEf) {
  std::string out = table({});
  EXPECT_EQ(out.substr(0, out.find('\n')), "UID        PID  PPID  C STIME TTY          TIME CMD");
  std::string init = out.substr(out.find('\n') + 1);
  init = init.substr(0, init.find('\n'));
  // 61 s of CPU in the 120 s since it started: C is 50.
  EXPECT_EQ(init.substr(0, 24), "0            1     0 50 ");
  EXPECT_EQ(init.substr(29), " ?        00:01:01 sh -c while true; do sleep 1; done");
  EXPECT_EQ(table({"-ef"}), out);
  EXPECT_EQ(table({"-e", "-f"}), out);
}

TEST(PsTable, UnixAndBsdDefaultFormats) {
  EXPECT_EQ(table({"-e"}),
            "  PID TTY          TIME CMD\n"
            "    1 ?        00:01:01 sh -c while true; do sleep 1; done\n"
            "    7 pts/0    00:00:00 /bin/top -b\n");
  EXPECT_EQ(table({"-e", "-x"}),
            "  PID TTY      STAT   TIME COMMAND\n"
            "    1 ?        S      1:01 sh -c while true; do sleep 1; done\n"
            "    7 pts/0    R      0:00 /bin/top -b\n");
  EXPECT_EQ(table({"ax"}), table({"-e", "-x"}));
}

TEST(PsTable, FormatListsAndRenamedHeaders) {
  EXPECT_EQ(table({"-o", "pid,comm,uid"}),
            "  PID COMMAND           UID\n"
            "    1 sh                  0\n"
            "    7 top              1000\n");
  EXPECT_EQ(table({"-opid="}), "    1\n    7\n") << "every header emptied: no header line";
  EXPECT_EQ(table({"-o", "pid,args=The Command, with a comma"}).substr(0, 34), "  PID The Command, with a comma\n  ");
  EXPECT_EQ(table({"-o", "pid,etime"}).substr(0, 36), "  PID     ELAPSED\n    1       02:00\n");
  EXPECT_EQ(table({"o", "pid,stat"}), "  PID STAT\n    1 S\n    7 R\n");
}

TEST(PsTable, WhatCannotBeShownIsRefusedClearly) {
  for (const char* bad : {"-l", "u", "-p", "--forest", "-o"}) {
    auto format = parse_ps_args({bad});
    ASSERT_FALSE(format) << bad;
    EXPECT_NE(format.error().describe().find("ps"), std::string::npos);
  }
  auto unknown = parse_ps_args({"-o", "pid,rss"});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().describe().find("rss"), std::string::npos) << unknown.error().describe();
}

TEST(PsTable, AStoppedContainerIsAHeaderAlone) {
  auto format = parse_ps_args({});
  ASSERT_TRUE(format);
  EXPECT_EQ(render_ps(*format, {}, 0, kNow), "UID        PID  PPID  C STIME TTY          TIME CMD\n");
}

}  // namespace
}  // namespace runvm::runtime
