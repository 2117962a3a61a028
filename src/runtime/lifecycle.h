// The commands that act on an existing container: each opens its state
// directory under the lock, checks the status the way runc does, and asks
// the container's monitor over its control socket.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "common/unique_fd.h"
#include "runtime/container_state.h"
#include "runtime/control.h"

namespace runvm::runtime {

// How long a command waits for the monitor's reply (except `start`).
inline constexpr std::chrono::milliseconds kMonitorAnswerTimeout{30000};

// One request to a container's monitor; the reply, or its "error" as an
// error.
Result<control::Reply> ask_monitor(const std::string& state_dir, const control::Request& request,
                                   const std::vector<int>& fds = {});

Status start_container(const std::string& root, const std::string& id);
// `signal` as runc takes it: a number, or a name with or without SIG.
Status kill_container(const std::string& root, const std::string& id, const std::string& signal,
                      bool all);
Status delete_container(const std::string& root, const std::string& id, bool force);
Status pause_container(const std::string& root, const std::string& id, bool pause);

Result<ContainerState> find_container(const std::string& root, const std::string& id);
// Every container under root, sorted by ID; unreadable entries are skipped.
std::vector<ContainerState> list_containers(const std::string& root);

// A live container's monitor answers a query (ps, stats, update).
Result<control::Reply> query_container(const std::string& root, const std::string& id,
                                      const control::Request& request);

// ps: the container's processes in its guest, and the host PIDs that stand
// for them (ps -f json); none for a stopped container, as runc's ps lists
// none once the container's process has exited.
Result<msg::PsAnswer> container_processes(const std::string& root, const std::string& id);
Result<std::vector<int64_t>> container_host_pids(const std::string& root, const std::string& id);

Result<int> parse_signal(const std::string& text);

// Applies LinuxResources (memory.limit, cpu.quota/period/shares,
// pids.limit) to the container's cgroup in the guest. A memory limit or CPU
// quota beyond what the VM booted with is refused, and nothing changes.
// Changes the limits in the guest, then the host cgroup's share of them.
Status update_container(const std::string& root, const std::string& id, const oci::Resources& resources);

}  // namespace runvm::runtime
