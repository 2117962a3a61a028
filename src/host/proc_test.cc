#include "host/proc.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace runvm::host {
namespace {

TEST(ProcStat, ParsesStateAndStartTime) {
  auto s = parse_proc_stat("42 (sh) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1 2");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->start_time, 98765u);
}

TEST(ProcStat, CommandNamesWithSpacesAndParenthesesDoNotShiftFields) {
  auto s = parse_proc_stat("7 (a) b (c)) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555 0 0");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, 'Z');
  EXPECT_EQ(s->start_time, 555u);
}

TEST(ProcStat, TruncatedOrGarbageIsRejected) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("1 (x) S 1 2 3"));
  EXPECT_FALSE(parse_proc_stat("no parenthesis at all"));
  EXPECT_FALSE(parse_proc_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12z 0"));
}

TEST(ProcStat, OurOwnProcessIsItselfAndNotAnotherStartTime) {
  auto self = read_proc_stat(::getpid());
  ASSERT_TRUE(self);
  EXPECT_TRUE(process_is(::getpid(), self->start_time));
  EXPECT_FALSE(process_is(::getpid(), self->start_time + 1));
  EXPECT_FALSE(process_is(0, self->start_time));
}

}  // namespace
}  // namespace runvm::host
