// runc's behaviour where scripts and engines depend on it (issue 16): a
// signal sent right after start, a terminal without a console socket,
// the command line's output formats and errors, exec's terminal, pid file
// and exit codes. On real VMs where a container is needed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class CliContractTest : public ::testing::Test {
 protected:
  // Monitors outlive the commands that fork them; as a subreaper this test
  // collects their exit statuses (the container's), as containerd's shim does.
  void SetUp() override { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }

  void TearDown() override {
    runvm("delete --force " + id_);
    expect_no_container_left(root_.path(), bundle_);
  }

  Cmd runvm(const std::string& args) {
    return runvm_command(root_.path(), args, scratch_.path() + "/cmd.out", scratch_.path() + "/cmd.err");
  }

  std::string prefix() const { return "'" + runvm_binary() + "' --root '" + root_.path() + "'"; }

  Cmd create(const std::vector<std::string>& args) {
    bundle_.set_args(args);
    bundle_.write_config();
    return runvm_command(root_.path(),
                         "create --bundle '" + bundle_.path() + "' --pid-file '" + scratch_.path() + "/pid' " + id_,
                         scratch_.path() + "/c.out", scratch_.path() + "/c.err");
  }

  pid_t pid_file() { return std::atoi(slurp(scratch_.path() + "/pid").c_str()); }

  // `start` then `kill ID SIG` at once, as containerd's StopContainer and
  // `docker stop` do; the shell's status.
  int start_then_kill(const std::string& sig) {
    std::string line = prefix() + " start " + id_ + " && " + prefix() + " kill " + id_ + " " + sig +
                       " </dev/null >'" + scratch_.path() + "/kill.out' 2>&1";
    int status = std::system(line.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // The container's own devpts, which its terminal is allocated from.
  void add_devpts() {
    bundle_.config()["mounts"].push_back(
        {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}});
  }

  // `command` through sh with its stdin a pipe held open until it exits, so
  // that script(1) never sees its input end (it would type an EOF); the
  // exit status, or -1 on timeout or a signal.
  static int shell_with_open_stdin(const std::string& command, std::chrono::seconds limit = 120s) {
    int in[2];
    if (::pipe(in) != 0) return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(in[0], 0);
      ::close(in[0]);
      ::close(in[1]);
      ::execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(in[0]);
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) != pid) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        ::close(in[1]);
        return -1;
      }
      std::this_thread::sleep_for(50ms);
    }
    ::close(in[1]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string id_ = "cc" + std::to_string(::getpid());
  TempDir root_, scratch_;
  Bundle bundle_;
};

// The kernel drops a signal that the init of a PID namespace has at the
// default disposition; under TCG a program takes long to install its
// handler, so a TERM right after start used to be lost and the container
// ran on. As under runc, the handler gets it: busybox top catches TERM and
// exits 143, a shell's trap runs.
TEST_F(CliContractTest, TermRightAfterStartStopsTop) {
  ASSERT_EQ(create({"busybox", "top", "-b", "-d", "1"}).code, 0);
  pid_t monitor = pid_file();
  auto sent = std::chrono::steady_clock::now();
  ASSERT_EQ(start_then_kill("TERM"), 0) << slurp(scratch_.path() + "/kill.out");
  int status = reap(monitor, 20s);
  EXPECT_EQ(status, 143) << "top must have caught the TERM and ended";
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 15s);
}

TEST_F(CliContractTest, TermRightAfterStartReachesATrapInstalledLater) {
  ASSERT_EQ(create({"sh", "-c", "sleep 2; trap 'exit 3' TERM; while true; do sleep 0.1; done"}).code, 0);
  pid_t monitor = pid_file();
  ASSERT_EQ(start_then_kill("TERM"), 0) << slurp(scratch_.path() + "/kill.out");
  EXPECT_EQ(reap(monitor, 30s), 3) << "the shell's trap must have run";
}

