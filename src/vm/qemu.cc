#include "vm/qemu.h"

#include <dirent.h>
#include <fcntl.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "common/io.h"
#include "common/log.h"
#include "common/procfs.h"
#include "host/child_process.h"
#include "host/unix_socket.h"

namespace runvm::vm {
namespace {

using namespace std::chrono_literals;

// The last lines of a log, read through a descriptor opened at boot: the
// monitor may later stand in the container's rootfs (see runtime/monitor.h),
// where a path could name something the guest made.
std::string last_lines_of(int fd, size_t count) {
  constexpr off_t kTail = 16 * 1024;
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return "";
  off_t from = st.st_size > kTail ? st.st_size - kTail : 0;
  std::string text(static_cast<size_t>(st.st_size - from), '\0');
  ssize_t n = ::pread(fd, text.data(), text.size(), from);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  std::string out;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : "\n") + lines[i];
  return out;
}

std::string last_lines(const std::string& path, size_t count) {
  auto text = io::read_file(path);
  if (!text || text->empty()) return "";
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    if (nl == std::string::npos) nl = text->size();
    if (nl > start) lines.push_back(text->substr(start, nl - start));
    start = nl + 1;
  }
  std::string out;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : "\n") + lines[i];
  return out;
}

// QEMU built without seccomp (or on a kernel without it) refuses -sandbox
// and says so. Rather than probe every QEMU binary up front (a process
// start, about 20 ms of every boot), try with the sandbox and start again
// without it only when QEMU's complaint names it.
bool refused_sandbox(const std::string& qemu_log) {
  std::string tail = last_lines(qemu_log, 5);
  return tail.find("sandbox") != std::string::npos || tail.find("seccomp") != std::string::npos;
}

// One virtiofsd and the log it writes to.
struct FsDaemon {
  host::ChildProcess process;
  UniqueFd log;  // read side, for error messages
};

class QemuVm : public Vm {
 public:
  QemuVm(VmFiles files, std::vector<FsDaemon> virtiofsds, host::ChildProcess qemu, UniqueFd agent)
      : files_(std::move(files)), virtiofsds_(std::move(virtiofsds)), qemu_(std::move(qemu)),
        agent_(std::move(agent)) {
    if (auto log = io::open_file(files_.qemu_log, O_RDONLY)) qemu_log_ = std::move(*log);
  }

  ~QemuVm() override { kill(); }

  int agent_fd() const override { return agent_.get(); }
  std::vector<int> watch_fds() const override {
    std::vector<int> fds = {qemu_.pidfd()};
    for (const auto& d : virtiofsds_) fds.push_back(d.process.pidfd());
    return fds;
  }

  std::string check_failure() override {
    if (qemu_.poll_exit() && *qemu_.status() != 0)
      return describe("QEMU", qemu_, qemu_log_.get());
    for (auto& d : virtiofsds_)
      if (d.process.poll_exit() && !qemu_.status()) return describe("virtiofsd", d.process, d.log.get());
    return "";
  }

  bool exited() override { return qemu_.poll_exit(); }
  bool wait_exit(std::chrono::milliseconds timeout) override { return qemu_.wait_for(timeout); }

  Status pause() override {
    qemu_.signal(SIGSTOP);
    return ok();
  }
  Status resume() override {
    qemu_.signal(SIGCONT);
    return ok();
  }

  void kill() override {
    qemu_.terminate(0ms);
    // virtiofsd forks its sandboxed worker and waits for it: left alone it
    // exits as soon as QEMU's end of the socket closes, worker first. A
    // signal to the parent would leave the worker running for a moment.
    for (auto& d : virtiofsds_) {
      if (!d.process.wait_for(1s)) log::warn("virtiofsd did not exit after QEMU; stopping it");
      d.process.terminate(200ms);
    }
  }

