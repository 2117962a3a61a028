#include "runtime/lifecycle.h"
#include "runtime/vm_sizing.h"
#include "runtime/network.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include "common/io.h"
#include "common/log.h"
#include "host/message_socket.h"
#include "host/proc.h"
#include "host/state_dir.h"
#include "runtime/hooks.h"
#include "runtime/monitor.h"
#include "runtime/placement.h"
#include "runtime/pod.h"

namespace runvm::runtime {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Waits for the container's monitor to exit, up to `limit`.
bool wait_gone(const ContainerState& s, std::chrono::milliseconds limit) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0));
  UniqueFd owned(pidfd);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (host::process_is(s.pid, s.pid_start)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (owned) {
      pollfd p = {owned.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  return true;
}

// Stops a container that still has a monitor: SIGKILL to its process
// through the monitor, and if the monitor does not go, to the monitor itself
// (its VM dies with it).
Status stop_monitor(const std::string& state_dir, const ContainerState& s) {
  if (!ask_monitor(state_dir, control::Kill{SIGKILL, false}))
    log::debug("the monitor did not take the kill request; killing it");
  if (wait_gone(s, 10s)) return ok();
  if (host::process_is(s.pid, s.pid_start)) ::kill(s.pid, SIGKILL);
  // Killed, it goes; waited for longer, as a loaded host or the container's
  // own CPU limits can slow its end by seconds.
  if (wait_gone(s, 30s)) return ok();
  return fail("container init still running");
}

}  // namespace

Result<control::Reply> ask_monitor(const std::string& state_dir, const control::Request& request,
                                   const std::vector<int>& fds) {
  UniqueFd conn = TRY(host::connect_messages(state_dir + "/" + kControlSocket));
  TRY(host::send_message(conn.get(), control::to_json(request), fds));
  // The monitor answers what the guest must answer within its own
  // deadlines (MonitorConfig::answer_timeout); this bound is for a monitor
  // that does not answer at all. `start` waits for the guest's hooks.
  if (!std::holds_alternative<control::Start>(request)) {
    auto deadline = std::chrono::steady_clock::now() + kMonitorAnswerTimeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return fail("the container's monitor did not answer within " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kMonitorAnswerTimeout).count()) +
                    " s");
      pollfd p = {conn.get(), POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n > 0) break;
      if (n < 0 && errno != EINTR) return fail_errno("wait for the container's monitor");
    }
  }
  auto message = TRY(host::receive_message(conn.get()));
  if (!message) return fail("the container's monitor went away");
  control::Reply reply = TRY_CTX(control::Reply::parse(message->body), "the container's monitor's reply");
  if (reply.error) return fail(*reply.error);
  return reply;
}

Result<ContainerState> find_container(const std::string& root, const std::string& id) {
  TRY(host::validate_container_id(id));
  return load_state(root + "/" + id);
}

Status start_container(const std::string& root, const std::string& id) {
  host::StateDir dir = TRY(host::StateDir::open(root, id));
  ContainerState s = TRY(load_state(dir.path()));
  std::string status = live_status(s);
  if (status == "stopped") return fail("cannot start a container that has stopped");
  if (status == "running" || status == "paused") return fail("cannot start an already running container");
  if (status != "created") return fail("cannot start a container in the " + status + " state");
  TRY(ask_monitor(dir.path(), control::Start{}));
  if (Status hooks = run_hooks(hooks_from_json(s.hooks["poststart"]), state_for_hooks(s, "running")); !hooks) {
    (void)stop_monitor(dir.path(), s);
    return hooks;
  }
  return ok();
}

Result<int> parse_signal(const std::string& text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) {
    // 0 is runc's liveness check: it succeeds while the container runs.
    int n = text.size() > 3 ? NSIG : std::atoi(text.c_str());
    if (n >= 0 && n < NSIG) return n;
    return fail("unknown signal \"" + text + "\"");
  }
  static const std::pair<const char*, int> kNames[] = {
      {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},       {"SIGQUIT", SIGQUIT}, {"SIGILL", SIGILL},
      {"SIGTRAP", SIGTRAP}, {"SIGABRT", SIGABRT},     {"SIGBUS", SIGBUS},   {"SIGFPE", SIGFPE},
      {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1},     {"SIGSEGV", SIGSEGV}, {"SIGUSR2", SIGUSR2},
      {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM},     {"SIGTERM", SIGTERM}, {"SIGSTKFLT", SIGSTKFLT},
      {"SIGCHLD", SIGCHLD}, {"SIGCONT", SIGCONT},     {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP},
      {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},     {"SIGURG", SIGURG},   {"SIGXCPU", SIGXCPU},
      {"SIGXFSZ", SIGXFSZ}, {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF}, {"SIGWINCH", SIGWINCH},
      {"SIGIO", SIGIO},     {"SIGPWR", SIGPWR},       {"SIGSYS", SIGSYS}};
  std::string name = text;
  for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (!name.starts_with("SIG")) name = "SIG" + name;
  for (const auto& [known, number] : kNames)
    if (name == known) return number;
  return fail("unknown signal \"" + text + "\"");
}

Status kill_container(const std::string& root, const std::string& id, const std::string& signal,
                      bool all) {
  host::StateDir dir = TRY(host::StateDir::open(root, id));
  ContainerState s = TRY(load_state(dir.path()));
  int sig = TRY(parse_signal(signal));
  if (live_status(s) == "stopped") {
    if (all) return ok();
    return fail("container not running");
  }
  TRY(ask_monitor(dir.path(), control::Kill{sig, all}));
  return ok();
}

