// Conformance through a real client: a private containerd 1.6 (its own
// root, state and socket, started and stopped here) runs containers on
// runvm through containerd-shim-runc-v2 and `ctr run --runc-binary`. The
// shim drives runvm the way it drives runc: create --bundle --pid-file,
// start, exec --process --detach --pid-file, kill, pause, resume, delete.
//
// Every command runs under a deadline; the containerd this test starts is
// the only one it touches, and everything it made (dirs, shims, monitors,
// QEMU, virtiofsd, cgroups) is checked gone or removed at the end.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "tests/e2e/e2e_util.h"
#include "tests/e2e/readme_snippets.h"
#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using e2e::Child;
using e2e::Cmd;
using e2e::run;
using e2e::slurp;
using e2e::tail;

using e2e::find_in_path;

using e2e::cgroup_hierarchies;

// A containerd of our own: --config with its own root, state, socket and
// opt dir, the CRI plugin off. Stopped with SIGTERM, then SIGKILL, and its
// shims (found by our socket path on their command line) killed with it.
class PrivateContainerd {
 public:
  PrivateContainerd() : ns_("runvm-e2e-" + std::to_string(::getpid())) {}
  ~PrivateContainerd() { stop(); }

  const std::string& address() const { return address_; }
  const std::string& ns() const { return ns_; }
  const std::string& dir() const { return dir_.path(); }
  // The runc root given to the shim (--runc-root); it runs runvm with
  // --root <runc_root>/<namespace>.
  std::string runc_root() const { return dir() + "/runc-root"; }
  std::string runvm_root() const { return runc_root() + "/" + ns_; }
  std::string fifo_dir() const { return dir() + "/fifo"; }
  std::string log() const { return slurp(dir() + "/containerd.log"); }

  // Empty on success, else why it did not come up.
  std::string start() {
    std::string containerd = find_in_path("containerd");
    ctr_ = find_in_path("ctr");
    if (containerd.empty() || ctr_.empty() || find_in_path("containerd-shim-runc-v2").empty())
      return "containerd, ctr or containerd-shim-runc-v2 is not installed "
             "(package containerd; scripts/setup.sh installs it)";
    address_ = dir() + "/containerd.sock";
    // Not --runc-root: the shim's default (/run/containerd/runc) does not
    // exist before the first container either; the runtime makes its --root.
    for (const char* d : {"/root", "/state", "/opt", "/fifo"}) ::mkdir((dir() + d).c_str(), 0711);
    std::ofstream(dir() + "/config.toml")
        << "version = 2\n"
        << "root = \"" << dir() << "/root\"\n"
        << "state = \"" << dir() << "/state\"\n"
        << "disabled_plugins = [\"io.containerd.grpc.v1.cri\", "
           "\"io.containerd.snapshotter.v1.aufs\", \"io.containerd.snapshotter.v1.btrfs\", "
           "\"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.zfs\"]\n"
        << "[grpc]\n  address = \"" << address_ << "\"\n"
        << "[ttrpc]\n  address = \"" << address_ << ".ttrpc\"\n"
        << "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"" << dir() << "/opt\"\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a crashed or timed-out test
      int null = ::open("/dev/null", O_RDONLY);
      int log = ::open((dir() + "/containerd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(null, 0);
      ::dup2(log, 1);
      ::dup2(log, 2);
      std::string config = dir() + "/config.toml";
      ::execl(containerd.c_str(), containerd.c_str(), "--config", config.c_str(), nullptr);
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    auto deadline = Clock::now() + 20s;
    while (Clock::now() < deadline) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "containerd exited at start:\n" + tail(log());
      }
      if (run(ctr({"version"}), "", 5s).code == 0) return "";
      std::this_thread::sleep_for(100ms);
    }
    return "containerd did not answer `ctr version` within 20 s:\n" + tail(log());
  }

  void stop() {
    if (pid_ > 0) {
      e2e::stop_daemon(pid_, 10s);
      pid_ = -1;
    }
    // Shims outlive a containerd that stops: ours name our socket. After a
    // failure, runvm monitors (and with them QEMU and virtiofsd) may remain
    // too: ours name our runc root.
    if (!address_.empty()) {
      for (pid_t p : processes_mentioning(address_)) ::kill(p, SIGKILL);
      for (pid_t p : processes_mentioning(runc_root())) ::kill(p, SIGKILL);
    }
    // The cgroup parents created for our namespace ("/<ns>/<id>" paths).
    for (const auto& h : cgroup_hierarchies()) ::rmdir((h + "/" + ns_).c_str());
  }

