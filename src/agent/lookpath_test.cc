#include "agent/lookpath.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>

namespace runvm::agent {
namespace {

class LookPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lookpath-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    make_file("bin/tool", 0755);
    make_file("bin/data", 0644);
    make_file("other/tool", 0755);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  void make_file(const std::string& rel, mode_t mode) {
    std::string path = dir_ + "/" + rel;
    ::mkdir(path.substr(0, path.rfind('/')).c_str(), 0755);
    std::ofstream(path) << "#!/bin/sh\n";
    ::chmod(path.c_str(), mode);
  }
  std::vector<std::string> env() const {
    return {"HOME=/", "PATH=" + dir_ + "/nope:" + dir_ + "/bin:" + dir_ + "/other"};
  }
  std::string dir_;
};

TEST_F(LookPathTest, FindsFirstExecutableOnPath) {
  auto r = look_path("tool", env());
  EXPECT_EQ(r.path, dir_ + "/bin/tool");
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(LookPathTest, MissingCommandHasRuncWordingAnd127) {
  auto r = look_path("x", env());
  EXPECT_EQ(r.message, "exec: \"x\": executable file not found in $PATH");
  EXPECT_EQ(r.exit_code, 127);
}

TEST_F(LookPathTest, NonExecutableOnPathIsNotFound) {
  auto r = look_path("data", env());
  EXPECT_EQ(r.exit_code, 127);
}

TEST_F(LookPathTest, PathWithSlashIsCheckedDirectly) {
  EXPECT_EQ(look_path(dir_ + "/other/tool", env()).path, dir_ + "/other/tool");
  auto missing = look_path(dir_ + "/missing", env());
  EXPECT_EQ(missing.message, "exec: \"" + dir_ + "/missing\": stat " + dir_ +
                                 "/missing: no such file or directory");
  EXPECT_EQ(missing.exit_code, 127);
  auto denied = look_path(dir_ + "/bin/data", env());
  EXPECT_EQ(denied.message, "exec: \"" + dir_ + "/bin/data\": permission denied");
  EXPECT_EQ(denied.exit_code, 126);
}

TEST_F(LookPathTest, DirectoryIsNotExecutable) {
  EXPECT_EQ(look_path(dir_ + "/bin", env()).exit_code, 126);
}

TEST(ExecFailure, MapsErrnoToDockerExitCodes) {
  EXPECT_EQ(exec_failure("/x", ENOENT).exit_code, 127);
  auto e = exec_failure("/x", ENOEXEC);
  EXPECT_EQ(e.exit_code, 126);
  EXPECT_EQ(e.message, "exec /x: exec format error");
}

}  // namespace
}  // namespace runvm::agent
