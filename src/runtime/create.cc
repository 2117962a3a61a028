#include "runtime/create.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <map>
#include <set>
#include <cstdlib>
#include <thread>

#include "common/io.h"
#include "common/json_bytes.h"
#include "common/log.h"
#include "common/scope_guard.h"
#include "host/child_process.h"
#include "host/proc.h"
#include "host/state_dir.h"
#include "oci/mount_options.h"
#include "oci/spec.h"
#include "runtime/console.h"
#include "runtime/hooks.h"
#include "runtime/lifecycle.h"
#include "runtime/monitor.h"
#include "runtime/mount_points.h"
#include "runtime/placement.h"
#include "runtime/network.h"
#include "runtime/pod.h"
#include "runtime/pod_member.h"
#include "vm/tsc.h"

namespace runvm::runtime {
namespace {

using nlohmann::json;

Result<std::string> bundle_rootfs(const std::string& bundle, const oci::Spec& spec) {
  std::string path = spec.root.path[0] == '/' ? spec.root.path : bundle + "/" + spec.root.path;
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return fail("root.path: rootfs " + path + " does not exist");
  if (!S_ISDIR(st.st_mode)) return fail("root.path: rootfs " + path + " is not a directory");
  // The rootfs is shared with the VM (and written to): the host's own root
  // would give the container the whole host.
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) && std::string(resolved) == "/")
    return fail("root.path: rootfs " + path + " is the host's root directory; runvm shares the rootfs with the "
                "container's VM, so it must be a directory of the container's own");
  return path;
}

// The canonical path when it exists (state shows /b, not /b/.), else as given
// made absolute.
std::string absolute(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved)) return resolved;
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  return std::string(::getcwd(cwd, sizeof cwd) ? cwd : ".") + "/" + path;
}

// Extra guest kernel arguments: the TSC rate under TCG (see vm/tsc.h), then
// RUNVM_KERNEL_ARGS for debugging (e.g. "loglevel=7" to see the boot).
std::string guest_kernel_args(vm::Accel accel) {
  std::string args;
  if (accel == vm::Accel::tcg) {
    if (auto khz = vm::measure_host_tsc_khz()) args = "tsc_early_khz=" + std::to_string(*khz);
  }
  if (const char* extra = std::getenv("RUNVM_KERNEL_ARGS"); extra && *extra)
    args += (args.empty() ? "" : " ") + std::string(extra);
  return args;
}

// Bind mounts come from the host through extra virtio-fs shares, one per
// host directory and access: a directory is shared itself, a file through
// its parent (virtio-fs shares directories), and the agent binds the file
// from there. A read-only bind's share is read-only on the host too, so a
// directory bound both `ro` and read-write is shared twice. The shares only
// reach the agent's own mount namespace; the container sees just what it
// binds. `planned` gets every mount as the agent will mount it.
Status plan_binds(const std::string& bundle, const oci::Spec& spec, MonitorConfig& c,
                  std::vector<PlannedMount>& planned) {
  std::map<std::pair<std::string, bool>, std::string> tag_of;  // (host directory, ro) -> tag
  for (const auto& m : spec.mounts) {
    if (!oci::is_bind(m)) {
      // The VM has a kernel of its own: its filesystems are mounted in the
      // guest; one with a host source (overlay, a block device) cannot be.
      static const std::set<std::string> kGuestTypes = {"proc",   "sysfs",  "tmpfs",  "devpts",
                                                        "mqueue", "cgroup", "cgroup2"};
      if (!kGuestTypes.contains(m.type))
        return fail("mounts: " + m.destination + " of type " + m.type +
                    ": runvm mounts only proc, sysfs, tmpfs, devpts, mqueue, cgroup and binds");
      planned.push_back({m.destination, false, false});
      continue;
    }
    std::string given = m.source.empty() || m.source[0] == '/' ? m.source : bundle + "/" + m.source;
    struct stat st;
    if (given.empty() || ::stat(given.c_str(), &st) < 0)
      return fail("mounts: the source of " + m.destination + ", " + given + ", does not exist");
    // As the host's mount(2) would follow it: a source that is a symlink
    // (or under one) is shared as what it names, never as a link for the
    // guest to follow in its own tree.
    std::string source = absolute(given);
    bool dir = S_ISDIR(st.st_mode);
    std::string host_dir = dir ? source : source.substr(0, source.rfind('/'));
    if (host_dir.empty()) host_dir = "/";
    // rro (runc's recursive read-only) too: the host's read-only share
    // always covers what is mounted below the directory.
    oci::MountOptions options = oci::parse_mount_options(m.options);
    bool readonly = options.readonly() || options.recursive_readonly();
    auto [it, added] = tag_of.try_emplace({host_dir, readonly}, "m" + std::to_string(tag_of.size()));
    if (added) c.vm.shares.push_back({it->second, host_dir, readonly});
    c.binds.push_back({m.destination, it->second, dir ? "" : source.substr(source.rfind('/') + 1), readonly, !dir});
    planned.push_back({m.destination, true, !dir});
  }
  return ok();
}