  // `ctr --address S --namespace N args...`
  std::vector<std::string> ctr(std::vector<std::string> args) const {
    args.insert(args.begin(), {ctr_, "--address", address_, "--namespace", ns_});
    return args;
  }

 private:
  TempDir dir_;
  std::string ns_, address_, ctr_;
  pid_t pid_ = -1;
};

class ContainerdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    containerd_ = new PrivateContainerd;
    start_error_ = new std::string(containerd_->start());
    rootfs_ = new Bundle;  // its rootfs/: busybox and its applets
  }

  static void TearDownTestSuite() {
    delete containerd_;  // stops containerd, removes its dirs
    delete rootfs_;
    delete start_error_;
    containerd_ = nullptr;
  }

  void SetUp() override { ASSERT_EQ(*start_error_, "") << "the private containerd did not start"; }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "--- containerd log (tail) ---\n" << tail(containerd_->log()) << "\n";
      for (const auto& id : ids_) {
        std::string log = slurp(bundle_dir(id) + "/log.json");
        if (!log.empty()) std::cerr << "--- " << id << "/log.json ---\n" << tail(log) << "\n";
      }
    } else {
      expect_nothing_left();
    }
    // Whatever a failed test left: removed through containerd.
    for (const auto& id : ids_) {
      run(ctr({"task", "kill", "-s", "SIGKILL", id}), "", 20s);
      run(ctr({"task", "delete", "--force", id}), "", 30s);
      run(ctr({"container", "delete", id}), "", 20s);
    }
    if (HasFailure()) expect_nothing_left();
  }

  std::vector<std::string> ctr(const std::vector<std::string>& args) const {
    return containerd_->ctr(args);
  }

  // `ctr run [flags] --runc-binary runvm --runc-root R --rootfs ROOTFS ID args...`
  std::vector<std::string> ctr_run(const std::vector<std::string>& flags, const std::string& id,
                                   const std::vector<std::string>& args) {
    ids_.push_back(id);
    std::vector<std::string> v = {"run", "--fifo-dir", containerd_->fifo_dir(),
                                  "--runc-binary", runvm_binary(),
                                  "--runc-root", containerd_->runc_root()};
    v.insert(v.end(), flags.begin(), flags.end());
    v.insert(v.end(), {"--rootfs", rootfs_->rootfs(), id});
    v.insert(v.end(), args.begin(), args.end());
    return ctr(v);
  }

  std::vector<std::string> exec(const std::string& id, const std::string& exec_id,
                                const std::vector<std::string>& args) {
    std::vector<std::string> v = {"task", "exec", "--fifo-dir", containerd_->fifo_dir(),
                                  "--exec-id", exec_id, id};
    v.insert(v.end(), args.begin(), args.end());
    return ctr(v);
  }

  std::string bundle_dir(const std::string& id) const {
    return containerd_->dir() + "/state/io.containerd.runtime.v2.task/" + containerd_->ns() +
           "/" + id;
  }

  // The PID and STATUS columns of `ctr task ls` for `id` ("" when it has no task).
  std::pair<std::string, std::string> task_row(const std::string& id) {
    std::istringstream lines(run(ctr({"task", "ls"}), "", 20s).out);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::string task, pid, status;
      if (words >> task >> pid >> status && task == id) return {pid, status};
    }
    return {};
  }
  std::string task_status(const std::string& id) { return task_row(id).second; }
  std::string task_pid(const std::string& id) { return task_row(id).first; }

  bool wait_for_status(const std::string& id, const std::string& want,
                       std::chrono::seconds limit = 30s) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (task_status(id) == want) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  // SIGKILL to a running task, then its task and container deleted, each
  // step expected to work (as a user stops and removes one).
  void kill_and_remove(const std::string& id) {
    EXPECT_EQ(run(ctr({"task", "kill", "-s", "SIGKILL", id}), "", 20s).code, 0);
    EXPECT_TRUE(wait_for_status(id, "STOPPED"));
    EXPECT_EQ(run(ctr({"task", "delete", id}), "", 30s).code, 0);
    EXPECT_EQ(run(ctr({"container", "delete", id}), "", 20s).code, 0);
  }

  // No runvm state, monitor, QEMU, virtiofsd, shim or cgroup of ours remains.
  void expect_nothing_left() {
    auto gone = [](const std::string& needle) {
      auto deadline = Clock::now() + 10s;
      while (!processes_mentioning(needle).empty() && Clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
      return processes_mentioning(needle).empty();
    };
    EXPECT_TRUE(list_dir(containerd_->runvm_root()).empty())
        << "runvm state left under " << containerd_->runvm_root();
    EXPECT_TRUE(gone(containerd_->runc_root())) << "a monitor or QEMU left running";
    EXPECT_TRUE(gone(rootfs_->rootfs())) << "virtiofsd left running";
    EXPECT_TRUE(gone(containerd_->address())) << "a shim left running";
    for (const auto& id : ids_) {
      EXPECT_TRUE(list_dir(bundle_dir(id)).empty()) << "bundle left: " << bundle_dir(id);
      for (const auto& h : cgroup_hierarchies()) {
        std::string cg = h + "/" + containerd_->ns() + "/" + id;
        EXPECT_NE(::access(cg.c_str(), F_OK), 0) << "cgroup left: " << cg;
      }
    }
  }

  static PrivateContainerd* containerd_;
  static std::string* start_error_;
  static Bundle* rootfs_;
  std::vector<std::string> ids_;
};

