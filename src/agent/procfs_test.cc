#include "agent/procfs.h"
#include "common/procfs.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

namespace runvm::agent {
namespace {

// A real line from a 6.1 kernel, with a comm that has spaces and parens.
constexpr const char* kStat =
    "57 (sh (x) y) S 1 57 57 34816 57 4194560 120 0 0 0 3 4 0 0 20 0 1 0 1500 "
    "1654784 210 18446744073709551615 1 1 0 0 0 0 0 4 2 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

TEST(ParseMountinfo, TakesIdsAndDecodedMountPointsAndSkipsGarbage) {
  auto mounts = procfs::parse_mountinfo(
      "22 1 0:21 / /proc rw,relatime - proc proc rw\n"
      "garbage\n"
      "26 25 0:30 / /run/vol\\040one\\134x rw - virtiofs vol rw\n");
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].id, 22u);
  EXPECT_EQ(mounts[0].parent, 1u);
  EXPECT_EQ(mounts[0].mount_point, "/proc");
  EXPECT_EQ(mounts[1].mount_point, "/run/vol one\\x");
}

TEST(ParseProcStat, ReadsFieldsAfterTheLastParen) {
  auto st = parse_proc_stat(kStat);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->comm, "sh (x) y");
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->tty_nr, 34816);
  EXPECT_EQ(st->utime, 3u);
  EXPECT_EQ(st->stime, 4u);
  EXPECT_EQ(st->starttime, 1500u);
}

TEST(ParseProcStat, RejectsGarbage) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("12 sh S 1"));
  EXPECT_FALSE(parse_proc_stat("12 (sh) S 1 2"));
  EXPECT_FALSE(parse_proc_stat("12 (sh) S x 57 57 0 57 0 0 0 0 0 3 4 0 0 20 0 1 0 1500 1"));
}

TEST(ParseProcStatus, TakesEffectiveUidAndNspid) {
  auto st = parse_proc_status(
      "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1001\t1002\t1003\n"
      "Gid:\t0\t0\t0\t0\nNSpid:\t57\t1\nNSpgid:\t57\t1\n");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->uid, 1001u);
  ASSERT_EQ(st->nspid.size(), 2u);
  EXPECT_EQ(st->nspid.back(), 1);
}

TEST(ParseProcStatus, NoNspidIsEmpty) {
  auto st = parse_proc_status("Uid:\t0\t0\t0\t0\n");
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->nspid.empty());
  EXPECT_FALSE(parse_proc_status("Name:\tx\n"));
  EXPECT_FALSE(parse_proc_status("Uid:\tx\n"));
}

TEST(ParseCmdline, JoinsArgvWithSpaces) {
  using namespace std::string_literals;
  EXPECT_EQ(parse_cmdline("sh\0-c\0sleep 9\0"s), "sh -c sleep 9");
  EXPECT_EQ(parse_cmdline(""), "");
  EXPECT_EQ(parse_cmdline("a\0\0"s), "a");
  EXPECT_EQ(parse_cmdline(std::string(10000, 'x')).size(), 4096u);
}

TEST(TtyName, NamesPtsAndConsoles) {
  EXPECT_EQ(tty_name(0), "?");
  EXPECT_EQ(tty_name(34816), "pts/0");      // 136:0
  EXPECT_EQ(tty_name((136 << 8) | 5), "pts/5");
  EXPECT_EQ(tty_name((137 << 8) | 1), "pts/257");
  EXPECT_EQ(tty_name((4 << 8) | 64), "ttyS0");
  EXPECT_EQ(tty_name((4 << 8) | 1), "tty1");
  EXPECT_EQ(tty_name((5 << 8) | 1), "console");
}

TEST(ParsePidList, SkipsJunk) {
  EXPECT_EQ(parse_pid_list("1\n57\n\n300\n"), (std::vector<pid_t>{1, 57, 300}));
  EXPECT_EQ(parse_pid_list("x\n-3\n0\n4"), (std::vector<pid_t>{4}));
  EXPECT_TRUE(parse_pid_list("").empty());
}

TEST(ReadProcess, ReadsOurselves) {
  auto info = read_process(::getpid());
  ASSERT_TRUE(info) << info.error().describe();
  EXPECT_EQ(info->guest_pid, ::getpid());
  EXPECT_EQ(info->guest_ppid, ::getppid());
  EXPECT_FALSE(info->cmd.empty());
  EXPECT_FALSE(read_process(0x3fffffff));
}

// busybox top -b: it catches HUP, INT, QUIT, ABRT, USR1, USR2, PIPE, ALRM,
// TERM, XCPU, XFSZ, VTALRM (3807a27) and blocks or ignores nothing.
constexpr const char* kTopStatus =
    "Name:\ttop\nSigQ:\t0/7823\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"
    "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000003807a27\n";

TEST(SignalStance, ReadsCaughtSignalsFromSigCgt) {
  EXPECT_EQ(signal_stance(kTopStatus, SIGTERM), SignalStance::kHandled);
  EXPECT_EQ(signal_stance(kTopStatus, SIGHUP), SignalStance::kHandled);
  EXPECT_EQ(signal_stance(kTopStatus, SIGVTALRM), SignalStance::kHandled);
  EXPECT_EQ(signal_stance(kTopStatus, SIGWINCH), SignalStance::kDefault);
  EXPECT_EQ(signal_stance(kTopStatus, SIGCHLD), SignalStance::kDefault);
}

TEST(SignalStance, IgnoredIsHandledAndBlockedAloneIsItsOwn) {
  // SIGTERM (bit 14) blocked, SIGINT (bit 1) ignored and blocked; a
  // realtime signal (64) ignored.
  std::string text =
      "SigBlk:\t0000000000004002\nSigIgn:\t8000000000000002\nSigCgt:\t0000000000000000\n";
  EXPECT_EQ(signal_stance(text, SIGTERM), SignalStance::kBlocked);
  EXPECT_EQ(signal_stance(text, SIGINT), SignalStance::kHandled);
  EXPECT_EQ(signal_stance(text, 64), SignalStance::kHandled);
  EXPECT_EQ(signal_stance(text, SIGHUP), SignalStance::kDefault);
}

TEST(SignalStance, DefaultEverywhereOrUnreadableIsDefault) {
  EXPECT_EQ(signal_stance("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n",
                          SIGTERM),
            SignalStance::kDefault);
  EXPECT_EQ(signal_stance("", SIGTERM), SignalStance::kDefault);
  EXPECT_EQ(signal_stance("SigCgt:\tzz\n", SIGTERM), SignalStance::kDefault);
  EXPECT_EQ(signal_stance(kTopStatus, 0), SignalStance::kDefault);
  EXPECT_EQ(signal_stance(kTopStatus, 65), SignalStance::kDefault);
}

}  // namespace
}  // namespace runvm::agent