// The character devices every Linux kernel has, which mean the same in the
// guest as on the host: null, zero, full, random, urandom, tty, console,
// ptmx, net/tun and fuse.
bool is_portable_device(const oci::Device& d) {
  static const std::set<std::pair<int64_t, int64_t>> kPortable = {
      {1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {10, 200}, {10, 229}};
  return d.type == 'p' || (d.type == 'c' && kPortable.contains({d.major, d.minor}));
}

// linux.devices: the VM has its own devices, so a host device node would
// name a different (or no) device in the guest. Portable ones are made in
// the guest's /dev; any other is refused, except for a privileged
// container (every device allowed), whose host device list is skipped as
// containerd's privileged_without_host_devices does.
Status plan_devices(const oci::Spec& spec, MonitorConfig& c) {
  for (const auto& d : spec.devices) {
    std::string what = d.path + " (" + std::string(1, d.type) + " " + std::to_string(d.major) + ":" +
                       std::to_string(d.minor) + ")";
    if (!d.path.starts_with("/dev/") || d.path.find("/../") != std::string::npos)
      return fail("linux.devices: " + d.path + ": runvm makes device nodes only under /dev");
    if (!is_portable_device(d)) {
      if (spec.resources.allows_all_devices) {
        log::debug("privileged container: host device " + what + " is not passed into the VM");
        continue;
      }
      return fail("linux.devices: " + what +
                  " is a host device, and the container runs in a VM with devices of its own; "
                  "runvm passes in only null, zero, full, random, urandom, tty, console, ptmx, "
                  "net/tun and fuse (drop --device " + d.path + ")");
    }
    c.devices.push_back(d);
  }
  return ok();
}

// What runc ignores on cgroup v2, runvm too (the guest is v2), saying so in
// the log when it asks for something.
void warn_ignored_resources(const oci::Resources& r) {
  if (r.memory_swappiness)
    log::warn("linux.resources.memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness (runc "
              "ignores it too)");
  if (r.disable_oom_killer)
    log::warn("linux.resources.memory.disableOOMKiller is ignored: cgroup v2 cannot disable the OOM killer "
              "(runc ignores it too); oomScoreAdj -1000 protects a process instead");
}

// Everything checked and resolved before any state exists, so bad input
// leaves nothing behind.
Result<MonitorConfig> prepare(const CreateOptions& o) {
  MonitorConfig c;
  std::string bundle = absolute(o.bundle);
  c.spec = TRY(oci::load_bundle_spec(bundle));
  TRY(host::validate_container_id(o.id));
  if (c.spec.process.terminal && o.console_socket.empty() && o.detach)
    return fail("cannot allocate tty if runvm will detach without setting console socket");
  if (!c.spec.process.terminal && !o.console_socket.empty())
    return fail("cannot use console socket if runvm will not detach or allocate tty");
  c.vm.rootfs = TRY(bundle_rootfs(bundle, c.spec));
  std::vector<PlannedMount> planned;
  TRY(plan_binds(bundle, c.spec, c, planned));
  TRY(plan_devices(c.spec, c));
  GuestArtifacts guest = TRY(locate_guest_artifacts(o.artifacts));
  c.qemu = TRY(vm::find_qemu());
  // A read-only root is read-only on the host (its virtiofsd sees a
  // read-only bind), so the agent cannot make mount points in it: they are
  // made here, as runc makes them before it remounts the root read-only.
  c.vm.rootfs_readonly = c.spec.root.readonly;
  if (c.spec.root.readonly)
    TRY(make_mount_points(c.vm.rootfs, mount_points_in_rootfs(planned, c.spec.process.cwd)));
  vm::AccelDecision accel = TRY(vm::decide_accel(o.accel, vm::probe_host()));
  log::info("accelerator: " + std::string(vm::accel_name(accel.accel)) + " (" + accel.reason + ")");
  TRY(check_vm_memory(c.spec.resources, o.size, host_memory_mib()));
  // The first container of a pod sizes the VM for the whole pod: later
  // ones cannot make it bigger (plan_member).
  PodSize pod = TRY(pod_size(c.spec.annotations));
  VmSize size = size_vm(c.spec.resources, o.size, std::thread::hardware_concurrency(), pod);
  TRY(check_cpuset(c.spec.resources.cpuset_cpus, size.vcpus, "linux.resources.cpu.cpus"));
  warn_ignored_resources(c.spec.resources);
  c.vm.kernel = guest.kernel;
  c.vm.initramfs = guest.initramfs;
  c.vm.accel = accel.accel;
  c.vm.vcpus = size.vcpus;
  c.vm.memory_mib = size.memory_mib;
  c.vm.kernel_args = guest_kernel_args(accel.accel);
  c.boot_timeout = o.boot_timeout;
  ContainerState& s = c.state;
  s.oci_version = c.spec.oci_version;
  s.id = o.id;
  s.bundle = bundle;
  s.rootfs = c.vm.rootfs;
  s.root_readonly = c.spec.root.readonly;
  s.created = rfc3339_now();
  for (const auto& [k, v] : c.spec.annotations) s.annotations[k] = v;
  s.hooks = {{"poststart", hooks_to_json(c.spec.hooks.poststart)},
             {"poststop", hooks_to_json(c.spec.hooks.poststop)}};
  s.status = "creating";
  s.vm_vcpus = size.vcpus;
  s.vm_memory_mib = size.memory_mib;
  return c;
}

// The container's terminal on the host: a new pty whose master goes to the
// console socket, or (foreground run) the caller's own terminal.
struct HostTerminal {
  Pty pty;
  UniqueFd console;  // /dev/tty, when none of our stdio is a terminal
  std::optional<RawMode> raw;
};

Result<HostTerminal> host_terminal(const CreateOptions& o, HostStdio& io, bool& follows_winch) {
  HostTerminal t;
  if (!o.console_socket.empty()) {
    t.pty = TRY(open_pty());
    t.raw.emplace(TRY(RawMode::enable(t.pty.slave.get())));
    TRY(send_console(o.console_socket, t.pty.master.get()));
    t.pty.master.reset();
    // A session leader whose terminal this is gets SIGWINCH on a resize.
    if (::ioctl(t.pty.slave.get(), TIOCSCTTY, 0) == 0) follows_winch = true;
    io.tty = t.pty.slave.get();
    return t;
  }
  // As runc's run: a pty in the container relayed to our stdin and stdout,
  // the host console (whichever of our stdio is a terminal, or the
  // controlling one) raw but still turning LF into CRLF, the container's
  // pty without ONLCR; no terminal at all fails as runc's does.
  int console = TRY(host_console(t.console));
  t.raw.emplace(TRY(RawMode::enable(console, true)));
  io.tty = console;
  io.in = 0;
  io.out = 1;
  io.no_onlcr = true;
  follows_winch = true;
  return t;
}

Status write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return ok();
  return io::write_file_atomic(absolute(path), std::to_string(pid), 0644);
}

