#include "agent/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "agent/procfs.h"
#include "common/io.h"
#include "common/log.h"

namespace runvm::agent {
namespace {

using nlohmann::json;

// Bounds on the walk of the container's cgroup subtree (cgroup_pids).
constexpr size_t kMaxCgroupsWalked = 1024;
constexpr int kMaxCgroupDepth = 16;

bool g_ready = false;
std::vector<std::string> g_missing;

// Writes a cgroup file (not atomic-rename: cgroup files are written in place).
Status write_value(const std::string& path, std::string_view value) {
  UniqueFd fd = TRY(io::open_file(path, O_WRONLY));
  return io::write_all(fd.get(), value).context("write " + std::string(value) + " to " + path);
}

std::string read_or_empty(const std::string& path) {
  auto text = io::read_file(path);
  return text ? *text : "";
}

}  // namespace

uint64_t shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

Result<int64_t> swap_to_cgroup_v2(int64_t swap, int64_t memory) {
  // As cgroup v1's: memory unlimited and swap not given, both unlimited.
  if (memory == -1 && swap == 0) return -1;
  if (swap == -1 || swap == 0) return swap;
  if (memory == 0 || memory == -1) return fail("unable to set swap limit without memory limit");
  if (memory < 0) return fail("invalid memory value: " + std::to_string(memory));
  if (swap < memory) return fail("memory+swap limit should be >= memory limit");
  return swap - memory;
}

Result<CgroupWrites> cgroup_writes(const CgroupLimits& limits, std::string_view current_cpu_max,
                                   std::string_view current_memory_max) {
  CgroupWrites out;
  // As runc: 0 leaves the value alone, a negative value removes the limit.
  auto limit_text = [](int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); };
  if (limits.pids_limit && *limits.pids_limit != 0)
    out.emplace_back("pids.max", limit_text(*limits.pids_limit));
  // runc's fs2 setMemory: memory.swap.max, memory.max, memory.low.
  int64_t memory = limits.memory_limit.value_or(0);
  int64_t swap = limits.memory_swap.value_or(0);
  if (swap > 0 && memory == 0) {
    // update --memory-swap alone: counted from the limit in force.
    uint64_t current = parse_limit_value(current_memory_max);
    memory = current > 0 && current <= static_cast<uint64_t>(INT64_MAX) ? static_cast<int64_t>(current) : -1;
  }
  if (swap != 0 || memory != 0) {
    int64_t swap_max = TRY(swap_to_cgroup_v2(swap, memory));
    if (swap_max != 0) out.emplace_back("memory.swap.max", limit_text(swap_max));
    else if (swap > 0) out.emplace_back("memory.swap.max", "0");  // swap == memory: no swap
  }
  if (limits.memory_limit && *limits.memory_limit != 0)
    out.emplace_back("memory.max", limit_text(*limits.memory_limit));
  if (limits.memory_reservation && *limits.memory_reservation != 0)
    out.emplace_back("memory.low", limit_text(*limits.memory_reservation));
  bool quota = limits.cpu_quota && *limits.cpu_quota != 0;
  bool period = limits.cpu_period && *limits.cpu_period != 0;
  if (quota || period) {
    std::string cur_quota = "max", cur_period = "100000";
    size_t space = current_cpu_max.find(' ');
    if (space != std::string_view::npos) {
      cur_quota = std::string(current_cpu_max.substr(0, space));
      std::string_view p = current_cpu_max.substr(space + 1);
      while (!p.empty() && (p.back() == '\n' || p.back() == ' ')) p.remove_suffix(1);
      if (!p.empty()) cur_period = std::string(p);
    }
    out.emplace_back("cpu.max", (quota ? limit_text(*limits.cpu_quota) : cur_quota) + " " +
                                    (period ? std::to_string(*limits.cpu_period) : cur_period));
  }
  if (limits.cpu_shares && *limits.cpu_shares != 0)
    out.emplace_back("cpu.weight", std::to_string(shares_to_weight(*limits.cpu_shares)));
  if (!limits.cpuset_cpus.empty()) out.emplace_back("cpuset.cpus", limits.cpuset_cpus);
  if (!limits.cpuset_mems.empty()) out.emplace_back("cpuset.mems", limits.cpuset_mems);
  // Last, as runc: the unified map overrides what the fields above set.
  for (const auto& [file, value] : limits.unified) out.emplace_back(file, value);
  return out;
}

