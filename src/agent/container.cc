#include "agent/container.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "agent/boot.h"
#include "agent/lookpath.h"
#include "common/io.h"

namespace runvm::agent {
namespace {

// The child reports a failure before exec as "<exit code>\n<message>" on a
// close-on-exec pipe; a clean exec closes it with nothing written.
[[noreturn]] void child_fail(int report_fd, int exit_code, const std::string& message) {
  std::string text = std::to_string(exit_code) + "\n" + message;
  (void)!::write(report_fd, text.data(), text.size());
  ::_exit(exit_code);
}

std::string joined(const std::string& root, const std::string& path) {
  return path == "/" ? root : root + path;
}

// mkdir -p of an absolute path below root.
void make_dirs(const std::string& root, const std::string& path) {
  std::string current = root;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    if (next > pos) {
      current += "/" + path.substr(pos, next - pos);
      ::mkdir(current.c_str(), 0755);
    }
    pos = next + 1;
  }
}

struct MountFlags {
  unsigned long flags = 0;
  std::string data;
};

MountFlags parse_mount_options(const std::vector<std::string>& options) {
  static const std::map<std::string, unsigned long> kFlags = {
      {"ro", MS_RDONLY},   {"nosuid", MS_NOSUID}, {"nodev", MS_NODEV},
      {"noexec", MS_NOEXEC}, {"relatime", MS_RELATIME},
      {"strictatime", MS_STRICTATIME}, {"noatime", MS_NOATIME},
      {"sync", MS_SYNCHRONOUS}};
  static const std::map<std::string, unsigned long> kCleared = {
      {"rw", 0}, {"suid", 0}, {"dev", 0}, {"exec", 0}, {"atime", 0},
      {"private", 0}, {"rprivate", 0}, {"bind", 0}, {"rbind", 0}};
  MountFlags out;
  for (const auto& option : options) {
    if (auto it = kFlags.find(option); it != kFlags.end()) {
      out.flags |= it->second;
    } else if (!kCleared.count(option)) {
      out.data += (out.data.empty() ? "" : ",") + option;
    }
  }
  return out;
}

bool guest_can_serve(const oci::Mount& m) {
  static const char* kTypes[] = {"proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2"};
  for (const char* t : kTypes)
    if (m.type == t) return true;
  return false;
}

Status mount_spec_mount(const std::string& root, const oci::Mount& m) {
  std::string target = joined(root, m.destination);
  make_dirs(root, m.destination);
  MountFlags f = parse_mount_options(m.options);
  std::string type = m.type == "cgroup" ? "cgroup2" : m.type;
  if (::mount(m.source.empty() ? type.c_str() : m.source.c_str(), target.c_str(),
              type.c_str(), f.flags, f.data.empty() ? nullptr : f.data.c_str()) < 0) {
    // devpts in the container: a fresh instance, as runc mounts it.
    return fail_errno("mount " + m.type + " on " + m.destination);
  }
  return ok();
}

// runc's default device nodes, made when /dev is a fresh tmpfs.
void populate_dev(const std::string& root) {
  struct Node { const char* name; unsigned major, minor; };
  static const Node kNodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
                                {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  for (const Node& n : kNodes) {
    std::string path = root + "/dev/" + n.name;
    ::mknod(path.c_str(), S_IFCHR | 0666, makedev(n.major, n.minor));
    ::chmod(path.c_str(), 0666);
  }
  static const std::pair<const char*, const char*> kLinks[] = {
      {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
      {"pts/ptmx", "ptmx"}};
  for (const auto& [target, name] : kLinks)
    (void)!::symlink(target, (root + "/dev/" + name).c_str());
}

Status set_up_root(const ContainerConfig& config) {
  std::string root = kContainerRoot;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    return fail_errno("make mounts private");
  bool dev_is_tmpfs = false;
  for (const auto& m : config.mounts) {
    if (!guest_can_serve(m)) continue;  // binds are shared from the host later
    TRY(mount_spec_mount(root, m));
    if (m.destination == "/dev" && m.type == "tmpfs") dev_is_tmpfs = true;
  }
  if (dev_is_tmpfs) populate_dev(root);
  make_dirs(root, config.process.cwd);
  if (config.readonly_root &&
      ::mount(root.c_str(), root.c_str(), nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) < 0)
    return fail_errno("remount the root read-only");
  // switch_root: the initramfs cannot be pivoted away, so the share is moved
  // over / in this mount namespace and entered with chroot.
  if (::chdir(root.c_str()) < 0) return fail_errno("chdir " + root);
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return fail_errno("move root");
  if (::chroot(".") < 0) return fail_errno("chroot");
  if (::chdir(config.process.cwd.c_str()) < 0)
    return fail_errno("chdir to cwd " + config.process.cwd);
  return ok();
}

Status apply_rlimits(const std::vector<oci::Rlimit>& rlimits) {
  static const std::map<std::string, int> kResources = {
      {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU}, {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK}};
  for (const auto& r : rlimits) {
    auto it = kResources.find(r.type);
    if (it == kResources.end()) return fail("unknown rlimit " + r.type);
    struct rlimit lim = {r.soft, r.hard};
    if (::setrlimit(it->second, &lim) < 0) return fail_errno("setrlimit " + r.type);
  }
  return ok();
}

Status apply_identity(const oci::User& user) {
  std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
  if (::setgroups(groups.size(), groups.data()) < 0) return fail_errno("setgroups");
  if (::setresgid(user.gid, user.gid, user.gid) < 0)
    return fail_errno("setgid " + std::to_string(user.gid));
  if (::setresuid(user.uid, user.uid, user.uid) < 0)
    return fail_errno("setuid " + std::to_string(user.uid));
  ::umask(user.umask.value_or(022));
  return ok();
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void run_child(const ContainerConfig& config, int stdin_fd, int stdout_fd,
                            int stderr_fd, int report_fd) {
  ::setsid();
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(stdin_fd, 0) < 0 || ::dup2(stdout_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0)
    child_fail(report_fd, 1, std::string("dup2 stdio: ") + std::strerror(errno));
  auto fail_with = [&](const Status& s) {
    child_fail(report_fd, 1, "unable to start container process: " + s.error().describe());
  };
  if (Status s = set_up_root(config); !s) fail_with(s);
  if (Status s = apply_rlimits(config.process.rlimits); !s) fail_with(s);
  if (Status s = apply_identity(config.process.user); !s) fail_with(s);
  if (config.process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail_with(fail_errno("set no_new_privs"));
  const auto& args = config.process.args;
  LookPathResult found = look_path(args[0], config.process.env);
  if (found.path.empty())
    child_fail(report_fd, found.exit_code, "unable to start container process: " + found.message);
  auto argv = c_strings(args);
  auto envp = c_strings(config.process.env);
  ::execve(found.path.c_str(), argv.data(), envp.data());
  LookPathResult failed = exec_failure(found.path, errno);
  child_fail(report_fd, failed.exit_code, "unable to start container process: " + failed.message);
}

// Reads the child's report; empty means it exec'd.
std::string read_report(int fd) {
  std::string report;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    report.append(buf, static_cast<size_t>(n));
  }
  return report;
}

}  // namespace

Result<StartedProcess> start_container_process(const ContainerConfig& config,
                                               StartFailure& failure) {
  if (!config.hostname.empty() &&
      ::sethostname(config.hostname.data(), config.hostname.size()) < 0)
    return fail_errno("sethostname " + config.hostname);
  auto [stdin_r, stdin_w] = TRY(io::make_pipe());
  auto [stdout_r, stdout_w] = TRY(io::make_pipe());
  auto [stderr_r, stderr_w] = TRY(io::make_pipe());
  auto [report_r, report_w] = TRY(io::make_pipe());

  // A raw clone: fork's semantics plus new PID and mount namespaces, so the
  // process is PID 1 of its namespace as under runc. The agent is single
  // threaded, so this is safe.
  long pid = ::syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) return fail_errno("clone the container process");
  if (pid == 0)
    run_child(config, stdin_r.get(), stdout_w.get(), stderr_w.get(), report_w.get());

  report_w.reset();
  std::string report = read_report(report_r.get());
  if (!report.empty()) {
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
    size_t nl = report.find('\n');
    failure.exit_code = std::atoi(report.substr(0, nl).c_str());
    failure.message = nl == std::string::npos ? report : report.substr(nl + 1);
    return fail(failure.message);
  }
  StartedProcess started;
  started.pid = static_cast<pid_t>(pid);
  started.stdio = {std::move(stdin_w), std::move(stdout_r), std::move(stderr_r)};
  return started;
}

}  // namespace runvm::agent