// The part shared by the forked and the in-process monitor: record the
// monitor as the container's process, run the runtime-side hooks, set up
// the terminal and boot. On failure `exit_code` says what run exits with.
struct Running {
  std::unique_ptr<Monitor> monitor;
  std::optional<HostTerminal> terminal;
};

// This process's cgroup (the unified one, else the first listed), which a
// relative cgroupsPath hangs below.
std::string own_cgroup() {
  auto text = io::read_file("/proc/self/cgroup");
  if (!text) return "/";
  std::string first;
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    std::string line = text->substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    std::string path = line.substr(line.find(':', line.find(':') + 1) + 1);
    if (line.starts_with("0::")) return path;
    if (first.empty()) first = path;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return first.empty() ? "/" : first;
}

// The container's host cgroup, checked as runc checks it before anything is
// made (in the process that runs the command, so its warning reaches the
// caller): no cgroupsPath is a cgroup of its own, as runc's.
Result<std::string> container_cgroup(const oci::Spec& spec, const std::string& id, bool systemd) {
  if (spec.cgroups_path.empty()) {
    std::string path = default_cgroup_path(id, systemd);
    TRY(check_cgroup_before_join(path));
    return path;
  }
  std::string path = cgroup_relative_path(spec.cgroups_path, systemd, own_cgroup());
  // "/", "." or "a/..": cleaned, they name no cgroup of the container's own;
  // limiting and later removing it would act on the tree's root or on our
  // caller's cgroup.
  if (path == "/" || path == confine_cgroup_path(own_cgroup()))
    return fail("linux.cgroupsPath: " + spec.cgroups_path +
                " names the cgroup tree's root or runvm's own cgroup, not one for the container");
  TRY(check_cgroup_before_join(path));
  return path;
}

