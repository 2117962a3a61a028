#include "tests/integration/harness.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace runvm::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/runvm-test-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }

std::string busybox_path() {
  for (const char* p : {"/bin/busybox", "/usr/bin/busybox"})
    if (::access(p, X_OK) == 0) return p;
  throw std::runtime_error("busybox-static is not installed (scripts/setup.sh installs it)");
}

std::string silent_initramfs(const std::string& dir) {
  std::string tree = dir + "/silent-tree", image = dir + "/initramfs.img";
  std::string cmd = "mkdir -p '" + tree + "' && cp '" + busybox_path() + "' '" + tree + "/init' && cd '" + tree +
                    "' && echo init | cpio -o -H newc --quiet > '" + image + "'";
  return std::system(cmd.c_str()) == 0 ? image : "";
}

namespace {

void populate_busybox_rootfs(const std::string& root) {
  for (const char* d : {"", "/bin", "/etc", "/tmp", "/proc", "/sys", "/dev", "/root", "/home"})
    ::mkdir((root + d).c_str(), 0755);
  ::chmod((root + "/tmp").c_str(), 01777);
  std::string busybox = busybox_path();
  std::system(("cp '" + busybox + "' '" + root + "/bin/busybox'").c_str());
  for (const char* applet : {"sh", "echo", "cat", "sleep", "id", "hostname", "pwd", "true",
                             "false", "env", "ls", "touch", "kill", "head", "wc", "stat",
                             "mkdir", "rm", "test", "printf", "umask", "ps", "grep", "tr", "stty"})
    (void)!::symlink("busybox", (root + "/bin/" + applet).c_str());
  std::ofstream(root + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
  std::ofstream(root + "/etc/group") << "root:x:0:\n";
  std::ofstream(root + "/notexec") << "not a program\n";
  std::system(("cp '" SEGFAULT_BINARY "' '" + root + "/bin/segfault'").c_str());
}

}  // namespace

namespace {
// Bundles made by this test process, for their cgroup names.
std::atomic<int> bundles{0};
}  // namespace

Bundle::Bundle() {
  populate_busybox_rootfs(rootfs());
  config_ = {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"true"}},
        {"env", {"PATH=/bin", "TERM=xterm"}},
        {"cwd", "/"}}},
      {"root", {{"path", "rootfs"}, {"readonly", false}}},
      {"hostname", "runvm-test"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"},
         {"options", {"nosuid", "nodev", "mode=1777"}}}}},
      // As `runvm spec` and every engine give: a network namespace of its
      // own (none at all would be the host's network, which runvm refuses).
      // A host cgroup of the bundle's own, as engines give: without one a
      // container gets runc's /<id>, which two tests running at once with
      // the same ID would share.
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}},
          {{"type", "mount"}}}},
        {"cgroupsPath", "/runvm-test-" + std::to_string(::getpid()) + "-" + std::to_string(++bundles)}}}};
}

void Bundle::write_config() const {
  std::ofstream(path() + "/config.json") << config_.dump(2);
}

std::string runvm_binary() { return RUNVM_BINARY; }

ShellResult create_and_start(const std::string& runvm, const std::string& bundle,
                             const std::string& id, const std::string& log) {
  ShellResult created = shell(runvm + " create --bundle " + bundle + " " + id + " >" + log + " 2>&1 </dev/null");
  if (created.status != 0) {
    note_guest_console("create " + id, slurp(log));
    return created;
  }
  return shell(runvm + " start " + id);
}

void note_guest_console(const std::string& what, const std::string& err) {
  // Errors that quote the guest's console (a guest that did not answer)
  // go to the test's log even where the test checks only the exit code.
  if (err.find("last guest console output") != std::string::npos)
    std::cerr << "[runvm " << what.substr(0, 200) << "] " << err << "\n";
}