uint64_t parse_limit_value(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;  // "max" or junk
  return v;
}

uint64_t flat_keyed_value(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ')
      return parse_limit_value(line.substr(key.size() + 1));
    pos = eol + 1;
  }
  return 0;
}

std::map<std::string, uint64_t> flat_keyed_values(std::string_view text, size_t max) {
  std::map<std::string, uint64_t> out;
  size_t pos = 0;
  while (pos < text.size() && out.size() < max) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    size_t space = line.find(' ');
    if (space != std::string_view::npos && space > 0 && space <= 64)
      out.emplace(std::string(line.substr(0, space)), parse_limit_value(line.substr(space + 1)));
    pos = eol + 1;
  }
  return out;
}

uint64_t meminfo_total(std::string_view text) {
  constexpr std::string_view kKey = "MemTotal:";
  size_t pos = text.find(kKey);
  if (pos == std::string_view::npos) return 0;
  std::string_view rest = text.substr(pos + kKey.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  uint64_t kib = 0;
  std::from_chars(rest.data(), rest.data() + rest.size(), kib);
  return kib * 1024;
}

Status set_up_guest_cgroup() {
  ::mkdir(kCgroupRoot, 0755);
  if (::mount("cgroup2", kCgroupRoot, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0)
    return fail_errno("mount cgroup2 on " + std::string(kCgroupRoot));
  std::string control = std::string(kCgroupRoot) + "/cgroup.subtree_control";
  for (const char* controller : {"cpuset", "cpu", "memory", "pids"}) {
    if (Status s = write_value(control, std::string("+") + controller); !s) {
      log::warn("cgroup controller " + std::string(controller) +
                " unavailable in the guest kernel: " + s.error().describe());
      g_missing.emplace_back(controller);
    }
  }
  g_ready = true;
  return ok();
}

bool guest_cgroup_ready() { return g_ready; }
const std::vector<std::string>& missing_controllers() { return g_missing; }

bool join_cgroup(int procs_fd) {
  if (procs_fd < 0) return true;
  return ::write(procs_fd, "0", 1) == 1;
}

Result<GuestCgroup> GuestCgroup::make(const std::string& name) {
  GuestCgroup cgroup;
  if (!g_ready) return cgroup;
  if (!msg::valid_container_name(name)) return fail("cgroup for container " + name + ": not a container name");
  std::string dir = std::string(kCgroupRoot) + "/" + name;
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) return fail_errno("create " + dir);
  cgroup.dir_ = std::move(dir);
  return cgroup;
}

UniqueFd GuestCgroup::open_procs() const {
  if (!exists()) return {};
  auto fd = io::open_file(file("cgroup.procs"), O_WRONLY);
  return fd ? std::move(*fd) : UniqueFd();
}

Result<UniqueFd> GuestCgroup::open_sub_procs(const std::string& sub) const {
  if (sub.empty()) return open_procs();
  if (!exists()) return fail("the guest has no cgroup for the container");
  if (!msg::valid_sub_cgroup(sub)) return fail("cgroup " + sub + ": not a relative path of plain names");
  UniqueFd dir = TRY(io::open_file(dir_, O_PATH | O_DIRECTORY));
  open_how how{};
  how.flags = O_WRONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  std::string path = sub + "/cgroup.procs";
  long fd = ::syscall(SYS_openat2, dir.get(), path.c_str(), &how, sizeof how);
  if (fd < 0) {
    if (errno == ENOENT) return fail("the container has no cgroup " + sub + " (make it first, as for runc)");
    return fail_errno("open cgroup " + sub);
  }
  return UniqueFd(static_cast<int>(fd));
}

Status GuestCgroup::apply_limits(const CgroupLimits& limits) const {
  if (!exists()) return fail("the guest has no cgroup for the container");
  CgroupWrites writes = TRY(cgroup_writes(limits, read_or_empty(file("cpu.max")), read_or_empty(file("memory.max"))));
  for (const auto& [name, value] : writes) {
    std::string controller = name.substr(0, name.find('.'));
    for (const auto& missing : g_missing)
      if (missing == controller)
        return fail("cannot set " + name + ": the guest kernel has no " + controller +
                    " cgroup controller");
    if (Status s = write_value(file(name.c_str()), value); !s) {
      // As runc's setUnified: a file that is not there names its controller.
      if (s.error().errno_value() == ENOENT || s.error().errno_value() == EACCES)
        return fail("unable to set " + name + ": the container's cgroup has no such file (controller \"" +
                    controller + "\" unavailable, or an unknown parameter)");
      return s;
    }
  }
  return ok();
}

namespace {
// The cgroup directories at and below `top`, parents first, bounded.
std::vector<std::string> cgroup_tree(const std::string& top) {
  std::vector<std::string> out;
  std::vector<std::pair<std::string, int>> pending = {{top, 0}};
  while (!pending.empty() && out.size() < kMaxCgroupsWalked) {
    auto [dir, depth] = std::move(pending.back());
    pending.pop_back();
    out.push_back(dir);
    if (depth >= kMaxCgroupDepth) continue;
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    while (dirent* e = ::readdir(d)) {
      if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
      pending.emplace_back(dir + "/" + e->d_name, depth + 1);
    }
    ::closedir(d);
  }
  return out;
}
}  // namespace

std::vector<pid_t> GuestCgroup::pids() const {
  if (!exists()) return {};
  std::vector<pid_t> out;
  for (const std::string& dir : cgroup_tree(dir_))
    for (pid_t pid : parse_pid_list(read_or_empty(dir + "/cgroup.procs"))) out.push_back(pid);
  return out;
}

void GuestCgroup::signal(int sig) const {
  if (!exists()) return;
  if (sig == SIGKILL && write_value(file("cgroup.kill"), "1")) return;
  for (pid_t pid : pids()) ::kill(pid, sig);
}

Status GuestCgroup::freeze(bool frozen) const {
  if (!exists()) return fail("the guest has no cgroup for the container");
  TRY(write_value(file("cgroup.freeze"), frozen ? "1" : "0"));
  if (!frozen) return ok();
  for (int i = 0; i < 500; ++i) {
    if (flat_keyed_value(read_or_empty(file("cgroup.events")), "frozen") == 1) return ok();
    ::usleep(10 * 1000);
  }
  return fail("the container's processes did not freeze within 5 s");
}

void GuestCgroup::remove() const {
  if (!exists()) return;
  auto tree = cgroup_tree(dir_);
  for (auto it = tree.rbegin(); it != tree.rend(); ++it)
    if (::rmdir(it->c_str()) < 0 && errno != ENOENT) log::warn("remove cgroup " + *it + ": " + std::strerror(errno));
}

msg::StatsAnswer GuestCgroup::stats() const {
  std::string cpu = read_or_empty(file("cpu.stat"));
  std::string memory_stat = read_or_empty(file("memory.stat"));
  msg::StatsAnswer out;
  out.cpu.usage_ns = flat_keyed_value(cpu, "usage_usec") * 1000;
  out.cpu.user_ns = flat_keyed_value(cpu, "user_usec") * 1000;
  out.cpu.system_ns = flat_keyed_value(cpu, "system_usec") * 1000;
  out.memory.usage = parse_limit_value(read_or_empty(file("memory.current")));
  out.memory.limit = parse_limit_value(read_or_empty(file("memory.max")));
  out.memory.cache = flat_keyed_value(memory_stat, "file");
  out.memory.total = meminfo_total(read_or_empty("/proc/meminfo"));
  out.pids.current = parse_limit_value(read_or_empty(file("pids.current")));
  out.pids.limit = parse_limit_value(read_or_empty(file("pids.max")));
  std::string events = read_or_empty(file("memory.events"));
  out.oom_kills = flat_keyed_value(events, "oom_kill");
  out.memory_failcnt = flat_keyed_value(events, "max");
  out.throttling.periods = flat_keyed_value(cpu, "nr_periods");
  out.throttling.throttled_periods = flat_keyed_value(cpu, "nr_throttled");
  out.throttling.throttled_ns = flat_keyed_value(cpu, "throttled_usec") * 1000;
  out.swap.usage = parse_limit_value(read_or_empty(file("memory.swap.current")));
  out.swap.limit = parse_limit_value(read_or_empty(file("memory.swap.max")));
  out.memory_raw = flat_keyed_values(memory_stat, msg::kMaxRawStats);
  out.unavailable = g_missing;
  return out;
}

}  // namespace runvm::agent