Result<Running> bring_up(const CreateOptions& o, MonitorConfig c, int& exit_code) {
  Running r;
  // The cgroup was recorded (create_container) before it is made, so that
  // delete removes it whatever happens next.
  TRY(join_cgroup(c.state.cgroup));
  // The container's memory limit sized the VM; the cgroup holds the whole
  // VM, so its limit is that plus an allowance (docs/ARCHITECTURE.md).
  if (c.spec.resources.memory_limit && *c.spec.resources.memory_limit > 0)
    TRY(limit_cgroup_memory(c.state.cgroup, host_memory_limit_bytes(c.vm.memory_mib)));
  // CPU and block I/O: the VM's vCPUs and its file I/O are the container's.
  TRY(apply_host_resources(c.state.cgroup, c.spec.resources));
  NetnsId callers_netns = current_netns();
  TRY(enter_namespaces(c.spec.namespaces));
  c.state.pid = ::getpid();
  c.state.pid_start = host::read_proc_stat(c.state.pid).value_or(host::ProcStat{}).starttime;
  TRY(save_state(c.state_dir, c.state));
  json hook_state = state_for_hooks(c.state, "creating");
  TRY(run_hooks(c.spec.hooks.create_runtime, hook_state));
  TRY(run_hooks(c.spec.hooks.prestart, hook_state));
  TRY(run_hooks(c.spec.hooks.create_container, hook_state));
  // After the hooks: Docker's prestart hook is what configures the netns.
  c.network = TRY(wire_network(c.spec, callers_netns));
  c.vm.nics = c.network.nics();
  c.state.netns_path = netns_path_of(c.spec);
  c.state.redirected_links = c.network.redirected_links();
  TRY(save_state(c.state_dir, c.state));
  if (c.spec.process.terminal) {
    r.terminal.emplace(TRY(host_terminal(o, c.init_io, c.init_tty_follows_winch)));
  } else {
    c.init_io.in = 0;
    c.init_io.out = 1;
    c.init_io.err = 2;
  }
  ContainerState state = c.state;
  exit_code = 1;
  r.monitor = TRY(Monitor::create(std::move(c), exit_code));
  if (o.start) {
    TRY(r.monitor->start());
    state.status = "running";
    if (Status s = run_hooks(hooks_from_json(state.hooks["poststart"]), state_for_hooks(state, "running")); !s) {
      exit_code = 1;
      return std::move(s).error();
    }
  }
  return r;
}

