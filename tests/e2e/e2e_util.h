// Helpers shared by the e2e tests that drive runvm through docker and podman:
// child processes in their own process group with deadlines, stdin fed
// incrementally, and checks for runvm processes left behind.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"

namespace runvm::testing::e2e {

using namespace std::chrono_literals;

// An installed program by name, in the usual directories ("" if none).
inline std::string find_in_path(const std::string& name) {
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"}) {
    std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// Every cgroup hierarchy root under /sys/fs/cgroup (v2 alone, or v1 + unified).
inline std::vector<std::string> cgroup_hierarchies() {
  struct stat st;
  if (::stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) return {"/sys/fs/cgroup"};
  std::vector<std::string> out;
  for (const auto& name : list_dir("/sys/fs/cgroup")) {
    std::string p = "/sys/fs/cgroup/" + name;
    if (::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
        ::stat((p + "/cgroup.procs").c_str(), &st) == 0)
      out.push_back(p);
  }
  return out;
}
using Clock = std::chrono::steady_clock;

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string tail(const std::string& text, size_t n = 4000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

inline std::string first_executable(const std::vector<std::string>& candidates) {
  for (const auto& p : candidates)
    if (::access(p.c_str(), X_OK) == 0) return p;
  return "";
}

// A fresh directory /tmp/<prefix><n random [a-z0-9]>, made exclusively.
// Short on purpose: Unix socket paths under it must stay within 107 bytes.
inline std::string make_short_temp_dir(const std::string& prefix, int n) {
  static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::string p = "/tmp/" + prefix;
    for (int i = 0; i < n; ++i) p += chars[rng() % 36];
    if (::mkdir(p.c_str(), 0711) == 0) return p;
    if (errno != EEXIST) break;
  }
  throw std::runtime_error("cannot make a temp dir under /tmp");
}

// Unmounts everything mounted under `dir` (deepest first, lazily), then
// removes it.
// Removes the empty cgroup `name` (a daemon's cgroup parent, such as
// Docker's "docker" or podman's "libpod_parent") from every hierarchy, as a
// runc user would: runtimes leave the parents of the cgroups they made.
// rmdir fails harmlessly where one is still in use.
inline void remove_cgroup_parent(const std::string& name) {
  DIR* root = ::opendir("/sys/fs/cgroup");
  if (!root) return;
  while (dirent* e = ::readdir(root)) {
    if (e->d_name[0] == '.') continue;
    ::rmdir(("/sys/fs/cgroup/" + std::string(e->d_name) + "/" + name).c_str());
  }
  ::closedir(root);
  ::rmdir(("/sys/fs/cgroup/" + name).c_str());
}

// Stops a daemon we started in its own process group: SIGTERM, then after
// `grace` SIGKILL to the whole group; always reaps it.
inline void stop_daemon(pid_t pid, std::chrono::seconds grace) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  int status;
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Mount points at or below `dir`, from this process's mountinfo (the
// host's mount namespace: the daemons, their shims and runvm share it).
inline std::vector<std::string> mounts_under(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream w(line);
    std::string id, parent, dev, root, point;
    if (w >> id >> parent >> dev >> root >> point && (point == dir || point.rfind(dir + "/", 0) == 0))
      out.push_back(point);
  }
  return out;
}

inline void unmount_and_remove(const std::string& dir) {
  if (dir.size() < 6 || dir.rfind("/tmp/", 0) != 0) return;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> points = mounts_under(dir);
    if (points.empty()) break;
    std::sort(points.begin(), points.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& p : points) ::umount2(p.c_str(), MNT_DETACH);
  }
  std::system(("rm -rf '" + dir + "'").c_str());
}

struct Cmd {
  int code = -1;  // -1: killed at its deadline
  std::string out, err;
};

