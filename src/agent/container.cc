#include "agent/container.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <map>
#include <memory>

#include "agent/boot.h"
#include "agent/capabilities.h"
#include "agent/cgroup.h"
#include "agent/lookpath.h"
#include "agent/old_root.h"
#include "common/io.h"
#include "common/log.h"
#include "oci/mount_options.h"
#include "transfer/in_root.h"
#include "transfer/tar_cli.h"

namespace runvm::agent {
namespace {

using Clock = std::chrono::steady_clock;

// How long a child may take to set itself up before the agent gives up on
// it: the guest must never hang on a request.
constexpr auto kSetupTimeout = std::chrono::seconds(30);

// ---------------------------------------------------------------------------
// Child side. Everything below runs in a forked child of the single-threaded
// agent, between fork and exec: it reports failures on the report pipe and
// _exits, never returns.

// The descriptors a child works with; -1 where unused.
struct ChildPlan {
  const oci::Process* process = nullptr;
  std::string exec_path;  // set for hooks: run as given, no $PATH lookup
  bool terminal = false;
  std::optional<winsize> console_size;
  bool clear_onlcr = false;
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // pipes (no terminal)
  int tty_socket = -1;   // where the pty master goes (terminal)
  int report_fd = -1;
  int release_fd = -1;   // init only: read one byte before exec
  int cgroup_fd = -1;
  const ContainerTask* task = nullptr;  // run in place of an executable
  int task_fd = -1;                     // the task's fd 3
  const SeccompProgram* seccomp = nullptr;  // the container's filter, if any
};

[[noreturn]] void child_fail(int report_fd, int exit_code, const std::string& message) {
  std::string text = report_failure(exit_code, message);
  (void)!::write(report_fd, text.data(), text.size());
  ::_exit(exit_code);
}

[[noreturn]] void child_fail(int report_fd, const Error& error) {
  child_fail(report_fd, 1, error.describe());
}

void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

bool guest_can_serve(const oci::Mount& m) {
  static const char* kTypes[] = {"proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2"};
  for (const char* t : kTypes)
    if (m.type == t) return true;
  return false;
}

// ---------------------------------------------------------------------------
// The container's root. Every mount point, device node and directory is
// found with transfer::resolve_in_root (runc's securejoin): symlinks in the
// image are followed as if the root were "/", so nothing lands outside it;
// mounts go onto the descriptor it resolved, through /proc/self/fd/N, as
// runc 1.1 mounts (ARCHITECTURE, "What the guest enforces").

using transfer::InRoot;
using transfer::MakeMissing;
using transfer::resolve_in_root;

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// "/etc/stack" for a destination that resolved there, "/conf/stack (at
// /etc/stack)" where a link led elsewhere.
std::string described(const std::string& destination, const InRoot& at) {
  auto parts = transfer::clean_components(destination);
  std::string clean = "/" + transfer::join_components(parts, parts.size());
  return clean == at.path ? destination : destination + " (at " + at.path + ")";
}

// What is mounted where `at` resolved, now that something is: the
// descriptor itself still names the directory underneath.
Result<UniqueFd> reopen_mounted(const InRoot& at, const std::string& what) {
  if (!at.parent) return fail(what + ": runvm mounts nothing over the container's root");
  UniqueFd fd(::openat(at.parent.get(), at.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fail_errno(what + ": open what was mounted");
  return fd;
}

// After the mount itself, as runc: each propagation change (shared, rslave,
// ...) in the spec's order, then the recursive attributes (rro, rnosuid,
// ...) on the mount and everything below it.
Status apply_propagation(int mnt, const oci::MountOptions& o, const std::string& what) {
  for (unsigned long change : o.propagation)
    if (::mount(nullptr, fd_path(mnt).c_str(), nullptr, change, nullptr) < 0)
      return fail_errno(what + ": change its propagation");
  return ok();
}

Status apply_recursive_attributes(int mnt, const oci::MountOptions& o, const std::string& what) {
  if (o.attr_set == 0 && o.attr_clr == 0) return ok();
  mount_attr attr{};
  attr.attr_set = o.attr_set;
  attr.attr_clr = o.attr_clr;
  if (::mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    return fail_errno(what + ": set its recursive attributes (mount_setattr)");
  return ok();
}

// A mount made writable to be made read-only at the end, once everything
// below it exists (runc's finalizeRootfs: a read-only tmpfs or /dev).
struct LateReadonly {
  UniqueFd mnt;
  unsigned long flags = 0;
  std::string what;
};

// tmpcopyup: the new tmpfs gets what the directory it covers holds
// (modes, owners, links, nodes), as runc copies it. `from` is the covered
// directory, `to` the tmpfs; both directories.
Status copy_tree(int from, int to, const std::string& what) {
  UniqueFd listing(::openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!listing) return fail_errno(what + ": tmpcopyup: open the covered directory");
  DIR* dir = ::fdopendir(listing.get());
  if (!dir) return fail_errno(what + ": tmpcopyup: read the covered directory");
  listing.release();
  std::unique_ptr<DIR, int (*)(DIR*)> owner(dir, ::closedir);
  int dir_fd = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return fail_errno(what + ": tmpcopyup: stat " + name);
    mode_t perm = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(to, name.c_str(), perm) < 0) return fail_errno(what + ": tmpcopyup: mkdir " + name);
      UniqueFd sub_from(::openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sub_to(::openat(to, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub_from || !sub_to) return fail_errno(what + ": tmpcopyup: open " + name);
      TRY(copy_tree(sub_from.get(), sub_to.get(), what));
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = ::readlinkat(dir_fd, name.c_str(), target, sizeof target - 1);
      if (n < 0) return fail_errno(what + ": tmpcopyup: readlink " + name);
      target[n] = '\0';
      if (::symlinkat(target, to, name.c_str()) < 0) return fail_errno(what + ": tmpcopyup: symlink " + name);
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd in(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd out(::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm));
      if (!in || !out) return fail_errno(what + ": tmpcopyup: copy " + name);
      char buf[65536];
      for (ssize_t n; (n = ::read(in.get(), buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno(what + ": tmpcopyup: read " + name);
        TRY_CTX(io::write_all(out.get(), std::string_view(buf, static_cast<size_t>(n))),
                what + ": tmpcopyup: write " + name);
      }
    } else if (::mknodat(to, name.c_str(), st.st_mode, st.st_rdev) < 0) {
      return fail_errno(what + ": tmpcopyup: mknod " + name);
    }
    if (::fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
      return fail_errno(what + ": tmpcopyup: chown " + name);
    if (!S_ISLNK(st.st_mode) && ::fchmodat(to, name.c_str(), perm, 0) < 0)
      return fail_errno(what + ": tmpcopyup: chmod " + name);
  }
  return ok();
}

// A filesystem of the guest's own (proc, sysfs, tmpfs, devpts, mqueue,
// cgroup) at its destination, as runc's mountToRootfs.
Status mount_filesystem(int root_fd, const oci::Mount& m, const oci::MountOptions& o,
                        bool nested_later, std::vector<LateReadonly>& late) {
  std::string what = "mount " + m.type + " on " + m.destination;
  bool kernel_fs = m.type == "proc" || m.type == "sysfs";
  // procfs and sysfs go exactly where the spec says: runc refuses a
  // destination that is a symlink (or anything but a directory) in the
  // image, which would put the kernel's files elsewhere.
  InRoot at = TRY_CTX(resolve_in_root(root_fd, m.destination, MakeMissing::directory, !kernel_fs), what);
  if (kernel_fs) {
    struct stat st;
    if (::fstatat(at.fd.get(), "", &st, AT_EMPTY_PATH) < 0) return fail_errno(what);
    if (!S_ISDIR(st.st_mode))
      return fail(what + ": filesystem \"" + m.type + "\" must be mounted on ordinary directory");
  }
  what = "mount " + m.type + " on " + described(m.destination, at);
  auto parts = transfer::clean_components(m.destination);
  bool is_dev = parts.size() == 1 && parts[0] == "dev";
  // runc mounts a tmpfs and /dev writable and remounts them read-only at
  // the end, once what goes inside exists; so does runvm with any
  // read-only filesystem that a later mount goes inside.
  bool readonly_late = o.readonly() && (m.type == "tmpfs" || is_dev || nested_later);
  unsigned long flags = readonly_late ? o.flags & ~static_cast<unsigned long>(MS_RDONLY) : o.flags;
  std::string type = m.type == "cgroup" ? "cgroup2" : m.type;
  std::string source = m.source.empty() ? type : m.source;
  if (::mount(source.c_str(), fd_path(at.fd.get()).c_str(), type.c_str(), flags,
              o.data.empty() ? nullptr : o.data.c_str()) < 0)
    return fail_errno(what);
  UniqueFd mnt = TRY(reopen_mounted(at, what));
  if (o.tmpcopyup && m.type == "tmpfs") TRY(copy_tree(at.fd.get(), mnt.get(), what));
  TRY(apply_propagation(mnt.get(), o, what));
  TRY(apply_recursive_attributes(mnt.get(), o, what));
  if (readonly_late) late.push_back({std::move(mnt), o.flags, what});
  return ok();
}

// A bind from a host share: the share is mounted in the agent's namespace
// (share_path), its source is found inside it, and it is bound where the
// destination resolves, then given the spec's flags (a bind-remount, as
// runc: ro, nosuid, ...), propagation and recursive attributes (rro: the
// bind and everything below it read-only).
Status bind_from_host(int root_fd, const BindMount& b, const oci::MountOptions& o) {
  std::string what = "bind mount " + b.destination;
  UniqueFd share = TRY_CTX(io::open_file(share_path(b.share), O_PATH | O_DIRECTORY), what);
  UniqueFd source = TRY_CTX(transfer::open_in_root(share.get(), b.subpath, O_PATH), what + ": its source");
  InRoot at = TRY_CTX(resolve_in_root(root_fd, b.destination,
                                      b.file ? MakeMissing::file : MakeMissing::directory),
                      what);
  what = "bind mount " + described(b.destination, at);
  // rbind, or a mount of type bind without the option (taken as rbind).
  unsigned long rec = o.recursive_bind() || !o.bind() ? MS_REC : 0;
  if (::mount(fd_path(source.get()).c_str(), fd_path(at.fd.get()).c_str(), nullptr, MS_BIND | rec,
              nullptr) < 0)
    return fail_errno(what);
  UniqueFd mnt = TRY(reopen_mounted(at, what));
  TRY(apply_propagation(mnt.get(), o, what));
  unsigned long flags = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (b.readonly && !o.recursive_readonly()) flags |= MS_RDONLY;
  if (flags != 0 && ::mount(nullptr, fd_path(mnt.get()).c_str(), nullptr,
                            flags | MS_BIND | MS_REMOUNT, nullptr) < 0)
    return fail_errno(what + ": remount it with its options");
  TRY(apply_recursive_attributes(mnt.get(), o, what));
  return ok();
}

// runc's default device nodes, made when /dev is a fresh tmpfs. /dev/ptmx
// points into the container's own devpts instance, so a pty opened inside
// the container belongs to it.
Status populate_dev(int root_fd) {
  InRoot dev = TRY_CTX(resolve_in_root(root_fd, "/dev", MakeMissing::nothing), "populate /dev");
  struct Node { const char* name; unsigned major, minor; };
  static const Node kNodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
                                {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  for (const Node& n : kNodes) {
    ::mknodat(dev.fd.get(), n.name, S_IFCHR | 0666, makedev(n.major, n.minor));
    ::fchmodat(dev.fd.get(), n.name, 0666, 0);
  }
  static const std::pair<const char*, const char*> kLinks[] = {
      {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
      {"pts/ptmx", "ptmx"}};
  for (const auto& [target, name] : kLinks) (void)!::symlinkat(target, dev.fd.get(), name);
  return ok();
}

// linux.devices (already limited to portable ones by the host), made in
// the container's tmpfs /dev with the spec's mode and owner.
Status make_devices(int root_fd, const std::vector<oci::Device>& devices) {
  for (const auto& d : devices) {
    std::string what = "make device " + d.path;
    size_t slash = d.path.rfind('/');
    std::string name = d.path.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") return fail(what + ": not a file name");
    InRoot dir = TRY_CTX(resolve_in_root(root_fd, d.path.substr(0, slash), MakeMissing::directory), what);
    mode_t type = d.type == 'p' ? S_IFIFO : d.type == 'b' ? S_IFBLK : S_IFCHR;
    mode_t mode = d.file_mode.value_or(0666);
    ::unlinkat(dir.fd.get(), name.c_str(), 0);  // a default node of the same name is replaced
    if (::mknodat(dir.fd.get(), name.c_str(), type | mode, makedev(d.major, d.minor)) < 0)
      return fail_errno(what);
    if (::fchmodat(dir.fd.get(), name.c_str(), mode, 0) < 0 ||
        ::fchownat(dir.fd.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0), AT_SYMLINK_NOFOLLOW) < 0)
      return fail_errno("set the mode and owner of device " + d.path);
  }
  return ok();
}

// Whether a mount after index i goes inside mounts[i]'s destination.
bool nested_later(const std::vector<oci::Mount>& mounts, size_t i) {
  auto outer = transfer::clean_components(mounts[i].destination);
  auto inside = [&](const std::string& destination) {
    auto inner = transfer::clean_components(destination);
    return inner.size() > outer.size() && std::equal(outer.begin(), outer.end(), inner.begin());
  };
  for (size_t j = i + 1; j < mounts.size(); ++j)
    if (inside(mounts[j].destination)) return true;
  return false;
}

Status set_up_root(const ContainerConfig& config) {
  const std::string& root = config.root;
  // runc's default: nothing mounted here reaches the agent's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0)
    return fail_errno("make mounts slaves");
  // A root inside a share (a container that joined the VM) becomes a mount
  // of its own, which the steps below move and remount as they do the root
  // share's.
  if (config.bind_root && ::mount(root.c_str(), root.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return fail_errno("bind the container's root " + root);
  UniqueFd root_fd = TRY_CTX(io::open_file(root, O_PATH | O_DIRECTORY), "open the container's root");
  std::vector<LateReadonly> late;
  bool dev_is_tmpfs = false;
  size_t next_bind = 0;
  // In the spec's order, as runc: a mount may go inside an earlier one.
  for (size_t i = 0; i < config.mounts.size(); ++i) {
    const oci::Mount& m = config.mounts[i];
    oci::MountOptions o = oci::parse_mount_options(m.options);
    if (oci::is_bind(m)) {
      // The create message pairs them (msg::Create::parse checks it).
      if (next_bind >= config.binds.size()) return fail("bind mount " + m.destination + " has no share");
      TRY(bind_from_host(root_fd.get(), config.binds[next_bind++], o));
      continue;
    }
    if (!guest_can_serve(m))
      return fail("mount " + m.type + " on " + m.destination +
                  ": runvm mounts only proc, sysfs, tmpfs, devpts, mqueue and cgroup in the guest");
    TRY(mount_filesystem(root_fd.get(), m, o, nested_later(config.mounts, i), late));
    if (m.destination == "/dev" && m.type == "tmpfs") dev_is_tmpfs = true;
  }
  if (dev_is_tmpfs) TRY(populate_dev(root_fd.get()));
  if (!config.devices.empty() && !dev_is_tmpfs)
    return fail("linux.devices need /dev to be a tmpfs mount, so that no node is made in the image");
  TRY(make_devices(root_fd.get(), config.devices));
  TRY_CTX(resolve_in_root(root_fd.get(), config.process.cwd, MakeMissing::directory),
          "make the cwd " + config.process.cwd);
  for (const auto& l : late)
    if (::mount(nullptr, fd_path(l.mnt.get()).c_str(), nullptr,
                l.flags | MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) < 0)
      return fail_errno(l.what + ": remount it read-only");
  late.clear();
  root_fd.reset();
  if (config.readonly_root &&
      ::mount(root.c_str(), root.c_str(), nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) < 0)
    return fail_errno("remount the root read-only");
  // The guest's own mounts (its bare /proc above all) leave this namespace
  // before the root is entered (agent/old_root.h).
  TRY(detach_outside(root));
  // switch_root: the initramfs cannot be pivoted away, so the share is moved
  // over / in this mount namespace and entered with chroot.
  if (::chdir(root.c_str()) < 0) return fail_errno("chdir " + root);
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return fail_errno("move root");
  if (::chroot(".") < 0) return fail_errno("chroot");
  // linux.rootfsPropagation on the container's root, now that it is "/"
  // (as runc applies it once the root is entered).
  if (auto flags = oci::root_propagation_flags(config.root_propagation); flags && *flags != 0 &&
      ::mount(nullptr, "/", nullptr, *flags, nullptr) < 0)
    return fail_errno("apply linux.rootfsPropagation " + config.root_propagation + " to the root");
  // As runc, once the root is entered: paths resolve inside it.
  TRY(apply_path_confinement(config.confinement));
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

Status apply_identity(const oci::User& user, bool keep_caps) {
  std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
  if (::setgroups(groups.size(), groups.data()) < 0) return fail_errno("setgroups");
  // With capabilities given, the permitted set must survive the uid change.
  if (keep_caps && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return fail_errno("keep capabilities");
  if (::setresgid(user.gid, user.gid, user.gid) < 0)
    return fail_errno("setgid " + std::to_string(user.gid));
  if (::setresuid(user.uid, user.uid, user.uid) < 0)
    return fail_errno("setuid " + std::to_string(user.uid));
  if (keep_caps && ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return fail_errno("reset keepcaps");
  ::umask(user.umask.value_or(022));
  return ok();
}

// process.oomScoreAdj, written before anything else as runc does (lowering
// it needs CAP_SYS_RESOURCE, which the child still has).
Status apply_oom_score_adj(const oci::Process& process) {
  if (!process.oom_score_adj) return ok();
  UniqueFd fd = TRY(io::open_file("/proc/self/oom_score_adj", O_WRONLY));
  return io::write_all(fd.get(), std::to_string(*process.oom_score_adj)).context("set oom_score_adj");
}

// linux.sysctl, through the guest's /proc before the container's root is
// set up: a /proc/sys file acts on the writer's namespaces (init's new IPC
// and UTS ones, the VM's network), and the container's own /proc may be
// missing or read-only (runc's default readonlyPaths has /proc/sys).
Status apply_sysctls(const std::map<std::string, std::string>& sysctl) {
  for (const auto& [name, value] : sysctl) {
    auto fd = io::open_file(sysctl_path(name), O_WRONLY);
    if (!fd) return fail("linux.sysctl: " + name + ": " + fd.error().describe());
    TRY_CTX(io::write_all(fd->get(), value), "linux.sysctl: write " + name);
  }
  return ok();
}

// As runc's fixStdioPermissions: stdio that is a character device other
// than /dev/null (a terminal) is given to the process's uid, keeping its
// group (tty, 5, from devpts's gid=5).
Status fix_stdio_permissions(const oci::User& user) {
  struct stat null_st{};
  bool have_null = ::stat("/dev/null", &null_st) == 0;
  for (int fd = 0; fd < 3; ++fd) {
    struct stat st;
    if (::fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) continue;
    if (have_null && st.st_rdev == null_st.st_rdev) continue;
    if (st.st_uid == user.uid) continue;
    if (::fchown(fd, user.uid, st.st_gid) < 0) return fail_errno("give the terminal to uid " + std::to_string(user.uid));
  }
  return ok();
}

// Allocates a pty from the devpts of the root we are in, makes its slave our
// controlling terminal and stdio, and hands the master to the agent.
Status set_up_terminal(const ChildPlan& plan) {
  int master = ::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return fail_errno("open /dev/ptmx in the container");
  UniqueFd master_fd(master);
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) < 0) return fail_errno("unlock the pty");
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return fail_errno("open the pty slave");
  UniqueFd slave_fd(slave);
  // As runc: a size of 0 in either dimension leaves the pty's alone.
  if (plan.console_size && plan.console_size->ws_row && plan.console_size->ws_col)
    (void)::ioctl(master, TIOCSWINSZ, &*plan.console_size);
  if (plan.clear_onlcr) {
    termios mode{};
    if (::tcgetattr(slave, &mode) == 0) {
      mode.c_oflag &= ~static_cast<tcflag_t>(ONLCR);
      (void)::tcsetattr(slave, TCSANOW, &mode);
    }
  }
  if (::ioctl(slave, TIOCSCTTY, 0) < 0) return fail_errno("make the pty the controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave, fd) < 0) return fail_errno("dup2 the pty");
  TRY_CTX(io::send_fd(plan.tty_socket, master, "T"), "send the pty master");
  return ok();
}

Status set_up_stdio(const ChildPlan& plan) {
  if (plan.terminal) return set_up_terminal(plan);
  if (::dup2(plan.stdin_fd, 0) < 0 || ::dup2(plan.stdout_fd, 1) < 0 ||
      ::dup2(plan.stderr_fd, 2) < 0)
    return fail_errno("dup2 stdio");
  return ok();
}

// Without no_new_privs, loading a seccomp filter needs CAP_SYS_ADMIN, so
// (as runc) it goes on before the capabilities are dropped; with it, last
// (load_late_seccomp).
Status take_on_process(const oci::Process& process, const SeccompProgram* seccomp) {
  if (seccomp && !process.no_new_privileges) TRY(load_seccomp(*seccomp));
  TRY(apply_rlimits(process.rlimits));
  const auto& caps = process.capabilities;
  if (caps) TRY(drop_bounding_set(*caps));
  TRY(apply_identity(process.user, caps.has_value()));
  if (caps) TRY(apply_capability_sets(*caps));
  if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return fail_errno("set no_new_privs");
  return ok();
}

// The filter of a process with no_new_privs, as close to execve as it can.
Status load_late_seccomp(const ChildPlan& plan) {
  if (plan.seccomp && plan.process->no_new_privileges) TRY(load_seccomp(*plan.seccomp));
  return ok();
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// `exec ... tar ARGS` in an image without a tar of its own (kubectl cp's
// path): the agent's built-in tar runs instead, here, already inside the
// container's root with the process's identity and stdio. Nothing is put
// into the image to provide it.
[[noreturn]] void run_builtin_tar(const ChildPlan& plan) {
  // No exec closes the agent's descriptors here, and among them is the
  // write end of our own stdin: without this, end-of-input never comes.
  // (The report pipe goes too: EOF without a failure is "started".)
  ::close_range(3, ~0U, 0);
  std::_Exit(transfer::run_tar_command(plan.process->args, 0, 1, 2));
}

// A task (runvm cp's transfer) runs here, in the container with its stdio
// and identity, as the built-in tar does. Like it, it must close what the
// agent left open (no exec does), keeping only task_fd, moved to 3.
[[noreturn]] void run_task(const ChildPlan& plan) {
  if (plan.task_fd >= 0 && plan.task_fd != 3 && ::dup2(plan.task_fd, 3) < 0)
    child_fail(plan.report_fd, fail_errno("dup2 the task's descriptor").error);
  ::close_range(plan.task_fd >= 0 ? 4 : 3, ~0U, 0);
  std::_Exit((*plan.task)());
}

// The common tail of every child, inside the container's root: stdio,
// identity, lookup, the wait for release (init), exec.
[[noreturn]] void finish_child(const ChildPlan& plan) {
  const oci::Process& process = *plan.process;
  if (Status s = set_up_stdio(plan); !s) child_fail(plan.report_fd, s.error());
  if (Status s = fix_stdio_permissions(process.user); !s) child_fail(plan.report_fd, s.error());
  // A task is the agent's own code (runvm cp), never given the filter.
  if (Status s = take_on_process(process, plan.task ? nullptr : plan.seccomp); !s)
    child_fail(plan.report_fd, s.error());
  if (plan.task) run_task(plan);
  std::string path = plan.exec_path;
  if (path.empty()) {
    LookPathResult found = look_path(process.args[0], process.env);
    if (found.path.empty() && process.args[0] == "tar" && plan.release_fd < 0) {
      // In place of the image's tar, and confined as that would be.
      if (Status s = load_late_seccomp(plan); !s) child_fail(plan.report_fd, s.error());
      run_builtin_tar(plan);
    }
    if (found.path.empty()) child_fail(plan.report_fd, found.exit_code, found.message);
    path = found.path;
  }
  auto argv = c_strings(process.args);
  auto envp = c_strings(process.env);
  if (plan.release_fd >= 0) {
    std::string ready = report_ready();
    (void)!::write(plan.report_fd, ready.data(), ready.size());
    char go = 0;
    ssize_t n;
    while ((n = ::read(plan.release_fd, &go, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) ::_exit(1);  // the agent aborted the start
    if (Status s = load_late_seccomp(plan); !s) {
      // The agent reads no more reports: the user reads it on stderr.
      std::string line = s.error().describe() + "\n";
      (void)!::write(2, line.data(), line.size());
      ::_exit(1);
    }
    ::execve(path.c_str(), argv.data(), envp.data());
    // The agent stopped reading the report at "ready": the user reads this
    // on the process's stderr (or terminal).
    LookPathResult failed = exec_failure(path, errno);
    std::string line = failed.message + "\n";
    (void)!::write(2, line.data(), line.size());
    ::_exit(failed.exit_code);
  }
  if (Status s = load_late_seccomp(plan); !s) child_fail(plan.report_fd, s.error());
  ::execve(path.c_str(), argv.data(), envp.data());
  LookPathResult failed = exec_failure(path, errno);
  child_fail(plan.report_fd, failed.exit_code, failed.message);
}

[[noreturn]] void run_init_child(const ContainerConfig& config, const ChildPlan& plan) {
  if (Status s = apply_oom_score_adj(config.process); !s) child_fail(plan.report_fd, s.error());
  // The IPC and UTS namespaces of the container it joins (a pod's), before
  // the hostname or a sysctl is set in them.
  if (config.join_ipc_fd >= 0 && ::setns(config.join_ipc_fd, CLONE_NEWIPC) < 0)
    child_fail(plan.report_fd, fail_errno("join the IPC namespace of the container it shares it with").error);
  if (config.join_uts_fd >= 0 && ::setns(config.join_uts_fd, CLONE_NEWUTS) < 0)
    child_fail(plan.report_fd, fail_errno("join the UTS namespace of the container it shares it with").error);
  if (!join_cgroup(plan.cgroup_fd)) child_fail(plan.report_fd, fail_errno("join the container cgroup").error);
  // A cgroup namespace rooted at the container's cgroup, as Docker and podman
  // give on a cgroup v2 host: /sys/fs/cgroup shows the container's own
  // limits (memory.max, cpu.max) and /proc/self/cgroup reads "0::/".
  if (::unshare(CLONE_NEWCGROUP) < 0)
    child_fail(plan.report_fd, fail_errno("unshare the cgroup namespace").error);
  ::setsid();
  reset_signals();
  if (!config.hostname.empty() &&
      ::sethostname(config.hostname.data(), config.hostname.size()) < 0)
    child_fail(plan.report_fd, fail_errno("sethostname " + config.hostname).error);
  if (!config.domainname.empty() &&
      ::setdomainname(config.domainname.data(), config.domainname.size()) < 0)
    child_fail(plan.report_fd, fail_errno("setdomainname " + config.domainname).error);
  if (Status s = apply_sysctls(config.sysctl); !s) child_fail(plan.report_fd, s.error());
  if (Status s = set_up_root(config); !s) child_fail(plan.report_fd, s.error());
  finish_child(plan);
}

Result<UniqueFd> open_proc(pid_t pid, const std::string& what, int flags) {
  return io::open_file("/proc/" + std::to_string(pid) + "/" + what, flags);
}

// The intermediate child of an exec: joins init's namespaces, then forks the
// process proper as a sibling (CLONE_PARENT) so that the agent reaps it; a
// child forked after setns(pid) is inside the container's PID namespace.
[[noreturn]] void run_exec_child(pid_t init_pid, const ChildPlan& plan) {
  // Through the guest's /proc, before the container's namespaces; the
  // process forked below inherits it.
  if (Status s = apply_oom_score_adj(*plan.process); !s) child_fail(plan.report_fd, s.error());
  if (!join_cgroup(plan.cgroup_fd)) child_fail(plan.report_fd, fail_errno("join the container cgroup").error);
  // The root must be opened before setns(mnt): that resets our root to the
  // namespace's, which is the initramfs, not the container's.
  auto root = open_proc(init_pid, "root", O_RDONLY | O_DIRECTORY);
  if (!root) child_fail(plan.report_fd, root.error());
  static const std::pair<const char*, int> kNamespaces[] = {
      {"ns/ipc", CLONE_NEWIPC}, {"ns/uts", CLONE_NEWUTS}, {"ns/cgroup", CLONE_NEWCGROUP},
      {"ns/pid", CLONE_NEWPID}, {"ns/mnt", CLONE_NEWNS}};
  std::vector<UniqueFd> ns_fds;
  for (const auto& [name, type] : kNamespaces) {
    auto fd = open_proc(init_pid, name, O_RDONLY);
    if (!fd) child_fail(plan.report_fd, fd.error());
    ns_fds.push_back(std::move(*fd));
  }
  for (size_t i = 0; i < ns_fds.size(); ++i)
    if (::setns(ns_fds[i].get(), kNamespaces[i].second) < 0)
      child_fail(plan.report_fd,
                 fail_errno(std::string("join the container's ") + kNamespaces[i].first).error);
  long pid = ::syscall(SYS_clone, CLONE_PARENT, 0, 0, 0, 0);
  if (pid < 0) child_fail(plan.report_fd, fail_errno("fork into the container").error);
  if (pid > 0) {
    std::string text = report_pid(static_cast<pid_t>(pid));
    (void)!::write(plan.report_fd, text.data(), text.size());
    ::_exit(0);
  }
  ::setsid();
  reset_signals();
  if (::fchdir(root->get()) < 0 || ::chroot(".") < 0)
    child_fail(plan.report_fd, fail_errno("enter the container's root").error);
  root->reset();
  ns_fds.clear();
  if (::chdir(plan.process->cwd.c_str()) < 0)
    child_fail(plan.report_fd, fail_errno("chdir to cwd " + plan.process->cwd).error);
  finish_child(plan);
}

// ---------------------------------------------------------------------------
// Agent side.

// The child's stdio, both ends.
struct StdioPair {
  ParentStdio parent;
  UniqueFd child_in, child_out, child_err, child_tty_socket;
  UniqueFd parent_tty_socket;
};

Result<StdioPair> make_stdio(bool terminal) {
  StdioPair p;
  if (terminal) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
      return fail_errno("socketpair for the pty");
    p.parent_tty_socket.reset(sv[0]);
    p.child_tty_socket.reset(sv[1]);
    return p;
  }
  auto [in_r, in_w] = TRY(io::make_pipe());
  auto [out_r, out_w] = TRY(io::make_pipe());
  auto [err_r, err_w] = TRY(io::make_pipe());
  p.parent.stdin_write = std::move(in_w);
  p.parent.stdout_read = std::move(out_r);
  p.parent.stderr_read = std::move(err_r);
  p.child_in = std::move(in_r);
  p.child_out = std::move(out_w);
  p.child_err = std::move(err_w);
  return p;
}

void fill_plan(ChildPlan& plan, const StdioPair& stdio, bool terminal) {
  plan.terminal = terminal;
  plan.stdin_fd = stdio.child_in.get();
  plan.stdout_fd = stdio.child_out.get();
  plan.stderr_fd = stdio.child_err.get();
  plan.tty_socket = stdio.child_tty_socket.get();
}

// Reads the report until `done` says it is enough, EOF, or the deadline.
std::string read_report(int fd, bool (*done)(std::string_view), bool& timed_out) {
  std::string report;
  auto deadline = Clock::now() + kSetupTimeout;
  timed_out = false;
  for (;;) {
    if (done(report)) return report;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      return report;
    }
    pollfd p = {fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno != EINTR) return report;
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return report;
    report.append(buf, static_cast<size_t>(n));
  }
}

// Kills and reaps, bounded: a child stuck in the kernel (a virtio-fs
// request the host never answers is not interrupted even by SIGKILL) must
// not stop the agent from answering the host. One still there after the
// bound is left to the SIGCHLD reaper, which drops pids it does not track.
constexpr auto kReapBound = std::chrono::seconds(5);

void reap_bounded(pid_t pid, int* wstatus = nullptr) {
  auto deadline = Clock::now() + kReapBound;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) {
      if (wstatus) *wstatus = status;
      return;
    }
    if (Clock::now() >= deadline) break;
    ::usleep(10 * 1000);
  }
  if (wstatus) *wstatus = W_EXITCODE(0, SIGKILL);
  log::warn("process " + std::to_string(pid) + " did not go within " +
            std::to_string(kReapBound.count()) + " s of SIGKILL; left to the reaper");
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  reap_bounded(pid);
}

Failure setup_failed(StartFailure& failure, const ChildReport& report, bool timed_out,
                     const char* what) {
  if (report.failure) failure = *report.failure;
  else if (timed_out) failure = {std::string(what) + ": the process did not finish setting up", 1};
  else failure = {std::string(what) + ": the process exited during setup", 1};
  return fail(failure.message);
}

// Forks a child joining init's container, for an exec or a hook. Returns the
// process's pid and the agent's stdio ends.
Result<SpawnedProcess> spawn_in_container(const ContainerHandle& container, ChildPlan plan, StdioPair stdio,
                                          StartFailure& failure, const std::string& sub_cgroup = "") {
  auto [report_r, report_w] = TRY(io::make_pipe());
  pid_t init_pid = container.init_pid;
  static const GuestCgroup kNone;
  auto opened = (container.cgroup ? *container.cgroup : kNone).open_sub_procs(sub_cgroup);
  if (!opened) {
    failure = {"exec --cgroup: " + opened.error().describe(), 1};
    return std::move(opened).error();
  }
  UniqueFd cgroup = std::move(*opened);
  plan.report_fd = report_w.get();
  plan.cgroup_fd = cgroup.get();
  long helper = ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (helper < 0) return fail_errno("fork for exec");
  if (helper == 0) run_exec_child(init_pid, plan);
  report_w.reset();
  stdio.child_in.reset();
  stdio.child_out.reset();
  stdio.child_err.reset();
  stdio.child_tty_socket.reset();
  bool timed_out = false;
  // Complete at EOF: the helper exits, the process closes it by exec.
  std::string text = read_report(report_r.get(), [](std::string_view) { return false; }, timed_out);
  ChildReport report = parse_child_report(text);
  if (timed_out) ::kill(static_cast<pid_t>(helper), SIGKILL);
  reap_bounded(static_cast<pid_t>(helper));
  if (report.failure || timed_out || !report.pid) {
    if (report.pid) kill_and_reap(*report.pid);
    return setup_failed(failure, report, timed_out, "exec");
  }
  SpawnedProcess spawned;
  spawned.pid = *report.pid;
  spawned.stdio = std::move(stdio.parent);
  if (plan.terminal) {
    auto master = io::receive_fd(stdio.parent_tty_socket.get());
    if (!master) {
      kill_and_reap(spawned.pid);
      failure = {"receive the pty master: " + master.error().describe(), 1};
      return std::move(master).error();
    }
    spawned.stdio.tty_master = std::move(*master);
  }
  return spawned;
}

// Go's (*exec.ExitError).Error() for a wait status.
std::string go_exit_error(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGKILL) return "signal: killed";
    return std::string("signal: ") + ::strsignal(sig);
  }
  return "exit status " + std::to_string(WEXITSTATUS(status));
}

// Reads whatever is available on fd into out, up to a cap; false at EOF.
bool drain_into(int fd, std::string& out) {
  constexpr size_t kCap = 64 * 1024;  // hook output kept for the message
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) return false;
  if (out.size() < kCap) out.append(buf, std::min(static_cast<size_t>(n), kCap - out.size()));
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------
// Reports.

std::string sysctl_path(const std::string& name) {
  std::string path = "/proc/sys/" + name;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return path;
}

std::string report_pid(pid_t pid) { return "P" + std::to_string(pid) + "\n"; }
std::string report_ready() { return "R"; }
std::string report_failure(int exit_code, const std::string& message) {
  return "F" + std::to_string(exit_code) + " " + std::to_string(message.size()) + "\n" + message;
}

ChildReport parse_child_report(std::string_view text) {
  ChildReport report;
  auto number = [](std::string_view s, auto& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
  };
  while (!text.empty()) {
    char kind = text[0];
    if (kind == 'R') {
      report.ready = true;
      text.remove_prefix(1);
      continue;
    }
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) break;  // record not complete yet
    std::string_view head = text.substr(1, nl - 1);
    if (kind == 'P') {
      pid_t pid;
      if (!number(head, pid)) break;
      report.pid = pid;
      text.remove_prefix(nl + 1);
    } else if (kind == 'F') {
      size_t space = head.find(' ');
      int code;
      size_t length;
      if (space == std::string_view::npos || !number(head.substr(0, space), code) ||
          !number(head.substr(space + 1), length))
        break;
      if (text.size() - nl - 1 < length) break;
      report.failure = StartFailure{std::string(text.substr(nl + 1, length)), code};
      text.remove_prefix(nl + 1 + length);
    } else {
      break;  // not ours: treated as no report
    }
  }
  report.complete = report.ready || report.failure.has_value();
  return report;
}

Result<PreparedInit> prepare_init(const ContainerConfig& config, StartFailure& failure) {
  StdioPair stdio = TRY(make_stdio(config.process.terminal));
  auto [report_r, report_w] = TRY(io::make_pipe());
  auto [release_r, release_w] = TRY(io::make_pipe());
  UniqueFd cgroup = config.cgroup ? config.cgroup->open_procs() : UniqueFd();
  ChildPlan plan;
  plan.process = &config.process;
  plan.console_size = config.console_size;
  plan.clear_onlcr = config.clear_onlcr;
  fill_plan(plan, stdio, config.process.terminal);
  plan.report_fd = report_w.get();
  plan.release_fd = release_r.get();
  plan.cgroup_fd = cgroup.get();
  plan.seccomp = config.confinement.filter();

  // A raw clone: fork's semantics plus new namespaces, so the process is
  // PID 1 of its own PID namespace as under runc. The agent is single
  // threaded, so this is safe.
  // A container that shares another's PID namespace is cloned into it: the
  // agent's children are made there for the moment of the clone.
  unsigned long flags = CLONE_NEWNS | SIGCHLD;
  if (config.join_pid_fd < 0) flags |= CLONE_NEWPID;
  if (config.join_ipc_fd < 0) flags |= CLONE_NEWIPC;
  if (config.join_uts_fd < 0) flags |= CLONE_NEWUTS;
  UniqueFd own_pid_ns;
  if (config.join_pid_fd >= 0) {
    own_pid_ns = TRY_CTX(io::open_file("/proc/self/ns/pid", O_RDONLY), "open the agent's PID namespace");
    if (::setns(config.join_pid_fd, CLONE_NEWPID) < 0) {
      failure = {"join the PID namespace of the container it shares it with: " + std::string(std::strerror(errno)), 1};
      return fail(failure.message);
    }
  }
  long pid = ::syscall(SYS_clone, flags, 0, 0, 0, 0);
  int clone_errno = errno;
  if (pid == 0) run_init_child(config, plan);
  if (own_pid_ns && ::setns(own_pid_ns.get(), CLONE_NEWPID) < 0)
    log::error("return to the agent's PID namespace: " + std::string(std::strerror(errno)));
  if (pid < 0) {
    failure = {"clone the container process: " + std::string(std::strerror(clone_errno)), 1};
    return fail(failure.message);
  }

  report_w.reset();
  release_r.reset();
  stdio.child_in.reset();
  stdio.child_out.reset();
  stdio.child_err.reset();
  stdio.child_tty_socket.reset();
  bool timed_out = false;
  std::string text = read_report(
      report_r.get(), [](std::string_view t) { return parse_child_report(t).complete; },
      timed_out);
  ChildReport report = parse_child_report(text);
  if (!report.ready || report.failure) {
    kill_and_reap(static_cast<pid_t>(pid));
    return setup_failed(failure, report, timed_out, "create");
  }
  PreparedInit init;
  init.pid = static_cast<pid_t>(pid);
  init.stdio = std::move(stdio.parent);
  init.release = std::move(release_w);
  init.exec_watch = std::move(report_r);
  if (config.process.terminal) {
    auto master = io::receive_fd(stdio.parent_tty_socket.get());
    if (!master) {
      kill_and_reap(init.pid);
      failure = {"receive the pty master: " + master.error().describe(), 1};
      return std::move(master).error();
    }
    init.stdio.tty_master = std::move(*master);
  }
  return init;
}

Status release_init(UniqueFd& release) {
  if (!release) return fail("the process was already released");
  Status s = io::write_all(release.get(), "G");
  release.reset();
  return s;
}

bool wait_for_exec(UniqueFd& exec_watch, int limit_ms) {
  if (!exec_watch) return true;
  auto deadline = Clock::now() + std::chrono::milliseconds(limit_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p = {exec_watch.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[256];
    ssize_t n = ::read(exec_watch.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      exec_watch.reset();
      return true;
    }
  }
  exec_watch.reset();
  return false;
}

Result<SpawnedProcess> spawn_exec(const ContainerHandle& container, const oci::Process& process,
                                  std::optional<winsize> console_size, StartFailure& failure,
                                  const SeccompProgram* seccomp, const std::string& sub_cgroup,
                                  bool clear_onlcr) {
  StdioPair stdio = TRY(make_stdio(process.terminal));
  ChildPlan plan;
  plan.process = &process;
  plan.console_size = console_size;
  plan.clear_onlcr = clear_onlcr;
  plan.seccomp = seccomp;
  fill_plan(plan, stdio, process.terminal);
  return spawn_in_container(container, plan, std::move(stdio), failure, sub_cgroup);
}

Result<SpawnedProcess> spawn_task(const ContainerHandle& container, const ContainerTask& task, int task_fd,
                                  StartFailure& failure) {
  oci::Process root;  // uid 0, gid 0, every capability: the agent's own reach
  root.args = {"runvm-task"};
  StdioPair stdio = TRY(make_stdio(false));
  ChildPlan plan;
  plan.process = &root;
  plan.task = &task;
  plan.task_fd = task_fd;
  fill_plan(plan, stdio, false);
  return spawn_in_container(container, plan, std::move(stdio), failure);
}

std::optional<std::string> run_hook(const ContainerHandle& container, const oci::Hook& hook,
                                    const std::string& state, const SeccompProgram* seccomp) {
  oci::Process process;
  process.args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  process.env = hook.env;
  process.cwd = "/";
  ChildPlan plan;
  plan.process = &process;
  plan.exec_path = hook.path;
  plan.seccomp = seccomp;
  auto stdio = make_stdio(false);
  if (!stdio) return "error running hook: " + stdio.error().describe();
  fill_plan(plan, *stdio, false);
  StartFailure failure;
  auto spawned = spawn_in_container(container, plan, std::move(*stdio), failure);
  if (!spawned) {
    // What Go's cmd.Start says when the exec fails: "fork/exec PATH: ...".
    constexpr std::string_view kExec = "exec ";
    std::string message = failure.message;
    if (message.starts_with(kExec)) return "fork/exec " + message.substr(kExec.size());
    return message;
  }
  pid_t pid = spawned->pid;
  ParentStdio& io_ends = spawned->stdio;
  for (int fd : {io_ends.stdin_write.get(), io_ends.stdout_read.get(), io_ends.stderr_read.get()})
    (void)io::set_nonblocking(fd);

  std::string out, err;
  size_t state_written = 0;
  std::optional<int> status;
  // No timeout: wait as long as it takes, as runc does.
  bool has_deadline = hook.timeout.has_value();
  auto deadline = Clock::now() + std::chrono::seconds(hook.timeout.value_or(0));
  bool timed_out = false;
  // Until the hook has exited and its output is at EOF. After the exit, a
  // pipe still held by something the hook left behind is cut once idle.
  while (!status || io_ends.stdout_read || io_ends.stderr_read) {
    if (state_written >= state.size()) io_ends.stdin_write.reset();
    pollfd fds[3] = {{io_ends.stdin_write.get(), POLLOUT, 0},
                     {io_ends.stdout_read.get(), POLLIN, 0},
                     {io_ends.stderr_read.get(), POLLIN, 0}};
    int r = ::poll(fds, 3, status ? 0 : 10);
    if (status && r == 0) break;
    if (fds[0].revents) {
      ssize_t n = ::write(fds[0].fd, state.data() + state_written, state.size() - state_written);
      if (n > 0) state_written += static_cast<size_t>(n);
      else if (errno != EAGAIN && errno != EINTR) state_written = state.size();
    }
    if (fds[1].revents && !drain_into(fds[1].fd, out)) io_ends.stdout_read.reset();
    if (fds[2].revents && !drain_into(fds[2].fd, err)) io_ends.stderr_read.reset();
    int wstatus;
    if (!status && ::waitpid(pid, &wstatus, WNOHANG) == pid) status = wstatus;
    if (!status && has_deadline && Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      reap_bounded(pid, &wstatus);
      status = wstatus;
      timed_out = true;
    }
  }
  if (timed_out) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(*hook.timeout));
    return std::string("hook ran past specified timeout of ") + seconds + "s";
  }
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return std::nullopt;
  return "error running hook: " + go_exit_error(*status) + ", stdout: " + out + ", stderr: " + err;
}

}  // namespace runvm::agent
