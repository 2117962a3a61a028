// Pods: a container that joins the network namespace of a running runvm
// container runs inside that container's VM (docs/ARCHITECTURE.md, "Pods"),
// driven through runc's command line as an engine drives it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class PodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The stand-ins outlive the commands that fork them; as a subreaper
    // this test takes their exit statuses, as containerd's shim does.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    std::ofstream(a_.rootfs() + "/whoami") << "a\n";
    std::ofstream(b_.rootfs() + "/whoami") << "b\n";
    std::ofstream(c_.rootfs() + "/whoami") << "c\n";
  }

  void TearDown() override {
    runvm("delete --force c");
    runvm("delete --force b");
    runvm("delete --force a");
    expect_no_container_left(root_.path(), a_);
    expect_no_container_left(root_.path(), b_);
    expect_no_container_left(root_.path(), c_);
    EXPECT_EQ(mounts_under_root(), "") << "a mount of the pod left on the host";
  }

  Cmd runvm(const std::string& args, std::string out = "", std::string err = "") {
    if (out.empty()) out = scratch_.path() + "/cmd.out";
    if (err.empty()) err = scratch_.path() + "/cmd.err";
    return runvm_command(root_.path(), args, out, err);
  }

  // create ID from BUNDLE, its stdio to ID.out and ID.err; its pid.
  Cmd create(const std::string& id, Bundle& bundle, const std::vector<std::string>& args) {
    bundle.set_args(args);
    bundle.write_config();
    return runvm("create --bundle '" + bundle.path() + "' --pid-file '" + scratch_.path() + "/" + id + ".pid' " + id,
                 scratch_.path() + "/" + id + ".out", scratch_.path() + "/" + id + ".err");
  }
  pid_t pid_of(const std::string& id) { return std::atoi(slurp(scratch_.path() + "/" + id + ".pid").c_str()); }
  std::string out_of(const std::string& id) { return slurp(scratch_.path() + "/" + id + ".out"); }
  std::string err_of(const std::string& id) { return slurp(scratch_.path() + "/" + id + ".err"); }
  std::string status_of(const std::string& id) {
    json j = json::parse(runvm("state " + id).out, nullptr, false);
    return j.is_object() && j.contains("status") ? j["status"].get<std::string>() : "";
  }

  // B's (or another bundle's) namespaces: network (and those listed)
  // joined from A's process.
  void join_a(const std::vector<std::string>& types = {"network"}) { join_a(b_, types); }
  void join_a(Bundle& bundle, const std::vector<std::string>& types) {
    json& ns = bundle.config()["linux"]["namespaces"];
    for (auto& entry : ns)
      for (const auto& type : types)
        if (entry["type"] == type) entry["path"] = "/proc/" + std::to_string(pid_of("a")) + "/ns/" +
                                                   (type == "network" ? "net" : type);
  }

  // A running with `args`, B joined to it.
  void start_a(const std::vector<std::string>& args) {
    Cmd c = create("a", a_, args);
    ASSERT_EQ(c.code, 0) << c.err;
    ASSERT_EQ(runvm("start a").code, 0);
  }

  int qemus() {
    int n = 0;
    for (pid_t pid : processes_mentioning(root_.path()))
      if (contains(slurp("/proc/" + std::to_string(pid) + "/cmdline"), "qemu-system")) ++n;
    return n;
  }

  std::string mounts_under_root() {
    std::string left;
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);)
      if (contains(line, root_.path())) left += line + "\n";
    return left;
  }

  TempDir root_, scratch_;
  Bundle a_, b_, c_;
};

