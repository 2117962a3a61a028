// Reading /proc/<pid> for `ps`: the parsing is pure (text in, fields out)
// so it is unit-tested; only read_process() touches the filesystem.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/procfs.h"
#include "common/result.h"

namespace runvm::agent {

using procfs::ProcStat;
using procfs::parse_proc_stat;

struct ProcStatus {
  uint32_t uid = 0;             // effective
  std::vector<pid_t> nspid;     // outermost first; back() is the innermost
};
Result<ProcStatus> parse_proc_status(std::string_view text);

// How a process stands towards signal `sig` (1-64), from its
// /proc/<pid>/status: it catches or ignores it (kHandled), only blocks it
// (kBlocked: a sigwait loop, or a moment's mask, as a shell's around its
// wait), or neither (kDefault: for the init of a PID namespace the kernel
// drops such a signal, SIGKILL and SIGSTOP from outside excepted). kDefault
// when the masks cannot be read.
enum class SignalStance { kDefault, kBlocked, kHandled };
SignalStance signal_stance(std::string_view status_text, int sig);

// NUL-separated argv as one space-separated line (the trailing NUL and any
// empty tail dropped).
std::string parse_cmdline(std::string_view text);

// "pts/3", "ttyS0", "tty1", or "?" for none, from stat's tty_nr.
std::string tty_name(int tty_nr);

// One process as `ps` reports it.
struct ProcessInfo {
  pid_t guest_pid = 0;  // in the guest's (root) PID namespace
  pid_t ns_pid = 0;     // in the container's PID namespace
  pid_t guest_ppid = 0;
  uint32_t uid = 0;
  std::string tty;
  uint64_t time_ms = 0;
  uint64_t start_time_ms = 0;
  std::string cmd;
  char state = '?';
};

// Reads /proc/<pid>/{stat,status,cmdline}; fails if the process is gone.
Result<ProcessInfo> read_process(pid_t pid);

// The pids listed one per line (cgroup.procs).
std::vector<pid_t> parse_pid_list(std::string_view text);

// Every process in the PID namespace of `pid` (from /proc, at most `max`),
// zombies included: an exited process leaves its cgroup's cgroup.procs at
// once but counts in pids.current until it is reaped, and ps shows it as
// <defunct>.
std::vector<pid_t> pids_in_namespace_of(pid_t pid, size_t max);

}  // namespace runvm::agent
