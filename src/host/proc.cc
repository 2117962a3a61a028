#include "host/proc.h"


#include "common/io.h"

namespace runvm::host {

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = io::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  auto stat = procfs::parse_proc_stat(*text);
  if (!stat) return std::nullopt;
  return *stat;
}

bool process_is(pid_t pid, uint64_t start_time) {
  auto stat = read_proc_stat(pid);
  return stat && stat->starttime == start_time && stat->state != 'Z' && stat->state != 'X';
}

}  // namespace runvm::host