// create / run --detach: the monitor is a child that reports on `report`
// once the container is created (or started), then serves until the end.
[[noreturn]] void monitor_child(const CreateOptions& o, MonitorConfig c, int report, pid_t creator) {
  // Until it has reported, the monitor is `create`'s: if create is killed
  // (an engine's timeout, SIGKILL during boot), nobody would learn of the
  // container, so it must not outlive its creator. Its VM goes with it
  // (QEMU and virtiofsd die with the monitor), and `delete` removes the
  // state and the cgroup left behind.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != creator) ::_exit(1);
  ::setsid();
  if (o.daemonize_logging) o.daemonize_logging();
  // With a terminal, the container's stdio is the pty: the stdio we got
  // from `create` is the caller's, and a caller such as containerd's shim
  // reads it to its end before it goes on, so it must not stay open here.
  if (c.spec.process.terminal) {
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; ++fd) ::dup2(devnull, fd);
    ::close(devnull);
  }
  int exit_code = 1;
  // The last resort, as in main: `create` hears why, and the state goes.
  auto guarded = [&]() -> Result<Running> {
    try {
      return bring_up(o, std::move(c), exit_code);
    } catch (const std::exception& e) {
      return fail(std::string("internal error: ") + e.what());
    }
  };
  auto running = guarded();
  std::string message = running ? "ok" : running.error().describe();
  // From the report on, the container is on record (create writes the pid
  // file and exits) and the monitor lives on its own; a creator already
  // gone heard nothing, so the monitor ends.
  ::prctl(PR_SET_PDEATHSIG, 0);
  if (::getppid() != creator || !io::write_all(report, message)) ::_exit(1);
  ::close(report);
  if (!running) ::_exit(1);
  if (Status s = running->monitor->enter_rootfs(); !s) {
    // Never serve from the host's root: tools would write onto the host.
    log::error("the container's monitor cannot stand in its rootfs: " + s.error().describe());
    running->monitor.reset();
    ::_exit(1);
  }
  int status = running->monitor->serve();
  running->monitor.reset();
  ::_exit(status);
}

Result<int> create_detached(const CreateOptions& o, MonitorConfig c, host::StateDir& dir) {
  auto [report_r, report_w] = TRY(io::make_pipe());
  pid_t creator = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork the container's monitor");
  if (pid == 0) {
    report_r.reset();
    dir.unlock();
    monitor_child(o, std::move(c), report_w.release(), creator);
  }
  report_w.reset();
  std::string report = io::read_to_end(report_r.get());
  if (report != "ok") {
    // The monitor has cleaned up its VM; reap it before the state goes.
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (auto recorded = load_state(dir.path())) remove_cgroup(recorded->cgroup);
    return fail(report.empty() ? "the container's monitor died while creating it" : report);
  }
  TRY(write_pid_file(o.pid_file, pid));
  dir.keep();
  return 0;
}

// A foreground run is the monitor itself: it leaves the container's cgroup
// (for the hierarchy roots; it is about to exit) so the cgroup can go.
void remove_own_cgroup(const std::string& state_dir) {
  auto state = load_state(state_dir);
  if (!state || state->cgroup.empty()) return;
  if (Status s = join_cgroup("/"); !s) log::warn("leave the container's cgroup: " + s.error().describe());
  remove_cgroup(state->cgroup);
}

