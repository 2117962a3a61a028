// A fixture for tests that work on one running container: c1, a busybox
// bundle running `sleep 600` under a private --root, created and started in
// SetUp, deleted in TearDown, which then checks that neither its state nor
// a process of it (QEMU, the monitor) is left.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tests/integration/harness.h"

namespace runvm::testing {

class RunningContainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bundle_.set_args({"sleep", "600"});
    bundle_.write_config();
    runvm_ = runvm_binary() + " --root " + root_.path();
    ShellResult created = create_and_start(runvm_, bundle_.path(), "c1", host_.path() + "/c.out");
    ASSERT_EQ(created.status, 0) << created.out << slurp(host_.path() + "/c.out");
  }

  void TearDown() override {
    shell(runvm_ + " delete --force c1");
    EXPECT_TRUE(list_dir(root_.path()).empty()) << "state left under " << root_.path();
    EXPECT_TRUE(processes_mentioning(root_.path()).empty()) << "QEMU or a monitor left running";
  }

  TempDir root_, host_;  // runvm's --root; the host side of the test's files
  Bundle bundle_;
  std::string runvm_;    // the runvm command line with --root
};

}  // namespace runvm::testing
