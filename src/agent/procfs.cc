#include "agent/procfs.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "common/io.h"

namespace runvm::agent {
namespace {

using procfs::parse_number;
using procfs::split_ws;

constexpr size_t kMaxCmd = 4096;  // keeps a `ps` answer far below a frame

}  // namespace

Result<ProcStatus> parse_proc_status(std::string_view text) {
  ProcStatus status;
  bool have_uid = false;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = line;
    if (l.starts_with("Uid:")) {
      auto f = split_ws(l.substr(4));
      // real, effective, saved, fs: ps's UID column is the effective one.
      if (f.size() < 2 || !parse_number(f[1], status.uid))
        return fail("malformed /proc status: Uid");
      have_uid = true;
    } else if (l.starts_with("NSpid:")) {
      for (auto p : split_ws(l.substr(6))) {
        pid_t pid;
        if (!parse_number(p, pid)) return fail("malformed /proc status: NSpid");
        status.nspid.push_back(pid);
      }
    }
  }
  if (!have_uid) return fail("malformed /proc status: no Uid");
  return status;
}

SignalStance signal_stance(std::string_view text, int sig) {
  if (sig < 1 || sig > 64) return SignalStance::kDefault;
  uint64_t bit = uint64_t{1} << (sig - 1);
  bool blocked = false, handled = false;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = line;
    bool is_blk = l.starts_with("SigBlk:");
    if (!is_blk && !l.starts_with("SigIgn:") && !l.starts_with("SigCgt:")) continue;
    auto f = split_ws(l.substr(7));
    if (f.size() != 1 || f[0].empty() || f[0].size() > 16) return SignalStance::kDefault;
    uint64_t mask = 0;
    for (char c : f[0]) {
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) return SignalStance::kDefault;
      mask = (mask << 4) | static_cast<uint64_t>(digit);
    }
    if (mask & bit) (is_blk ? blocked : handled) = true;
  }
  return handled ? SignalStance::kHandled : blocked ? SignalStance::kBlocked : SignalStance::kDefault;
}

std::string parse_cmdline(std::string_view text) {
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  std::string out(text.substr(0, kMaxCmd));
  for (char& c : out)
    if (c == '\0') c = ' ';
  return out;
}

std::string tty_name(int tty_nr) {
  if (tty_nr == 0) return "?";
  unsigned major = (static_cast<unsigned>(tty_nr) >> 8) & 0xfff;
  unsigned minor = (static_cast<unsigned>(tty_nr) & 0xff) |
                   ((static_cast<unsigned>(tty_nr) >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return "pts/" + std::to_string((major - 136) * 256 + minor);
  if (major == 4 && minor < 64) return "tty" + std::to_string(minor);
  if (major == 4) return "ttyS" + std::to_string(minor - 64);
  if (major == 5 && minor == 1) return "console";
  return "?";
}

std::vector<pid_t> parse_pid_list(std::string_view text) {
  std::vector<pid_t> out;
  for (auto word : split_ws(text)) {
    pid_t pid;
    if (parse_number(word, pid) && pid > 0) out.push_back(pid);
  }
  return out;
}

std::vector<pid_t> pids_in_namespace_of(pid_t pid, size_t max) {
  std::vector<pid_t> out;
  struct stat ns;
  if (::stat(("/proc/" + std::to_string(pid) + "/ns/pid").c_str(), &ns) < 0) return out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (dirent* e = ::readdir(proc)) {
    pid_t candidate;
    if (!parse_number(std::string_view(e->d_name), candidate) || candidate <= 0) continue;
    struct stat theirs;
    if (::stat(("/proc/" + std::string(e->d_name) + "/ns/pid").c_str(), &theirs) < 0) continue;
    if (theirs.st_ino != ns.st_ino || theirs.st_dev != ns.st_dev) continue;
    out.push_back(candidate);
    if (out.size() >= max) break;
  }
  ::closedir(proc);
  return out;
}

Result<ProcessInfo> read_process(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid);
  ProcStat st = TRY(parse_proc_stat(TRY(io::read_file(dir + "/stat"))));
  ProcStatus status = TRY(parse_proc_status(TRY(io::read_file(dir + "/status"))));
  auto cmdline = io::read_file(dir + "/cmdline");
  long ticks = ::sysconf(_SC_CLK_TCK);
  if (ticks <= 0) ticks = 100;
  ProcessInfo info;
  info.guest_pid = pid;
  info.ns_pid = status.nspid.empty() ? pid : status.nspid.back();
  info.guest_ppid = st.ppid;
  info.uid = status.uid;
  info.tty = tty_name(st.tty_nr);
  info.time_ms = (st.utime + st.stime) * 1000 / static_cast<uint64_t>(ticks);
  info.start_time_ms = st.starttime * 1000 / static_cast<uint64_t>(ticks);
  info.state = st.state;
  info.cmd = cmdline ? parse_cmdline(*cmdline) : "";
  // Kernel threads and zombies have an empty command line: ps shows [comm].
  if (info.cmd.empty()) info.cmd = "[" + st.comm + "]";
  if (st.state == 'Z') info.cmd += " <defunct>";
  return info;
}

}  // namespace runvm::agent