PrivateContainerd* ContainerdTest::containerd_ = nullptr;
std::string* ContainerdTest::start_error_ = nullptr;
Bundle* ContainerdTest::rootfs_ = nullptr;

// `ctr run --rm`: the output reaches ctr, ctr exits with the process's status,
// and --rm leaves neither task nor container.
TEST_F(ContainerdTest, RunPrintsOutputAndExitsWithTheStatus) {
  Cmd r = run(ctr_run({"--rm"}, "run1", {"sh", "-c", "echo hi; echo oops >&2; exit 3"}), "", 90s);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_NE(r.err.find("oops\n"), std::string::npos) << r.err;
  EXPECT_EQ(task_status("run1"), "");
  EXPECT_EQ(run(ctr({"container", "info", "run1"}), "", 20s).code, 1) << "--rm removed it";
}

// An attached `ctr run`: exec with stdin piped and then closed (kubectl cp's
// end of input), exec exit codes, `ctr task kill` (SIGTERM) ending the task
// with the status its trap chose, then `ctr container delete`.
TEST_F(ContainerdTest, ExecWithStdinThenKillWithSigterm) {
  Child task(ctr_run({}, "attached",
                     {"sh", "-c", "trap 'echo got-term; exit 7' TERM; echo up; "
                                  "while true; do sleep 0.1; done"}));
  ASSERT_TRUE(task.wait_for_output("up\n", 90s)) << task.finish(1s).err;
  EXPECT_EQ(task_status("attached"), "RUNNING");

  auto started = Clock::now();
  Cmd cat = run(exec("attached", "cat1", {"cat"}), "data\n", 30s);
  auto took = Clock::now() - started;
  EXPECT_EQ(cat.code, 0) << cat.err;
  EXPECT_EQ(cat.out, "data\n");
  EXPECT_LT(took, 10s) << "exec ends promptly once its stdin is closed";

  Cmd wc = run(exec("attached", "wc1", {"wc", "-c"}), std::string(100000, 'x'), 30s);
  EXPECT_EQ(wc.code, 0) << wc.err;
  EXPECT_EQ(wc.out.substr(std::min(wc.out.size(), wc.out.find_first_not_of(' '))), "100000\n")
      << "all of stdin arrived";

  Cmd status = run(exec("attached", "exit5", {"sh", "-c", "echo to-out; echo to-err >&2; exit 5"}),
                   "", 30s);
  EXPECT_EQ(status.code, 5) << status.err;
  EXPECT_EQ(status.out, "to-out\n");
  EXPECT_NE(status.err.find("to-err\n"), std::string::npos) << status.err;

  Cmd missing = run(exec("attached", "missing", {"nosuchcommand"}), "", 30s);
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;

  Cmd kill = run(ctr({"task", "kill", "attached"}), "", 20s);
  EXPECT_EQ(kill.code, 0) << kill.err;
  Cmd ended = task.finish(30s);
  EXPECT_EQ(ended.code, 7) << "ctr run exits with the task's status\n" << ended.err;
  EXPECT_EQ(ended.out, "up\ngot-term\n");
  EXPECT_EQ(task_status("attached"), "") << "an attached ctr run deletes its task";

  Cmd del = run(ctr({"container", "delete", "attached"}), "", 20s);
  EXPECT_EQ(del.code, 0) << del.err;
}

