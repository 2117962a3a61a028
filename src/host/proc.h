// Facts about host processes read from /proc: enough to tell whether the
// process recorded for a container is still that process (a PID can be
// reused; its start time cannot repeat within one boot).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/procfs.h"

namespace runvm::host {

using procfs::ProcStat;

std::optional<ProcStat> read_proc_stat(pid_t pid);

// True if `pid` is a live (not zombie) process started at `start_time`.
bool process_is(pid_t pid, uint64_t start_time);

}  // namespace runvm::host
