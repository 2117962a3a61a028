#include "runtime/mount_points.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace runvm::runtime {
namespace {

std::vector<std::string> paths_of(const std::vector<MountPoint>& points) {
  std::vector<std::string> out;
  for (const auto& p : points) out.push_back(p.path + (p.file ? " (file)" : ""));
  return out;
}

TEST(MountPoints, EveryDestinationAndTheCwdOutsideEarlierMounts) {
  std::vector<PlannedMount> mounts = {{"/proc"},
                                      {"/dev"},
                                      {"/dev/pts"},
                                      {"/etc/hosts", true, true},
                                      {"/data/./x/", true, false},
                                      {"/data/x/inner", false, false},
                                      {"/sys"},
                                      {"/sys/fs/cgroup"}};
  EXPECT_EQ(paths_of(mount_points_in_rootfs(mounts, "/work/dir")),
            (std::vector<std::string>{"/proc", "/dev", "/etc/hosts (file)", "/data/x", "/sys",
                                      "/work/dir"}))
      << "the agent mounts in the spec's order: /data/x/inner is made in the bind";
  EXPECT_EQ(paths_of(mount_points_in_rootfs(mounts, "/dev/shm")),
            (std::vector<std::string>{"/proc", "/dev", "/etc/hosts (file)", "/data/x", "/sys"}))
      << "a cwd inside a mount is made there";
  EXPECT_TRUE(mount_points_in_rootfs({{"/"}}, "/").empty());
}

struct Scratch {
  std::string path;
  Scratch() {
    char tmpl[] = "/tmp/runvm-mount-points-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~Scratch() { std::system(("rm -rf '" + path + "'").c_str()); }
};

TEST(MountPoints, AreMadeInsideTheRootfsOnly) {
  Scratch dir;
  std::string root = dir.path + "/rootfs", outside = dir.path + "/outside";
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  // The image's symlinks resolve inside the rootfs, however they point.
  ASSERT_EQ(::symlink(outside.c_str(), (root + "/abs").c_str()), 0);
  ASSERT_EQ(::symlink("../../outside", (root + "/rel").c_str()), 0);
  // Where they lead inside the rootfs.
  ASSERT_EQ(std::system(("mkdir -p '" + root + outside + "' '" + root + "/outside'").c_str()), 0);
  std::ofstream(root + "/existing") << "keep\n";
  ASSERT_TRUE(make_mount_points(root, {{"/proc"},
                                       {"/etc/hosts", true},
                                       {"/abs/x"},
                                       {"/rel/y", true},
                                       {"/existing", true},
                                       {"/proc"}}));
  struct stat st;
  EXPECT_EQ(::stat((root + "/proc").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  ASSERT_EQ(::stat((root + "/etc/hosts").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(::stat((root + "/" + outside + "/x").c_str(), &st), 0) << "/abs resolved in the root";
  EXPECT_EQ(::stat((root + "/outside/y").c_str(), &st), 0) << "/rel resolved in the root";
  EXPECT_NE(::stat((outside + "/x").c_str(), &st), 0) << "made outside the rootfs";
  EXPECT_NE(::stat((outside + "/y").c_str(), &st), 0) << "made outside the rootfs";
  std::ifstream existing(root + "/existing");
  std::string line;
  std::getline(existing, line);
  EXPECT_EQ(line, "keep");
}

TEST(MountPoints, ADanglingLinkIsFollowedInsideTheRootfs) {
  Scratch dir;
  ASSERT_EQ(::symlink("/real/conf", (dir.path + "/conf").c_str()), 0);
  ASSERT_TRUE(make_mount_points(dir.path, {{"/conf/stack"}}));
  struct stat st;
  ASSERT_EQ(::stat((dir.path + "/real/conf/stack").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(MountPoints, AFileInTheWayIsAnError) {
  Scratch dir;
  std::ofstream(dir.path + "/file") << "x";
  auto made = make_mount_points(dir.path, {{"/file/sub"}});
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().describe().find("make the mount point /file/sub in the read-only root"),
            std::string::npos)
      << made.error().describe();
}

}  // namespace
}  // namespace runvm::runtime
