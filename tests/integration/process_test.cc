// The process and resource fields of config.json applied in the guest as
// runc applies them on a host, read back inside the container (issue 17):
// process.oomScoreAdj (init and execs), linux.sysctl, domainname, the
// cgroup fields cpu.cpus, memory.reservation and memory.swap, unified, and
// `runvm update` of them; a process terminal owned by the process's user,
// sized by process.consoleSize; what cannot be honoured refused at create,
// naming the field, before anything exists.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }

  void TearDown() override {
    Cmd d = runvm("delete --force c1");
    EXPECT_TRUE(d.code == 0 || contains(d.err, "does not exist")) << d.err;
    expect_no_container_left(root_.path(), bundle_);
  }

  Cmd runvm(const std::string& args) {
    return runvm_command(root_.path(), args, scratch_.path() + "/cmd.out", scratch_.path() + "/cmd.err");
  }

  // create (its stdio to c.out) with the bundle's config as it is now.
  Cmd create(const std::string& extra = "") {
    bundle_.write_config();
    return runvm_command(root_.path(), "create --bundle '" + bundle_.path() + "' " + extra + " c1",
                         out_path(), scratch_.path() + "/c.err");
  }

  std::string out_path() const { return scratch_.path() + "/c.out"; }

  bool wait_for_output(const std::string& text, std::chrono::seconds limit = 90s) {
    return wait_until([&] { return contains(slurp(out_path()), text); }, limit);
  }

  std::string write_process(const std::string& name, const json& process) {
    std::string path = scratch_.path() + "/" + name;
    std::ofstream(path) << process.dump();
    return path;
  }

  void mount_cgroup() {
    bundle_.config()["mounts"].push_back(
        {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
         {"options", {"nosuid", "noexec", "nodev"}}});
  }

  // runc's devpts: ptys in group tty (5), mode 620.
  void mount_devpts() {
    bundle_.config()["mounts"].push_back(
        {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}});
  }

  // `exec ARGS` through a new console socket, detached as containerd's
  // shim runs it; what the terminal shows up to `marker`.
  std::string exec_on_terminal(const std::string& name, const std::string& args, const std::string& marker) {
    std::string path = scratch_.path() + "/" + name;
    int listener = listen_console(path);
    if (listener < 0) return "no console socket";
    std::string pid_path = path + ".pid";
    Cmd e = runvm("exec --detach --console-socket '" + path + "' --pid-file '" + pid_path + "' " + args);
    if (e.code != 0) {
      ::close(listener);
      return "exec failed: " + e.err;
    }
    int master = receive_console(listener);
    ::close(listener);
    std::string out = read_until(master, marker);
    ::close(master);
    pid_t pid = std::atoi(slurp(pid_path).c_str());
    int status;
    for (int i = 0; i < 300 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(100ms);
    return out;
  }

  TempDir root_, scratch_;
  Bundle bundle_;
};

// What the container reads of its own settings, as "key=value" lines.
constexpr const char* kReadBack =
    "echo oom=$(cat /proc/self/oom_score_adj); "
    "echo ip_forward=$(cat /proc/sys/net/ipv4/ip_forward); "
    "echo shmmax=$(cat /proc/sys/kernel/shmmax); "
    "echo max_map_count=$(cat /proc/sys/vm/max_map_count); "
    "echo domainname=$(cat /proc/sys/kernel/domainname); "
    "echo cpus=$(cat /sys/fs/cgroup/cpuset.cpus); "
    "echo low=$(cat /sys/fs/cgroup/memory.low); "
    "echo swap=$(cat /sys/fs/cgroup/memory.swap.max); "
    "echo high=$(cat /sys/fs/cgroup/memory.high); ";

