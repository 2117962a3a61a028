#include "runtime/fs_pressure.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "common/io.h"
#include "common/procfs.h"

namespace runvm::runtime {
namespace {

using namespace std::chrono_literals;

// The value after "Key:" on a line of /proc/PID/status.
uint64_t status_field(const std::string& status, const std::string& key) {
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) != 0) continue;
    auto fields = procfs::split_ws(std::string_view(line).substr(key.size() + 1));
    uint64_t value = 0;
    if (!fields.empty() && procfs::parse_number(fields[0], value)) return value;
  }
  return 0;
}

// The soft limit on the "Max open files" line of /proc/PID/limits.
uint64_t open_files_limit(const std::string& limits) {
  std::istringstream in(limits);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Max open files", 0) != 0) continue;
    auto fields = procfs::split_ws(std::string_view(line).substr(14));
    uint64_t value = 0;
    if (!fields.empty() && procfs::parse_number(fields[0], value)) return value;
  }
  return 0;
}

uint64_t count_open(int proc_fd, pid_t pid) {
  int fd = ::openat(proc_fd, (std::to_string(pid) + "/fd").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return 0;
  }
  uint64_t n = 0;
  while (dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n;
}

}  // namespace

bool is_busy(const DescriptorUse& u) { return u.limit > 0 && u.open * 8 >= u.limit; }
bool needs_reclaim(const DescriptorUse& u) { return u.limit > 0 && u.open * 4 >= u.limit; }

DescriptorUse read_descriptor_use(int proc_fd, pid_t pid) {
  std::string base = std::to_string(pid);
  auto limits = io::read_file_at(proc_fd, base + "/limits");
  auto status = io::read_file_at(proc_fd, base + "/status");
  if (!limits || !status) return {};
  DescriptorUse use{status_field(*status, "FDSize"), open_files_limit(*limits)};
  if (is_busy(use)) use.open = count_open(proc_fd, pid);
  return use;
}

int FsPressure::ms_until_due(Clock::time_point now) const {
  if (now >= next_check_) return 0;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_check_ - now).count();
  return static_cast<int>(std::max<int64_t>(1, left));
}

bool FsPressure::check(const std::vector<DescriptorUse>& use, Clock::time_point now) {
  bool busy = std::any_of(use.begin(), use.end(), is_busy);
  bool over = std::any_of(use.begin(), use.end(), needs_reclaim);
  next_check_ = now + (busy ? kBusyInterval : kIdleInterval);
  if (!over) {
    // The last reclaim worked (or none was needed): the next one may come
    // as soon as it is needed.
    backoff_ = 0ms;
    reclaimed_last_ = false;
    return false;
  }
  if (now < no_reclaim_before_) return false;
  // Still over after a reclaim: the guest keeps those files open, and
  // dropping its caches again at once would only slow it down.
  if (reclaimed_last_) backoff_ = backoff_ == 0ms ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
  // A reclaim takes a moment to reach virtiofsd (the FORGETs are queued):
  // judge it at the next busy check at the earliest.
  no_reclaim_before_ = now + std::max<std::chrono::milliseconds>(backoff_, kBusyInterval * 3);
  reclaimed_last_ = true;
  return true;
}

}  // namespace runvm::runtime
