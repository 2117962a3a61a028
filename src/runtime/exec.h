// exec: run another process in a running container, inside its VM. The
// process's stdio is handed to the container's monitor (SCM_RIGHTS), which
// relays it; this process stays as the exec's stand-in on the host: it
// forwards signals and terminal resizes and exits with the process's
// status. With --detach the stand-in is a forked child whose PID goes to
// --pid-file, which is how containerd's shim runs every exec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace runvm::runtime {

struct ExecOptions {
  std::string root = "/run/runvm";
  std::string id;
  std::string process_file;       // --process: a JSON process object
  std::vector<std::string> args;  // otherwise: the command
  bool tty = false;
  std::string console_socket;
  bool detach = false;
  std::string pid_file;
  std::string cwd;
  std::vector<std::string> env;
  std::string user;               // uid[:gid]
  std::vector<std::string> caps;
  bool no_new_privs = false;
  std::vector<int64_t> additional_gids;  // --additional-gids/-g, added to the process's
  std::vector<std::string> cgroups;      // --cgroup [controller:]path, a sub-cgroup to run in
  bool ignore_paused = false;            // --ignore-paused: start once the container is resumed
};

// exec --cgroup's values as the guest's one sub-cgroup path (cgroup v2: a
// controller prefix names the same tree), relative to the container's
// cgroup; "" for none. runc's argument rules; ".." is refused.
Result<std::string> sub_cgroup_of(const std::vector<std::string>& values);

// Foreground: the process's exit status. Detached: 0 once it started.
Result<int> exec_process(const ExecOptions& options);

}  // namespace runvm::runtime
