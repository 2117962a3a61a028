// Starting the container's process inside the guest: a child in new mount
// and PID namespaces that mounts the spec's filesystems under the root
// share, enters it, takes on the process's identity and limits, and execs.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "oci/spec.h"

namespace runvm::agent {

struct ContainerConfig {
  oci::Process process;
  bool readonly_root = false;
  std::string hostname;
  std::vector<oci::Mount> mounts;
};

struct ProcessStdio {
  UniqueFd stdin_write;   // agent writes the host's stdin here
  UniqueFd stdout_read;
  UniqueFd stderr_read;
};

struct StartedProcess {
  pid_t pid = -1;
  ProcessStdio stdio;
};

// Why the process could not start, as the user should read it.
struct StartFailure {
  std::string message;
  int exit_code = 1;
};

// Starts the process. On failure the child is reaped and the failure says
// what went wrong in runc's words (exit code 127/126 for exec problems).
Result<StartedProcess> start_container_process(const ContainerConfig& config,
                                               StartFailure& failure);

}  // namespace runvm::agent
