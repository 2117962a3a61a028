// runvm ps's table: ps(1)'s arguments (`runvm ps ID -- -o pid,args`) read
// into columns, and the container's processes (the guest's typed ps
// answer) printed the way procps prints them. runc runs the host's ps with
// the arguments and keeps the container's lines; runvm's processes are in
// the guest, so runvm formats them itself, for the options that mean
// something there. Pure: arguments and entries in, text out.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "common/result.h"
#include "proto/messages.h"

namespace runvm::runtime {

struct PsColumn {
  enum class Kind { uid, user, pid, ppid, c, pcpu, stime, tty, time, bsd_time, etime, cmd, comm, stat, state };
  Kind kind;
  std::string header;
};

struct PsFormat {
  std::vector<PsColumn> columns;
  bool header = true;  // false when every header was emptied (-o pid=)
};

// ps(1)'s arguments as runvm ps takes them after the container ID. None:
// `-ef`, runc's default. Selection options (-e, -A, -a, -d, a, x) are
// accepted: every process of the container is listed, as under runc, where
// only the container's lines are kept. Format options: -f, -o/o LIST (with
// `keyword=Header`), and the default formats of UNIX and BSD syntax. Any
// other option is refused with what is supported.
Result<PsFormat> parse_ps_args(const std::vector<std::string>& args);

// The table: the header line (if any) and one line per process. `now` is
// the host's time, `uptime_ms` the guest's when it answered: a process
// started uptime_ms - start_time_ms before now.
std::string render_ps(const PsFormat& format, const std::vector<msg::PsEntry>& processes, uint64_t uptime_ms,
                      std::time_t now);

}  // namespace runvm::runtime
