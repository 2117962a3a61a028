// stat_in_root: kinds, symlinks followed or not, errno kept for missing
// paths, lookups that never leave the root, and the wire form.
#include "transfer/path_info.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "transfer/testing.h"

namespace runvm::transfer {
namespace {

using testing::TempDir;

class PathInfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::make_dirs(dir_ / "d");
    testing::write_file(dir_ / "d/f", "12345");
    ASSERT_EQ(::symlink("f", (dir_ / "d/link").c_str()), 0);
    ASSERT_EQ(::symlink("/d", (dir_ / "abs").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../etc", (dir_ / "escape").c_str()), 0);
    ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
    root_ = testing::open_dir(dir_.path());
  }
  TempDir dir_;
  UniqueFd root_;
};

TEST_F(PathInfoTest, Kinds) {
  auto f = stat_in_root(root_.get(), "/d/f", false);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, PathInfo::Kind::kFile);
  EXPECT_EQ(f->size, 5u);
  EXPECT_EQ(stat_in_root(root_.get(), "d", false)->kind, PathInfo::Kind::kDirectory);
  EXPECT_EQ(stat_in_root(root_.get(), "/", false)->kind, PathInfo::Kind::kDirectory);
  EXPECT_EQ(stat_in_root(root_.get(), "fifo", false)->kind, PathInfo::Kind::kOther);
}

TEST_F(PathInfoTest, SymlinksFollowedOnlyWhenAsked) {
  auto link = stat_in_root(root_.get(), "d/link", false);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->kind, PathInfo::Kind::kSymlink);
  EXPECT_EQ(link->link_target, "f");
  EXPECT_EQ(stat_in_root(root_.get(), "d/link", true)->kind, PathInfo::Kind::kFile);
  // An absolute target is the root's, and so is what ".." climbs to.
  EXPECT_EQ(stat_in_root(root_.get(), "abs/f", false)->kind, PathInfo::Kind::kFile);
  auto escape = stat_in_root(root_.get(), "escape", true);
  ASSERT_FALSE(escape);  // the root has no etc: the host's is never reached
  EXPECT_EQ(escape.error().errno_value(), ENOENT);
}

TEST_F(PathInfoTest, MissingKeepsErrno) {
  auto missing = stat_in_root(root_.get(), "/nope", false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errno_value(), ENOENT);
  auto under_file = stat_in_root(root_.get(), "/d/f/x", false);
  ASSERT_FALSE(under_file);
  EXPECT_EQ(under_file.error().errno_value(), ENOTDIR);
}

TEST_F(PathInfoTest, WireForm) {
  auto link = stat_in_root(root_.get(), "d/link", false);
  ASSERT_TRUE(link);
  auto back = path_info_from_json(path_info_to_json(*link));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->kind, PathInfo::Kind::kSymlink);
  EXPECT_EQ(back->link_target, "f");
  EXPECT_EQ(back->mode, link->mode);
  EXPECT_FALSE(path_info_from_json(nlohmann::json{{"mode", 1}}));
}

}  // namespace
}  // namespace runvm::transfer
