// create and run: validate the bundle, make the state directory, and bring
// up the container's monitor (runtime/monitor.h). For `create` and `run
// --detach` the monitor is a forked child that outlives the command (its
// PID goes to --pid-file); for `run` in the foreground this process is the
// monitor, and the container is deleted when its process exits.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/result.h"
#include "runtime/guest_artifacts.h"
#include "runtime/vm_sizing.h"
#include "vm/accel.h"

namespace runvm::runtime {

struct CreateOptions {
  std::string root = "/run/runvm";
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool start = false;   // run: start the process once created
  bool detach = true;   // false: run in the foreground, as the monitor
  bool keep = false;    // run --keep: a foreground run leaves the stopped container for delete
  bool systemd_cgroup = false;  // cgroupsPath is systemd's slice:prefix:name
  vm::AccelRequest accel = vm::AccelRequest::automatic;
  ArtifactOverrides artifacts;
  SizeOverrides size;
  std::chrono::seconds boot_timeout{60};
  // Called in the forked monitor: from then on, log only to --log (the
  // monitor's stderr is the container's).
  std::function<void()> daemonize_logging;
};

// The exit status to give: 0 for create and run --detach; the process's for
// a foreground run (127/126 if it could not be executed).
Result<int> create_container(const CreateOptions& options);

}  // namespace runvm::runtime
