// `runvm run` end to end: real QEMU, virtiofsd, guest kernel and agent.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;

class RunTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Whatever happened, nothing of the VM may remain.
    EXPECT_TRUE(list_dir(root_.path()).empty()) << "state left under " << root_.path();
    EXPECT_TRUE(processes_mentioning(root_.path()).empty()) << "QEMU left running";
    EXPECT_TRUE(processes_mentioning(bundle_.rootfs()).empty()) << "virtiofsd left running";
  }

  RunResult run(const std::vector<std::string>& args, const RunOptions& o = {}) {
    bundle_.set_args(args);
    bundle_.write_config();
    return run_id("c1", o);
  }

  RunResult run_id(const std::string& id, const RunOptions& o = {},
                   std::vector<std::string> globals = {}) {
    std::vector<std::string> argv = {"--root", root_.path()};
    argv.insert(argv.end(), globals.begin(), globals.end());
    argv.insert(argv.end(), {"run", "--bundle", bundle_.path(), id});
    return run_runvm(argv, o);
  }

  TempDir root_;
  Bundle bundle_;
};

TEST_F(RunTest, StdoutAndStderrAreKeptApart) {
  auto r = run({"sh", "-c", "echo to-out; echo to-err >&2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "to-out\n");
  EXPECT_EQ(r.err, "to-err\n");
}

TEST_F(RunTest, ExitCodeZero) { EXPECT_EQ(run({"true"}).exit_code, 0); }

TEST_F(RunTest, ExitCodeThree) { EXPECT_EQ(run({"sh", "-c", "exit 3"}).exit_code, 3); }

// The process is PID 1 of its namespace, so (as under runc) it ignores
// signals it has no handler for, SIGKILL from itself included; a fault
// signal kills it, and the status is 128+N.
TEST_F(RunTest, KilledProcessGives128PlusSignal) {
  auto r = run({"segfault"});
  EXPECT_EQ(r.exit_code, 128 + SIGSEGV) << r.err;
}

TEST_F(RunTest, TenMegabytesThroughCatComeBackIntactAndTheCommandEnds) {
  std::string data(10 << 20, '\0');
  std::mt19937_64 rng(42);
  for (auto& c : data) c = static_cast<char>(rng());
  RunOptions o;
  o.stdin_data = data;
  auto r = run({"cat"}, o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.size(), data.size());
  EXPECT_TRUE(r.out == data) << "bytes differ";
}

TEST_F(RunTest, ReadWithStdinClosedAtOnceEnds) {
  auto r = run({"sh", "-c", "read x; echo \"got[$x]\""});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "got[]\n");
}

TEST_F(RunTest, StdinLineReachesTheProcess) {
  RunOptions o;
  o.stdin_data = "hello vm\n";
  auto r = run({"sh", "-c", "read x; echo \"got[$x]\""}, o);
  EXPECT_EQ(r.out, "got[hello vm]\n");
}

TEST_F(RunTest, EnvCwdUserGroupsHostnameAndUmaskAreHonoured) {
  auto& p = bundle_.config()["process"];
  p["env"] = {"PATH=/bin", "GREETING=hi there"};
  p["cwd"] = "/work/dir";
  p["user"] = {{"uid", 1000}, {"gid", 1001}, {"additionalGids", {5, 7}}, {"umask", 027}};
  bundle_.config()["hostname"] = "vm-under-test";
  auto r = run({"sh", "-c", "echo $GREETING; pwd; id -u; id -g; id -G; hostname; umask"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hi there\n/work/dir\n1000\n1001\n1001 5 7\nvm-under-test\n0027\n");
}

TEST_F(RunTest, BindMountsFromTheHostAreSharedBothWays) {
  TempDir host;
  std::ofstream(host.path() + "/in.txt") << "from the host\n";
  std::ofstream(host.path() + "/single.txt") << "one file\n";
  bundle_.config()["mounts"].push_back(
      {{"destination", "/data"}, {"type", "bind"}, {"source", host.path()}, {"options", {"rbind", "rw"}}});
  bundle_.config()["mounts"].push_back({{"destination", "/etc/single.txt"}, {"type", "bind"},
                                        {"source", host.path() + "/single.txt"},
                                        {"options", {"bind", "ro"}}});
  auto r = run({"sh", "-c", "cat /data/in.txt; echo from the vm > /data/out.txt; cat /etc/single.txt; "
                            "echo x > /etc/single.txt"});
  EXPECT_EQ(r.exit_code, 1) << "the read-only file refuses the write";
  EXPECT_EQ(r.out, "from the host\none file\n");
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  std::ifstream out(host.path() + "/out.txt");
  std::string line;
  std::getline(out, line);
  EXPECT_EQ(line, "from the vm") << "the write reached the host";
  EXPECT_TRUE(processes_mentioning(host.path()).empty()) << "the shares' virtiofsd left running";
}

TEST_F(RunTest, RlimitsAndNoNewPrivilegesAreApplied) {
  auto& p = bundle_.config()["process"];
  p["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 512}, {"soft", 256}}};
  p["noNewPrivileges"] = true;
  auto r = run({"sh", "-c", "ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "256\n512\nNoNewPrivs:\t1\n");
}

TEST_F(RunTest, SpecMountsAndDevicesAreThere) {
  auto r = run({"sh", "-c", "test -c /dev/null && echo null-ok; "
                            "grep -c ' /tmp tmpfs ' /proc/mounts; ls /proc/1/exe"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "null-ok\n1\n/proc/1/exe\n");
}

TEST_F(RunTest, LogFileRecordsTheAcceleratorChoiceAsJson) {
  bundle_.set_args({"true"});
  bundle_.write_config();
  TempDir logs;
  auto r = run_id("c1", {}, {"--log", logs.path() + "/log.json", "--log-format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream f(logs.path() + "/log.json");
  std::string line;
  std::getline(f, line);
  auto entry = nlohmann::json::parse(line, nullptr, false);
  ASSERT_FALSE(entry.is_discarded()) << line;
  EXPECT_EQ(entry.value("level", ""), "info");
  EXPECT_NE(entry.value("msg", "").find("accelerator: "), std::string::npos) << line;
}

TEST_F(RunTest, ReadOnlyRootRefusesWrites) {
  bundle_.config()["root"]["readonly"] = true;
  auto r = run({"sh", "-c", "touch /newfile; echo rc=$?; touch /tmp/ok && echo tmp-ok"});
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos);
  EXPECT_NE(r.out.find("tmp-ok"), std::string::npos);  // the spec's tmpfs stays writable
  struct stat st;
  EXPECT_NE(::stat((bundle_.rootfs() + "/newfile").c_str(), &st), 0);
}

TEST_F(RunTest, WritesReachTheHostRootfs) {
  auto r = run({"sh", "-c", "echo from-guest > /written"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream f(bundle_.rootfs() + "/written");
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line, "from-guest");
}

TEST_F(RunTest, ProcessIsPidOneOfItsNamespace) {
  auto r = run({"sh", "-c", "echo $$"});
  EXPECT_EQ(r.out, "1\n");
}

TEST_F(RunTest, MissingExecutableGives127WithRuncWording) {
  auto r = run({"no-such-program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("exec: \"no-such-program\": executable file not found in $PATH"),
            std::string::npos)
      << r.err;
}

TEST_F(RunTest, NonExecutableFileGives126) {
  auto r = run({"/notexec"});
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
}

TEST_F(RunTest, SignalToRunvmReachesTheProcess) {
  RunOptions o;
  bool sent = false;
  o.on_stdout = [&](pid_t pid, const std::string& out) {
    if (!sent && out.find("ready") != std::string::npos) {
      ::kill(pid, SIGTERM);
      sent = true;
    }
  };
  auto r = run({"sh", "-c", "trap 'echo got-term; exit 7' TERM; echo ready; "
                            "while true; do sleep 0.1; done"},
               o);
  EXPECT_TRUE(sent);
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.out.find("got-term"), std::string::npos);
}

TEST_F(RunTest, SigintAndSigusr1AreForwardedToo) {
  RunOptions o;
  int stage = 0;
  o.on_stdout = [&](pid_t pid, const std::string& out) {
    if (stage == 0 && out.find("ready") != std::string::npos) {
      ::kill(pid, SIGUSR1);
      stage = 1;
    } else if (stage == 1 && out.find("usr1") != std::string::npos) {
      ::kill(pid, SIGINT);
      stage = 2;
    }
  };
  auto r = run({"sh", "-c", "trap 'echo usr1' USR1; trap 'echo int; exit 9' INT; echo ready; "
                            "while true; do sleep 0.1; done"},
               o);
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_EQ(r.out, "ready\nusr1\nint\n");
}

TEST_F(RunTest, QemuDyingStopsRunWithAnErrorAndCleansUp) {
  RunOptions o;
  bool killed = false;
  o.on_stdout = [&](pid_t, const std::string& out) {
    if (!killed && out.find("running") != std::string::npos) {
      for (pid_t p : processes_mentioning(root_.path() + "/c1/console.log")) ::kill(p, SIGKILL);
      killed = true;
    }
  };
  auto r = run({"sh", "-c", "echo running; sleep 100"}, o);
  EXPECT_TRUE(killed);
  EXPECT_EQ(r.exit_code, 137) << "a container whose VM died reads as killed";
  EXPECT_NE(r.err.find("QEMU killed by signal 9"), std::string::npos) << r.err;
}

TEST_F(RunTest, VirtiofsdDyingStopsRunWithAnErrorAndCleansUp) {
  RunOptions o;
  bool killed = false;
  o.on_stdout = [&](pid_t, const std::string& out) {
    if (!killed && out.find("running") != std::string::npos) {
      for (pid_t p : processes_mentioning("source=" + bundle_.rootfs())) ::kill(p, SIGKILL);
      killed = true;
    }
  };
  auto r = run({"sh", "-c", "echo running; sleep 100"}, o);
  EXPECT_TRUE(killed);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("virtiofsd"), std::string::npos) << r.err;
}

// A guest that boots but never answers: an initramfs whose /init is
// busybox's init, not the agent. (A fast guest kernel answers within any
// boot timeout a test could set, so slowness cannot provoke it.)
TEST_F(RunTest, BootTimeoutIsReportedAndCleansUp) {
  bundle_.write_config();
  TempDir silent;
  std::string initramfs = silent_initramfs(silent.path());
  ASSERT_NE(initramfs, "");
  RunOptions o;
  o.extra_env = {"RUNVM_INITRAMFS=" + initramfs};
  auto r = run_id("c1", o, {"--boot-timeout", "3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("did not answer within 3s"), std::string::npos) << r.err;
}

TEST_F(RunTest, CtrlCWhileBootingAbortsAndCleansUp) {
  bundle_.write_config();
  RunOptions o;
  std::thread interrupter;
  o.on_start = [&](pid_t pid) {
    interrupter = std::thread([pid] {
      std::this_thread::sleep_for(700ms);
      ::kill(pid, SIGINT);
    });
  };
  auto start = std::chrono::steady_clock::now();
  auto r = run_id("c1", o);
  interrupter.join();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("interrupted by signal 2"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

TEST_F(RunTest, IdInUseIsRefused) {
  bundle_.write_config();
  ::mkdir((root_.path() + "/taken").c_str(), 0700);
  auto r = run_id("taken");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("container with given ID already exists"), std::string::npos) << r.err;
  ::rmdir((root_.path() + "/taken").c_str());
}

TEST_F(RunTest, InvalidIdIsRefused) {
  bundle_.write_config();
  auto r = run_id("bad/id");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid container ID format: bad/id"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace runvm::testing
