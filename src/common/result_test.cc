#include "common/result.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

namespace runvm {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return fail("not positive: " + std::to_string(v));
  return v;
}

Result<int> doubled(int v) {
  int x = TRY_CTX(parse_positive(v), "doubling");
  return x * 2;
}

Status open_missing() {
  errno = ENOENT;
  return fail_errno("open /nope");
}

TEST(Result, CarriesValue) {
  auto r = doubled(4);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 8);
}

TEST(Result, TryPassesErrorUpWithContext) {
  auto r = doubled(-1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "doubling: not positive: -1");
  EXPECT_EQ(r.error().errno_value(), 0);
}

TEST(Result, ErrnoIsKeptAndDescribed) {
  Status s = open_missing();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().errno_value(), ENOENT);
  EXPECT_EQ(s.error().describe(), "open /nope: No such file or directory");
  Status c = std::move(s).context("loading kernel");
  EXPECT_EQ(c.error().describe(),
            "loading kernel: open /nope: No such file or directory");
}

TEST(Result, HoldsMoveOnlyValues) {
  auto make = []() -> Result<std::unique_ptr<int>> {
    return std::make_unique<int>(7);
  };
  auto use = [&]() -> Result<int> {
    std::unique_ptr<int> p = TRY(make());
    return *p;
  };
  EXPECT_EQ(*use(), 7);
}

}  // namespace
}  // namespace runvm
