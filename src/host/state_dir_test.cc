#include "host/state_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

namespace runvm::host {
namespace {

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

TEST(ContainerId, AcceptsRuncCharacters) {
  EXPECT_TRUE(validate_container_id("abc-DEF_1.2+3"));
  EXPECT_FALSE(validate_container_id(""));
  EXPECT_FALSE(validate_container_id(".."));
  auto bad = validate_container_id("a/b");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "invalid container ID format: a/b");
}

TEST(StateDir, IsExclusiveAndRemovedUnlessKept) {
  char tmpl[] = "/tmp/statedir-XXXXXX";
  std::string root = std::string(::mkdtemp(tmpl)) + "/deeper/root";
  {
    auto dir = StateDir::create(root, "c1");
    ASSERT_TRUE(dir) << dir.error().describe();
    EXPECT_TRUE(exists(root + "/c1/lock"));
    auto again = StateDir::create(root, "c1");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message(), "container with given ID already exists");
  }
  EXPECT_FALSE(exists(root + "/c1"));
  {
    auto dir = StateDir::create(root, "c2");
    ASSERT_TRUE(dir);
    dir->keep();
  }
  EXPECT_TRUE(exists(root + "/c2"));
  {
    auto opened = StateDir::open(root, "c2");
    ASSERT_TRUE(opened) << opened.error().describe();
    auto missing = StateDir::open(root, "nope");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message(), "container does not exist");
  }
  EXPECT_TRUE(exists(root + "/c2")) << "open() keeps the directory by default";
  std::system(("rm -rf " + std::string(tmpl)).c_str());
}

}  // namespace
}  // namespace runvm::host
