// `runvm exec ID tar ...` on an image without tar (the harness's busybox
// bundle has no `tar` on its PATH): the agent's built-in tar runs in the
// container, in both directions, and the pipelines end as soon as the data
// is through, whatever its size (end-of-input is never lost on the way
// into the VM). An image with a tar of its own keeps using it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "tests/integration/harness.h"
#include "tests/integration/running_container.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using Shell = ShellResult;

// Runs a shell command line; stdout and stderr together.
Shell sh(const std::string& command) { return shell(command); }

class TransferTest : public RunningContainerTest {
 protected:
  // A host file of `size` random bytes.
  std::string make_file(const std::string& name, size_t size) {
    std::string path = host_.path() + "/" + name;
    std::string data(size, '\0');
    std::mt19937_64 rng(size);
    for (auto& c : data) c = static_cast<char>(rng());
    std::ofstream(path, std::ios::binary) << data;
    return path;
  }

  std::string exec(const std::string& args) { return runvm_ + " exec c1 " + args; }
};

// (busybox's sh would run its own applet for `tar`; exec looks up PATH.)
TEST_F(TransferTest, TheImageHasNoTarAndTheBuiltInAnswers) {
  for (const char* dir : {"/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/"})
    EXPECT_NE(::access((bundle_.rootfs() + dir + "tar").c_str(), F_OK), 0) << dir;
  Shell help = sh(exec("tar --no-such-option"));
  EXPECT_EQ(help.status, 2);
  EXPECT_EQ(help.out.find("BusyBox"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("tar: unrecognized option '--no-such-option'"), std::string::npos) << help.out;
}

// Into the container and back out for 0 bytes, 1 byte and 1 MiB; each
// pipeline must end on its own (the command's timeout is the harness's
// failure, not a slow pass).
TEST_F(TransferTest, ExecTarBothWaysEndsAtEndOfInput) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{1} << 20}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::string name = "f" + std::to_string(size);
    make_file(name, size);
    auto started = Clock::now();
    Shell in = sh("tar cf - -C " + host_.path() + " " + name + " | timeout 60 " +
                  exec("tar xf - -C /tmp"));
    EXPECT_EQ(in.status, 0) << in.out;
    Shell sum = sh(exec("busybox md5sum /tmp/" + name));
    Shell host_sum = sh("md5sum < " + host_.path() + "/" + name);
    EXPECT_EQ(sum.out.substr(0, 32), host_sum.out.substr(0, 32)) << sum.out;

    std::string back = host_.path() + "/back";
    ::mkdir(back.c_str(), 0755);
    Shell out = sh("timeout 60 " + exec("tar cf - -C /tmp " + name) + " | tar xf - -C " + back);
    EXPECT_EQ(out.status, 0) << out.out;
    EXPECT_EQ(sh("cmp " + back + "/" + name + " " + host_.path() + "/" + name).status, 0);
    EXPECT_LT(Clock::now() - started, 40s);
    sh("rm -rf " + back);
  }
}

// 1 GiB each way through exec tar, onto the rootfs share (the guest's /tmp
// is a tmpfs smaller than that): nothing holds the payload whole, and both
// pipelines end on their own.
TEST_F(TransferTest, OneGibibyteBothWays) {
  std::string big = host_.path() + "/big";
  ASSERT_EQ(sh("head -c 1073741824 /dev/urandom > " + big).status, 0);
  Shell host_sum = sh("md5sum < " + big);
  ASSERT_EQ(sh(exec("mkdir -p /data")).status, 0);
  auto started = Clock::now();
  Shell in = sh("tar cf - -C " + host_.path() + " big | timeout 600 " + exec("tar xf - -C /data"));
  auto in_took = Clock::now() - started;
  EXPECT_EQ(in.status, 0) << in.out;
  EXPECT_EQ(sh("md5sum < " + bundle_.rootfs() + "/data/big").out, host_sum.out);
  ::unlink(big.c_str());
  std::string back = host_.path() + "/back";
  ::mkdir(back.c_str(), 0755);
  started = Clock::now();
  Shell out = sh("timeout 600 " + exec("tar cf - -C /data big") + " | tar xf - -C " + back);
  auto out_took = Clock::now() - started;
  EXPECT_EQ(out.status, 0) << out.out;
  EXPECT_EQ(sh("md5sum < " + back + "/big").out, host_sum.out);
  std::cerr << "1 GiB in: " << std::chrono::duration_cast<std::chrono::milliseconds>(in_took).count()
            << " ms, out: " << std::chrono::duration_cast<std::chrono::milliseconds>(out_took).count()
            << " ms\n";
  sh("rm -rf " + back + " " + bundle_.rootfs() + "/data");
}

// What kubectl cp passes: `tar cf - -C DIR PATH` out, `tar xmf - -C DIR`
// in; modes, symlinks and directories survive, and nothing appears in the
// image on the host but what was copied.
TEST_F(TransferTest, KubectlCpForms) {
  std::string tree = host_.path() + "/tree";
  ASSERT_EQ(sh("mkdir -p " + tree + "/d/e && echo one > " + tree + "/d/one && chmod 640 " + tree +
               "/d/one && ln -s one " + tree + "/d/link && echo deep > " + tree + "/d/e/deep")
                .status,
            0);
  Shell in = sh("tar cf - -C " + tree + " d | " + exec("tar --no-same-permissions -xmf - -C /tmp"));
  ASSERT_EQ(in.status, 0) << in.out;
  Shell seen = sh(exec("sh -c 'cat /tmp/d/one /tmp/d/e/deep; busybox readlink /tmp/d/link'"));
  EXPECT_EQ(seen.out, "one\ndeep\none\n");
  Shell listing = sh(exec("tar cf - -C /tmp d") + " | tar tvf - | awk '{print $1, $6}' | sort");
  EXPECT_EQ(listing.status, 0) << listing.out;
  EXPECT_TRUE(listing.out.find("-rw-r----- d/one\n") != std::string::npos) << listing.out;
  EXPECT_TRUE(listing.out.find("lrwxrwxrwx d/link\n") != std::string::npos) << listing.out;
  EXPECT_TRUE(listing.out.find("drwxr-xr-x d/e/\n") != std::string::npos) << listing.out;
  Shell bad = sh(exec("tar xzf - -C /tmp") + " </dev/null");
  EXPECT_EQ(bad.status, 2) << bad.out;
  EXPECT_NE(bad.out.find("tar: "), std::string::npos) << bad.out;
}

TEST_F(TransferTest, AnImageWithItsOwnTarKeepsIt) {
  ASSERT_EQ(::symlink("busybox", (bundle_.rootfs() + "/bin/tar").c_str()), 0);
  Shell help = sh(exec("tar --help"));
  EXPECT_NE(help.out.find("BusyBox"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace runvm::testing
