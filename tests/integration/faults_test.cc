// Faults and leaks on real VMs (issue 16): a guest that stops answering
// (its QEMU SIGSTOPped) must not hang the host side, and no way of ending a
// container (kill, a killed create, racing deletes) may leave a cgroup, a
// process or state behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }

  void TearDown() override {
    runvm("delete --force " + id_);
    reap();
    expect_nothing_left();
  }

  // Zombies handed to this subreaper (a killed create's, a killed monitor's
  // children) are reaped, so they count as gone.
  static void reap() {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }

  void expect_nothing_left() {
    expect_no_container_left(root_.path(), bundle_);
    EXPECT_EQ(cgroup_dirs_left(), std::vector<std::string>{}) << "the container's cgroup left behind";
  }

  // The container's host cgroup (the bundle's cgroupsPath, this test's
  // own) in every hierarchy where it still exists.
  std::vector<std::string> cgroup_dirs_left() {
    return testing::cgroup_dirs_left(bundle_.config()["linux"]["cgroupsPath"].get<std::string>());
  }

  Cmd runvm(const std::string& args, const std::string& name = "cmd") {
    return runvm_command(root_.path(), args, scratch_.path() + "/" + name + ".out",
                         scratch_.path() + "/" + name + ".err");
  }

  Cmd create(const std::vector<std::string>& args) {
    bundle_.set_args(args);
    bundle_.write_config();
    return runvm("create --bundle '" + bundle_.path() + "' " + id_, "create");
  }

  std::string status() { return json::parse(runvm("state " + id_).out, nullptr, false).value("status", ""); }


  // The container's QEMU (its command line names the state directory).
  pid_t qemu_pid() {
    for (pid_t pid : processes_mentioning(root_.path() + "/" + id_)) {
      std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
      std::string comm;
      std::getline(f, comm);
      if (comm.starts_with("qemu-system")) return pid;
    }
    return -1;
  }

  std::string id_ = "fault" + std::to_string(::getpid());
  TempDir root_, scratch_;
  Bundle bundle_;
};

// QEMU stopped (a guest that no longer answers): queries fail with the
// cause within their deadline instead of blocking, kill KILL ends the
// container, and delete leaves nothing.
TEST_F(FaultsTest, AStoppedVmDoesNotHangTheHostSide) {
  ASSERT_EQ(create({"sleep", "1000"}).code, 0) << slurp(scratch_.path() + "/create.err");
  ASSERT_EQ(runvm("start " + id_).code, 0);
  pid_t qemu = qemu_pid();
  ASSERT_GT(qemu, 0) << "no QEMU found for the container";
  ASSERT_EQ(::kill(qemu, SIGSTOP), 0);

  auto begin = std::chrono::steady_clock::now();
  Cmd ps = runvm("ps " + id_);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 25s) << "ps blocked";
  EXPECT_NE(ps.code, 0);
  EXPECT_NE(ps.err.find("the container's VM did not answer within 10 s"), std::string::npos) << ps.err;

  EXPECT_EQ(runvm("kill " + id_ + " KILL").code, 0);
  EXPECT_TRUE(wait_until([&] { return status() == "stopped"; }, 20s)) << "the container kept running: " << status();
  Cmd deleted = runvm("delete " + id_);
  EXPECT_EQ(deleted.code, 0) << deleted.err;
  EXPECT_EQ(deleted.err.find("remove cgroup"), std::string::npos) << deleted.err;
  reap();
  expect_nothing_left();
}

// A tight create/start/kill/delete loop: delete right after state says
// stopped waits for the monitor and its VM, then removes the cgroup.
TEST_F(FaultsTest, DeleteRightAfterStoppedLeavesNoCgroup) {
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i));
    ASSERT_EQ(create({"sleep", "1000"}).code, 0) << slurp(scratch_.path() + "/create.err");
    ASSERT_EQ(runvm("start " + id_).code, 0);
    ASSERT_EQ(runvm("kill " + id_ + " KILL").code, 0);
    ASSERT_TRUE(wait_until([&] { return status() == "stopped"; }, 30s));
    Cmd deleted = runvm("delete " + id_);
    EXPECT_EQ(deleted.code, 0) << deleted.err;
    EXPECT_EQ(deleted.err.find("remove cgroup"), std::string::npos) << deleted.err;
    EXPECT_EQ(cgroup_dirs_left(), std::vector<std::string>{});
  }
}

