// The runc-compatible lifecycle end to end: create, start, state, exec,
// kill, pause, resume, delete, hooks and the console socket, on real VMs.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Monitors and exec stand-ins outlive the commands that fork them; as a
    // subreaper this test collects their exit statuses, as containerd's shim does.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }

  void TearDown() override {
    runvm("delete --force c1");
    expect_no_container_left(root_.path(), bundle_);
    EXPECT_TRUE(list_dir("/sys/fs/cgroup/memory/runvm-test-" + std::to_string(::getpid())).empty())
        << "a cgroup left behind";
  }

  // `runvm --root R ARGS` through the shell; the container's stdio (for
  // create) goes to files, so no pipe of ours is held by a monitor.
  Cmd runvm(const std::string& args, std::string out = "", std::string err = "") {
    if (out.empty()) out = scratch_.path() + "/cmd.out";
    if (err.empty()) err = scratch_.path() + "/cmd.err";
    return runvm_command(root_.path(), args, out, err);
  }

  Cmd create(const std::vector<std::string>& args, const std::string& extra = "") {
    bundle_.set_args(args);
    bundle_.write_config();
    return runvm("create --bundle '" + bundle_.path() + "' --pid-file '" + scratch_.path() +
                     "/pid' " + extra + " c1",
                 scratch_.path() + "/c.out", scratch_.path() + "/c.err");
  }

  json state() { return json::parse(runvm("state c1").out, nullptr, false); }
  pid_t pid_file() { return std::atoi(slurp(scratch_.path() + "/pid").c_str()); }
  std::string container_out() { return slurp(scratch_.path() + "/c.out"); }

  bool wait_for_output(const std::string& text, std::chrono::seconds limit = 60s) {
    return wait_until([&] { return contains(container_out(), text); }, limit);
  }

  // The container's own devpts, which a terminal is allocated from.
  void add_devpts() {
    bundle_.config()["mounts"].push_back(
        {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}});
  }

  TempDir root_, scratch_;
  Bundle bundle_;
};

TEST_F(LifecycleTest, CreateStartExecKillDelete) {
  Cmd c = create({"sh", "-c", "trap 'echo got-term; exit 3' TERM; echo started; "
                              "while true; do sleep 0.1; done"});
  ASSERT_EQ(c.code, 0) << c.err;
  pid_t pid = pid_file();
  json s = state();
  EXPECT_EQ(s["status"], "created");
  EXPECT_EQ(s["id"], "c1");
  EXPECT_EQ(s["pid"], pid);
  EXPECT_EQ(s["bundle"], bundle_.path());
  EXPECT_EQ(::kill(pid, 0), 0) << "the container's host process exists after create";
  // Tools that join the container's mount namespace or go through
  // /proc/<pid>/root (podman cp) must land in the container, not on the host.
  std::string proc_root = "/proc/" + std::to_string(pid) + "/root";
  struct stat st;
  EXPECT_EQ(::stat((proc_root + "/notexec").c_str(), &st), 0) << "the rootfs is the host process's root";
  EXPECT_NE(::stat((proc_root + scratch_.path()).c_str(), &st), 0) << "the host's files are out of reach";
  EXPECT_EQ(container_out(), "") << "nothing runs before start";
  EXPECT_NE(runvm("list").out.find("c1"), std::string::npos);
  EXPECT_EQ(runvm("list -q").out, "c1\n");

  ASSERT_EQ(runvm("start c1").code, 0);
  EXPECT_EQ(state()["status"], "running");
  ASSERT_TRUE(wait_for_output("started\n"));

  Cmd e = runvm("exec c1 sh -c 'echo out; echo err >&2; hostname; exit 7'");
  EXPECT_EQ(e.code, 7);
  EXPECT_EQ(e.out, "out\nrunvm-test\n");
  EXPECT_EQ(e.err, "err\n");

  Cmd ps = runvm("ps --format json c1");
  EXPECT_EQ(ps.code, 0) << ps.err;
  EXPECT_EQ(json::parse(ps.out, nullptr, false), json::array({pid}))
      << ps.out << ": host PIDs, the monitor standing for init";
  std::string exec_pid = scratch_.path() + "/exec.pid";
  ASSERT_EQ(runvm("exec -d --pid-file '" + exec_pid + "' c1 sleep 5").code, 0);
  pid_t stand_in = std::atoi(slurp(exec_pid).c_str());
  EXPECT_EQ(json::parse(runvm("ps --format json c1").out, nullptr, false), json::array({pid, stand_in}))
      << "an exec's stand-in stands for it";
  Cmd table = runvm("ps c1");
  EXPECT_NE(table.out.find("echo started"), std::string::npos) << "the table shows the guest's processes: " << table.out;

  Cmd start_again = runvm("start c1");
  EXPECT_EQ(start_again.code, 1);
  EXPECT_NE(start_again.err.find("cannot start an already running container"), std::string::npos);
  Cmd no_force = runvm("delete c1");
  EXPECT_EQ(no_force.code, 1);
  EXPECT_NE(no_force.err.find("cannot delete container c1 that is not stopped: running"),
            std::string::npos) << no_force.err;

  ASSERT_EQ(runvm("kill c1 TERM").code, 0);
  EXPECT_EQ(reap(pid), 3) << "the host process exits with the container's status";
  EXPECT_EQ(container_out(), "started\ngot-term\n");
  EXPECT_EQ(state()["status"], "stopped");
  EXPECT_EQ(state()["pid"], 0);
  Cmd exec_stopped = runvm("exec c1 true");
  EXPECT_EQ(exec_stopped.code, 255);
  EXPECT_NE(exec_stopped.err.find("cannot exec in a stopped container"), std::string::npos);
  Cmd kill_stopped = runvm("kill c1 KILL");
  EXPECT_NE(kill_stopped.err.find("container not running"), std::string::npos);
  ASSERT_EQ(runvm("delete c1").code, 0);
  EXPECT_NE(runvm("state c1").err.find("container does not exist"), std::string::npos);
}

