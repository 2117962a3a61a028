#include "runtime/placement.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

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

// "/../../../../../../tmp/x/y" made /tmp/x on the host: every path is
// cleaned as if rooted at "/", as runc's utils.CleanPath does.
TEST(CgroupPath, DotDotNeverLeavesTheCgroupTree) {
  EXPECT_EQ(cgroup_relative_path("/../../../../../../tmp/x/y", false, "/user.slice"), "/tmp/x/y");
  EXPECT_EQ(cgroup_relative_path("/a/../../b/./c//", false, "/"), "/b/c");
  EXPECT_EQ(cgroup_relative_path("/..", false, "/"), "/");
  // A relative path stays below our own cgroup.
  EXPECT_EQ(cgroup_relative_path("../../../tmp/x", false, "/user.slice/u"), "/user.slice/u/tmp/x");
  EXPECT_EQ(cgroup_relative_path("a/../..", false, "/user.slice"), "/user.slice");
  EXPECT_EQ(cgroup_relative_path("../x", false, "/"), "/x");
  // systemd's triple likewise.
  EXPECT_EQ(cgroup_relative_path("../../..:runvm:../../../x", true, "/"), "/x.scope");
  EXPECT_EQ(cgroup_relative_path("system.slice:docker:../../tmp/x", true, "/"), "/system.slice/tmp/x.scope");
  for (const char* path : {"/../../../../../../tmp/x/y", "../../x", "a:b:../../../../c"})
    EXPECT_EQ(cgroup_relative_path(path, false, "/u").find(".."), std::string::npos) << path;
}

TEST(CgroupPath, ConfineCleansAsIfRootedAtSlash) {
  EXPECT_EQ(confine_cgroup_path(""), "/");
  EXPECT_EQ(confine_cgroup_path("a/b"), "/a/b");
  EXPECT_EQ(confine_cgroup_path("/a/./b/../../../c/"), "/c");
}

TEST(CgroupPath, UncleanPathsAreNeitherJoinedNorRemoved) {
  // As an older runvm might have written them to state.json.
  auto joined = join_cgroup("/../../../tmp/runvm-placement-test");
  ASSERT_FALSE(joined);
  EXPECT_NE(joined.error().describe().find("not a clean path"), std::string::npos);
  EXPECT_FALSE(limit_cgroup_memory("/a/../../b", 1 << 30));
  remove_cgroup("/../../../tmp");  // must not rmdir /tmp (it would fail anyway: not empty)
}

// A child that joins `relative` and, after `ms` (never if 0), exits.
pid_t child_in_cgroup(const std::string& relative, int ms) {
  pid_t child = ::fork();
  if (child == 0) {
    if (!join_cgroup(relative)) ::_exit(3);
    if (ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      ::_exit(0);
    }
    for (;;) ::pause();
  }
  auto in_cgroup = [&] {
    std::ifstream f("/proc/" + std::to_string(child) + "/cgroup");
    std::stringstream text;
    text << f.rdbuf();
    return text.str().find(relative) != std::string::npos;
  };
  for (int i = 0; i < 500 && !in_cgroup(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return child;
}

bool cgroup_left(const std::string& relative) {
  struct stat st;
  for (const char* h : {"", "/unified", "/memory", "/cpu", "/pids", "/systemd"})
    if (::stat(("/sys/fs/cgroup" + std::string(h) + relative).c_str(), &st) == 0) return true;
  return false;
}

// delete under load: the VM's stragglers still in the cgroup kept it busy
// past the wait and it was left in every hierarchy. What is exiting is
// waited for, and the cgroup goes.
TEST(RemoveCgroup, WaitsForWhatIsStillExitingAndRemovesItEverywhere) {
  std::string relative = "/runvm-placement-test-" + std::to_string(::getpid());
  pid_t child = child_in_cgroup(relative, 1500);
  remove_cgroup(relative, std::chrono::seconds(20));
  EXPECT_FALSE(cgroup_left(relative));
  ::waitpid(child, nullptr, 0);
  remove_cgroup(relative);
}

// A cgroup another container shares (the same cgroupsPath): a failed
// create's cleanup must not kill what runs there. (Killing what the cgroup
// listed took down a running container's VM.)
TEST(RemoveCgroup, KillsNothingItFindsThere) {
  std::string relative = "/runvm-placement-test-" + std::to_string(::getpid()) + "-shared";
  pid_t child = child_in_cgroup(relative, 0);
  remove_cgroup(relative, std::chrono::milliseconds(300));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(::waitpid(child, nullptr, WNOHANG), 0) << "the process in the cgroup was killed";
  EXPECT_TRUE(cgroup_left(relative));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  remove_cgroup(relative);
  EXPECT_FALSE(cgroup_left(relative));
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

TEST(CgroupPath, NoCgroupsPathGivesTheContainerItsOwnAsRuncDoes) {
  EXPECT_EQ(default_cgroup_path("c1", false), "/c1");
  EXPECT_EQ(default_cgroup_path("c1", true), "/system.slice/runc-c1.scope");
}

TEST(CgroupPath, AFrozenCgroupIsRecognisedInEitherVersion) {
  EXPECT_TRUE(freezer_says_frozen("FROZEN\n"));
  EXPECT_TRUE(freezer_says_frozen("FREEZING\n"));
  EXPECT_TRUE(freezer_says_frozen("1\n"));
  EXPECT_FALSE(freezer_says_frozen("THAWED\n"));
  EXPECT_FALSE(freezer_says_frozen("0\n"));
  EXPECT_FALSE(freezer_says_frozen(""));
}

}  // namespace
}  // namespace runvm::runtime