// A detached task: `ctr task pause` / `resume` as `ctr task ls` shows them,
// exec after resume, SIGTERM ignored, `ctr task kill -s SIGKILL`, then
// `ctr task delete` (which reports the status) and `ctr container delete`.
TEST_F(ContainerdTest, PauseResumeKillWithSigkillAndDelete) {
  Cmd r = run(ctr_run({"--detach"}, "detached",
                      {"sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"}),
              "", 90s);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(wait_for_status("detached", "RUNNING"));
  // Where the shim put things, so that the checks for leftovers look in the
  // right places: runvm's state under --runc-root/<namespace>, the monitor
  // and QEMU naming it, virtiofsd naming the rootfs, the shim our socket.
  EXPECT_EQ(list_dir(containerd_->runvm_root()), std::vector<std::string>{"detached"});
  EXPECT_FALSE(processes_mentioning(containerd_->runc_root()).empty());
  EXPECT_FALSE(processes_mentioning(rootfs_->rootfs()).empty());
  EXPECT_FALSE(processes_mentioning(containerd_->address()).empty());
  // The task's PID is runvm's monitor, placed in linux.cgroupsPath
  // ("/<namespace>/<id>" from ctr), where the shim reads its cgroup.
  std::string pid = task_pid("detached");
  std::string cgroups = slurp("/proc/" + pid + "/cgroup");
  EXPECT_NE(cgroups.find(":/" + containerd_->ns() + "/detached\n"), std::string::npos)
      << "pid " << pid << " cgroups:\n" << cgroups;

  Cmd pause = run(ctr({"task", "pause", "detached"}), "", 20s);
  EXPECT_EQ(pause.code, 0) << pause.err;
  EXPECT_EQ(task_status("detached"), "PAUSED");
  EXPECT_NE(run(exec("detached", "while-paused", {"true"}), "", 30s).code, 0)
      << "no exec in a paused container";
  Cmd resume = run(ctr({"task", "resume", "detached"}), "", 20s);
  EXPECT_EQ(resume.code, 0) << resume.err;
  EXPECT_EQ(task_status("detached"), "RUNNING");
  Cmd after = run(exec("detached", "after-resume", {"echo", "alive"}), "", 30s);
  EXPECT_EQ(after.code, 0) << after.err;
  EXPECT_EQ(after.out, "alive\n") << "the VM runs again after resume";

  EXPECT_EQ(run(ctr({"task", "kill", "detached"}), "", 20s).code, 0);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(task_status("detached"), "RUNNING") << "its init ignores SIGTERM";

  Cmd kill = run(ctr({"task", "kill", "--signal", "SIGKILL", "detached"}), "", 20s);
  EXPECT_EQ(kill.code, 0) << kill.err;
  EXPECT_TRUE(wait_for_status("detached", "STOPPED"));

  Cmd del = run(ctr({"task", "delete", "detached"}), "", 30s);
  EXPECT_EQ(del.code, 0) << del.err;
  EXPECT_NE(del.err.find("exit code 137"), std::string::npos) << del.err;
  EXPECT_EQ(task_status("detached"), "");
  Cmd cdel = run(ctr({"container", "delete", "detached"}), "", 20s);
  EXPECT_EQ(cdel.code, 0) << cdel.err;
  EXPECT_EQ(run(ctr({"container", "info", "detached"}), "", 20s).code, 1);
}

// 1 GiB each way through the shim (issue 6): `tar ... | ctr task exec -i
// ... tar xf -` and back, streamed by shell pipelines so that nothing,
// not even this test, holds the payload; checked by checksum.
TEST_F(ContainerdTest, ExecTarOneGibibyteThroughTheShim) {
  Cmd r = run(ctr_run({"--detach"}, "tarbig", {"sleep", "900"}), "", 90s);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(wait_for_status("tarbig", "RUNNING"));
  std::string work = e2e::make_short_temp_dir("g", 3);
  auto line = [](const std::vector<std::string>& args) {
    std::string s;
    for (const auto& a : args) s += "'" + a + "' ";
    return s;
  };
  ASSERT_EQ(std::system(("head -c 1073741824 /dev/urandom > " + work + "/big").c_str()), 0);
  std::string sum = run({"/bin/sh", "-c", "md5sum < " + work + "/big"}, "", 120s).out;
  Cmd in = run({"/bin/sh", "-c", "tar cf - -C " + work + " big | timeout 600 " +
                                     line(exec("tarbig", "xbig", {"tar", "xf", "-", "-C", "/"}))},
               "", 650s);
  EXPECT_EQ(in.code, 0) << in.err;
  ::unlink((work + "/big").c_str());
  std::string back = work + "/back";
  ::mkdir(back.c_str(), 0755);
  Cmd out = run({"/bin/sh", "-c", "timeout 600 " + line(exec("tarbig", "cbig", {"tar", "cf", "-", "-C", "/", "big"})) +
                                      "| tar xf - -C " + back},
                "", 650s);
  EXPECT_EQ(out.code, 0) << out.err;
  EXPECT_EQ(run({"/bin/sh", "-c", "md5sum < " + back + "/big"}, "", 120s).out, sum);
  e2e::unmount_and_remove(work);
  ::unlink((rootfs_->rootfs() + "/big").c_str());
  kill_and_remove("tarbig");
}