// Linux strings are bytes: a bundle path, an exec's arguments, environment
// and working directory that are not UTF-8 arrive as the same bytes (runc
// passes them), and nothing on the way aborts or leaves a half-made id.
TEST_F(LifecycleTest, BytesThatAreNotUtf8PassThroughUnchanged) {
  ASSERT_EQ(::mkdir((bundle_.rootfs() + "/w\xfe").c_str(), 0755), 0);
  bundle_.set_args({"sleep", "60"});
  bundle_.write_config();
  std::string odd_bundle = scratch_.path() + "/b\xff";
  ASSERT_EQ(shell("cp -a '" + bundle_.path() + "' '" + odd_bundle + "'").status, 0);
  Cmd c = runvm("create --bundle '" + odd_bundle + "' c1", scratch_.path() + "/c.out", scratch_.path() + "/c.err");
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(runvm("list -q").out, "c1\n") << "the id is listed";
  Cmd st = runvm("state c1");
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_NE(st.out.find("\"status\": \"created\""), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("/b\xef\xbf\xbd\""), std::string::npos) << "shown as Go's encoding/json shows it: " << st.out;
  ASSERT_EQ(runvm("start c1").code, 0);
  pid_t pid = state()["pid"].get<pid_t>();
  // Each byte string comes back through od, byte for byte.
  Cmd e = runvm("exec -e 'X=v\xfa' --cwd '/w\xfe' c1 sh -c "
                "'printf %s \"$1\" | od -An -c; printf %s \"$X\" | od -An -c; pwd | od -An -c' x 'a\xff" "b'");
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(e.out, "   a 377   b\n   v 372\n   /   w 376  \\n\n") << e.out;
  ASSERT_EQ(runvm("kill c1 KILL").code, 0);
  ASSERT_EQ(reap(pid), 137);
  ASSERT_EQ(runvm("delete c1").code, 0);
  EXPECT_TRUE(list_dir(root_.path()).empty()) << "nothing of the id is left";
}

