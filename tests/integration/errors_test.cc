// Bad input to `runvm run`: each gets a clear error naming what is wrong,
// and leaves no state, VM or helper behind.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

class RunErrorTest : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_TRUE(list_dir(root_.path()).empty()) << "state left under " << root_.path();
    EXPECT_TRUE(processes_mentioning(root_.path()).empty());
  }
  RunResult run(const std::vector<std::string>& globals = {}, const RunOptions& o = {}) {
    std::vector<std::string> argv = {"--root", root_.path()};
    argv.insert(argv.end(), globals.begin(), globals.end());
    argv.insert(argv.end(), {"run", "--bundle", bundle_.path(), "c1"});
    return run_runvm(argv, o);
  }
  void expect_error(const RunResult& r, const std::string& text) {
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(text), std::string::npos) << "stderr: " << r.err;
  }
  TempDir root_;
  Bundle bundle_;
};

TEST_F(RunErrorTest, MissingConfigJsonNamesTheFile) {
  expect_error(run(), bundle_.path() + "/config.json: no such file");
}

TEST_F(RunErrorTest, InvalidJsonNamesTheFile) {
  std::ofstream(bundle_.path() + "/config.json") << "{\"ociVersion\": ";
  expect_error(run(), bundle_.path() + "/config.json: invalid JSON");
}

TEST_F(RunErrorTest, WrongFieldTypeNamesTheField) {
  bundle_.config()["process"]["user"]["uid"] = "root";
  bundle_.write_config();
  expect_error(run(), "process.user.uid");
}

TEST_F(RunErrorTest, EmptyArgsIsRefused) {
  bundle_.config()["process"]["args"] = nlohmann::json::array();
  bundle_.write_config();
  expect_error(run(), "process.args: must not be empty");
}

TEST_F(RunErrorTest, UnsupportedOciVersionIsRefused) {
  bundle_.config()["ociVersion"] = "0.9.0";
  bundle_.write_config();
  expect_error(run(), "ociVersion: unsupported version");
}

TEST_F(RunErrorTest, MissingRootfsIsNamed) {
  bundle_.config()["root"]["path"] = "nowhere";
  bundle_.write_config();
  expect_error(run(), "rootfs " + bundle_.path() + "/nowhere does not exist");
}

TEST_F(RunErrorTest, MissingKernelSaysHowToBuildIt) {
  bundle_.write_config();
  auto r = run({"--kernel", "/nonexistent/vmlinuz"});
  expect_error(r, "guest kernel not found at /nonexistent/vmlinuz");
  EXPECT_NE(r.err.find("scripts/setup.sh"), std::string::npos);
}

TEST_F(RunErrorTest, MissingInitramfsSaysHowToBuildIt) {
  bundle_.write_config();
  RunOptions o;
  o.extra_env = {"RUNVM_INITRAMFS=/nonexistent/initramfs.img"};
  auto r = run({}, o);
  expect_error(r, "guest initramfs not found at /nonexistent/initramfs.img");
  EXPECT_NE(r.err.find("scripts/setup.sh"), std::string::npos);
}

TEST_F(RunErrorTest, QemuNotInstalledNamesThePackage) {
  bundle_.write_config();
  RunOptions o;
  o.extra_env = {"PATH=/nonexistent"};
  expect_error(run({}, o), "qemu-system-x86_64 not found: install the qemu-system-x86 package");
}

TEST_F(RunErrorTest, VirtiofsdNotInstalledNamesThePackage) {
  bundle_.write_config();
  RunOptions o;
  o.extra_env = {"RUNVM_VIRTIOFSD=/nonexistent/virtiofsd"};
  expect_error(run({}, o), "RUNVM_VIRTIOFSD=/nonexistent/virtiofsd not found: install the "
                           "qemu-system-x86 or virtiofsd package");
}

// runc's run relays a terminal of its own when any of its stdio, or its
// controlling terminal, is one; with none at all it fails in these words.
TEST_F(RunErrorTest, TerminalWithoutAnyTerminalOrConsoleSocketFailsAsRuncDoes) {
  bundle_.config()["process"]["terminal"] = true;
  bundle_.write_config();
  RunOptions o;
  o.new_session = true;
  expect_error(run({}, o), "runvm run failed: open /dev/tty: no such device or address");
}

TEST_F(RunErrorTest, UnknownAcceleratorIsRefused) {
  bundle_.write_config();
  expect_error(run({"--accel", "hvf"}), "unknown accelerator \"hvf\"");
}

// Sizes and roots the VM cannot have: refused before anything boots, with
// the field or flag and the cause (before, QEMU's socket errors, "connection
// reset" or "the process exited during setup" said neither, and
// --vm-memory 1 was silently 128 MiB).
TEST_F(RunErrorTest, TheHostsRootAsRootfsIsRefused) {
  bundle_.config()["root"]["path"] = "/";
  bundle_.write_config();
  expect_error(run(), "root.path: rootfs / is the host's root directory");
}

TEST_F(RunErrorTest, AMemoryLimitBeyondTheHostIsRefused) {
  bundle_.config()["linux"]["resources"]["memory"]["limit"] = int64_t{1} << 62;
  bundle_.write_config();
  expect_error(run(), "linux.resources.memory.limit: 4611686018427387904 bytes (4398046511104 MiB) is more memory "
                      "than the host has");
}

TEST_F(RunErrorTest, AOneByteMemoryLimitIsRefused) {
  bundle_.config()["linux"]["resources"]["memory"]["limit"] = 1;
  bundle_.write_config();
  expect_error(run(), "linux.resources.memory.limit: 1 bytes is below the 6 MiB");
}

TEST_F(RunErrorTest, VmMemoryOutsideWhatAVmCanHaveIsRefused) {
  bundle_.write_config();
  expect_error(run({"--vm-memory", "1"}), "--vm-memory 1: the VM needs at least 128 MiB");
  expect_error(run({"--vm-memory", "100000000"}), "--vm-memory 100000000: more memory than the host has");
}

}  // namespace
}  // namespace runvm::testing
