// ChildProcess: a process runvm started and owns. It dies with runvm
// (PR_SET_PDEATHSIG), can be watched in poll() through its pidfd, and is
// killed and reaped by the destructor if still running, so no early return
// can leak a QEMU or a virtiofsd.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::host {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is an absolute path unless `path` is set
  // Descriptors the child gets: {child fd number, parent fd}. Every other
  // descriptor is closed at exec, whether or not it is close-on-exec (what
  // runvm's caller left open, say). 0, 1 and 2 default to /dev/null.
  std::vector<std::pair<int, int>> fds;
  // Paths the child sees read-only, with everything mounted below them: it
  // gets a private mount namespace (a slave of ours, so nothing leaks to
  // the host, and it goes with the child) where each is bound onto itself
  // read-only. For a server that must not write what it serves (virtiofsd).
  std::vector<std::string> readonly_paths;
  std::string path;               // the executable, if not argv[0] (hooks)
  std::vector<std::string> env;   // with replace_env: the whole environment
  bool replace_env = false;
  std::string cwd;                // the child's working directory, if set
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  static Result<ChildProcess> spawn(const SpawnOptions& options);

  pid_t pid() const { return pid_; }
  // Readable (POLLIN) once the process has exited.
  int pidfd() const { return pidfd_.get(); }
  bool running() const { return pid_ > 0 && !status_; }
  // The wait status, once reaped.
  std::optional<int> status() const { return status_; }

  // Reaps the process if it has exited; never blocks.
  bool poll_exit();
  // Waits up to `timeout` for an exit; true if it exited.
  bool wait_for(std::chrono::milliseconds timeout);
  void signal(int sig) const;
  // SIGTERM, a grace period, then SIGKILL; always reaps.
  void terminate(std::chrono::milliseconds grace);

  const std::string& name() const { return name_; }

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<int> status_;
  std::string name_;
};

// Closes every descriptor from 3 up that is not close-on-exec. runvm opens
// all of its own O_CLOEXEC, so those are what its caller left open, which
// a process that outlives the command (the container's monitor, an exec's
// stand-in) must not keep: a caller that passed a pipe and waits for its
// EOF would wait until `delete`, where runc returns at once.
void close_inherited_fds();

// "exited with status N" / "killed by signal N (SIGKILL)".
std::string describe_wait_status(int status);

// Finds an executable: absolute paths as given, else each of `candidates`
// (absolute) then PATH. Empty if none.
std::string find_executable(const std::string& name,
                            const std::vector<std::string>& candidates = {});

}  // namespace runvm::host