// `runvm create` SIGKILLed while the VM boots: the VM does not outlive its
// creator, and delete --force removes what is left. The guest never
// answers, so the kill comes during the boot whatever the kernel's speed.
TEST_F(FaultsTest, AKilledCreateLeavesNoOrphanedVm) {
  bundle_.set_args({"sleep", "1000"});
  bundle_.write_config();
  std::string binary = runvm_binary();
  TempDir silent;
  std::string initramfs = silent_initramfs(silent.path());
  ASSERT_NE(initramfs, "");
  pid_t create = ::fork();
  if (create == 0) {
    ::setenv("RUNVM_INITRAMFS", initramfs.c_str(), 1);
    int devnull = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(devnull, fd);
    ::execl(binary.c_str(), binary.c_str(), "--root", root_.path().c_str(), "create", "--bundle",
            bundle_.path().c_str(), id_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(create, 0);
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(::kill(create, SIGKILL), 0);
  ASSERT_EQ(::waitpid(create, nullptr, 0), create);
  EXPECT_TRUE(wait_until(
      [&] {
        reap();
        return processes_mentioning(root_.path()).empty() && processes_mentioning(bundle_.rootfs()).empty();
      },
      5s))
      << "the VM outlived its creator";
  Cmd deleted = runvm("delete --force " + id_);
  EXPECT_EQ(deleted.code, 0) << deleted.err;
  reap();
  expect_nothing_left();
}

// Racing deletes of a running container all succeed (as runc's do), and
// nothing is left.
TEST_F(FaultsTest, ConcurrentForcedDeletesAllSucceed) {
  ASSERT_EQ(create({"sleep", "1000"}).code, 0) << slurp(scratch_.path() + "/create.err");
  ASSERT_EQ(runvm("start " + id_).code, 0);
  std::vector<Cmd> results(5);
  std::vector<std::thread> deleters;
  for (int i = 0; i < 5; ++i)
    deleters.emplace_back([&, i] { results[i] = runvm("delete --force " + id_, "d" + std::to_string(i)); });
  for (auto& t : deleters) t.join();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(results[i].code, 0) << "delete " << i << ": " << results[i].err;
  reap();
  expect_nothing_left();
}

// Arguments as large as runc takes them (8 x 128 KiB, over the 1 MiB frame
// limit that bounds the guest's messages) reach the process.
TEST_F(FaultsTest, ArgumentsAsLargeAsRuncTakesReachTheProcess) {
  std::vector<std::string> args = {"sh", "-c", "echo $# ${#1}", "sh"};
  for (int i = 0; i < 8; ++i) args.push_back(std::string(128 * 1024 - 1, static_cast<char>('a' + i)));
  bundle_.set_args(args);
  bundle_.write_config();
  RunResult r = run_runvm({"--root", root_.path(), "run", "--bundle", bundle_.path(), id_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "8 131071\n") << r.err;
}

// exec as large as runc's: 8 arguments of 128 KiB and a 100 KiB
// variable. Before: refused above about 200 KiB ("send a message: Message
// too long"), the control socket's packet limit.
TEST_F(FaultsTest, ExecArgumentsAndEnvironmentAsLargeAsRuncTakesReachTheProcess) {
  ASSERT_EQ(create({"sleep", "600"}).code, 0);
  ASSERT_EQ(runvm("start " + id_).code, 0);
  std::vector<std::string> args = {"--root", root_.path(), "exec", "--env", "BIG=" + std::string(100 * 1024, 'z'),
                                   id_, "sh", "-c", "echo $# ${#1} ${#8} ${#BIG}", "sh"};
  for (int i = 0; i < 8; ++i) args.push_back(std::string(128 * 1024 - 1, static_cast<char>('a' + i)));
  RunResult r = run_runvm(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "8 131071 131071 102400\n") << r.err;
}

// Item 12: a directory of 100,000 files. virtiofsd holds a descriptor for
// each inode the guest caches, and its limit here is 20,000; with
// READDIRPLUS it looked every entry up while listing, ran out, and the
// listing came back short (about 20,000 names, ls exiting 0) with the next
// exec failing "too many open files". The listing must be whole, twice
// (names, then with ls -l's stat of each), and an exec right after works.
// The root is read-only, as `runvm spec` writes it: there the listing came
// back short every time it was tried by hand (37,530, then 25,222 names).
TEST_F(FaultsTest, ADirectoryOfAHundredThousandFilesListsWhole) {
  std::string big = bundle_.rootfs() + "/big";
  ASSERT_EQ(shell("mkdir '" + big + "' && cd '" + big + "' && seq 1 100000 | xargs touch").status, 0);
  bundle_.config()["root"]["readonly"] = true;
  ASSERT_EQ(create({"sh", "-c", "ls /big | wc -l; ls -l /big | grep -c '^-'; sleep 600"}).code, 0);
  ASSERT_EQ(runvm("start " + id_).code, 0);
  std::string out = scratch_.path() + "/create.out";
  ASSERT_TRUE(wait_until([&] {
    std::string t = slurp(out);
    return std::count(t.begin(), t.end(), '\n') >= 2;
  }, 600s))  // 80 s alone; past 240 s beside two other suites (load 10)
      << slurp(out) << slurp(scratch_.path() + "/create.err");
  std::string text = slurp(out);
  EXPECT_EQ(text, "100000\n100000\n") << slurp(scratch_.path() + "/create.err");
  Cmd e = runvm("exec " + id_ + " sh -c 'ls /big/99999 && echo ok'", "exec");
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(e.out, "/big/99999\nok\n") << e.err;
}

}  // namespace
}  // namespace runvm::testing