TEST_F(PodTest, ASecondContainerRunsInTheFirstOnesVmWithItsOwnRootStdioAndExit) {
  start_a({"sleep", "1001"});
  ASSERT_EQ(qemus(), 1);
  join_a();
  Cmd c = create("b", b_, {"sh", "-c", "cat /whoami; echo to-stderr >&2; exit 7"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(status_of("b"), "created");
  EXPECT_EQ(qemus(), 1) << "the joining container boots no VM of its own";
  json listed = json::parse(runvm("list --format json").out, nullptr, false);
  EXPECT_EQ(listed.size(), 2u) << listed.dump();
  Cmd started = runvm("start b");
  ASSERT_EQ(started.code, 0) << started.err;
  EXPECT_EQ(reap(pid_of("b"), 60s), 7) << "its stand-in exits with its status";
  EXPECT_EQ(out_of("b"), "b\n") << "its own root, its own stdout";
  EXPECT_EQ(err_of("b"), "to-stderr\n") << "stderr apart";
  EXPECT_EQ(status_of("b"), "stopped");
  EXPECT_EQ(status_of("a"), "running") << "one container's exit touches no other";
  Cmd whoami = runvm("exec a cat /whoami");
  EXPECT_EQ(whoami.out, "a\n") << whoami.err;
  EXPECT_EQ(runvm("delete b").code, 0);
  EXPECT_EQ(status_of("a"), "running");
}

// runc's run in the foreground, for a container that joins the VM: its
// stdio is the command's, its exit status the command's, a signal to the
// command reaches its process, and when it ends it is deleted, leaving the
// VM's own container running.
TEST_F(PodTest, AForegroundRunJoinsTheVmAndIsDeletedWhenItEnds) {
  start_a({"sleep", "1001"});
  join_a();
  b_.set_args({"sh", "-c", "cat /whoami; echo to-stderr >&2; read line; echo \"read $line\"; exit 5"});
  b_.write_config();
  RunOptions input;
  input.stdin_data = "typed\n";
  RunResult r = run_runvm({"--root", root_.path(), "run", "--bundle", b_.path(), "b"}, input);
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_EQ(r.out, "b\nread typed\n") << "its own root and the command's stdin and stdout";
  EXPECT_TRUE(contains(r.err, "to-stderr\n")) << r.err;
  EXPECT_EQ(qemus(), 1) << "it booted no VM of its own";
  EXPECT_NE(runvm("state b").code, 0) << "run deletes it when it ends";
  EXPECT_EQ(mounts_under_root().find("/pod/b/"), std::string::npos) << mounts_under_root();
  EXPECT_EQ(status_of("a"), "running");
  // A signal to the command is passed on to the container's process.
  b_.set_args({"sh", "-c", "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.1; done"});
  b_.write_config();
  RunOptions signalled;
  bool sent = false;
  signalled.on_stdout = [&](pid_t pid, const std::string& out) {
    if (!sent && contains(out, "ready\n")) {
      sent = true;
      ::kill(pid, SIGTERM);
    }
  };
  RunResult t = run_runvm({"--root", root_.path(), "run", "--bundle", b_.path(), "b"}, signalled);
  EXPECT_EQ(t.exit_code, 9) << t.err;
  EXPECT_EQ(t.out, "ready\ngot-term\n") << t.err;
  EXPECT_NE(runvm("state b").code, 0);
  EXPECT_EQ(runvm("exec a true").code, 0) << "the VM's own container goes on";
}

TEST_F(PodTest, ExecPsAndKillReachOnlyTheJoinedContainer) {
  start_a({"sleep", "1001"});
  join_a();
  ASSERT_EQ(create("b", b_, {"sleep", "1002"}).code, 0) << err_of("b");
  ASSERT_EQ(runvm("start b").code, 0);
  EXPECT_EQ(status_of("b"), "running");
  Cmd whoami = runvm("exec b cat /whoami");
  EXPECT_EQ(whoami.out, "b\n") << whoami.err;
  EXPECT_EQ(runvm("exec b sh -c 'exit 3'").code, 3);
  std::string ps_b = runvm("ps b").out, ps_a = runvm("ps a").out;
  EXPECT_TRUE(contains(ps_b, "sleep 1002") && !contains(ps_b, "sleep 1001")) << ps_b;
  EXPECT_TRUE(contains(ps_a, "sleep 1001") && !contains(ps_a, "sleep 1002")) << ps_a;
  EXPECT_EQ(runvm("kill b KILL").code, 0);
  EXPECT_EQ(reap(pid_of("b"), 30s), 137);
  EXPECT_EQ(status_of("a"), "running");
  EXPECT_EQ(runvm("exec a true").code, 0) << "the VM's own container goes on";
  EXPECT_EQ(runvm("delete b").code, 0);
}

TEST_F(PodTest, TheOwnersEndStopsEveryContainerOfItsVm) {
  start_a({"sleep", "1001"});
  join_a();
  ASSERT_EQ(create("b", b_, {"sleep", "1002"}).code, 0) << err_of("b");
  ASSERT_EQ(runvm("start b").code, 0);
  ASSERT_EQ(runvm("kill a KILL").code, 0);
  EXPECT_EQ(reap(pid_of("a"), 30s), 137);
  EXPECT_EQ(reap(pid_of("b"), 30s), 137) << "the joined container ends with the VM";
  EXPECT_EQ(status_of("b"), "stopped");
  EXPECT_EQ(runvm("delete a").code, 0);
  EXPECT_EQ(runvm("delete b").code, 0);
}

TEST_F(PodTest, SharedUtsAndPidNamespacesAndAReadOnlyRoot) {
  a_.config()["hostname"] = "pod-host";
  start_a({"sleep", "1001"});
  join_a({"network", "uts", "pid"});
  b_.config().erase("hostname");
  b_.config()["root"]["readonly"] = true;
  ASSERT_EQ(create("b", b_, {"sleep", "1002"}).code, 0) << err_of("b");
  ASSERT_EQ(runvm("start b").code, 0);
  EXPECT_EQ(runvm("exec b hostname").out, "pod-host\n") << "the pod's hostname";
  std::string ps = runvm("exec b ps").out;
  EXPECT_TRUE(contains(ps, "sleep 1001") && contains(ps, "sleep 1002")) << "one PID namespace:\n" << ps;
  EXPECT_NE(runvm("exec b sh -c 'echo x > /whoami'").code, 0);
  EXPECT_EQ(slurp(b_.rootfs() + "/whoami"), "b\n");
  std::string rootfs_mount;
  std::istringstream lines(mounts_under_root());
  for (std::string line; std::getline(lines, line);)
    if (contains(line, "/b/rootfs")) rootfs_mount = line;
  EXPECT_TRUE(contains(rootfs_mount, "/b/rootfs ro,")) << "read-only on the host too:\n" << rootfs_mount;
  ASSERT_EQ(runvm("kill b KILL").code, 0);
  EXPECT_EQ(reap(pid_of("b"), 30s), 137);
  EXPECT_EQ(runvm("delete b").code, 0);
  EXPECT_FALSE(contains(mounts_under_root(), "/b/rootfs")) << "delete unmounts what b brought";
}

// As under runc, a container ends with its init: what it started goes too,
// even in a PID namespace it shares with the pod.
TEST_F(PodTest, WhatAJoinedContainerLeftRunningEndsWithIt) {
  start_a({"sleep", "1001"});
  join_a({"network", "pid"});
  ASSERT_EQ(create("b", b_, {"sh", "-c", "sleep 1003 & sleep 1"}).code, 0) << err_of("b");
  ASSERT_EQ(runvm("start b").code, 0);
  EXPECT_EQ(reap(pid_of("b"), 30s), 0);
  EXPECT_TRUE(wait_until([&] { return !contains(runvm("exec a ps").out, "sleep 1003"); }, 20s))
      << "its background process outlived it:\n" << runvm("exec a ps").out;
  EXPECT_EQ(runvm("exec a true").code, 0);
  EXPECT_EQ(runvm("delete b").code, 0);
}

// pause of one container of the pod freezes it alone, as runc freezes one
// container's cgroup; its counter (written through to the host) stops.
TEST_F(PodTest, PauseAndResumeOneContainerOfThePod) {
  start_a({"sleep", "1001"});
  join_a();
  ASSERT_EQ(create("b", b_, {"sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /count; usleep 100000; done"}).code, 0)
      << err_of("b");
  ASSERT_EQ(runvm("start b").code, 0);
  std::string count = b_.rootfs() + "/count";
  ASSERT_TRUE(wait_until([&] { return std::atoi(slurp(count).c_str()) > 2; }, 30s));
  Cmd paused = runvm("pause b");
  ASSERT_EQ(paused.code, 0) << paused.err;
  EXPECT_EQ(status_of("b"), "paused");
  EXPECT_EQ(status_of("a"), "running");
  EXPECT_EQ(runvm("exec a true").code, 0) << "the rest of the pod goes on";
  Cmd refused = runvm("exec b true");
  EXPECT_NE(refused.code, 0);
  EXPECT_TRUE(contains(refused.err, "paused")) << refused.err;
  std::string frozen_at = slurp(count);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(slurp(count), frozen_at) << "frozen";
  ASSERT_EQ(runvm("resume b").code, 0);
  EXPECT_EQ(status_of("b"), "running");
  EXPECT_TRUE(wait_until([&] { return slurp(count) != frozen_at; }, 20s)) << "thawed";
  EXPECT_EQ(runvm("exec b true").code, 0);
}

TEST_F(PodTest, AKilledStandInTakesOnlyItsContainerAlong) {
  start_a({"sleep", "1001"});
  join_a({"network", "pid"});  // A sees B's processes: their end shows
  ASSERT_EQ(create("b", b_, {"sleep", "1002"}).code, 0) << err_of("b");
  ASSERT_EQ(runvm("start b").code, 0);
  ASSERT_TRUE(contains(runvm("exec a ps").out, "sleep 1002"));
  ASSERT_EQ(::kill(pid_of("b"), SIGKILL), 0);
  EXPECT_EQ(reap(pid_of("b"), 10s), 137);
  EXPECT_EQ(status_of("b"), "stopped");
  EXPECT_TRUE(wait_until([&] { return !contains(runvm("exec a ps").out, "sleep 1002"); }, 20s))
      << "its processes in the guest go with it:\n" << runvm("exec a ps").out;
  EXPECT_EQ(status_of("a"), "running");
  EXPECT_EQ(runvm("delete b").code, 0);
  EXPECT_EQ(runvm("exec a true").code, 0);
}

TEST_F(PodTest, TheOwnersMonitorKilledStopsEveryContainerAtOnce) {
  start_a({"sleep", "1001"});
  join_a();
  join_a(c_, {"network"});
  ASSERT_EQ(create("b", b_, {"sleep", "1002"}).code, 0) << err_of("b");
  ASSERT_EQ(create("c", c_, {"sleep", "1003"}).code, 0) << err_of("c");
  ASSERT_EQ(runvm("start b").code, 0);
  ASSERT_EQ(runvm("start c").code, 0);
  ASSERT_EQ(::kill(pid_of("a"), SIGKILL), 0);
  EXPECT_EQ(reap(pid_of("a"), 10s), 137);
  EXPECT_EQ(reap(pid_of("b"), 5s), 137) << "stopped as the VM goes";
  EXPECT_EQ(reap(pid_of("c"), 5s), 137);
  EXPECT_EQ(status_of("b"), "stopped");
  EXPECT_EQ(status_of("c"), "stopped");
  EXPECT_EQ(runvm("delete c").code, 0);
  EXPECT_EQ(runvm("delete b").code, 0);
  EXPECT_EQ(runvm("delete a").code, 0);
}

TEST_F(PodTest, TwoContainersCreatedAtTheSameMomentBothRun) {
  start_a({"sleep", "1001"});
  join_a();
  join_a(c_, {"network"});
  b_.set_args({"sleep", "1002"});
  b_.write_config();
  c_.set_args({"sleep", "1003"});
  c_.write_config();
  std::string runvm_root = "'" + runvm_binary() + "' --root '" + root_.path() + "' ";
  std::string both = "(" + runvm_root + "create --bundle '" + b_.path() + "' --pid-file '" + scratch_.path() +
                     "/b.pid' b </dev/null >" + scratch_.path() + "/b.out 2>&1) & (" + runvm_root +
                     "create --bundle '" + c_.path() + "' --pid-file '" + scratch_.path() + "/c.pid' c </dev/null >" +
                     scratch_.path() + "/c.out 2>&1) & wait";
  std::system(both.c_str());
  ASSERT_EQ(status_of("b"), "created") << out_of("b");
  ASSERT_EQ(status_of("c"), "created") << out_of("c");
  ASSERT_EQ(runvm("start b").code, 0);
  ASSERT_EQ(runvm("start c").code, 0);
  EXPECT_EQ(runvm("exec b cat /whoami").out, "b\n");
  EXPECT_EQ(runvm("exec c cat /whoami").out, "c\n");
  EXPECT_EQ(qemus(), 1);
}

// The VM is sized when its first container boots it, for the whole pod
// where the engine says how big that is (runvm's annotation here; the
// CRI's are read the same way: vm_sizing_test).
TEST_F(PodTest, TheFirstContainerSizesTheVmForThePod) {
  // More than a VM gets by default (512 MiB), so only the annotation lets
  // B's 768 MiB in.
  a_.config()["annotations"] = {{"io.runvm.pod.memory", std::to_string(int64_t{1} << 30)}};
  start_a({"sleep", "1001"});
  join_a();
  b_.config()["linux"]["resources"]["memory"]["limit"] = int64_t{2} << 30;
  Cmd too_big = create("b", b_, {"sleep", "1002"});
  EXPECT_NE(too_big.code, 0);
  EXPECT_TRUE(contains(too_big.err, "does not fit the VM of container a")) << too_big.err;
  EXPECT_TRUE(contains(too_big.err, "io.runvm.pod.memory")) << "the fix is named: " << too_big.err;
  EXPECT_EQ(status_of("b"), "");
  b_.config()["linux"]["resources"]["memory"]["limit"] = int64_t{768} << 20;
  ASSERT_EQ(create("b", b_, {"sleep", "1002"}).code, 0) << err_of("b");
  ASSERT_EQ(runvm("start b").code, 0);
  std::string meminfo = runvm("exec b cat /proc/meminfo").out;
  size_t at = meminfo.find("MemTotal:");
  long total_kib = at == std::string::npos ? 0 : std::atol(meminfo.c_str() + at + 9);
  EXPECT_GT(total_kib, 1000 * 1024) << "a VM for the pod's 1 GiB:\n" << meminfo;
}

TEST_F(PodTest, ANamespaceOutsideTheVmIsRefusedAndNothingIsLeft) {
  start_a({"sleep", "1001"});
  join_a();
  for (auto& entry : b_.config()["linux"]["namespaces"])
    if (entry["type"] == "ipc") entry["path"] = "/proc/1/ns/ipc";
  Cmd c = create("b", b_, {"true"});
  EXPECT_NE(c.code, 0);
  EXPECT_TRUE(contains(c.err, "joining the ipc namespace /proc/1/ns/ipc is not possible")) << c.err;
  EXPECT_EQ(status_of("b"), "");
  EXPECT_TRUE(list_dir(root_.path() + "/a/pod").empty()) << "nothing of b in the pod share";
  EXPECT_EQ(qemus(), 1);
}

}  // namespace
}  // namespace runvm::testing
