// Test harness for the VM-booting tiers: builds busybox bundles, runs the
// real runvm binary with separate stdout/stderr capture, and checks that
// nothing of runvm is left behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace runvm::testing {

// A scratch directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A bundle whose rootfs holds busybox-static and its applets; config() is
// the config.json written by write_config().
class Bundle {
 public:
  Bundle();
  const std::string& path() const { return dir_.path(); }
  std::string rootfs() const { return dir_.path() + "/rootfs"; }
  nlohmann::json& config() { return config_; }
  void set_args(const std::vector<std::string>& args) { config_["process"]["args"] = args; }
  void write_config() const;

 private:
  TempDir dir_;
  nlohmann::json config_;
};

struct RunResult {
  int exit_code = -1;  // -1: runvm was killed by the harness's watchdog
  std::string out;
  std::string err;
};

struct RunOptions {
  std::string stdin_data;
  bool close_stdin = true;  // after stdin_data; false keeps it open until exit
  std::vector<std::string> extra_env;  // "KEY=VALUE"
  std::chrono::seconds timeout{180};
  // Called with runvm's pid and everything read so far from stdout, each
  // time stdout grows; for tests that act while the container runs.
  std::function<void(pid_t, const std::string&)> on_stdout;
  // Called with runvm's pid as soon as it is started.
  std::function<void(pid_t)> on_start;
  // runvm runs in a session of its own: no controlling terminal.
  bool new_session = false;
};

// The static busybox the test bundles are made of.
std::string busybox_path();

// Writes DIR/initramfs.img, a guest that boots but never answers (busybox's
// init as /init, no agent), and returns its path: for tests of a VM that
// is still booting, whatever the guest kernel's speed. "" on failure.
std::string silent_initramfs(const std::string& dir);

// The runvm binary under test (RUNVM_BINARY at build time).
std::string runvm_binary();

// Runs `runvm <args...>` in `cwd`.
RunResult run_runvm(const std::vector<std::string>& args, const RunOptions& options = {},
                    const std::string& cwd = ".");

// A shell command line's exit status and its stdout and stderr together.
struct ShellResult {
  int status = -1;  // -1: killed by a signal, or popen failed
  std::string out;
};
ShellResult shell(const std::string& command);

// Prints `err` to the test's log if it quotes the guest's console: a
// failure whose cause only the console shows is never lost.
void note_guest_console(const std::string& what, const std::string& err);

// `RUNVM create` then `RUNVM start` of container ID from BUNDLE, where RUNVM
// is the command prefix (binary and global flags); the container keeps
// create's stdio, so that goes to LOG, never to a pipe the caller reads.
// The first failing step's result.
ShellResult create_and_start(const std::string& runvm, const std::string& bundle,
                             const std::string& id, const std::string& log);

// A file's whole content ("" if it cannot be read).
std::string slurp(const std::string& path);

bool contains(const std::string& haystack, const std::string& needle);
// The value of a "key=value" line in text ("" if absent).
std::string value_of(const std::string& text, const std::string& key);
// Polls `done` every 100 ms until it holds (true) or `limit` passes (false).
bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit);

// The exit status of a child (or, as subreaper, an orphan) we reap: 128+N
// for signal N; -1 if it has not exited within `limit`.
int reap(pid_t pid, std::chrono::seconds limit = std::chrono::seconds(30));

// A console socket, as containerd's shim listens on one (-1 on failure), and
// the pty master the runtime sends on it (-1 if none came).
int listen_console(const std::string& path);
int receive_console(int listener);
// What `fd` gives until `text` appears in it, it ends, or `limit` passes.
std::string read_until(int fd, const std::string& text, std::chrono::seconds limit = std::chrono::seconds(60));

// `RUNVM --root ROOT ARGS` through the shell with stdin from /dev/null and
// stdout and stderr to the files OUT and ERR (so that no pipe of the
// caller's is held by a monitor it forks); its status and both outputs.
struct Cmd {
  int code = -1;  // -1: killed by a signal
  std::string out, err;
};
Cmd runvm_command(const std::string& root, const std::string& args, const std::string& out,
                  const std::string& err);

// Every process whose command line mentions `needle` (QEMU, virtiofsd).
std::vector<pid_t> processes_mentioning(const std::string& needle);

// Entries of a directory (empty if it does not exist).
std::vector<std::string> list_dir(const std::string& path);

// The directories of host cgroup `cgroups_path` (a bundle's
// linux.cgroupsPath) that still exist, in every hierarchy.
std::vector<std::string> cgroup_dirs_left(const std::string& cgroups_path);

// What every VM-booting fixture checks after its containers are deleted:
// no state under `root`, no monitor or QEMU naming it, no virtiofsd serving
// the bundle's rootfs (gtest expectations, one per leftover kind).
void expect_no_container_left(const std::string& root, const Bundle& bundle);

}  // namespace runvm::testing
