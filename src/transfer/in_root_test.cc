#include "transfer/in_root.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transfer/testing.h"

namespace runvm::transfer {
namespace {

using testing::TempDir;

TEST(MemberComponents, StripsLeadingSlashAndDots) {
  bool stripped = false;
  auto parts = member_components("//a/./b//c/", &stripped);
  ASSERT_TRUE(parts);
  EXPECT_EQ(*parts, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(stripped);
  EXPECT_TRUE(member_components("./", nullptr)->empty());
}

TEST(MemberComponents, RejectsDotDot) {
  for (const char* name : {"..", "../x", "a/../b", "a/..", "/../etc"}) {
    auto parts = member_components(name);
    ASSERT_FALSE(parts) << name;
    EXPECT_NE(parts.error().message().find(".."), std::string::npos);
  }
  EXPECT_TRUE(member_components("a..b/..c/d.."));  // only whole components
}

TEST(CleanComponents, ResolvesDotDotLexicallyAndNeverAboveRoot) {
  EXPECT_EQ(clean_components("/a/b/../c"), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(clean_components("../../x"), (std::vector<std::string>{"x"}));
  EXPECT_TRUE(clean_components("/").empty());
}

TEST(OpenInRoot, SymlinksResolveInsideTheRoot) {
  TempDir tmp;
  ASSERT_EQ(::mkdir((tmp / "root").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tmp / "root/etc").c_str(), 0755), 0);
  testing::write_file(tmp / "root/etc/inside", "in");
  testing::write_file(tmp / "outside", "out");
  ASSERT_EQ(::symlink("/etc", (tmp / "root/abs").c_str()), 0);
  ASSERT_EQ(::symlink("../../../../../../etc", (tmp / "root/rel").c_str()), 0);
  ASSERT_EQ(::symlink((tmp / "outside").c_str(), (tmp / "root/escape").c_str()), 0);
  UniqueFd root = testing::open_dir(tmp / "root");

  for (const char* path : {"abs/inside", "rel/inside", "/abs/inside", "../../etc/inside"}) {
    auto fd = open_in_root(root.get(), path, O_RDONLY);
    ASSERT_TRUE(fd) << path << ": " << fd.error().describe();
    char buf[8] = {};
    EXPECT_EQ(::read(fd->get(), buf, sizeof buf), 2);
    EXPECT_STREQ(buf, "in");
  }
  // The host's path does not exist inside the root.
  auto escaped = open_in_root(root.get(), "escape", O_RDONLY);
  ASSERT_FALSE(escaped);
  EXPECT_EQ(escaped.error().errno_value(), ENOENT);
}

TEST(OpenInRoot, RefusesMagicLinks) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto fd = open_in_root(root.get(), "proc/self/exe", O_RDONLY);
  if (fd) GTEST_SKIP() << "no /proc here";
  EXPECT_TRUE(fd.error().errno_value() == ELOOP || fd.error().errno_value() == ENOENT);
}

// resolve_in_root: mount destinations in a root full of hostile links.
class ResolveInRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::make_dirs(tmp_ / "root/etc");
    testing::make_dirs(tmp_ / "root/real");
    testing::make_dirs(tmp_ / "outside/etc");
    testing::write_file(tmp_ / "root/etc/marker", "inside");
    testing::write_file(tmp_ / "root/file", "a file");
    root_ = testing::open_dir(tmp_ / "root");
  }
  void link(const std::string& target, const std::string& name) {
    ASSERT_EQ(::symlink(target.c_str(), (tmp_ / ("root/" + name)).c_str()), 0) << name;
  }
  // The inode of a path on the host, to compare with what was resolved.
  ino_t inode(const std::string& host_path) {
    struct stat st = {};
    EXPECT_EQ(::lstat(host_path.c_str(), &st), 0) << host_path;
    return st.st_ino;
  }
  ino_t inode(const UniqueFd& fd) {
    struct stat st = {};
    EXPECT_EQ(::fstat(fd.get(), &st), 0);
    return st.st_ino;
  }

  TempDir tmp_;
  UniqueFd root_;
};

TEST_F(ResolveInRoot, AnAbsoluteLinkIsFollowedInsideTheRootAndTheRestMadeThere) {
  ASSERT_NO_FATAL_FAILURE(link("/etc", "conf"));
  auto r = resolve_in_root(root_.get(), "/conf/stack", MakeMissing::directory);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->path, "/etc/stack");
  EXPECT_EQ(r->name, "stack");
  EXPECT_EQ(inode(r->fd), inode(tmp_ / "root/etc/stack"));
  EXPECT_EQ(inode(r->parent), inode(tmp_ / "root/etc"));
  EXPECT_FALSE(testing::exists(tmp_ / "outside/etc/stack"));
  EXPECT_FALSE(testing::exists("/etc/stack"));
}

