#include "agent/watchdog.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <map>

#include "common/io.h"
#include "common/procfs.h"

namespace runvm::agent {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxReported = 8;

std::string read_small(const std::string& path) {
  auto text = io::read_file(path);
  return text ? *text : std::string();
}

std::vector<std::pair<pid_t, pid_t>> all_processes() {
  std::vector<std::pair<pid_t, pid_t>> out;
  DIR* dir = ::opendir("/proc");
  if (!dir) return out;
  while (struct dirent* e = ::readdir(dir)) {
    pid_t pid = 0;
    if (!procfs::parse_number(std::string_view(e->d_name), pid)) continue;
    auto stat = procfs::parse_proc_stat(read_small("/proc/" + std::to_string(pid) + "/stat"));
    if (stat) out.emplace_back(pid, stat->ppid);
  }
  ::closedir(dir);
  return out;
}

void say(int console, const std::string& line) {
  std::string text = "runvm-agent: watchdog: " + line + "\n";
  (void)!::write(console, text.data(), text.size());
}

void report(int console, pid_t agent, const std::string& step, Clock::duration busy) {
  long seconds = std::chrono::duration_cast<std::chrono::seconds>(busy).count();
  say(console, "the agent has been in \"" + step + "\" for " + std::to_string(seconds) + " s");
  pid_t self = ::getpid();
  // The agent's own children come first (breadth first); a container's
  // many processes are cut short.
  size_t shown = 0, left = 0;
  for (pid_t pid : descendants_of(agent, all_processes())) {
    if (pid == self) continue;
    if (shown == kMaxReported) {
      ++left;
      continue;
    }
    ++shown;
    std::string dir = "/proc/" + std::to_string(pid);
    auto stat = procfs::parse_proc_stat(read_small(dir + "/stat"));
    if (!stat) continue;
    StalledProcess p{pid, stat->comm, stat->state, read_small(dir + "/wchan"), read_small(dir + "/stack")};
    say(console, describe_stalled(p));
  }
  if (left) say(console, "and " + std::to_string(left) + " more processes");
}

[[noreturn]] void watch(int in, int console, std::chrono::milliseconds limit, pid_t agent) {
  std::string pending, step;
  bool busy = false, reported = false;
  Clock::time_point since;
  for (;;) {
    int timeout = -1;
    if (busy && !reported) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(since + limit - Clock::now());
      timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    pollfd p = {in, POLLIN, 0};
    int r = ::poll(&p, 1, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      report(console, agent, step, Clock::now() - since);
      reported = true;
      continue;
    }
    char buf[512];
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) ::_exit(0);  // the agent is gone (or powering off)
    pending.append(buf, static_cast<size_t>(n));
    for (size_t eol; (eol = pending.find('\n')) != std::string::npos; pending.erase(0, eol + 1)) {
      std::string line = pending.substr(0, eol);
      if (!line.empty() && line[0] == 'B') {
        if (reported) say(console, "\"" + step + "\" ended");
        busy = true;
        reported = false;
        step = line.substr(1);
        since = Clock::now();
      } else if (line == "E") {
        if (busy && reported) say(console, "\"" + step + "\" ended");
        busy = false;
      }
    }
  }
}

}  // namespace

Watchdog Watchdog::start(std::chrono::milliseconds limit, const std::string& console_path) {
  auto pipe = io::make_pipe();
  if (!pipe) return Watchdog();
  auto [read_end, write_end] = std::move(*pipe);
  pid_t agent = ::getpid();
  // A raw fork, as the agent's other children (no atfork handlers).
  long pid = ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) return Watchdog();
  if (pid == 0) {
    write_end.reset();
    ::prctl(PR_SET_NAME, "runvm-watchdog", 0, 0, 0);
    int console = ::open(console_path.c_str(), O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);
    if (console < 0) ::_exit(0);
    watch(read_end.get(), console, limit, agent);
  }
  read_end.reset();
  int flags = ::fcntl(write_end.get(), F_GETFL);
  if (flags >= 0) ::fcntl(write_end.get(), F_SETFL, flags | O_NONBLOCK);
  return Watchdog(std::move(write_end));
}

void Watchdog::begin(std::string_view step) {
  if (!pipe_) return;
  std::string line = "B" + std::string(step.substr(0, 200));
  for (char& c : line)
    if (c == '\n') c = ' ';
  line += '\n';
  (void)!::write(pipe_.get(), line.data(), line.size());
}

void Watchdog::end() {
  if (pipe_) (void)!::write(pipe_.get(), "E\n", 2);
}

std::string describe_stalled(const StalledProcess& p, size_t frames) {
  std::string out = "pid " + std::to_string(p.pid) + " (" + p.comm + ") " + std::string(1, p.state);
  if (!p.wchan.empty() && p.wchan != "0") out += " in " + p.wchan;
  std::string trace;
  size_t shown = 0;
  std::string_view rest = p.stack;
  while (!rest.empty() && shown < frames) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    // "[<0>] request_wait_answer+0x12c/0x280 [fuse]"
    size_t start = line.find("] ");
    if (start == std::string_view::npos) continue;
    std::string_view name = line.substr(start + 2);
    name = name.substr(0, name.find_first_of("+ "));
    if (name.empty()) continue;
    trace += (shown ? " < " : "") + std::string(name);
    ++shown;
  }
  if (!trace.empty()) out += ": " + trace;
  return out;
}

std::vector<pid_t> descendants_of(pid_t root, const std::vector<std::pair<pid_t, pid_t>>& pid_ppid) {
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, ppid] : pid_ppid) children.emplace(ppid, pid);
  std::vector<pid_t> out = {root};
  for (size_t i = 0; i < out.size(); ++i) {
    auto [from, to] = children.equal_range(out[i]);
    for (auto it = from; it != to; ++it)
      if (it->second != root) out.push_back(it->second);
  }
  return out;
}

}  // namespace runvm::agent
