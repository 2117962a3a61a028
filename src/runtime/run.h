// `runvm run`: boot a bundle's VM, run its process in the foreground with
// the host's stdio, forward signals, and return its exit status. Every exit
// path removes the state directory, the VM and its helpers.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"
#include "runtime/guest_artifacts.h"
#include "runtime/vm_sizing.h"
#include "vm/accel.h"

namespace runvm::runtime {

struct RunOptions {
  std::string root = "/run/runvm";  // --root
  std::string id;
  std::string bundle = ".";
  vm::AccelRequest accel = vm::AccelRequest::automatic;
  ArtifactOverrides artifacts;
  SizeOverrides size;
  std::chrono::seconds boot_timeout{60};
};

// The process's exit status (128+N if killed by signal N, 127/126 if it
// could not be executed), or an error for everything that is runvm's.
Result<int> run_container(const RunOptions& options);

}  // namespace runvm::runtime
