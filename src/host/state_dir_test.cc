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
  EXPECT_EQ(bad.error().message(), "invalid id format: a/b");
}

TEST(StateDir, IsExclusiveAndRemovedUnlessKept) {
  char tmpl[] = "/tmp/statedir-XXXXXX";
  std::string root = std::string(::mkdtemp(tmpl)) + "/root";
  {
    auto dir = StateDir::create(root, "c1");
    ASSERT_TRUE(dir) << dir.error().describe();
    EXPECT_TRUE(exists(root + "/c1/lock"));
    auto again = StateDir::create(root, "c1");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message(), "container with id exists: c1");
  }
  EXPECT_FALSE(exists(root + "/c1"));
  {
    auto dir = StateDir::create(root, "c2");
    ASSERT_TRUE(dir);
    dir->keep();
  }
  EXPECT_TRUE(exists(root + "/c2"));
  std::system(("rm -rf " + root.substr(0, root.rfind('/'))).c_str());
}

}  // namespace
}  // namespace runvm::host