TEST_F(LifecycleTest, PauseResumeAndKillByNumber) {
  // init forks nothing after it is up: the exec below fills the pids limit
  // on purpose, and a loop that forked a sleep every 0.1 s would fail to
  // fork then and exit 2 (busybox sh), which made the later stats fail
  // ("gave no JSON") whenever the timing met, more often under load.
  ASSERT_EQ(create({"sh", "-c", "echo up; exec sleep 100000"}).code, 0);
  pid_t pid = pid_file();
  ASSERT_EQ(runvm("start c1").code, 0);
  ASSERT_TRUE(wait_for_output("up\n"));
  ASSERT_EQ(runvm("pause c1").code, 0);
  EXPECT_EQ(state()["status"], "paused");
  Cmd exec_paused = runvm("exec c1 true");
  EXPECT_NE(exec_paused.err.find("cannot exec in a paused container"), std::string::npos);
  EXPECT_NE(runvm("pause c1").err.find("container not running"), std::string::npos);
  ASSERT_EQ(runvm("resume c1").code, 0);
  EXPECT_EQ(state()["status"], "running");
  EXPECT_NE(runvm("resume c1").err.find("container not paused"), std::string::npos);
  EXPECT_EQ(runvm("exec c1 true").code, 0) << "the VM runs again after resume";
  Cmd bad = runvm("kill c1 NOPE");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("unknown signal \"NOPE\""), std::string::npos) << bad.err;
  ASSERT_EQ(runvm("kill c1 9").code, 0);
  EXPECT_EQ(reap(pid), 137);
  EXPECT_EQ(runvm("delete c1").code, 0);
}

TEST_F(LifecycleTest, ExecDetachLeavesAStandInWithTheProcessStatus) {
  ASSERT_EQ(create({"sh", "-c", "while true; do sleep 0.1; done"}).code, 0);
  ASSERT_EQ(runvm("start c1").code, 0);
  std::string pid_path = scratch_.path() + "/exec.pid";
  Cmd e = runvm("exec --detach --pid-file '" + pid_path + "' c1 sh -c 'sleep 1; exit 42'");
  ASSERT_EQ(e.code, 0) << e.err;
  pid_t stand_in = std::atoi(slurp(pid_path).c_str());
  ASSERT_GT(stand_in, 0);
  EXPECT_EQ(reap(stand_in), 42);
  // A signal to the stand-in reaches the process in the guest.
  Cmd e2 = runvm("exec --detach --pid-file '" + pid_path +
                 "' c1 sh -c 'trap \"exit 5\" TERM; touch /tmp/trapped; while true; do sleep 0.1; done'");
  ASSERT_EQ(e2.code, 0) << e2.err;
  stand_in = std::atoi(slurp(pid_path).c_str());
  // Only once the shell has set its trap (under load that can take longer
  // than any fixed pause): before that, TERM kills it (143), as it would
  // under runc.
  ASSERT_TRUE(wait_until([&] { return runvm("exec c1 test -e /tmp/trapped").code == 0; }, 60s));
  ::kill(stand_in, SIGTERM);
  EXPECT_EQ(reap(stand_in), 5);
  Cmd missing = runvm("exec c1 nosuchcommand");
  EXPECT_EQ(missing.code, 255);
  EXPECT_NE(missing.err.find("executable file not found in $PATH"), std::string::npos) << missing.err;
}

TEST_F(LifecycleTest, ExecFlagsShapeTheProcess) {
  bundle_.config()["process"]["capabilities"] = {
      {"bounding", {"CAP_CHOWN"}}, {"effective", {"CAP_CHOWN"}}, {"permitted", {"CAP_CHOWN"}}};
  ASSERT_EQ(create({"sh", "-c", "while true; do sleep 0.1; done"}).code, 0);
  ASSERT_EQ(runvm("start c1").code, 0);
  Cmd e = runvm("exec --cwd /tmp --env GREETING=hi --user 1000:1001 --no-new-privs c1 "
                "sh -c 'pwd; echo $GREETING; id -u; id -g; grep NoNewPrivs /proc/self/status'");
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(e.out, "/tmp\nhi\n1000\n1001\nNoNewPrivs:\t1\n");
  Cmd plain = runvm("exec c1 grep CapEff /proc/self/status");
  EXPECT_NE(plain.out.find("0000000000000001"), std::string::npos) << "the container's CAP_CHOWN: " << plain.out;
  Cmd cap = runvm("exec --cap kill c1 grep CapEff /proc/self/status");
  EXPECT_EQ(cap.code, 0) << cap.err;
  EXPECT_NE(cap.out.find("0000000000000021"), std::string::npos) << "CAP_CHOWN + CAP_KILL: " << cap.out;
  std::string log = scratch_.path() + "/log.json";
  Cmd failed = runvm("--log '" + log + "' --log-format json exec c1 nosuchcommand");
  EXPECT_EQ(failed.code, 255);
  // containerd's shim takes the last error line of the JSON log.
  std::istringstream lines(slurp(log));
  std::string last;
  for (std::string line; std::getline(lines, line);)
    if (json::parse(line, nullptr, false).value("level", "") == "error") last = line;
  json entry = json::parse(last, nullptr, false);
  EXPECT_NE(entry.value("msg", "").find("executable file not found in $PATH"), std::string::npos) << last;
  EXPECT_TRUE(entry.contains("time"));
}