  std::vector<pid_t> file_server_pids(int proc_fd) const override {
    std::vector<pid_t> pids;
    for (const auto& d : virtiofsds_) {
      if (!d.process.running()) continue;
      // The sandboxed worker that serves the guest is virtiofsd's only
      // child; before it is forked, the parent is all there is.
      std::string p = std::to_string(d.process.pid());
      std::string children;
      if (auto text = io::read_file_at(proc_fd, p + "/task/" + p + "/children")) children = std::move(*text);
      auto fields = procfs::split_ws(children);
      pid_t worker = 0;
      if (fields.empty() || !procfs::parse_number(fields[0], worker)) worker = d.process.pid();
      pids.push_back(worker);
    }
    return pids;
  }

  std::string console_log_path() const override { return files_.console_log; }

  std::string describe_threads(int proc_fd) const override {
    if (!qemu_.running()) return "";
    std::string p = std::to_string(qemu_.pid());
    UniqueFd tasks(::openat(proc_fd, (p + "/task").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!tasks) return "";
    DIR* d = ::fdopendir(::dup(tasks.get()));
    if (!d) return "";
    std::string out = "QEMU's threads:";
    int listed = 0;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.' || listed++ >= 16) continue;
      std::string t = p + "/task/" + e->d_name;
      auto stat_text = io::read_file_at(proc_fd, t + "/stat");
      auto wchan_text = io::read_file_at(proc_fd, t + "/wchan");
      std::string stat = stat_text ? *stat_text : "";
      std::string wchan = wchan_text ? *wchan_text : "?";
      // "pid (comm) S ...": the name and the state letter.
      size_t open = stat.find('('), close = stat.rfind(')');
      std::string comm = open != std::string::npos && close != std::string::npos ? stat.substr(open + 1, close - open - 1) : "?";
      char state = close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
      out += " " + comm + " " + state + " " + wchan + ";";
    }
    ::closedir(d);
    return out;
  }

 private:
  static std::string describe(const std::string& what, const host::ChildProcess& p, int log) {
    std::string tail = last_lines_of(log, 3);
    return what + " " + host::describe_wait_status(*p.status()) +
           (tail.empty() ? "" : ": " + tail);
  }

  VmFiles files_;
  std::vector<FsDaemon> virtiofsds_;  // the root's first, then each share's
  host::ChildProcess qemu_;
  UniqueFd agent_;
  UniqueFd qemu_log_;
};

class QemuBackend : public VmmBackend {
 public:
  explicit QemuBackend(QemuPaths paths) : paths_(std::move(paths)) {}
  std::string name() const override { return "qemu"; }

  Result<std::unique_ptr<Vm>> boot(const VmSpec& spec) override {
    VmFiles files = vm_files(spec.work_dir);
    UniqueFd agent_listener = TRY(host::listen_unix(files.agent_socket));
    std::vector<FsDaemon> virtiofsds;
    virtiofsds.push_back(TRY(start_virtiofsd(spec.rootfs, spec.rootfs_readonly, files.virtiofs_socket,
                                             files.virtiofsd_log)));
    for (const auto& share : spec.shares)
      virtiofsds.push_back(TRY(start_virtiofsd(share.host_dir, share.readonly,
                                               share_socket(spec.work_dir, share.tag),
                                               share_log(spec.work_dir, share.tag))));

    auto started = start_qemu(spec, files, agent_listener.get(), true);
    if (!started && sandbox_refused_) {
      log::warn("QEMU refused -sandbox; running it without the seccomp sandbox");
      started = start_qemu(spec, files, agent_listener.get(), false);
    }
    if (!started) return std::move(started).error();
    auto [qemu, agent] = std::move(*started);
    return std::unique_ptr<Vm>(
        new QemuVm(files, std::move(virtiofsds), std::move(qemu), std::move(agent)));
  }