TEST_F(ResolveInRoot, DotDotClimbingStopsAtTheRoot) {
  ASSERT_NO_FATAL_FAILURE(link("../../../../../../../outside/etc", "climb"));
  ASSERT_NO_FATAL_FAILURE(link("../../..", "up"));
  auto r = resolve_in_root(root_.get(), "/climb/x", MakeMissing::directory);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->path, "/outside/etc/x");
  EXPECT_TRUE(testing::exists(tmp_ / "root/outside/etc/x"));
  EXPECT_FALSE(testing::exists(tmp_ / "outside/etc/x"));
  auto up = resolve_in_root(root_.get(), "/../../up/../etc", MakeMissing::nothing);
  ASSERT_TRUE(up) << up.error().describe();
  EXPECT_EQ(up->path, "/etc");
  EXPECT_EQ(inode(up->fd), inode(tmp_ / "root/etc"));
}

TEST_F(ResolveInRoot, DotDotAfterALinkGoesUpFromItsTarget) {
  ASSERT_NO_FATAL_FAILURE(link("/real", "r"));
  testing::make_dirs(tmp_ / "root/real/sub");
  auto r = resolve_in_root(root_.get(), "/r/sub/../x", MakeMissing::directory);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->path, "/real/x");
}

TEST_F(ResolveInRoot, ALinkToALinkIsFollowedToTheEnd) {
  ASSERT_NO_FATAL_FAILURE(link("b", "a"));
  ASSERT_NO_FATAL_FAILURE(link("/c", "b"));
  ASSERT_NO_FATAL_FAILURE(link("etc", "c"));
  auto r = resolve_in_root(root_.get(), "a/marker", MakeMissing::nothing);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->path, "/etc/marker");
  EXPECT_EQ(inode(r->fd), inode(tmp_ / "root/etc/marker"));
}

TEST_F(ResolveInRoot, ADanglingLinkIsMadeInsideTheRoot) {
  ASSERT_NO_FATAL_FAILURE(link("/real/conf", "conf"));
  auto r = resolve_in_root(root_.get(), "/conf/stack", MakeMissing::directory);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->path, "/real/conf/stack");
  struct stat st = {};
  ASSERT_EQ(::stat((tmp_ / "root/real/conf/stack").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(ResolveInRoot, AFileIsMadeLastWithItsParents) {
  ASSERT_NO_FATAL_FAILURE(link("/etc", "conf"));
  auto r = resolve_in_root(root_.get(), "/conf/sub/hosts", MakeMissing::file);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->path, "/etc/sub/hosts");
  struct stat st = {};
  ASSERT_EQ(::stat((tmp_ / "root/etc/sub/hosts").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  ASSERT_EQ(::stat((tmp_ / "root/etc/sub").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(ResolveInRoot, LoopsAreELOOP) {
  ASSERT_NO_FATAL_FAILURE(link("loop", "loop"));
  ASSERT_NO_FATAL_FAILURE(link("/ping", "pong"));
  ASSERT_NO_FATAL_FAILURE(link("/pong/x", "ping"));
  for (const char* path : {"/loop/x", "/ping/y"}) {
    auto r = resolve_in_root(root_.get(), path, MakeMissing::directory);
    ASSERT_FALSE(r) << path;
    EXPECT_EQ(r.error().errno_value(), ELOOP) << path;
    EXPECT_NE(r.error().message().find(path), std::string::npos) << r.error().message();
  }
}

TEST_F(ResolveInRoot, AFileOnTheWayIsENOTDIR) {
  auto r = resolve_in_root(root_.get(), "/file/x", MakeMissing::directory);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errno_value(), ENOTDIR);
}

TEST_F(ResolveInRoot, NothingIsMadeUnlessAsked) {
  auto r = resolve_in_root(root_.get(), "/new/dir", MakeMissing::nothing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errno_value(), ENOENT);
  EXPECT_FALSE(testing::exists(tmp_ / "root/new"));
}

TEST_F(ResolveInRoot, AMissingComponentBeforeDotDotIsPassedOverAsSecurejoinDoes) {
  auto r = resolve_in_root(root_.get(), "/ghost/../etc/x", MakeMissing::directory);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->path, "/etc/x");
  EXPECT_FALSE(testing::exists(tmp_ / "root/ghost"));
}

TEST_F(ResolveInRoot, TheLastLinkCanBeLeftUnfollowed) {
  ASSERT_NO_FATAL_FAILURE(link("/etc", "proc"));
  auto r = resolve_in_root(root_.get(), "/proc", MakeMissing::directory, false);
  ASSERT_TRUE(r) << r.error().describe();
  struct stat st = {};
  ASSERT_EQ(::fstatat(r->fd.get(), "", &st, AT_EMPTY_PATH), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  auto followed = resolve_in_root(root_.get(), "/proc", MakeMissing::directory);
  ASSERT_TRUE(followed);
  EXPECT_EQ(followed->path, "/etc");
}

TEST_F(ResolveInRoot, TheRootItselfHasNoParent) {
  ASSERT_NO_FATAL_FAILURE(link("/", "self"));
  for (const char* path : {"/", "", "/self", "/etc/.."}) {
    auto r = resolve_in_root(root_.get(), path, MakeMissing::nothing);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->path, "/") << path;
    EXPECT_FALSE(r->parent.valid()) << path;
    EXPECT_EQ(inode(r->fd), inode(tmp_ / "root")) << path;
  }
}

}  // namespace
}  // namespace runvm::transfer