TEST_F(LifecycleTest, RuncFlagsAndOutputFormats) {
  Cmd version = runvm("--version");
  EXPECT_EQ(version.out.rfind("runvm version ", 0), 0u) << version.out;
  EXPECT_NE(runvm("exec --help").out.find("--console-socket"), std::string::npos);
  Cmd fds = create({"true"}, "--preserve-fds 2");
  EXPECT_EQ(fds.code, 1);
  EXPECT_NE(fds.err.find("--preserve-fds is not supported"), std::string::npos) << fds.err;
  ASSERT_EQ(create({"sh", "-c", "while true; do sleep 0.1; done"}, "--no-pivot --no-new-keyring").code, 0);
  Cmd table = runvm("list");
  EXPECT_EQ(table.out.rfind("ID          PID         STATUS      BUNDLE", 0), 0u) << table.out;
  ASSERT_EQ(runvm("start c1").code, 0);
  // start returns once init has exec'd; the guest's /proc may still show
  // the new command line a moment later.
  Cmd ps;
  for (int i = 0; i < 50; ++i) {
    ps = runvm("ps c1");
    if (ps.out.find("sh -c while true") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(ps.out.rfind("UID", 0), 0u) << ps.out;
  EXPECT_NE(ps.out.find("sh -c while true"), std::string::npos) << ps.out;
  // Without --stats, events keeps reporting until it is stopped.
  std::string events_out = scratch_.path() + "/events.out", events_pid = scratch_.path() + "/events.pid";
  std::system(("'" + runvm_binary() + "' --root '" + root_.path() + "' events --interval 1s c1 >'" +
               events_out + "' 2>&1 & echo $! >'" + events_pid + "'")
                  .c_str());
  auto stats_lines = [&] {
    size_t count = 0;
    std::istringstream in(slurp(events_out));
    for (std::string line; std::getline(in, line);)
      if (json::parse(line, nullptr, false).value("type", "") == "stats") ++count;
    return count;
  };
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (stats_lines() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  ::kill(std::atoi(slurp(events_pid).c_str()), SIGTERM);
  size_t lines = stats_lines();
  std::string events = slurp(events_out);
  EXPECT_GE(lines, 2u) << "events without --stats keeps reporting: " << events;
}

TEST_F(LifecycleTest, ExecStdinEndsAtEof) {
  ASSERT_EQ(create({"sh", "-c", "while true; do sleep 0.1; done"}).code, 0);
  ASSERT_EQ(runvm("start c1").code, 0);
  RunOptions o;
  o.stdin_data = "through the VM\n";
  RunResult r = run_runvm({"--root", root_.path(), "exec", "c1", "sh", "-c", "cat; echo done"}, o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "through the VM\ndone\n");
}

TEST_F(LifecycleTest, HooksRunInOrderWithTheState) {
  std::string log = scratch_.path() + "/hooks.log";
  auto hook = [&](const std::string& name) {
    return json{{"path", "/bin/sh"},
                {"args", {"sh", "-c", "read -r s; echo \"" + name + " $s\" >> '" + log + "'"}}};
  };
  bundle_.config()["hooks"] = {
      {"createRuntime", {hook("createRuntime")}}, {"prestart", {hook("prestart")}},
      {"createContainer", {hook("createContainer")}}, {"poststart", {hook("poststart")}},
      {"poststop", {hook("poststop")}},
      {"startContainer", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo in-guest > /started"}}}}}};
  ASSERT_EQ(create({"sh", "-c", "cat /started; sleep 100"}).code, 0);
  ASSERT_EQ(runvm("start c1").code, 0);
  ASSERT_TRUE(wait_for_output("in-guest\n")) << "startContainer ran inside the container first";
  ASSERT_EQ(runvm("delete --force c1").code, 0);
  std::vector<std::string> names;
  std::istringstream lines(slurp(log));
  for (std::string line; std::getline(lines, line);) {
    names.push_back(line.substr(0, line.find(' ')));
    json s = json::parse(line.substr(line.find(' ') + 1), nullptr, false);
    EXPECT_EQ(s["id"], "c1") << line;
    EXPECT_EQ(s["bundle"], bundle_.path()) << line;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"createRuntime", "prestart", "createContainer",
                                             "poststart", "poststop"}));
}

TEST_F(LifecycleTest, FailingHookFailsCreateAndLeavesNothing) {
  bundle_.config()["hooks"] = {{"prestart", {{{"path", "/bin/false"}}}}};
  Cmd c = create({"true"});
  EXPECT_EQ(c.code, 1);
  EXPECT_NE(c.err.find("error running hook #0"), std::string::npos) << c.err;
  EXPECT_NE(runvm("state c1").err.find("container does not exist"), std::string::npos);
}

TEST_F(LifecycleTest, ConsoleSocketGetsARealTerminalThatFollowsResizes) {
  std::string path = scratch_.path() + "/console.sock";
  int listener = listen_console(path);
  ASSERT_GE(listener, 0);
  bundle_.config()["process"]["terminal"] = true;
  add_devpts();
  Cmd c = create({"sh", "-c", "stty size; read x; stty size; tty"}, "--console-socket '" + path + "'");
  ASSERT_EQ(c.code, 0) << c.err;
  int master = receive_console(listener);
  ::close(listener);
  ASSERT_GE(master, 0);
  winsize size{30, 100, 0, 0};
  ASSERT_EQ(::ioctl(master, TIOCSWINSZ, &size), 0);
  Cmd started = runvm("start c1");
  ASSERT_EQ(started.code, 0) << started.err;
  EXPECT_NE(read_until(master, "30 100").find("30 100"), std::string::npos);
  size = {40, 120, 0, 0};
  ASSERT_EQ(::ioctl(master, TIOCSWINSZ, &size), 0);
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(::write(master, "\n", 1), 1);
  std::string after = read_until(master, "/dev/pts/");
  EXPECT_NE(after.find("40 120"), std::string::npos) << after;
  EXPECT_NE(after.find("/dev/pts/"), std::string::npos) << "the process has a real pty: " << after;
  EXPECT_EQ(reap(pid_file()), 0);
  ::close(master);
}

TEST_F(LifecycleTest, ATerminalContainerLetsGoOfTheCallersOutput) {
  // containerd's shim reads create's output to its end before it accepts the
  // console: a monitor that kept it open would hang `docker run -it`.
  std::string path = scratch_.path() + "/console.sock";
  int listener = listen_console(path);
  ASSERT_GE(listener, 0);
  bundle_.config()["process"]["terminal"] = true;
  add_devpts();
  bundle_.set_args({"sleep", "100"});
  bundle_.write_config();
  int status = std::system(("timeout 60 sh -c \"'" + runvm_binary() + "' --root '" + root_.path() +
                            "' create --bundle '" + bundle_.path() + "' --console-socket '" + path +
                            "' c1 2>&1 | cat\" >/dev/null")
                               .c_str());
  EXPECT_EQ(WEXITSTATUS(status), 0) << "124: create's output pipe never reached its end";
  int master = receive_console(listener);
  ::close(listener);
  EXPECT_GE(master, 0);
  EXPECT_EQ(state()["status"], "created");
  if (master >= 0) ::close(master);
}

TEST_F(LifecycleTest, ExecWithATerminalThroughAConsoleSocket) {
  // The path of `docker exec -it` through containerd's shim.
  std::string path = scratch_.path() + "/exec-console.sock";
  int listener = listen_console(path);
  ASSERT_GE(listener, 0);
  add_devpts();
  ASSERT_EQ(create({"sh", "-c", "while true; do sleep 0.1; done"}).code, 0);
  ASSERT_EQ(runvm("start c1").code, 0);
  std::string pid_path = scratch_.path() + "/exec.pid";
  Cmd e = runvm("exec --tty --detach --console-socket '" + path + "' --pid-file '" + pid_path +
                "' c1 sh -c 'read x; stty size; tty; exit 4'");
  ASSERT_EQ(e.code, 0) << e.err;
  int master = receive_console(listener);
  ::close(listener);
  ASSERT_GE(master, 0);
  winsize size{25, 90, 0, 0};
  ASSERT_EQ(::ioctl(master, TIOCSWINSZ, &size), 0);
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(::write(master, "\n", 1), 1);
  std::string out = read_until(master, "/dev/pts/");
  EXPECT_NE(out.find("25 90"), std::string::npos) << out;
  EXPECT_EQ(reap(std::atoi(slurp(pid_path).c_str())), 4);
  ::close(master);
}

TEST_F(LifecycleTest, QemuDyingStopsTheContainerAndDeleteCleansUp) {
  ASSERT_EQ(create({"sh", "-c", "echo up; sleep 100"}).code, 0);
  pid_t pid = pid_file();
  ASSERT_EQ(runvm("start c1").code, 0);
  ASSERT_TRUE(wait_for_output("up\n"));
  for (pid_t p : processes_mentioning(root_.path() + "/c1/console.log")) ::kill(p, SIGKILL);
  EXPECT_EQ(reap(pid, 5s), 137) << "the host process ends, non-zero, within seconds";
  EXPECT_EQ(state()["status"], "stopped");
  EXPECT_EQ(runvm("delete c1").code, 0);
}

TEST_F(LifecycleTest, StatsUpdateAndKillAll) {
  bundle_.config()["linux"]["resources"] = {{"pids", {{"limit", 40}}}};
  // init forks nothing after it is up: the exec below fills the pids limit
  // on purpose, and a loop that forked a sleep every 0.1 s would fail to
  // fork then and exit 2 (busybox sh), which made the later stats fail
  // ("gave no JSON") whenever the timing met, more often under load.
  ASSERT_EQ(create({"sh", "-c", "echo up; exec sleep 100000"}).code, 0);
  pid_t pid = pid_file();
  ASSERT_EQ(runvm("start c1").code, 0);
  ASSERT_TRUE(wait_for_output("up\n"));
  Cmd stats = runvm("events --stats c1");
  ASSERT_EQ(stats.code, 0) << stats.err;
  json event = json::parse(stats.out, nullptr, false);
  ASSERT_TRUE(event.is_object()) << stats.out;
  EXPECT_EQ(event["type"], "stats");
  EXPECT_EQ(event["id"], "c1");
  EXPECT_GT(event["data"]["memory"]["usage"]["usage"].get<uint64_t>(), 0u);
  EXPECT_GE(event["data"]["pids"]["current"].get<uint64_t>(), 1u);
  EXPECT_GT(event["data"]["cpu"]["usage"]["total"].get<uint64_t>(), 0u);
  EXPECT_EQ(event["data"]["pids"]["limit"], 40) << "linux.resources.pids from the spec";

  ASSERT_EQ(runvm("update --pids-limit 5 c1").code, 0);
  Cmd stats_after = runvm("events --stats c1");
  ASSERT_EQ(stats_after.code, 0) << stats_after.err;
  json after = json::parse(stats_after.out, nullptr, false);
  ASSERT_TRUE(after.is_object()) << stats_after.out;
  EXPECT_EQ(after["data"]["pids"]["limit"], 5);
  Cmd forks = runvm("exec c1 sh -c 'for i in 1 2 3 4 5 6; do sleep 2 & done; wait'");
  EXPECT_NE(forks.err.find("can't fork"), std::string::npos)
      << "the pids limit is enforced inside the guest: " << forks.err;
  Cmd big = runvm("update --memory 68719476736 --pids-limit 9 c1");
  EXPECT_NE(big.code, 0) << "more memory than the VM has is refused";
  EXPECT_NE(big.err.find("fixed at boot"), std::string::npos) << "and the reason said: " << big.err;
  Cmd stats_unchanged = runvm("events --stats c1");
  ASSERT_EQ(stats_unchanged.code, 0) << stats_unchanged.err;
  json unchanged = json::parse(stats_unchanged.out, nullptr, false);
  ASSERT_TRUE(unchanged.is_object()) << stats_unchanged.out;
  EXPECT_EQ(unchanged["data"]["pids"]["limit"], 5) << "a refused update changes nothing";

  json listed = json::parse(runvm("list --format json").out, nullptr, false);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], "c1");
  EXPECT_EQ(listed[0]["status"], "running");

  ASSERT_EQ(runvm("kill --all c1 KILL").code, 0);
  EXPECT_EQ(reap(pid), 137);
  EXPECT_EQ(runvm("kill --all c1 KILL").code, 0) << "--all on a stopped container is not an error";
}

TEST_F(LifecycleTest, RunDetachedLeavesARunningContainer) {
  bundle_.set_args({"sh", "-c", "echo detached; sleep 100"});
  bundle_.write_config();
  Cmd r = runvm("run --detach --bundle '" + bundle_.path() + "' --pid-file '" + scratch_.path() +
                    "/pid' c1",
                scratch_.path() + "/c.out", scratch_.path() + "/c.err");
  ASSERT_EQ(r.code, 0) << slurp(scratch_.path() + "/c.err");
  EXPECT_EQ(state()["status"], "running");
  EXPECT_TRUE(wait_for_output("detached\n"));
  ASSERT_EQ(runvm("kill c1 KILL").code, 0);
  EXPECT_EQ(reap(pid_file()), 137);
  json features = json::parse(runvm("features").out, nullptr, false);
  EXPECT_EQ(features["ociVersionMax"], "1.2.0");
}

std::string link_of(const std::string& path) {
  char buf[256] = {};
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST_F(LifecycleTest, TheHostProcessIsInTheContainersCgroupAndNamespaces) {
  // A network namespace made by "the engine", for the container to join.
  pid_t holder = ::fork();
  if (holder == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::unshare(CLONE_NEWNET);
    ::pause();
    ::_exit(0);
  }
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{holder};
  std::this_thread::sleep_for(200ms);
  std::string netns = "/proc/" + std::to_string(holder) + "/ns/net";
  std::string cgroup = "/runvm-test-" + std::to_string(::getpid());
  bundle_.config()["linux"] = {{"cgroupsPath", cgroup},
                               {"resources", {{"memory", {{"limit", 256 * 1024 * 1024}}}}},
                               {"namespaces", {{{"type", "network"}, {"path", netns}},
                                               {{"type", "uts"}}, {{"type", "pid"}}}}};
  Cmd c = create({"sleep", "100"});
  ASSERT_EQ(c.code, 0) << c.err;
  std::string pid = std::to_string(pid_file());
  EXPECT_EQ(link_of("/proc/" + pid + "/ns/net"), link_of(netns)) << "joined by path";
  EXPECT_NE(link_of("/proc/" + pid + "/ns/uts"), link_of("/proc/self/ns/uts")) << "a new one";
  std::ifstream in("/proc/" + pid + "/cgroup");
  std::string groups((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(groups.find(":" + cgroup + "\n"), std::string::npos) << groups;
  auto qemus = processes_mentioning(root_.path() + "/c1/console.log");
  ASSERT_EQ(qemus.size(), 1u);
  std::string qemu = std::to_string(qemus[0]);
  EXPECT_EQ(link_of("/proc/" + qemu + "/ns/net"), link_of(netns)) << "QEMU inherits them";
  // The VM got the container's 256 MiB and the guest kernel's share
  // (256 + 96 + 8 MiB); the host cgroup holds the VM with the documented
  // 256 MiB allowance on top.
  EXPECT_EQ(slurp("/sys/fs/cgroup/memory" + cgroup + "/memory.limit_in_bytes"),
            std::to_string((360ull + 256) * 1024 * 1024) + "\n");
  ASSERT_EQ(runvm("delete c1").code, 0);
  struct stat st;
  for (const char* h : {"memory", "pids", "unified"})
    EXPECT_NE(::stat(("/sys/fs/cgroup/" + std::string(h) + cgroup).c_str(), &st), 0)
        << "delete removes the cgroup in " << h;
}

TEST_F(LifecycleTest, AKilledMonitorTakesItsVmAlongAndDeleteCleansUp) {
  ASSERT_EQ(create({"sleep", "100"}).code, 0);
  pid_t pid = pid_file();
  ASSERT_EQ(runvm("start c1").code, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_EQ(reap(pid, 5s), 137);
  EXPECT_EQ(state()["status"], "stopped") << "a dead monitor reads as stopped";
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!processes_mentioning(root_.path()).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(processes_mentioning(root_.path()).empty()) << "QEMU dies with its monitor";
  EXPECT_EQ(runvm("delete c1").code, 0);
}

TEST_F(LifecycleTest, ConcurrentStartsAreSerialised) {
  ASSERT_EQ(create({"sleep", "100"}).code, 0);
  std::string a = scratch_.path() + "/a", b = scratch_.path() + "/b";
  std::string cmd = "'" + runvm_binary() + "' --root '" + root_.path() + "' start c1";
  std::system(("(" + cmd + " 2>" + a + "; echo $? >>" + a + ") & (" + cmd + " 2>" + b +
               "; echo $? >>" + b + ") & wait").c_str());
  std::string both = slurp(a) + slurp(b);
  EXPECT_NE(both.find("0\n"), std::string::npos) << both;
  EXPECT_NE(both.find("cannot start an already running container"), std::string::npos)
      << "exactly one start wins: " << both;
  EXPECT_EQ(state()["status"], "running");
}

TEST_F(LifecycleTest, StatePathsLongerThanASocketAddressWork) {
  // Docker's: /var/run/docker/runtime-runc/moby/<64 hex>/... is over the
  // 107 bytes a Unix socket address holds.
  std::string root = scratch_.path() + "/var-run-docker-runtime-runc-moby";
  std::string id(64, 'a');
  std::string runvm_root = "'" + runvm_binary() + "' --root '" + root + "' ";
  bundle_.set_args({"sleep", "100"});
  bundle_.write_config();
  std::string out = scratch_.path() + "/long.out";
  int created = std::system((runvm_root + "create --bundle '" + bundle_.path() + "' " + id +
                             " </dev/null >" + out + " 2>&1").c_str());
  ASSERT_EQ(WEXITSTATUS(created), 0) << slurp(out);
  EXPECT_EQ(WEXITSTATUS(std::system((runvm_root + "start " + id + " >" + out + " 2>&1").c_str())), 0) << slurp(out);
  EXPECT_EQ(WEXITSTATUS(std::system((runvm_root + "exec " + id + " sh -c 'exit 5' >" + out + " 2>&1").c_str())), 5)
      << slurp(out);
  EXPECT_EQ(WEXITSTATUS(std::system((runvm_root + "delete --force " + id + " >" + out + " 2>&1").c_str())), 0)
      << slurp(out);
  EXPECT_TRUE(list_dir(root).empty());
  EXPECT_TRUE(processes_mentioning(root).empty());
}

TEST_F(LifecycleTest, BadInputIsRefusedClearly) {
  EXPECT_NE(runvm("state nope").err.find("container does not exist"), std::string::npos);
  EXPECT_NE(runvm("start nope").err.find("container does not exist"), std::string::npos);
  EXPECT_NE(runvm("kill nope").err.find("container does not exist"), std::string::npos);
  EXPECT_NE(runvm("delete nope").err.find("container does not exist"), std::string::npos);
  EXPECT_EQ(runvm("delete --force nope").code, 0);
  EXPECT_NE(runvm("state 'bad/id'").err.find("invalid container ID format"), std::string::npos);
  Cmd no_config = runvm("create --bundle /nonexistent c1");
  EXPECT_EQ(no_config.code, 1);
  EXPECT_NE(no_config.err.find("config.json"), std::string::npos) << no_config.err;
  bundle_.config()["ociVersion"] = "0.9.0";
  Cmd old = create({"true"});
  EXPECT_NE(old.err.find("unsupported version"), std::string::npos) << old.err;
  bundle_.config()["ociVersion"] = "1.0.2";
  ASSERT_EQ(create({"sleep", "100"}).code, 0);
  Cmd twice = create({"sleep", "100"});
  EXPECT_EQ(twice.code, 1);
  EXPECT_NE(twice.err.find("container with given ID already exists"), std::string::npos);
  EXPECT_EQ(state()["status"], "created") << "the failed create left the first container alone";
  EXPECT_EQ(runvm("delete c1").code, 0) << "a created container is deleted without --force";
}

}  // namespace
}  // namespace runvm::testing
