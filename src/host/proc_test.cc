#include "host/proc.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace runvm::host {
namespace {

TEST(ProcStat, OurOwnProcessIsItselfAndNotAnotherStartTime) {
  auto self = read_proc_stat(::getpid());
  ASSERT_TRUE(self);
  EXPECT_TRUE(process_is(::getpid(), self->starttime));
  EXPECT_FALSE(process_is(::getpid(), self->starttime + 1));
  EXPECT_FALSE(process_is(0, self->starttime));
}

}  // namespace
}  // namespace runvm::host