Result<int> run_foreground(const CreateOptions& o, MonitorConfig c, host::StateDir& dir) {
  ContainerState state = c.state;
  int exit_code = 1;
  auto running = bring_up(o, std::move(c), exit_code);
  if (!running) {
    remove_own_cgroup(dir.path());
    // The process could not be executed: say so as runc does and exit as a
    // shell would (127/126), which Docker maps the same way.
    if (exit_code != 1) {
      log::error("runvm run failed: " + running.error().describe());
      return exit_code;
    }
    return std::move(running).error();
  }
  dir.unlock();
  TRY(write_pid_file(o.pid_file, ::getpid()));
  int status = running->monitor->serve();
  running->monitor.reset();
  // run --keep: the stopped container stays, as runc's, and `delete` runs
  // its poststop hooks.
  if (o.keep) {
    remove_own_cgroup(dir.path());
    dir.keep();
    return status;
  }
  if (Status s = run_hooks(hooks_from_json(state.hooks["poststop"]), state_for_hooks(state, "stopped")); !s)
    log::error(s.error().describe());
  remove_own_cgroup(dir.path());
  return status;
}

// --- A container that joins another's VM (runtime/pod.h) -------------------

// Its stand-in: puts the container into the owner's VM, reports to
// `create` as a monitor does, then stands for it until it exits. A
// foreground run hands it the stdio (or terminal) it made.
[[noreturn]] void member_child(const CreateOptions& o, MemberConfig m, const oci::Spec& spec, int report,
                               pid_t creator, std::optional<HostStdio> foreground) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != creator) ::_exit(1);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // a foreground run blocked some
  ::setsid();
  if (o.daemonize_logging) o.daemonize_logging();
  std::optional<HostTerminal> terminal;
  auto bring_up_member = [&]() -> Result<std::unique_ptr<PodMember>> {
    TRY(join_cgroup(m.state.cgroup));
    m.state.pid = ::getpid();
    m.state.pid_start = host::read_proc_stat(m.state.pid).value_or(host::ProcStat{}).starttime;
    TRY(save_state(m.state_dir, m.state));
    if (foreground) {
      m.io.in = foreground->in;
      m.io.out = foreground->out;
      m.io.err = foreground->err;
      m.io.tty = foreground->tty;
      m.io.no_onlcr = foreground->no_onlcr;
    } else if (spec.process.terminal) {
      bool follows = false;
      terminal.emplace(TRY(host_terminal(o, m.io, follows)));
    } else {
      m.io.in = 0;
      m.io.out = 1;
      m.io.err = 2;
    }
    ContainerState hook_view = m.state;
    m.before_add = [&spec, hook_view]() -> Status {
      json hook_state = state_for_hooks(hook_view, "creating");
      TRY(run_hooks(spec.hooks.create_runtime, hook_state));
      TRY(run_hooks(spec.hooks.prestart, hook_state));
      return run_hooks(spec.hooks.create_container, hook_state);
    };
    return PodMember::join(std::move(m));
  };
  Result<std::unique_ptr<PodMember>> member = fail("internal error");
  try {
    member = bring_up_member();
  } catch (const std::exception& e) {
    member = fail(std::string("internal error: ") + e.what());
  }
  std::string message = member ? "ok" : member.error().describe();
  ::prctl(PR_SET_PDEATHSIG, 0);
  if (::getppid() != creator || !io::write_all(report, message)) ::_exit(1);
  ::close(report);
  if (!member) ::_exit(1);
  terminal.reset();  // the owner holds the terminal now
  if (Status s = (*member)->enter_rootfs(); !s) {
    log::error("the container's stand-in cannot stand in its rootfs: " + s.error().describe());
    ::_exit(1);
  }
  int status = (*member)->serve();
  member->reset();
  ::_exit(status);
}

