#include "host/child_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "common/io.h"

namespace runvm::host {
namespace {

constexpr size_t kMaxSpawnFds = 8;

// What the child reports when it cannot become the program: the step that
// failed and its errno. Nothing arrives when exec succeeds (the report
// pipe is close-on-exec).
struct SpawnFailure {
  enum Step : int { exec, chdir, mount_namespace, readonly } step = exec;
  int index = 0;  // readonly: which of readonly_paths
  int err = 0;
};

[[noreturn]] void child_failed(int report_fd, SpawnFailure::Step step, int index = 0) {
  SpawnFailure failure{step, index, errno};
  (void)!::write(report_fd, &failure, sizeof failure);
  ::_exit(127);
}

// Marks every descriptor from `from` up close-on-exec (close_range(2), or
// one by one on kernels before 5.11).
void cloexec_from(int from) {
  if (::close_range(static_cast<unsigned>(from), ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  for (int fd = from; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// A private mount namespace (a slave of ours: nothing made in it reaches
// the host, unmounts on the host still reach it) where each path is bound
// onto itself and made read-only with everything mounted below it. It
// lives as long as the child and its own children.
void make_readonly(const SpawnOptions& options, int report_fd) {
  if (options.readonly_paths.empty()) return;
  if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0)
    child_failed(report_fd, SpawnFailure::mount_namespace);
  for (size_t i = 0; i < options.readonly_paths.size(); ++i) {
    const char* path = options.readonly_paths[i].c_str();
    if (::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) < 0)
      child_failed(report_fd, SpawnFailure::readonly, static_cast<int>(i));
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr) == 0) continue;
    // Before Linux 5.12: the top mount alone.
    if (errno != ENOSYS ||
        ::mount(nullptr, path, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) < 0)
      child_failed(report_fd, SpawnFailure::readonly, static_cast<int>(i));
  }
}

// Runs in the forked child: only async-signal-safe calls until execv.
[[noreturn]] void exec_child(const SpawnOptions& options, char* const* argv, char* const* envp,
                             int report_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  make_readonly(options, report_fd);
  // The child gets its stdio and the descriptors listed, nothing else: not
  // what runvm's own caller left open (create's, held for the container's
  // whole life by QEMU and virtiofsd), nor any descriptor of runvm's that
  // lacks close-on-exec.
  cloexec_from(3);
  // Move every source out of the way first: one may sit on a target.
  int moved[kMaxSpawnFds];
  size_t count = std::min(options.fds.size(), kMaxSpawnFds);
  for (size_t i = 0; i < count; ++i)
    moved[i] = ::fcntl(options.fds[i].second, F_DUPFD_CLOEXEC, 100);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; ++fd) ::dup2(devnull, fd);
  // dup2 clears close-on-exec on the target.
  for (size_t i = 0; i < count; ++i) {
    if (moved[i] == options.fds[i].first) ::fcntl(moved[i], F_SETFD, 0);
    else ::dup2(moved[i], options.fds[i].first);
  }
  if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) < 0)
    child_failed(report_fd, SpawnFailure::chdir);
  const char* path = options.path.empty() ? argv[0] : options.path.c_str();
  if (envp) ::execve(path, argv, envp);
  else ::execv(path, argv);
  child_failed(report_fd, SpawnFailure::exec);
}

}  // namespace

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)),
      status_(o.status_), name_(std::move(o.name_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (running()) terminate(std::chrono::milliseconds(0));
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
    status_ = o.status_;
    name_ = std::move(o.name_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) terminate(std::chrono::milliseconds(0));
}

Result<ChildProcess> ChildProcess::spawn(const SpawnOptions& options) {
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (options.fds.size() > kMaxSpawnFds) return fail("too many descriptors for a child process");
  std::vector<char*> envp;
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  auto [report_r, report_w] = TRY(io::make_pipe());
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork for " + options.argv[0]);
  if (pid == 0) exec_child(options, argv.data(), options.replace_env ? envp.data() : nullptr,
                             report_w.get(), parent);

  ChildProcess child;
  child.pid_ = pid;
  child.name_ = options.argv[0].substr(options.argv[0].rfind('/') + 1);
  report_w.reset();
  SpawnFailure failure;
  ssize_t n;
  do n = ::read(report_r.get(), &failure, sizeof failure);
  while (n < 0 && errno == EINTR);
  if (n == sizeof failure) {
    child.poll_exit();
    child.wait_for(std::chrono::seconds(1));
    std::string what = "execute " + options.argv[0];
    if (failure.step == SpawnFailure::chdir) what += ": change to " + options.cwd;
    if (failure.step == SpawnFailure::mount_namespace)
      what = "give " + child.name_ + " a mount namespace of its own";
    if (failure.step == SpawnFailure::readonly)
      what = "make " + options.readonly_paths[static_cast<size_t>(failure.index)] +
             " read-only for " + child.name_;
    return Failure{Error(what, failure.err)};
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return fail_errno("pidfd_open");
  child.pidfd_.reset(pidfd);
  ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  return child;
}

bool ChildProcess::poll_exit() {
  if (pid_ <= 0 || status_) return status_.has_value();
  int status;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) status_ = status;
  return status_.has_value();
}

bool ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  if (poll_exit()) return true;
  if (pidfd_) {
    pollfd p = {pidfd_.get(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(timeout.count()));
    return poll_exit();
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (poll_exit()) return true;
    ::usleep(1000);
  }
  return poll_exit();
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

void ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (!running()) return;
  if (grace.count() > 0) {
    signal(SIGTERM);
    if (wait_for(grace)) return;
  }
  signal(SIGKILL);
  int status;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = status;
}

void close_inherited_fds() {
  std::vector<int> open;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(dir)) {
      int fd = std::atoi(e->d_name);
      if (fd >= 3 && fd != ::dirfd(dir)) open.push_back(fd);
    }
    ::closedir(dir);
  } else {
    for (int fd = 3; fd < 65536; ++fd) open.push_back(fd);
  }
  for (int fd : open) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) ::close(fd);
  }
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           sigabbrev_np(WTERMSIG(status)) + ")";
  return "stopped";
}

std::string find_executable(const std::string& name, const std::vector<std::string>& candidates) {
  auto executable = [](const std::string& p) { return ::access(p.c_str(), X_OK) == 0; };
  if (name.find('/') != std::string::npos) return executable(name) ? name : "";
  for (const auto& c : candidates)
    if (executable(c)) return c;
  const char* path = ::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && executable(dir + "/" + name)) return dir + "/" + name;
  return "";
}

}  // namespace runvm::host