TEST_F(ProcessTest, OomScoreSysctlsAndCgroupFieldsReadBackInInitExecsAndAfterUpdate) {
  json& c = bundle_.config();
  c["process"]["oomScoreAdj"] = 500;
  c["domainname"] = "example.org";
  c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"},
                          {"kernel.shmmax", "123456789"},
                          {"vm.max_map_count", "262144"}};
  // As runc: written before /proc/sys is made read-only (Docker's and
  // runc's default readonlyPaths).
  c["linux"]["readonlyPaths"] = {"/proc/sys"};
  c["linux"]["resources"] = {
      {"memory", {{"limit", 256 << 20}, {"reservation", 64 << 20}, {"swap", 384 << 20}}},
      // CPU 1: the VM is sized to two vCPUs to have it.
      {"cpu", {{"cpus", "1"}}},
      {"unified", {{"memory.high", "200003584"}}}};
  mount_cgroup();
  bundle_.set_args({"sh", "-c", std::string(kReadBack) + "echo ready; sleep 600"});
  Cmd created = create();
  ASSERT_EQ(created.code, 0) << created.err;
  ASSERT_EQ(runvm("start c1").code, 0);
  ASSERT_TRUE(wait_for_output("ready")) << slurp(out_path());
  std::string init = slurp(out_path());
  EXPECT_EQ(value_of(init, "oom"), "500") << init;
  EXPECT_EQ(value_of(init, "ip_forward"), "1") << init;
  EXPECT_EQ(value_of(init, "shmmax"), "123456789") << init;
  EXPECT_EQ(value_of(init, "max_map_count"), "262144") << init;
  EXPECT_EQ(value_of(init, "domainname"), "example.org") << init;
  EXPECT_EQ(value_of(init, "cpus"), "1") << init;
  EXPECT_EQ(value_of(init, "low"), std::to_string(64 << 20)) << init;
  EXPECT_EQ(value_of(init, "swap"), std::to_string(128 << 20)) << "swap - limit, as runc converts it:\n" << init;
  EXPECT_EQ(value_of(init, "high"), "200003584") << init;

  // An exec: the container's process with the command laid over it (runc
  // exec without -p), the same settings.
  Cmd e = runvm(std::string("exec c1 sh -c '") + kReadBack + "'");
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(value_of(e.out, "oom"), "500") << e.out;
  EXPECT_EQ(value_of(e.out, "ip_forward"), "1") << e.out;
  EXPECT_EQ(value_of(e.out, "shmmax"), "123456789") << "the exec joins init's IPC namespace:\n" << e.out;
  EXPECT_EQ(value_of(e.out, "domainname"), "example.org") << e.out;

  // exec -p: its own oomScoreAdj, or the container's when it has none.
  json own = {{"args", {"cat", "/proc/self/oom_score_adj"}}, {"cwd", "/"}, {"oomScoreAdj", 300}};
  e = runvm("exec -p '" + write_process("own.json", own) + "' c1");
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(e.out, "300\n");
  own.erase("oomScoreAdj");
  e = runvm("exec -p '" + write_process("inherit.json", own) + "' c1");
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(e.out, "500\n") << "an exec without oomScoreAdj takes the container's";

  // runc update's flags, read back in the guest cgroup.
  Cmd u = runvm("update --cpuset-cpus 0 --memory-reservation " + std::to_string(32 << 20) + " --memory-swap " +
                std::to_string(512 << 20) + " c1");
  EXPECT_EQ(u.code, 0) << u.err;
  e = runvm(std::string("exec c1 sh -c '") + kReadBack + "'");
  EXPECT_EQ(value_of(e.out, "cpus"), "0") << e.out;
  EXPECT_EQ(value_of(e.out, "low"), std::to_string(32 << 20)) << e.out;
  EXPECT_EQ(value_of(e.out, "swap"), std::to_string(256 << 20)) << "from the limit in force:\n" << e.out;
  u = runvm("update --memory-swap " + std::to_string(128 << 20) + " c1");
  EXPECT_NE(u.code, 0);
  EXPECT_TRUE(contains(u.err, "memory+swap limit should be >= memory limit")) << u.err;

  // A CPU the VM does not have is refused, with the fix.
  u = runvm("update --cpuset-cpus 0-2 c1");
  EXPECT_NE(u.code, 0);
  EXPECT_TRUE(contains(u.err, "cpu.cpus: CPU 2 is not in the VM, which has 2 vCPUs")) << u.err;
  EXPECT_TRUE(contains(u.err, "--vm-vcpus 3")) << u.err;
  e = runvm("exec c1 cat /sys/fs/cgroup/cpuset.cpus");
  EXPECT_EQ(e.out, "0\n") << "nothing changed";
}

constexpr const char* kTerminalReadBack =
    "echo owner=$(stat -L -c %u:%g /proc/self/fd/0); echo size=$(stty size); echo done-";

