#include "runtime/placement.h"

#include <gtest/gtest.h>

namespace runvm::runtime {
namespace {

TEST(CgroupPath, AbsolutePathsAreTakenAsIs) {
  EXPECT_EQ(cgroup_relative_path("/docker/abc", false, "/user.slice"), "/docker/abc");
}

TEST(CgroupPath, RelativePathsHangBelowOurOwnCgroup) {
  EXPECT_EQ(cgroup_relative_path("ctr/abc", false, "/user.slice"), "/user.slice/ctr/abc");
  EXPECT_EQ(cgroup_relative_path("abc", false, "/"), "/abc");
}

TEST(CgroupPath, SystemdTriplesBecomeScopes) {
  EXPECT_EQ(cgroup_relative_path("system.slice:docker:abc", true, "/"), "/system.slice/docker-abc.scope");
  EXPECT_EQ(cgroup_relative_path(":runvm:abc", true, "/"), "/system.slice/runvm-abc.scope");
  EXPECT_EQ(cgroup_relative_path("machine.slice:libpod:x", false, "/"), "/machine.slice/libpod-x.scope")
      << "a slice:prefix:name triple is systemd's even without --systemd-cgroup";
}

TEST(HostMemory, IsTheGuestRamPlusTheAllowance) {
  EXPECT_EQ(host_memory_limit_bytes(256), (256u + kHostMemoryAllowanceMiB) * 1024 * 1024);
}

TEST(CgroupPath, NoneMeansNoCgroup) { EXPECT_EQ(cgroup_relative_path("", false, "/x"), ""); }

TEST(Namespaces, UserAndForeignPidNamespacesAreRefusedClearly) {
  auto user = enter_namespaces({{"user", ""}});
  ASSERT_FALSE(user);
  EXPECT_NE(user.error().describe().find("user namespaces are not supported"), std::string::npos);
  auto pid = enter_namespaces({{"pid", "/proc/1/ns/pid"}});
  ASSERT_FALSE(pid);
  EXPECT_NE(pid.error().describe().find("run inside its VM"), std::string::npos);
  auto odd = enter_namespaces({{"time", ""}});
  ASSERT_FALSE(odd);
  EXPECT_TRUE(enter_namespaces({{"pid", ""}, {"cgroup", ""}})) << "new ones need nothing on the host";
}

}  // namespace
}  // namespace runvm::runtime
