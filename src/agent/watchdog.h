// A stall report for the agent. The agent is single-threaded: a step that
// never returns (a virtio-fs request the host never answers, a child stuck
// in the kernel that cannot be reaped) leaves the host waiting with nothing
// on the console to say where. The watchdog is a small process forked at
// boot; the agent tells it, through a pipe, when each step begins and ends.
// A step that lasts longer than the limit gets one report on the console
// (which the host prints when it gives up on the guest): the step, and for
// the agent and each of its descendants the state, the kernel function it
// waits in and its kernel stack.
//
// A process, not a thread: the agent forks and clones with raw syscalls
// (no atfork handlers), which a second thread holding a lock would break.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"

namespace runvm::agent {

class Watchdog {
 public:
  Watchdog() = default;  // disabled: begin/end do nothing
  // Forks the watchdog, which writes to `console` (appending). Disabled if
  // that fails (the agent works without it).
  static Watchdog start(std::chrono::milliseconds limit, const std::string& console = "/dev/console");

  // The agent's side: cheap (a short write to a pipe), never blocks.
  void begin(std::string_view step);
  void end();

 private:
  explicit Watchdog(UniqueFd to_watchdog) : pipe_(std::move(to_watchdog)) {}
  UniqueFd pipe_;
};

// One process as a stall report shows it (pure, for the unit test).
struct StalledProcess {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  std::string wchan;
  std::string stack;  // /proc/<pid>/stack as read
};
// "pid 57 (runvm-agent) D in fuse_simple_request: request_wait_answer <
// fuse_simple_request < ..." with at most `frames` stack frames, innermost
// first, offsets dropped.
std::string describe_stalled(const StalledProcess& p, size_t frames = 6);

// `root` and its descendants (any depth), from (pid, ppid) pairs.
std::vector<pid_t> descendants_of(pid_t root, const std::vector<std::pair<pid_t, pid_t>>& pid_ppid);

}  // namespace runvm::agent