// What the joining container brings into the owner's pod share, and its
// create message with the root and binds found there.
Result<MemberConfig> plan_member(const CreateOptions& o, const MonitorConfig& c, PodOwner owner) {
  const oci::Spec& spec = c.spec;
  // Sized by its first container, the VM cannot grow for a later one.
  uint64_t usable = usable_memory_mib(owner.state.vm_memory_mib);
  if (spec.resources.memory_limit && *spec.resources.memory_limit > 0 &&
      static_cast<uint64_t>(*spec.resources.memory_limit) > usable << 20)
    return fail("linux.resources.memory.limit: " + std::to_string(*spec.resources.memory_limit >> 20) +
                " MiB does not fit the VM of container " + owner.state.id + ", whose containers can use " +
                std::to_string(usable) + " MiB: its first container sized it; size the pod there (Kubernetes does "
                "through the CRI's io.kubernetes.cri.sandbox-memory; any engine: annotation io.runvm.pod.memory "
                "on the first container, in bytes)");
  std::vector<NamespaceRequest> namespaces;
  for (const auto& ns : spec.namespaces) namespaces.push_back({ns.type, ns.path, namespace_id(ns.path)});
  msg::Create::Join join = TRY(plan_namespace_joins(namespaces, pod_peers(o.root, owner)));

  MemberConfig m;
  m.state = c.state;
  m.state.pod_owner = owner.state.id;
  m.state.pod_dir = member_dir(owner.state_dir, c.state.id);
  m.state.vm_vcpus = owner.state.vm_vcpus;
  m.state.vm_memory_mib = owner.state.vm_memory_mib;
  m.namespaces = spec.namespaces;
  m.answer_timeout = o.boot_timeout;
  const std::string& id = c.state.id;
  m.mounts.push_back({c.vm.rootfs, m.state.pod_dir + "/rootfs", spec.root.readonly});
  for (const auto& share : c.vm.shares)
    m.mounts.push_back({share.host_dir, m.state.pod_dir + "/" + share.tag, share.readonly});
  std::vector<msg::BindShare> binds = c.binds;
  for (auto& b : binds) {
    b.subpath = id + "/" + b.share + (b.subpath.empty() ? "" : "/" + b.subpath);
    b.share = kPodShareTag;
  }
  msg::Create create = create_message(spec, std::move(binds), c.devices);
  create.root_share = kPodShareTag;
  create.root_subpath = id + "/rootfs";
  create.join = join;
  // The owner names the container in the VM and its streams; until then
  // the message carries names of the right shape.
  create.id = "joining";
  create.container = "joining";
  if (spec.process.terminal) create.stdio.tty = "tty";
  else create.stdio = {"", "stdin", "stdout", "stderr"};
  m.add.id = id;
  m.add.create = std::move(create);
  m.add.start_hooks = spec.hooks.start_container;
  m.add.hook_state = json_bytes::to_text(state_for_hooks(m.state, "created"));
  m.owner = std::move(owner);
  return m;
}

// `foreground`: the stdio of a foreground run, for the stand-in to hand
// on; `stand_in` gets its PID.
Result<int> create_member(const CreateOptions& o, const MonitorConfig& c, PodOwner owner, host::StateDir& dir,
                          std::optional<HostStdio> foreground = std::nullopt, pid_t* stand_in = nullptr) {
  MemberConfig m = TRY(plan_member(o, c, std::move(owner)));
  m.state_dir = dir.path();
  TRY(save_state(dir.path(), m.state));
  auto [report_r, report_w] = TRY(io::make_pipe());
  pid_t creator = ::getpid();
  std::string pod_dir = m.state.pod_dir;
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork the container's stand-in");
  if (pid == 0) {
    report_r.reset();
    dir.unlock();
    member_child(o, std::move(m), c.spec, report_w.release(), creator, std::move(foreground));
  }
  report_w.reset();
  std::string report = io::read_to_end(report_r.get());
  if (report != "ok") {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (auto recorded = load_state(dir.path())) {
      remove_member_mounts(recorded->pod_dir, recorded->pod_mounts);
      remove_cgroup(recorded->cgroup);
    } else {
      remove_member_mounts(pod_dir, {});
    }
    return fail(report.empty() ? "the container's stand-in died while creating it" : report);
  }
  TRY(write_pid_file(o.pid_file, pid));
  dir.keep();
  if (stand_in) *stand_in = pid;
  return 0;
}

