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

}  // namespace
}  // namespace runvm::transfer
