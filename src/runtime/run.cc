#include "runtime/run.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "common/io.h"
#include "common/log.h"
#include "host/state_dir.h"
#include "oci/spec.h"
#include "runtime/agent_session.h"
#include "vm/qemu.h"
#include "vm/tsc.h"

namespace runvm::runtime {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// The signals `runvm run` forwards to the container's process, as runc does.
constexpr int kForwardedSignals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

// Blocks the forwarded signals and routes them to a signalfd for the
// lifetime of the object; the old mask comes back on every exit path.
class SignalRoute {
 public:
  static Result<SignalRoute> create() {
    SignalRoute route;
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : kForwardedSignals) sigaddset(&mask, s);
    if (::sigprocmask(SIG_BLOCK, &mask, &route.old_mask_) < 0) return fail_errno("sigprocmask");
    route.restore_ = true;
    int fd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) return fail_errno("signalfd");
    route.fd_.reset(fd);
    return route;
  }
  SignalRoute(SignalRoute&& o) noexcept
      : fd_(std::move(o.fd_)), old_mask_(o.old_mask_), restore_(std::exchange(o.restore_, false)) {}
  ~SignalRoute() {
    if (restore_) ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  int fd() const { return fd_.get(); }

 private:
  SignalRoute() = default;
  UniqueFd fd_;
  sigset_t old_mask_;
  bool restore_ = false;
};

Result<std::string> bundle_rootfs(const std::string& bundle, const oci::Spec& spec) {
  std::string path = spec.root.path[0] == '/' ? spec.root.path : bundle + "/" + spec.root.path;
  struct stat st;
  if (::stat(path.c_str(), &st) < 0)
    return fail("root.path: rootfs " + path + " does not exist");
  if (!S_ISDIR(st.st_mode)) return fail("root.path: rootfs " + path + " is not a directory");
  return path;
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[4096];
  return std::string(::getcwd(cwd, sizeof cwd) ? cwd : ".") + "/" + path;
}

json run_request(const oci::Spec& spec) {
  return {{"type", "run"},
          {"process", oci::process_to_json(spec.process)},
          {"root", {{"readonly", spec.root.readonly}}},
          {"hostname", spec.hostname},
          {"mounts", oci::mounts_to_json(spec.mounts)},
          {"stdio", {{"stdin", "stdin"}, {"stdout", "stdout"}, {"stderr", "stderr"}}}};
}

std::string console_tail(const vm::Vm& vm) {
  auto text = io::read_file(vm.console_log_path());
  if (!text || text->empty()) return "";
  size_t from = text->size() > 1500 ? text->size() - 1500 : 0;
  return "\nlast guest console output:\n" + text->substr(from);
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

}  // namespace

Result<int> run_container(const RunOptions& o) {
  std::string bundle = absolute(o.bundle);
  oci::Spec spec = TRY(oci::load_bundle_spec(bundle));
  if (spec.process.terminal)
    return fail("process.terminal: true is not supported by runvm run yet (TTYs come with "
                "create/start and --console-socket); set it to false");
  vm::VmSpec vm_spec;
  vm_spec.rootfs = TRY(bundle_rootfs(bundle, spec));
  GuestArtifacts guest = TRY(locate_guest_artifacts(o.artifacts));
  vm::QemuPaths qemu = TRY(vm::find_qemu());
  vm::AccelDecision accel = TRY(vm::decide_accel(o.accel, vm::probe_host()));
  log::info("accelerator: " + std::string(vm::accel_name(accel.accel)) + " (" + accel.reason + ")");

  host::StateDir state = TRY(host::StateDir::create(o.root, o.id));
  VmSize size = size_vm(spec.resources, o.size, std::thread::hardware_concurrency());
  vm_spec.kernel = guest.kernel;
  vm_spec.initramfs = guest.initramfs;
  vm_spec.accel = accel.accel;
  vm_spec.vcpus = size.vcpus;
  vm_spec.memory_mib = size.memory_mib;
  vm_spec.work_dir = state.path();
  vm_spec.kernel_args = guest_kernel_args(accel.accel);
  TRY(io::write_file_atomic(state.file("state.json"),
                            json{{"id", o.id}, {"pid", ::getpid()}, {"bundle", bundle},
                                 {"status", "creating"}}.dump()));

  SignalRoute signals = TRY(SignalRoute::create());
  auto backend = vm::make_qemu_backend(qemu);
  std::unique_ptr<vm::Vm> vm = TRY(backend->boot(vm_spec));

  AgentSession agent(vm->agent_fd(), RelayFds{0, 1, 2, signals.fd(), vm->watch_fds()});
  if (Status s = agent.handshake(o.boot_timeout); !s) {
    std::string why = vm->check_failure();
    return fail("boot the VM: " + s.error().describe() + (why.empty() ? "" : " (" + why + ")") +
                console_tail(*vm));
  }
  // When the channel drops, QEMU is usually a moment from exiting: give it
  // that moment so the error can say how it ended.
  auto vm_failure = [&] {
    vm->wait_exit(500ms);
    return vm->check_failure();
  };
  ProcessOutcome outcome = TRY(agent.run(run_request(spec), vm_failure));
  // The agent synced the guest before it reported the exit, so nothing is
  // lost by stopping the VM now rather than waiting for an ACPI power-off.
  vm->kill();
  if (outcome.start_failed) {
    // runc's wording, on stderr, with Docker's exit codes (127 / 126).
    log::error("runvm run failed: " + outcome.start_error);
  }
  return outcome.exit_status;
}

}  // namespace runvm::runtime
