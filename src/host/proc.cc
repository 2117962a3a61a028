#include "host/proc.h"

#include <cstdlib>
#include <sstream>

#include "common/io.h"

namespace runvm::host {

std::optional<ProcStat> parse_proc_stat(const std::string& text) {
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  ProcStat stat;
  std::string field;
  // Field 3 is the state; the start time is field 22, the 20th after ')'.
  for (int n = 3; n <= 22; ++n) {
    if (!(fields >> field)) return std::nullopt;
    if (n == 3) stat.state = field[0];
  }
  char* end = nullptr;
  stat.start_time = std::strtoull(field.c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return stat;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = io::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  return parse_proc_stat(*text);
}

bool process_is(pid_t pid, uint64_t start_time) {
  auto stat = read_proc_stat(pid);
  return stat && stat->start_time == start_time && stat->state != 'Z' && stat->state != 'X';
}

}  // namespace runvm::host
