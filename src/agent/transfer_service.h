// The agent's half of runvm cp (docs/protocol.md, "Copies"): copy_in and
// copy_out run as process-like transfers in a child that has joined the
// container (agent/container.h, spawn_task), with the tar stream on the
// transfer's stdin or stdout streams, so the supervisor pumps it with the
// same flow control as any process's stdio and never holds more than a
// window of it. The child writes its result (bytes, entries, first error)
// on a pipe that the supervisor reads once it has exited, and reports it as
// `copied` in place of `exit`. stat_path answers what a path is, for the
// host's path semantics.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/container.h"
#include "common/result.h"
#include "proto/messages.h"
#include "common/unique_fd.h"
#include "transfer/export.h"
#include "transfer/import.h"

namespace runvm::agent {

struct CopyJob {
  bool into_container = true;         // copy_in; false: copy_out
  std::string path;                   // copy_in: the directory to unpack into; copy_out: what to pack
  transfer::ImportOptions import;     // copy_in
  transfer::ExportOptions export_;    // copy_out
};

// What a copy_in or copy_out request asks for.
Result<CopyJob> copy_job(const msg::CopyIn& request);
Result<CopyJob> copy_job(const msg::CopyOut& request);

// Runs the transfer in a child inside the container of init_pid; the
// process (stdio as an exec's) and the read end of its result pipe.
struct SpawnedCopy {
  SpawnedProcess process;
  UniqueFd result;  // non-blocking; read by copied_message() after the exit
};
Result<SpawnedCopy> spawn_copy(const ContainerHandle& container, const CopyJob& job, StartFailure& failure);

// What the child runs: the transfer between stdin/stdout and the
// container's root ("/" after the child's chroot), its result written as
// JSON on result_fd. Exit status 0 or 1.
int run_copy(const CopyJob& job, int result_fd);

// The `copied` message for a transfer that exited with wait_status, from
// what it wrote on its result pipe.
msg::Copied copied_message(const std::string& id, int result_fd, int wait_status);

// The answer to stat_path (without its request number), looked up in the
// root of the container's init: its mounts included, nothing outside it.
msg::StatPathAnswer stat_answer(pid_t init_pid, const msg::StatPath& request);

}  // namespace runvm::agent