// process.terminal without --console-socket: as runc's run, a pty of the
// container's own relayed to runvm's stdin and stdout whatever they are, as
// long as some terminal is there (script(1) gives a controlling one); the
// pty's ONLCR is off, so a file gets plain LFs.
TEST_F(CliContractTest, TerminalRunRelaysRedirectedStdioThroughThePty) {
  add_devpts();
  bundle_.config()["process"]["terminal"] = true;
  bundle_.set_args({"sh", "-c", "read line; echo \"got $line\""});
  bundle_.write_config();
  std::string in = scratch_.path() + "/in", out = scratch_.path() + "/out", err = scratch_.path() + "/err";
  { std::ofstream(in) << "hi\n"; }
  std::string run = prefix() + " run --bundle '" + bundle_.path() + "' " + id_ + " <'" + in + "' >'" + out +
                    "' 2>'" + err + "'";
  EXPECT_EQ(shell_with_open_stdin("script -qec \"" + run + "\" /dev/null >/dev/null"), 0) << slurp(err);
  std::string text = slurp(out);
  EXPECT_NE(text.find("got hi\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << "the pty's ONLCR is off, as runc's: " << text;
  EXPECT_EQ(text.find('\0'), std::string::npos) << text;
}

// On a terminal, the output is what runc's is: the process's bytes with the
// host terminal's CRLF, nothing before them.
TEST_F(CliContractTest, TerminalRunOnATerminalShowsJustTheOutput) {
  add_devpts();
  bundle_.config()["process"]["terminal"] = true;
  bundle_.set_args({"echo", "Hello"});
  bundle_.write_config();
  std::string typescript = scratch_.path() + "/typescript";
  std::string run = prefix() + " run --bundle '" + bundle_.path() + "' " + id_;
  EXPECT_EQ(shell_with_open_stdin("script -qec \"" + run + "\" '" + typescript + "' >/dev/null"), 0);
  std::string text = slurp(typescript);
  // script's own header line, then the session.
  std::string session = text.substr(text.find('\n') + 1);
  EXPECT_EQ(session.rfind("Hello\r\n", 0), 0u) << "no stray byte before the output: " << ::testing::PrintToString(session);
  EXPECT_EQ(text.find('\0'), std::string::npos);
}

// The command line as tools parse runc's: help and version shapes, usage
// errors with exit status 1 and Go's words for an unknown flag, which exec
// never takes for the container ID; an unwritable --log fails; --debug
// writes level=debug lines to the log.
TEST_F(CliContractTest, HelpVersionUsageErrorsAndLogAsRunc) {
  Cmd help = runvm("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.out.rfind("NAME:\n   runvm - ", 0), 0u) << help.out;
  for (const char* part : {"\nUSAGE:\n   runvm [global options] command [command options] [arguments...]\n",
                           "\nVERSION:\n", "\nCOMMANDS:\n", "\nGLOBAL OPTIONS:\n", "--root value", "--help, -h"})
    EXPECT_NE(help.out.find(part), std::string::npos) << part << " in " << help.out;
  Cmd exec_help = runvm("exec -h");
  EXPECT_EQ(exec_help.out.rfind("NAME:\n   runvm exec - ", 0), 0u) << exec_help.out;
  EXPECT_NE(exec_help.out.find("--console-socket value"), std::string::npos) << exec_help.out;
  EXPECT_NE(exec_help.out.find("--tty, -t "), std::string::npos) << exec_help.out;
  for (const char* flag : {"--version", "-v"}) {
    Cmd version = runvm(flag);
    EXPECT_EQ(version.code, 0) << flag;
    std::string first = version.out.substr(0, version.out.find('\n'));
    EXPECT_EQ(first.rfind("runvm version ", 0), 0u) << version.out;
    EXPECT_NE(first.find_first_of("0123456789"), std::string::npos) << version.out;
    EXPECT_NE(version.out.find("\nspec: 1."), std::string::npos) << version.out;
  }

  Cmd bogus = runvm("exec --bogus " + id_ + " true");
  EXPECT_EQ(bogus.code, 1);
  EXPECT_NE(bogus.err.find("flag provided but not defined: -bogus"), std::string::npos) << bogus.err;
  EXPECT_EQ(bogus.err.find("does not exist"), std::string::npos) << "--bogus taken for the ID: " << bogus.err;
  EXPECT_EQ(bogus.out.rfind("Incorrect Usage: flag provided but not defined: -bogus\n", 0), 0u) << bogus.out;
  Cmd list_bogus = runvm("list --bogus=1");
  EXPECT_EQ(list_bogus.code, 1);
  EXPECT_NE(list_bogus.err.find("flag provided but not defined: -bogus"), std::string::npos) << list_bogus.err;
  Cmd global_bogus = runvm("--bogus list");
  EXPECT_EQ(global_bogus.code, 1);
  EXPECT_NE(global_bogus.err.find("flag provided but not defined: -bogus"), std::string::npos) << global_bogus.err;
  Cmd no_id = runvm("start");
  EXPECT_EQ(no_id.code, 1) << "a usage error is status 1, as runc's";
  EXPECT_FALSE(no_id.err.empty());
  // runc with no command prints its help and succeeds; an unknown command
  // is "No help topic", status 3.
  Cmd nothing = runvm("");
  EXPECT_EQ(nothing.code, 0) << nothing.err;
  EXPECT_EQ(nothing.out.rfind("NAME:\n   runvm - ", 0), 0u) << nothing.out;
  Cmd unknown = runvm("--debug bogus");
  EXPECT_EQ(unknown.code, 3);
  EXPECT_NE(unknown.err.find("No help topic for 'bogus'"), std::string::npos) << unknown.err;
  EXPECT_EQ(runvm("--root '" + scratch_.path() + "/r' bogus x").code, 3) << "a global flag's value is not a command";

  Cmd unwritable = runvm("--log /nonexistent/dir/log list");
  EXPECT_EQ(unwritable.code, 1);
  EXPECT_NE(unwritable.err.find("open /nonexistent/dir/log: no such file or directory"), std::string::npos)
      << unwritable.err;
  EXPECT_EQ(unwritable.out, "") << "nothing runs";

  std::string log = scratch_.path() + "/debug.log";
  Cmd debug = runvm("--debug --log '" + log + "' --log-format json list");
  EXPECT_EQ(debug.code, 0) << debug.err;
  EXPECT_EQ(debug.err, "") << "with --log, debug lines go to the log only";
  bool has_debug = false;
  std::istringstream lines(slurp(log));
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("time") && j.contains("msg")) << line;
    if (j.value("level", "") == "debug") has_debug = true;
  }
  EXPECT_TRUE(has_debug) << slurp(log);
  std::string text_log = scratch_.path() + "/debug.txt";
  EXPECT_EQ(runvm("--debug --log '" + text_log + "' list").code, 0);
  EXPECT_EQ(slurp(text_log).rfind("time=\"", 0), 0u) << slurp(text_log);
  EXPECT_NE(slurp(text_log).find(" level=debug msg=\"command line: runvm "), std::string::npos) << slurp(text_log);
}

// exec as runc's: -t without a console socket relays its stdio through the
// process's pty (a /dev/pts name that tty prints, plain LFs into a file);
// an unknown --cap is ignored with runc's warning; a relative --pid-file is
// the caller's; a program that cannot be run is 255, its own status passes.
TEST_F(CliContractTest, ExecTerminalCapsPidFileAndStatusesAsRunc) {
  add_devpts();
  ASSERT_EQ(create({"sh", "-c", "while true; do sleep 0.1; done"}).code, 0);
  ASSERT_EQ(runvm("start " + id_).code, 0);

  std::string out = scratch_.path() + "/tty.out";
  std::string exec = prefix() + " exec -t " + id_ + " busybox tty >'" + out + "' 2>&1";
  EXPECT_EQ(shell_with_open_stdin("script -qec \"" + exec + "\" /dev/null >/dev/null"), 0) << slurp(out);
  std::string name = slurp(out);
  EXPECT_EQ(name.rfind("/dev/pts/", 0), 0u) << ::testing::PrintToString(name);
  EXPECT_TRUE(name.ends_with("\n") && name.find('\r') == std::string::npos) << ::testing::PrintToString(name);

  Cmd cap = runvm("exec --cap CAP_BOGUS " + id_ + " true");
  EXPECT_EQ(cap.code, 0) << cap.err;
  EXPECT_NE(cap.err.find("ignoring unknown or unavailable capabilities: [CAP_BOGUS]"), std::string::npos) << cap.err;

  std::string line = "cd '" + scratch_.path() + "' && " + prefix() + " exec --pid-file rel.pid --cwd /tmp " + id_ +
                     " true </dev/null >/dev/null 2>&1";
  EXPECT_EQ(std::system(line.c_str()), 0);
  EXPECT_GT(std::atoi(slurp(scratch_.path() + "/rel.pid").c_str()), 1) << "relative to runvm's own directory";

  Cmd missing = runvm("exec " + id_ + " /nonexistent");
  EXPECT_EQ(missing.code, 255);
  EXPECT_NE(missing.err.find("exec: \"/nonexistent\": stat /nonexistent: no such file or directory"),
            std::string::npos)
      << missing.err;
  EXPECT_EQ(runvm("exec " + id_ + " sh -c 'exit 7'").code, 7);
}

}  // namespace
}  // namespace runvm::testing