 private:
  // A virtiofsd serving `source`, handed its listening socket. A read-only
  // share is read-only on the host: virtiofsd runs in a mount namespace of
  // its own where `source` (and every mount below it) is a read-only bind,
  // so no write from the guest reaches it, whatever the guest remounts.
  // The namespace goes with virtiofsd; the host's mounts are untouched.
  Result<FsDaemon> start_virtiofsd(const std::string& source, bool readonly,
                                   const std::string& socket, const std::string& log) {
    UniqueFd listener = TRY(host::listen_unix(socket));
    UniqueFd log_fd = TRY(io::open_file(log, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    host::SpawnOptions opts{virtiofsd_command_line(paths_, source),
                            {{2, log_fd.get()}, {3, listener.get()}}};
    if (readonly) opts.readonly_paths = {source};
    host::ChildProcess process = TRY_CTX(host::ChildProcess::spawn(opts), "start virtiofsd for " + source);
    UniqueFd reader = TRY(io::open_file(log, O_RDONLY));
    return FsDaemon{std::move(process), std::move(reader)};
  }

  // QEMU, started and connected to the agent socket.
  Result<std::pair<host::ChildProcess, UniqueFd>> start_qemu(const VmSpec& spec,
                                                             const VmFiles& files,
                                                             int agent_listener, bool sandbox) {
    sandbox_refused_ = false;
    UniqueFd qemu_log = TRY(io::open_file(files.qemu_log, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    auto argv = qemu_command_line(paths_, spec, files, sandbox);
    log::debug("qemu command line: " + [&] {
      std::string s;
      for (const auto& a : argv) s += a + " ";
      return s;
    }());
    host::SpawnOptions qemu_opts{argv, {{1, qemu_log.get()}, {2, qemu_log.get()}}};
    for (size_t i = 0; i < spec.nics.size(); ++i)
      qemu_opts.fds.push_back({kFirstTapFd + static_cast<int>(i), spec.nics[i].tap_fd});
    qemu_opts.cwd = spec.work_dir;  // its socket and log names are relative to it
    host::ChildProcess qemu = TRY_CTX(host::ChildProcess::spawn(qemu_opts), "start QEMU");

    auto agent = host::accept_unix(agent_listener, 10s, qemu.pidfd(), "QEMU's agent channel");
    if (!agent) {
      qemu.wait_for(100ms);
      if (!qemu.status()) return fail("boot the VM: " + agent.error().describe());
      sandbox_refused_ = sandbox && refused_sandbox(files.qemu_log);
      return fail("boot the VM: QEMU " + host::describe_wait_status(*qemu.status()) + ": " +
                  last_lines(files.qemu_log, 3));
    }
    return std::pair{std::move(qemu), std::move(*agent)};
  }

  QemuPaths paths_;
  bool sandbox_refused_ = false;
};

}  // namespace

Result<QemuPaths> find_qemu() {
  // RUNVM_QEMU / RUNVM_VIRTIOFSD name other builds of either.
  auto from_env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  QemuPaths paths;
  std::string qemu = from_env("RUNVM_QEMU");
  paths.qemu = host::find_executable(qemu.empty() ? "qemu-system-x86_64" : qemu);
  if (paths.qemu.empty())
    return fail((qemu.empty() ? "qemu-system-x86_64" : "RUNVM_QEMU=" + qemu) +
                " not found: install the qemu-system-x86 package (scripts/setup.sh does)");
  std::string virtiofsd = from_env("RUNVM_VIRTIOFSD");
  paths.virtiofsd = virtiofsd.empty()
                        ? host::find_executable("virtiofsd", {"/usr/lib/qemu/virtiofsd",
                                                              "/usr/libexec/virtiofsd"})
                        : host::find_executable(virtiofsd);
  if (paths.virtiofsd.empty())
    return fail((virtiofsd.empty()
                     ? std::string("virtiofsd not found (looked in /usr/lib/qemu, /usr/libexec and PATH)")
                     : "RUNVM_VIRTIOFSD=" + virtiofsd + " not found") +
                ": install the qemu-system-x86 or virtiofsd package (scripts/setup.sh does)");
  return paths;
}

std::unique_ptr<VmmBackend> make_qemu_backend(QemuPaths paths) {
  return std::make_unique<QemuBackend>(std::move(paths));
}

}  // namespace runvm::vm
