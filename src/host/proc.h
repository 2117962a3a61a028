// Facts about host processes read from /proc: enough to tell whether the
// process recorded for a container is still that process (a PID can be
// reused; its start time cannot repeat within one boot).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace runvm::host {

struct ProcStat {
  char state = '?';         // R, S, D, Z, X, T, ...
  uint64_t start_time = 0;  // clock ticks since boot (field 22)
};

// Parses the text of /proc/<pid>/stat; nullopt if it is malformed. The
// command name may hold spaces and parentheses, so fields are counted from
// the last ')'.
std::optional<ProcStat> parse_proc_stat(const std::string& text);

std::optional<ProcStat> read_proc_stat(pid_t pid);

// True if `pid` is a live (not zombie) process started at `start_time`.
bool process_is(pid_t pid, uint64_t start_time);

}  // namespace runvm::host
