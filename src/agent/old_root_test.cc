#include "agent/old_root.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace runvm::agent {
namespace {

// The guest's mount table as a container's namespace inherits it.
constexpr const char* kMountinfo =
    "1 1 0:2 / / rw - rootfs rootfs rw\n"
    "22 1 0:21 / /proc rw,relatime - proc proc rw\n"
    "23 1 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
    "24 23 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
    "25 1 0:24 / /run rw - tmpfs tmpfs rw\n"
    "26 25 0:30 / /run/shares/vol\\040one rw - virtiofs vol rw\n"
    "30 1 0:31 / /container rw - virtiofs root rw\n"
    "31 30 0:32 / /container/proc rw - proc proc rw\n"
    "32 31 0:5 /null /container/proc/kcore rw - devtmpfs devtmpfs rw\n"
    "33 1 0:33 / /containerd rw - tmpfs tmpfs rw\n";

TEST(MountsOutside, AreEveryMountButTheRootItsAncestorsAndWhatIsBelowItDeepestFirst) {
  std::vector<std::string> want = {"/sys/fs/cgroup", "/run/shares/vol one", "/proc", "/sys", "/run",
                                   "/containerd"};
  EXPECT_EQ(mounts_outside(kMountinfo, "/container"), want);
}

TEST(MountsOutside, ANestedRootKeepsItsAncestors) {
  auto out = mounts_outside(kMountinfo, "/run/shares/vol one");
  EXPECT_EQ(std::count(out.begin(), out.end(), "/run"), 0);
  EXPECT_EQ(std::count(out.begin(), out.end(), "/run/shares/vol one"), 0);
  EXPECT_EQ(std::count(out.begin(), out.end(), "/container/proc/kcore"), 1);
  auto at = [&](const char* m) { return std::find(out.begin(), out.end(), m) - out.begin(); };
  EXPECT_LT(at("/container/proc/kcore"), at("/container/proc"));
  EXPECT_LT(at("/container/proc"), at("/container"));
}

TEST(MountsOutside, IgnoresMalformedLines) {
  EXPECT_TRUE(mounts_outside("garbage\n\n1 2 3\n", "/container").empty());
}

}  // namespace
}  // namespace runvm::agent
