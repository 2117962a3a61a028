#include "host/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "common/io.h"

namespace runvm::host {
namespace {

constexpr size_t kMaxSpawnFds = 8;

// Runs in the forked child: only async-signal-safe calls until execv.
[[noreturn]] void exec_child(const SpawnOptions& options, char* const* argv, char* const* envp,
                             int report_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  // Move every source out of the way first: one may sit on a target.
  int moved[kMaxSpawnFds];
  size_t count = std::min(options.fds.size(), kMaxSpawnFds);
  for (size_t i = 0; i < count; ++i)
    moved[i] = ::fcntl(options.fds[i].second, F_DUPFD_CLOEXEC, 100);
  int devnull = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) ::dup2(devnull, fd);
  for (size_t i = 0; i < count; ++i) ::dup2(moved[i], options.fds[i].first);
  if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) < 0) {
    int err = errno;
    (void)!::write(report_fd, &err, sizeof err);
    ::_exit(127);
  }
  const char* path = options.path.empty() ? argv[0] : options.path.c_str();
  if (envp) ::execve(path, argv, envp);
  else ::execv(path, argv);
  int err = errno;
  (void)!::write(report_fd, &err, sizeof err);
  ::_exit(127);
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
  int err = 0;
  ssize_t n;
  do n = ::read(report_r.get(), &err, sizeof err);
  while (n < 0 && errno == EINTR);
  if (n == sizeof err) {
    child.poll_exit();
    child.wait_for(std::chrono::seconds(1));
    return Failure{Error("execute " + options.argv[0], err)};
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