// kubectl cp's path: `tar` exec'd through the runc shim (`ctr task exec`
// with stdin, as the CRI plugin does) on a rootfs without tar: the agent's
// built-in tar unpacks and packs, and each exec ends once the data is
// through (0 B, 1 B, 1 MiB).
TEST_F(ContainerdTest, ExecTarThroughTheShimWithoutTarInTheImage) {
  Cmd r = run(ctr_run({"--detach"}, "tarbox", {"sleep", "300"}), "", 90s);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(wait_for_status("tarbox", "RUNNING"));
  std::string work = e2e::make_short_temp_dir("t", 3);
  for (size_t size : {size_t{0}, size_t{1}, size_t{1} << 20}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::string name = "f" + std::to_string(size);
    std::system(("head -c " + std::to_string(size) + " /dev/urandom > " + work + "/" + name +
                 " && tar cf " + work + "/" + name + ".tar -C " + work + " " + name).c_str());
    auto started = Clock::now();
    Cmd in = run(exec("tarbox", "x" + name, {"tar", "xf", "-", "-C", "/tmp"}),
                 slurp(work + "/" + name + ".tar"), 60s);
    EXPECT_EQ(in.code, 0) << in.err;
    Cmd out = run(exec("tarbox", "c" + name, {"tar", "cf", "-", "-C", "/tmp", name}), "", 60s);
    EXPECT_EQ(out.code, 0) << out.err;
    std::ofstream(work + "/" + name + ".back.tar", std::ios::binary) << out.out;
    std::string back = work + "/back";
    ::mkdir(back.c_str(), 0755);
    EXPECT_EQ(std::system(("tar xf " + work + "/" + name + ".back.tar -C " + back + " && cmp " + back +
                           "/" + name + " " + work + "/" + name).c_str()),
              0)
        << "the same bytes come back";
    EXPECT_LT(Clock::now() - started, 30s);
  }
  e2e::unmount_and_remove(work);
  kill_and_remove("tarbox");
}

// The README's containerd config (the CRI runtime for a RuntimeClass):
// containerd loads it, and its runc shim options carry runvm as BinaryName,
// the option the tests above set per container with --runc-binary.
TEST(ContainerdReadme, CriRuntimeConfigLoads) {
  std::string containerd = find_in_path("containerd");
  ASSERT_FALSE(containerd.empty()) << "package containerd (scripts/setup.sh)";
  std::string dir = e2e::make_short_temp_dir("k", 3);
  std::ofstream(dir + "/config.toml") << e2e::readme_snippet("containerd-config-toml");
  Cmd dump = run({containerd, "--config", dir + "/config.toml", "config", "dump"}, "", 30s);
  e2e::unmount_and_remove(dir);
  ASSERT_EQ(dump.code, 0) << dump.err;
  std::string section = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runvm]";
  size_t at = dump.out.find(section);
  ASSERT_NE(at, std::string::npos) << dump.out;
  size_t next_runtime = dump.out.find("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.",
                                      at + section.size());
  std::string runvm = dump.out.substr(at, next_runtime == std::string::npos ? std::string::npos
                                                                            : next_runtime - at);
  EXPECT_TRUE(e2e::contains(runvm, "runtime_type = \"io.containerd.runc.v2\"")) << runvm;
  size_t options = dump.out.find(section.substr(0, section.size() - 1) + ".options]");
  ASSERT_NE(options, std::string::npos) << dump.out;
  EXPECT_TRUE(e2e::contains(dump.out.substr(options, 300), "BinaryName = \"" + runvm_binary() + "\""))
      << dump.out.substr(options, 300);
}

}  // namespace
}  // namespace runvm::testing