TEST_F(ProcessTest, ATerminalBelongsToTheProcessUserAndStartsAtConsoleSize) {
  std::string path = scratch_.path() + "/console.sock";
  int listener = listen_console(path);
  ASSERT_GE(listener, 0);
  json& c = bundle_.config();
  c["process"]["terminal"] = true;
  c["process"]["consoleSize"] = {{"height", 33}, {"width", 111}};
  c["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  mount_devpts();
  bundle_.set_args({"sh", "-c", std::string(kTerminalReadBack) + "init; sleep 600"});
  Cmd created = create("--console-socket '" + path + "'");
  ASSERT_EQ(created.code, 0) << created.err;
  int master = receive_console(listener);
  ::close(listener);
  ASSERT_GE(master, 0);
  ASSERT_EQ(runvm("start c1").code, 0);
  std::string init = read_until(master, "done-init");
  EXPECT_TRUE(contains(init, "owner=1000:5")) << "runc's fixStdioPermissions: the uid's, group tty:\n" << init;
  EXPECT_TRUE(contains(init, "size=33 111")) << "process.consoleSize from config.json:\n" << init;

  // `exec -t -u 1000:1000`, and exec -p with a consoleSize of its own.
  std::string e = exec_on_terminal("e1.sock",
                                   std::string("--tty -u 1000:1000 c1 sh -c '") + kTerminalReadBack + "e1'",
                                   "done-e1");
  EXPECT_TRUE(contains(e, "owner=1000:5")) << e;
  json process = {{"terminal", true},
                  {"user", {{"uid", 1000}, {"gid", 1000}}},
                  {"args", {"sh", "-c", std::string(kTerminalReadBack) + "e2"}},
                  {"env", {"PATH=/bin"}},
                  {"cwd", "/"},
                  {"consoleSize", {{"height", 44}, {"width", 122}}}};
  e = exec_on_terminal("e2.sock", "-p '" + write_process("tty.json", process) + "' c1", "done-e2");
  EXPECT_TRUE(contains(e, "owner=1000:5")) << e;
  EXPECT_TRUE(contains(e, "size=44 122")) << "exec -p's consoleSize:\n" << e;
  ::close(master);  // init's terminal: closing it earlier would hang it up
}

// A whole block device of this host ("major:minor"), for block I/O
// throttles: the first disk that is not a loop, zram or ram device.
std::string host_disk() {
  std::string found;
  for (const auto& name : list_dir("/sys/block")) {
    std::string dev = slurp("/sys/block/" + name + "/dev");
    while (!dev.empty() && dev.back() == '\n') dev.pop_back();
    if (dev.empty()) continue;
    if (found.empty()) found = dev;
    if (!name.starts_with("loop") && !name.starts_with("zram") && !name.starts_with("ram")) return dev;
  }
  return found;
}

// Item 8 of issue 16: the VM's vCPUs and its file I/O are the container's
// on the host, so CPU and block-I/O limits land in the container's host
// cgroup (where runtime-tools and monitoring read them) as well as, for
// CPU, in the guest; `update` changes both. A weight the host cannot take
// (no weighing I/O scheduler) fails as under runc. Before: the host cgroup
// kept its defaults and blockIO above 0 was refused.
TEST_F(ProcessTest, CpuAndBlockIoLimitsApplyToTheHostCgroupAndUpdateChangesBoth) {
  std::string disk = host_disk();
  ASSERT_FALSE(disk.empty()) << "no block device in /sys/block";
  int major = std::stoi(disk.substr(0, disk.find(':'))), minor = std::stoi(disk.substr(disk.find(':') + 1));
  std::string cgroup = bundle_.config()["linux"]["cgroupsPath"].get<std::string>();
  auto host = [&](const std::string& controller, const std::string& file) {
    std::string v = slurp("/sys/fs/cgroup/" + controller + cgroup + "/" + file);
    while (!v.empty() && v.back() == '\n') v.pop_back();
    return v;
  };
  bundle_.config()["linux"]["resources"]["cpu"] = {{"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0"}};
  bundle_.config()["linux"]["resources"]["blockIO"] = {
      {"weight", 0}, {"throttleReadBpsDevice", {{{"major", major}, {"minor", minor}, {"rate", 10485760}}}}};
  mount_cgroup();
  bundle_.set_args({"sh", "-c", "cat /sys/fs/cgroup/cpu.max; sleep 600"});
  ASSERT_EQ(create().code, 0) << slurp(scratch_.path() + "/c.err");
  ASSERT_EQ(runvm("start c1").code, 0);
  ASSERT_TRUE(wait_for_output("100000\n")) << slurp(out_path());
  EXPECT_EQ(slurp(out_path()), "50000 100000\n");
  EXPECT_EQ(host("cpu", "cpu.shares"), "512");
  EXPECT_EQ(host("cpu", "cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(host("cpu", "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(host("cpuset", "cpuset.cpus"), "0");
  EXPECT_EQ(host("blkio", "blkio.throttle.read_bps_device"), disk + " 10485760");

  json r = {{"cpu", {{"shares", 256}, {"quota", 30000}}},
            {"blockIO", {{"throttleWriteIOPSDevice", {{{"major", major}, {"minor", minor}, {"rate", 200}}}}}}};
  std::ofstream(scratch_.path() + "/r.json") << r.dump();
  Cmd u = runvm("update --resources " + scratch_.path() + "/r.json c1");
  ASSERT_EQ(u.code, 0) << u.err;
  EXPECT_EQ(host("cpu", "cpu.shares"), "256");
  EXPECT_EQ(host("cpu", "cpu.cfs_quota_us"), "30000");
  EXPECT_EQ(host("blkio", "blkio.throttle.write_iops_device"), disk + " 200");
  Cmd e = runvm("exec c1 cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight");
  EXPECT_EQ(e.out, "30000 100000\n10\n") << e.err;  // runc's shares 256 -> weight 10

  // This host's disks have no weighing scheduler: runc fails alike.
  bool has_weight = false;
  for (const char* f : {"blkio.weight", "blkio.bfq.weight"})
    has_weight |= ::access(("/sys/fs/cgroup/blkio" + cgroup + "/" + f).c_str(), F_OK) == 0;
  if (!has_weight) {
    Cmd w = runvm("update --blkio-weight 500 c1");
    EXPECT_EQ(w.code, 1);
    EXPECT_TRUE(contains(w.err, "linux.resources.blockIO.weight: no cgroup hierarchy on this host has")) << w.err;
  } else {
    Cmd w = runvm("update --blkio-weight 500 c1");
    EXPECT_EQ(w.code, 0) << w.err;
  }
}

// Refusals come before anything exists: no VM, no state.
TEST_F(ProcessTest, WhatTheVmCannotHonourIsRefusedAtCreateNamingTheField) {
  bundle_.config()["linux"]["resources"] = {{"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 1 << 21}}}}};
  Cmd c = create();
  EXPECT_EQ(c.code, 1);
  EXPECT_TRUE(contains(c.err, "linux.resources.hugepageLimits[0].limit: huge pages are not supported by runvm"))
      << c.err;
  bundle_.config()["linux"]["resources"] = {{"cpu", {{"cpus", "3"}}}};
  bundle_.write_config();
  c = runvm_command(root_.path(), "--vm-vcpus 2 create --bundle '" + bundle_.path() + "' c1", out_path(),
                    scratch_.path() + "/c.err");
  EXPECT_EQ(c.code, 1);
  EXPECT_TRUE(contains(c.err, "linux.resources.cpu.cpus: CPU 3 is not in the VM, which has 2 vCPUs")) << c.err;
  EXPECT_TRUE(contains(c.err, "--vm-vcpus 4")) << c.err;
  bundle_.config()["linux"].erase("resources");
  bundle_.config()["linux"]["sysctl"] = {{"kernel.modprobe", "/bin/sh"}};
  c = create();
  EXPECT_EQ(c.code, 1);
  EXPECT_TRUE(contains(c.err, "linux.sysctl.kernel.modprobe: not allowed")) << c.err;
  EXPECT_TRUE(list_dir(root_.path()).empty());
  EXPECT_TRUE(processes_mentioning(root_.path()).empty());
}

TEST_F(ProcessTest, FeaturesListTheNamespacesTheGuestGives) {
  json f = json::parse(runvm("features").out, nullptr, false);
  ASSERT_TRUE(f.is_object());
  EXPECT_EQ(f["linux"]["namespaces"], json({"cgroup", "ipc", "mount", "network", "pid", "uts"}));
  EXPECT_EQ(f["linux"]["intelRdt"]["enabled"], false);
  EXPECT_EQ(f["linux"]["apparmor"]["enabled"], false);
}

}  // namespace
}  // namespace runvm::testing
