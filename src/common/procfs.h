// Parsing /proc/<pid>/stat, shared by the host (is the container's monitor
// still the process we recorded?) and the guest agent (`ps`). Pure: text in,
// fields out.
#pragma once

#include <sys/types.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace runvm::procfs {

// The fields of /proc/<pid>/stat that runvm uses.
struct ProcStat {
  std::string comm;
  char state = '?';         // R, S, D, Z, X, T, ...
  pid_t ppid = 0;
  int tty_nr = 0;
  uint64_t utime = 0;       // clock ticks
  uint64_t stime = 0;       // clock ticks
  uint64_t starttime = 0;   // clock ticks since boot; never repeats within a boot
};

// comm may hold spaces and parentheses: it runs from the first '(' to the
// last ')', and the other fields are counted from there.
Result<ProcStat> parse_proc_stat(std::string_view text);

// Whitespace-separated fields.
std::vector<std::string_view> split_ws(std::string_view s);

// A whole decimal number, nothing else.
template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// One line of /proc/<pid>/mountinfo: the mount's ID, its parent's, and its
// mount point (field 5, with the kernel's octal escapes such as \040 for a
// space decoded). Malformed lines are skipped.
struct MountInfo {
  uint64_t id = 0, parent = 0;
  std::string mount_point;
};
std::vector<MountInfo> parse_mountinfo(std::string_view text);

}  // namespace runvm::procfs
