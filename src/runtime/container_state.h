// A container's state.json under --root/<id>: what every command knows about
// a container between invocations. The monitor (the host process that
// stands for the container) records its PID and start time and moves the
// status along; a command that finds that process gone reads "stopped".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace runvm::runtime {

struct ContainerState {
  std::string oci_version;
  std::string id;
  pid_t pid = 0;            // the monitor's PID: the container's host PID
  uint64_t pid_start = 0;   // its start time, so a reused PID is never taken for it
  std::string status;       // creating, created, running, paused, stopped
  std::string bundle;
  std::string rootfs;
  bool root_readonly = false;  // root.readonly: runvm cp never writes the rootfs
  std::string created;      // RFC 3339, UTC, nanoseconds
  nlohmann::json annotations = nlohmann::json::object();
  nlohmann::json hooks = nlohmann::json::object();  // the spec's, for start and delete
  std::string cgroup;       // the host cgroup path runvm made, if any ("" none)
  unsigned vm_vcpus = 0;    // the VM's size, fixed at boot
  uint64_t vm_memory_mib = 0;
  // A network namespace the spec names by path, and the links of it that
  // carry runvm's ingress redirect while the monitor runs: if the monitor
  // dies without removing them (SIGKILL), delete does (see
  // remove_leftover_redirects in network.h).
  std::string netns_path;
  std::vector<int> redirected_links;
  // A container that joined another's VM (a pod's; docs/ARCHITECTURE.md,
  // "Pods"): the owner's ID and the name it has in the VM; the directory
  // of the owner's pod share that holds its files, and what its stand-in
  // mounted there, for delete to unmount.
  std::string pod_owner;
  std::string guest_name;
  std::string pod_dir;
  std::vector<std::string> pod_mounts;
  bool is_pod_member() const { return !pod_owner.empty(); }
};

Status save_state(const std::string& state_dir, const ContainerState& state);
// The same through a descriptor of the state directory (the monitor keeps
// one: it no longer sees the host's paths once it stands in the rootfs).
Status save_state_at(int state_dir_fd, const ContainerState& state);
Result<ContainerState> load_state(const std::string& state_dir);

// The status as a user should see it: the recorded one while the recorded
// process lives, "stopped" once it is gone.
std::string live_status(const ContainerState& state);

// runc's `state` object: ociVersion, id, pid (0 when stopped), status,
// bundle, rootfs, created, annotations (if any), owner.
nlohmann::ordered_json state_for_output(const ContainerState& state, const std::string& owner = "");

// The state given to hooks on stdin (runtime-spec "state"): pid omitted when 0.
nlohmann::json state_for_hooks(const ContainerState& state, const std::string& status);

std::string rfc3339_now();

}  // namespace runvm::runtime