ShellResult shell(const std::string& command) {
  ShellResult r;
  FILE* p = ::popen(("( " + command + " ) 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

namespace {

void drain(int& fd, std::string& into) {
  char buf[65536];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    into.append(buf, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    ::close(fd);
    fd = -1;
  }
}

}  // namespace

RunResult run_runvm(const std::vector<std::string>& args, const RunOptions& options,
                    const std::string& cwd) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    if (::chdir(cwd.c_str()) != 0) ::_exit(200);
    if (options.new_session) ::setsid();
    for (const auto& kv : options.extra_env) ::putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> argv;
    std::string bin = runvm_binary();
    argv.push_back(bin.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(201);
  }
  if (options.on_start) options.on_start(pid);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::signal(SIGPIPE, SIG_IGN);
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  int in_fd = in[1], out_fd = out[0], err_fd = err[0];
  size_t written = 0;
  RunResult result;
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool killed = false;
  while (out_fd >= 0 || err_fd >= 0) {
    if (in_fd >= 0 && written == options.stdin_data.size() && options.close_stdin) {
      ::close(in_fd);
      in_fd = -1;
    }
    pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0},
                     {written < options.stdin_data.size() ? in_fd : -1, POLLOUT, 0}};
    ::poll(fds, 3, 200);
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    if (fds[0].revents) {
      size_t before = result.out.size();
      drain(out_fd, result.out);
      if (options.on_stdout && result.out.size() != before) options.on_stdout(pid, result.out);
    }
    if (fds[1].revents) drain(err_fd, result.err);
    if (fds[2].revents) {
      ssize_t n = ::write(in_fd, options.stdin_data.data() + written,
                          options.stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      else if (errno == EPIPE) written = options.stdin_data.size();
    }
  }
  if (in_fd >= 0) ::close(in_fd);
  int status;
  ::waitpid(pid, &status, 0);
  result.exit_code = killed ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::string what;
  for (const auto& a : args) what += (what.empty() ? "" : " ") + a.substr(0, 40);
  note_guest_console(what, result.err);
  return result;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string value_of(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  return "";
}

bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int reap(pid_t pid, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

int listen_console(const std::string& path) {
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 1) != 0) {
    ::close(listener);
    return -1;
  }
  return listener;
}

int receive_console(int listener) {
  int conn = ::accept(listener, nullptr, nullptr);
  char data[64];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  int fd = -1;
  if (::recvmsg(conn, &msg, 0) > 0 && CMSG_FIRSTHDR(&msg))
    std::memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof fd);
  ::close(conn);
  return fd;
}

std::string read_until(int fd, const std::string& text, std::chrono::seconds limit) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (got.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char buf[256];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  return got;
}

Cmd runvm_command(const std::string& root, const std::string& args, const std::string& out,
                  const std::string& err) {
  std::string line = "'" + runvm_binary() + "' --root '" + root + "' " + args + " </dev/null >'" + out +
                     "' 2>'" + err + "'";
  int status = std::system(line.c_str());
  Cmd result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  note_guest_console(args, result.err);
  return result;
}

std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> found;
  DIR* proc = ::opendir("/proc");
  while (struct dirent* e = ::readdir(proc)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/cmdline");
    std::stringstream ss;
    ss << f.rdbuf();
    if (ss.str().find(needle) != std::string::npos) found.push_back(pid);
  }
  ::closedir(proc);
  return found;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = ::opendir(path.c_str());
  if (!d) return names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

std::vector<std::string> cgroup_dirs_left(const std::string& cgroups_path) {
  std::vector<std::string> left;
  struct stat st;
  if (::stat(("/sys/fs/cgroup" + cgroups_path).c_str(), &st) == 0) left.push_back("/sys/fs/cgroup" + cgroups_path);
  for (const auto& h : list_dir("/sys/fs/cgroup")) {
    std::string dir = "/sys/fs/cgroup/" + h + cgroups_path;
    if (::stat(dir.c_str(), &st) == 0) left.push_back(dir);
  }
  return left;
}

void expect_no_container_left(const std::string& root, const Bundle& bundle) {
  std::string left;
  for (const auto& name : list_dir(root))
    left += "\n  " + name + ": " + slurp(root + "/" + name + "/state.json").substr(0, 300);
  EXPECT_TRUE(left.empty()) << "state left under " << root << left;
  std::string running;
  for (pid_t pid : processes_mentioning(root)) {
    std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    running += "\n  " + stat.substr(0, stat.find(')') + 4);
  }
  EXPECT_TRUE(running.empty()) << "a monitor or QEMU left running" << running;
  EXPECT_TRUE(processes_mentioning(bundle.rootfs()).empty()) << "virtiofsd left running";
}

}  // namespace runvm::testing