Status delete_container(const std::string& root, const std::string& id, bool force) {
  auto dir = host::StateDir::open(root, id);
  if (!dir) {
    if (force && host::validate_container_id(id)) {
      remove_pod_share(root + "/" + id);
      (void)io::remove_tree(root + "/" + id);
      return ok();
    }
    return std::move(dir).error();
  }
  auto state = load_state(dir->path());
  if (!state) {
    if (!force) return std::move(state).error();
    remove_pod_share(dir->path());
    return dir->remove();
  }
  std::string status = live_status(*state);
  if ((status == "running" || status == "paused") && !force)
    return fail("cannot delete container " + id + " that is not stopped: " + status);
  if (status != "stopped") {
    TRY(stop_monitor(dir->path(), *state));
  } else if (host::process_is(state->pid, state->pid_start)) {
    // The monitor records "stopped" before it stops the VM and its file
    // servers: delete waits for that, so nothing of the container outlives it.
    if (!wait_gone(*state, 10s)) {
      ::kill(state->pid, SIGKILL);
      (void)wait_gone(*state, 30s);
    }
  }
  // A monitor that ended on its own recorded "stopped" after removing its
  // redirects; one that was killed left them, in a namespace that may
  // outlive the container (joined by path).
  if (auto last = load_state(dir->path()); last && last->status != "stopped")
    if (Status s = remove_leftover_redirects(last->netns_path, last->redirected_links); !s)
      log::warn(s.error().describe());
  // The VM's stragglers may take seconds to go on a loaded host.
  remove_cgroup(state->cgroup, 30s);
  // A pod's files in the owner's pod share: a member's, or the whole share
  // (with whatever members still have there) for the VM's own container.
  if (state->is_pod_member()) remove_member_mounts(state->pod_dir, state->pod_mounts);
  remove_pod_share(dir->path());
  if (Status s = run_hooks(hooks_from_json(state->hooks["poststop"]), state_for_hooks(*state, "stopped")); !s)
    log::error(s.error().describe());
  return dir->remove();
}

Status pause_container(const std::string& root, const std::string& id, bool pause) {
  host::StateDir dir = TRY(host::StateDir::open(root, id));
  ContainerState s = TRY(load_state(dir.path()));
  std::string status = live_status(s);
  if (pause && status != "running" && status != "created") return fail("container not running");
  if (!pause && status != "paused") return fail("container not paused");
  TRY(ask_monitor(dir.path(), pause ? control::Request(control::Pause{}) : control::Request(control::Resume{})));
  return ok();
}

std::vector<ContainerState> list_containers(const std::string& root) {
  std::vector<ContainerState> out;
  DIR* d = ::opendir(root.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (auto s = load_state(root + "/" + name)) out.push_back(std::move(*s));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<control::Reply> query_container(const std::string& root, const std::string& id,
                                      const control::Request& request) {
  ContainerState s = TRY(find_container(root, id));
  std::string status = live_status(s);
  if (status == "stopped") return fail("container with id " + id + " is not running");
  return ask_monitor(root + "/" + id, request);
}

Result<msg::PsAnswer> container_processes(const std::string& root, const std::string& id) {
  ContainerState s = TRY(find_container(root, id));
  if (live_status(s) == "stopped") return msg::PsAnswer{};
  control::Reply reply = TRY(ask_monitor(root + "/" + id, control::Ps{}));
  if (!reply.ps) return fail("the container's monitor did not list its processes");
  return *reply.ps;
}

Result<std::vector<int64_t>> container_host_pids(const std::string& root, const std::string& id) {
  ContainerState s = TRY(find_container(root, id));
  if (live_status(s) == "stopped") return std::vector<int64_t>{};
  control::Reply reply = TRY(ask_monitor(root + "/" + id, control::HostPids{}));
  if (!reply.pids) return fail("the container's monitor did not list its processes");
  return *reply.pids;
}

}  // namespace runvm::runtime

namespace runvm::runtime {

// The VM's memory and vCPUs are fixed at boot: a limit the guest cgroup can
// apply is applied; one beyond the VM is refused whole (nothing changes), so
// the client that asked sees why instead of a limit that silently means less.
Status update_container(const std::string& root, const std::string& id, const oci::Resources& spec) {
  ContainerState s = TRY(find_container(root, id));
  msg::Resources resources = msg::Resources::from_spec(spec);
  int64_t memory = resources.memory_limit.value_or(0);
  uint64_t usable = usable_memory_mib(s.vm_memory_mib);
  if (memory > 0 && s.vm_memory_mib && static_cast<uint64_t>(memory) > usable * 1024 * 1024)
    return fail("a memory limit of " + std::to_string(memory / (1024 * 1024)) +
                " MiB is more than the VM has for the container: " + std::to_string(usable) + " of its " +
                std::to_string(s.vm_memory_mib) +
                " MiB (the rest is the guest kernel's), fixed at boot; recreate the container with the larger limit");
  int64_t quota = resources.cpu_quota.value_or(0);
  int64_t period = static_cast<int64_t>(std::min<uint64_t>(resources.cpu_period.value_or(0), INT64_MAX));
  if (period <= 0) period = 100000;
  if (quota > 0 && s.vm_vcpus && quota / period + (quota % period != 0) > static_cast<int64_t>(s.vm_vcpus))
    return fail("a CPU quota of " + std::to_string(quota) + "/" + std::to_string(period) +
                " needs more than the VM's " + std::to_string(s.vm_vcpus) +
                " vCPUs, which are fixed at boot; recreate the container with more CPUs");
  if (s.vm_vcpus) TRY(check_cpuset(resources.cpuset_cpus, s.vm_vcpus, "cpu.cpus"));
  TRY(query_container(root, id, control::Update{resources}));
  // The VM as a whole, on the host: CPU and block I/O (host_cgroup.h).
  return apply_host_resources(s.cgroup, spec);
}

}  // namespace runvm::runtime