// A child process in its own process group; stdin fed from `stdin_data`
// and then closed, unless keep_stdin_open (then send() and close_stdin()).
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                 bool keep_stdin_open = false,
                 const std::vector<std::string>& extra_env = {}) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
      throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      for (const auto& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    in_fd_ = in[1];
    pending_ = stdin_data;
    close_wanted_ = !keep_stdin_open;
    ::signal(SIGPIPE, SIG_IGN);
    ::fcntl(in_fd_, F_SETFL, O_NONBLOCK);
    feed_stdin();
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  ~Child() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : {in_fd_, out_fd_, err_fd_})
      if (fd >= 0) ::close(fd);
  }

  const std::string& out() const { return result_.out; }
  const std::string& err() const { return result_.err; }

  void send(const std::string& text) {
    pending_ += text;
    feed_stdin();
  }
  void close_stdin() {
    close_wanted_ = true;
    feed_stdin();
  }

  void pump(std::chrono::milliseconds wait) {
    if (out_fd_ < 0 && err_fd_ < 0 && in_fd_ < 0) {
      std::this_thread::sleep_for(wait);
      return;
    }
    pollfd fds[3] = {{out_fd_, POLLIN, 0},
                     {err_fd_, POLLIN, 0},
                     {pending_.empty() ? -1 : in_fd_, POLLOUT, 0}};
    ::poll(fds, 3, static_cast<int>(wait.count()));
    if (fds[0].revents) drain(out_fd_, result_.out);
    if (fds[1].revents) drain(err_fd_, result_.err);
    if (fds[2].revents) feed_stdin();
  }

  // Waits (at most `limit`) until stdout holds `text` at or after `from`.
  bool wait_for_output(const std::string& text, std::chrono::seconds limit, size_t from = 0) {
    auto deadline = Clock::now() + limit;
    auto found = [&] { return result_.out.find(text, from) != std::string::npos; };
    while (Clock::now() < deadline) {
      if (found()) return true;
      if (out_fd_ < 0) return false;
      pump(100ms);
    }
    return found();
  }

  // Reads to the end and reaps the child; at the deadline its process group
  // is killed and the code is -1.
  Cmd finish(std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    bool killed = false;
    int status = 0;
    for (;;) {
      pump(100ms);
      if (out_fd_ < 0 && err_fd_ < 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) break;
      if (!killed && Clock::now() > deadline) {
        ::kill(-pid_, SIGKILL);
        killed = true;
      }
    }
    pid_ = -1;
    result_.code =
        killed ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result_;
  }

 private:
  void feed_stdin() {
    while (in_fd_ >= 0 && !pending_.empty()) {
      ssize_t n = ::write(in_fd_, pending_.data(), pending_.size());
      if (n > 0) pending_.erase(0, static_cast<size_t>(n));
      else if (n < 0 && errno == EAGAIN) return;
      else if (!(n < 0 && errno == EINTR)) pending_.clear();  // EPIPE: it stopped reading
    }
    if (in_fd_ >= 0 && close_wanted_ && pending_.empty()) {
      ::close(in_fd_);
      in_fd_ = -1;
    }
  }

  static void drain(int& fd, std::string& into) {
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      ::close(fd);
      fd = -1;
    }
  }

  pid_t pid_ = -1;
  int in_fd_ = -1, out_fd_ = -1, err_fd_ = -1;
  std::string pending_;
  bool close_wanted_ = true;
  Cmd result_;
};

inline Cmd run(const std::vector<std::string>& argv, const std::string& stdin_data = "",
               std::chrono::seconds limit = 60s, const std::vector<std::string>& env = {}) {
  return Child(argv, stdin_data, false, env).finish(limit);
}

inline std::string cmdline_of(pid_t pid) {
  std::string s = slurp("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(s.begin(), s.end(), '\0', ' ');
  return s;
}

// runvm's own processes (its monitor, QEMU, virtiofsd) whose command line
// mentions `needle`; the engine's daemons and shims are not counted.
inline std::vector<std::string> runvm_processes_mentioning(const std::string& needle) {
  std::vector<std::string> out;
  for (pid_t p : processes_mentioning(needle)) {
    std::string c = cmdline_of(p);
    std::string argv0 = c.substr(0, c.find(' '));
    if (contains(argv0, "qemu") || contains(argv0, "virtiofsd") || argv0 == runvm_binary())
      out.push_back(std::to_string(p) + ": " + c.substr(0, 300));
  }
  return out;
}

// Waits up to `limit` for no runvm process mentioning `needle`; returns what is left.
inline std::string wait_no_runvm_processes(const std::string& needle,
                                           std::chrono::seconds limit = 15s) {
  auto deadline = Clock::now() + limit;
  while (!runvm_processes_mentioning(needle).empty() && Clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  std::string left;
  for (const auto& p : runvm_processes_mentioning(needle)) left += p + "\n";
  return left;
}

// A busybox-static rootfs tar for `docker import` / `podman import`:
// applets, /etc/passwd with root and user 1000, empty /tmp /proc /sys /dev.
inline std::string make_busybox_tar(const std::string& dir) {
  std::string root = dir + "/rootfs";
  for (const char* d : {"", "/bin", "/sbin", "/etc", "/tmp", "/proc", "/sys", "/dev", "/root",
                        "/home", "/home/user"})
    ::mkdir((root + d).c_str(), 0755);
  ::chmod((root + "/tmp").c_str(), 01777);
  std::string busybox = first_executable({"/bin/busybox", "/usr/bin/busybox"});
  if (busybox.empty()) throw std::runtime_error("busybox-static is not installed");
  std::system(("cp '" + busybox + "' '" + root + "/bin/busybox'").c_str());
  for (const char* applet :
       {"sh", "cat", "echo", "sleep", "id", "hostname", "stty", "tty", "touch", "ls", "wc",
        "grep", "ps", "df", "pwd", "true", "false", "env", "kill", "head", "test", "tr", "nproc",
        "mkdir", "rm", "stat", "printf", "seq", "ip", "ping", "nc", "wget", "httpd", "nslookup",
        "md5sum", "cut", "sort"})
    (void)!::symlink("busybox", (root + "/bin/" + applet).c_str());
  std::ofstream(root + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                      << "user:x:1000:1000:user:/home/user:/bin/sh\n";
  std::ofstream(root + "/etc/group") << "root:x:0:\nuser:x:1000:\n";
  std::string tar = dir + "/rootfs.tar";
  if (std::system(("tar -C '" + root + "' -cf '" + tar + "' . && rm -rf '" + root + "'").c_str()))
    throw std::runtime_error("tar of the busybox rootfs failed");
  return tar;
}

}  // namespace runvm::testing::e2e