// runc's run for a container that joins a running VM: created and started
// as `create` and `start` would (its stand-in, our child, takes our stdio,
// or the terminal made raw here for as long as it runs), the signals runc
// run would pass to its process sent on as `kill`, its exit awaited and
// given as ours, and then deleted as `delete` would (unless --keep).
Result<int> run_member(const CreateOptions& o, const MonitorConfig& c, PodOwner owner, host::StateDir& dir) {
  std::optional<HostTerminal> terminal;
  HostStdio io;
  io.in = 0;
  io.out = 1;
  io.err = 2;
  if (c.spec.process.terminal) {
    bool follows = false;
    terminal.emplace(TRY(host_terminal(o, io, follows)));
  }
  sigset_t forwarded, old;
  sigemptyset(&forwarded);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&forwarded, sig);
  // Blocked before the stand-in is forked (it unblocks them): none is lost.
  ::sigprocmask(SIG_BLOCK, &forwarded, &old);
  ScopeGuard restore([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
  pid_t pid = -1;
  TRY(create_member(o, c, std::move(owner), dir, std::move(io), &pid));
  dir.unlock();
  auto remove = [&]() {
    if (o.keep) return;
    if (Status s = delete_container(o.root, o.id, true); !s) log::error(s.error().describe());
  };
  if (Status started = start_container(o.root, o.id); !started) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    remove();
    return std::move(started).error();
  }
  UniqueFd signals(::signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK));
  UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    pollfd fds[] = {{signals.get(), POLLIN, 0}, {exited.get(), POLLIN, 0}};
    // Without a pidfd (an old kernel) the exit is looked for each second.
    if (::poll(fds, 2, exited ? -1 : 1000) < 0 && errno != EINTR) break;
    signalfd_siginfo info;
    while (signals && ::read(signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
      if (auto sent = ask_monitor(dir.path(), control::Kill{static_cast<int>(info.ssi_signo), false}); !sent)
        log::warn("pass signal " + std::to_string(info.ssi_signo) + " on: " + sent.error().describe());
  }
  int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  terminal.reset();
  remove();
  return exit_code;
}

}  // namespace

Result<int> create_container(const CreateOptions& o) {
  // The monitor (and a foreground run) lives as long as the container: it
  // must not keep what our caller left open at 3 and above, as a runc
  // container's process does not (runc closes them; --preserve-fds, which
  // would pass some on, is refused). QEMU and virtiofsd get only the
  // descriptors they are given (host::SpawnOptions).
  host::close_inherited_fds();
  MonitorConfig c = TRY(prepare(o));
  c.state.cgroup = TRY(container_cgroup(c.spec, c.state.id, o.systemd_cgroup));
  // A container whose network namespace a running runvm VM carries joins
  // that VM (a pod); found before anything is made.
  std::optional<PodOwner> owner = TRY(find_pod_owner(o.root, netns_path_of(c.spec)));
  host::StateDir dir = TRY(host::StateDir::create(o.root, o.id));
  c.state_dir = dir.path();
  c.vm.work_dir = dir.path();
  if (owner) return o.detach ? create_member(o, c, std::move(*owner), dir) : run_member(o, c, std::move(*owner), dir);
  // Every VM can take containers in later: its pod share is served from
  // the start (microvm cannot add a device to a running VM).
  PodShare pod = TRY(PodShare::make(dir.path()));
  c.vm.shares.push_back({kPodShareTag, pod.path(), false});
  TRY(save_state(dir.path(), c.state));
  if (o.detach) {
    int status = TRY(create_detached(o, std::move(c), dir));
    pod.keep();
    return status;
  }
  auto status = run_foreground(o, std::move(c), dir);
  // run --keep leaves the stopped container, share and all, for delete.
  if (status && o.keep) pod.keep();
  return status;
}

}  // namespace runvm::runtime
