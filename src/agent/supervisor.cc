#include "agent/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <optional>

#include "agent/cgroup.h"
#include "agent/boot.h"
#include "agent/container.h"
#include "agent/dns_relay.h"
#include "agent/procfs.h"
#include "agent/transfer_service.h"
#include "common/hex.h"
#include "common/io.h"
#include "common/log.h"
#include "common/scope_guard.h"
#include "net/apply.h"
#include "net/nic_slots.h"
#include "proto/messages.h"
#include "proto/session.h"
#include "proto/socket_bridge.h"

namespace runvm::agent {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// How long a terminal's output is waited for after its process exited: the
// pty moves bytes to the master asynchronously, and a background process
// left holding the slave must not keep the exit from being reported.
constexpr auto kTtyLinger = std::chrono::milliseconds(500);
// Processes tracked at once; beyond it exec is refused (each has streams,
// which the protocol caps anyway).
constexpr size_t kMaxProcesses = proto::kMaxStreams;
constexpr size_t kMaxPsEntries = 4096;
// How long `start` waits for init's execve before it answers anyway.
constexpr int kExecWaitMs = 10000;
// A signal for init that init neither catches, ignores nor blocks yet is
// held this long after its exec at most, and delivered as soon as it does
// (docs/ARCHITECTURE.md, "Signals right after start"); how often it looks.
constexpr auto kSignalHoldWindow = std::chrono::seconds(10);
constexpr int kSignalHoldPollMs = 10;
// The longest the agent sleeps without asking the port again (poll_timeout).
constexpr int kIdleRepollMs = 1000;
// A held signal that init only blocks goes once it has stayed blocked this
// long (a sigwait loop); a shell blocks everything for a moment around its
// wait, and a signal queued then would be dropped on the unblock.
constexpr auto kBlockedLongEnough = std::chrono::milliseconds(200);
// Port-forward connections carried at once; beyond it `forward` is
// refused (the host keeps to it too).
constexpr size_t kMaxForwards = 64;

// One output of a process (stdout, stderr, or a terminal's master) and the
// stream it goes out on.
struct Output {
  std::string stream;
  UniqueFd fd;
  bool tty = false;
  bool eof_sent = false;
};

// Input from the host for one stream, buffered until the process takes it.
// Bounded by the stream's window: credit is returned only as it is written.
struct Input {
  std::string pending;
  bool eof = false;      // the host's input ended
  bool discard = false;  // the process closed its end: drop what comes
};

struct Process {
  std::string id;
  std::string container;  // the name of the container it runs in
  pid_t pid = -1;
  bool is_init = false;
  bool released = false;    // exec'd (init: start received)
  UniqueFd release;         // init before start
  UniqueFd exec_watch;      // init between start and its execve
  std::optional<Clock::time_point> exec_at;  // init: when it exec'd
  std::vector<int> held_signals;  // init: waiting for its handler (on_signal)
  std::map<int, Clock::time_point> blocked_since;  // held signals seen only blocked
  std::string input_stream;
  UniqueFd stdin_fd;        // pipe, without a terminal
  UniqueFd master;          // pty master, with one
  std::vector<Output> outputs;
  std::optional<int> wait_status;
  std::optional<Clock::time_point> exited_at;
  std::optional<int> forced_exit_code;  // a hook failed: exit 1 whatever the signal
  UniqueFd copy_result;     // a copy's result pipe: reported as `copied` (transfer_service.h)
};

// One container of the VM: the first, or one that joined it (a pod's).
// What the agent keeps for it besides its processes.
struct Container {
  std::string name;
  std::string init_id;  // its init's process id
  GuestCgroup cgroup;
  Confinement confinement;  // its seccomp filter goes to every exec and hook
  std::optional<int> oom_score_adj;  // process.oomScoreAdj from create: execs without one take it
  bool own_pid_namespace = true;
  bool exited = false;  // its init exited, or never could exec
  // A joined container whose init has exited: what it left behind is
  // killed, and once nothing of it runs, it goes with its cgroup.
  bool finishing = false;
};

std::string control() { return std::string(proto::kControlStream); }

class Supervisor {
 public:
  Supervisor(UniqueFd port, UniqueFd sigchld, Watchdog& watchdog)
      : port_(std::move(port)), sigchld_(std::move(sigchld)), watchdog_(watchdog), session_("runvm-agent", proto::kMaxHostMessageSize, proto::kMaxPayloadSize) {}

  Status run();

 private:
  Status on_port_readable();
  Status handle(const proto::Event& event);
  Status handle_message(const std::string& stream, const json& body);
  Status refuse_malformed(const json& body, const Error& error);

  // One handler per host message (proto/messages.h), named after it.
  Status on_create(msg::Create& request);
  Status on_start(const msg::Start& request);
  Status on_exec(const msg::Exec& request);
  Status on_signal(const msg::Signal& request);
  Status on_resize(const msg::Resize& request);
  Status on_ps(const msg::Ps& request);
  Status on_stats(const msg::Stats& request);
  Status on_update(const msg::Update& request);
  Status on_copy_in(const msg::CopyIn& request);
  Status on_copy_out(const msg::CopyOut& request);
  Status on_copy(const std::string& id, const std::string& container, const msg::Stdio& stdio,
                 Result<CopyJob> job);
  Status on_stat_path(const msg::StatPath& request);
  Status on_reclaim_caches(const msg::ReclaimCaches&);
  Status on_freeze(const msg::Freeze& request);
  Status on_forward(const msg::Forward& request);
  void start_dns_relay();
  void settle_nics();
  Status on_network_update(const msg::NetworkUpdate& update);
  Status on_dns_answer(const msg::DnsAnswer& answer);
  void relay_dns_queries(const std::vector<pollfd>& ready);
  Status on_shutdown(const msg::Shutdown&);
  Status send(const json& message) { return session_.send_message(control(), message); }
  void deliver_held_signals();

  // Answers start_failed and EOFs the process's outputs.
  Status start_failed(const std::string& id, const std::string& message, int exit_code,
                      const std::vector<std::string>& outputs,
                      const std::string& stdin_stream = "");
  // The process's output streams must be open (the host may have retired
  // its stdin already); else the request is refused.
  Status check_streams(const msg::Stdio& stdio);
  Process& track(std::string id, pid_t pid, ParentStdio stdio, const msg::Stdio& streams);
  Status fail_start_with_hook(Process& init, size_t index, const std::string& message);
  // The container of that name, or null.
  Container* find_container(const std::string& name);
  // A container's init, or null once it has exited and been reported.
  const Process* init_of(const Container& c) const;
  bool init_running(const Container& c) const;
  ContainerHandle handle(const Container& c) const;
  // Why a process cannot start in the named container, or "" if it can.
  std::string cannot_run_in(const std::string& name, const char* stopped_message, const char* not_started_message);
  // A query for a container this VM does not hold, answered `failed`.
  Status no_container(uint64_t request, const std::string& name) {
    return send(msg::Failed{request, "no container " + name + " in this VM"}.to_json());
  }
  // A change the host asked for, answered `updated`, or `failed` with why.
  Status answer_change(uint64_t request, const Status& done) {
    if (!done) return send(msg::Failed{request, msg::clip_text(done.error().describe())}.to_json());
    return send(msg::Updated{request}.to_json());
  }
  void prune_inputs();

  void pump_output(Output& out);
  void write_input(Process& p);
  void reap_children();
  Status report_exits();
  void remove_finished_containers();
  Status maybe_report_exit(Process& p, bool& done);
  Status flush_port();
  int poll_timeout() const;

  UniqueFd port_;
  UniqueFd sigchld_;
  Watchdog& watchdog_;
  proto::Session session_;
  std::map<std::string, Process> processes_;
  std::optional<net::NicSlots> nic_slots_;  // when the VM has spare NICs
  std::optional<GuestDnsRelay> dns_;  // 127.0.0.11:53, when the host has a server to relay to
  std::map<std::string, Container> containers_;  // by name
  std::map<std::string, Input> inputs_;
  // Port-forward connections (docs/protocol.md, "Port forwarding"), by stream.
  std::map<std::string, proto::SocketBridge> forwards_;
  bool shutdown_ = false;
  bool host_gone_ = false;
};

// ---------------------------------------------------------------------------
// The loop.

Status Supervisor::run() {
  session_.send_hello();
  while (!shutdown_ && !host_gone_) {
    // Each pollfd comes with what to do when it is ready.
    std::vector<pollfd> fds;
    std::vector<std::function<void()>> actions;
    auto watch = [&](int fd, short events, std::function<void()> action) {
      fds.push_back({fd, events, 0});
      actions.push_back(std::move(action));
    };
    Status port_status;
    watch(port_.get(), static_cast<short>(POLLIN | (session_.outbox().empty() ? 0 : POLLOUT)),
          [&] { port_status = on_port_readable(); });
    watch(sigchld_.get(), POLLIN, [&] { reap_children(); });
    // The relay's sockets, handled together after poll (it reads their revents).
    size_t dns_base = fds.size(), dns_count = 0;
    bool dns_ready = false;
    if (dns_)
      for (const pollfd& p : dns_->poll_set()) {
        watch(p.fd, p.events, [&dns_ready] { dns_ready = true; });
        ++dns_count;
      }
    for (auto& [id, p] : processes_) {
      Process* proc = &p;
      for (auto& out : p.outputs)
        if (out.fd && session_.send_credit(out.stream) > 0)
          watch(out.fd.get(), POLLIN, [this, o = &out] { pump_output(*o); });
      int in_fd = p.master ? p.master.get() : p.stdin_fd.get();
      auto it = inputs_.find(p.input_stream);
      if (in_fd >= 0 && p.released && it != inputs_.end() && !it->second.pending.empty())
        watch(in_fd, POLLOUT, [this, proc] { write_input(*proc); });
    }
    for (auto& [stream, bridge] : forwards_) {
      pollfd p = bridge.poll_entry(session_);
      if (p.fd < 0) continue;
      watch(p.fd, p.events, [this, b = &bridge, &fds, i = fds.size()] {
        if (int error = b->on_ready(fds[i].revents, session_)) {
          // Why first, then the end: the host resets its client rather
          // than closing it in order.
          (void)send(msg::ForwardFailed{b->stream(), error, std::string("connect: ") + std::strerror(error)}.to_json());
          b->abort(session_);
        }
      });
    }
    int r = ::poll(fds.data(), fds.size(), poll_timeout());
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    // The port first, so a request is seen before its process's output
    // ends. Handlers never erase a process (only report_exits does, below)
    // and every fd acted on is non-blocking, so the other actions stay valid
    // even if a handler closed their fd meanwhile.
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      actions[i]();
      if (i == 0) TRY(port_status);
    }
    if (dns_ready)
      relay_dns_queries(std::vector<pollfd>(fds.begin() + static_cast<long>(dns_base),
                                            fds.begin() + static_cast<long>(dns_base + dns_count)));
    std::erase_if(forwards_, [](const auto& kv) { return kv.second.done(); });
    deliver_held_signals();
    TRY(report_exits());
    remove_finished_containers();
    TRY(flush_port());
  }
  return ok();
}

// A joined container ends with its init, as a runc container does: what it
// left running (in a PID namespace it shares, say) is killed, and its guest
// cgroup goes once empty. The VM's first container ends with the VM.
void Supervisor::remove_finished_containers() {
  for (auto it = containers_.begin(); it != containers_.end();) {
    Container& c = it->second;
    bool busy = std::any_of(processes_.begin(), processes_.end(),
                            [&](const auto& kv) { return kv.second.container == c.name; });
    if (!c.finishing || busy || !c.cgroup.pids().empty()) {
      ++it;
      continue;
    }
    c.cgroup.remove();
    it = containers_.erase(it);
  }
}

int Supervisor::poll_timeout() const {
  // Output waiting for room in the port: the write is retried every 50 ms
  // as well as on POLLOUT. virtio-console reclaims the buffers the host has
  // consumed when it is polled or written, but wakes a poller only on the
  // host's interrupt; a wakeup that never comes must not leave an answer
  // (`created`, an exit) unsent.
  if (!session_.outbox().empty()) return 50;
  for (const auto& [id, p] : processes_)
    if (!p.held_signals.empty() && !p.wait_status) return kSignalHoldPollMs;
  for (const auto& [id, p] : processes_)
    if (p.wait_status)
      for (const auto& out : p.outputs)
        if (out.fd && out.tty) return 50;
  // Never an unbounded sleep: each poll asks virtio-console afresh, which
  // takes what the host has put in the port even if its interrupt never
  // woke us. Under heavy load a create once waited its whole 60 s on an
  // idle agent (no watchdog report: no step was running) that had not seen
  // the request. Once a second costs nothing measurable.
  return kIdleRepollMs;
}

Status Supervisor::on_port_readable() {
  char buf[64 * 1024];
  ssize_t n = ::read(port_.get(), buf, sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return ok();
    return fail_errno("read from host port");
  }
  if (n == 0) {
    // The host closed its end: nobody is left to serve.
    log::warn("host went away");
    host_gone_ = true;
    return ok();
  }
  auto events = session_.receive(std::string_view(buf, static_cast<size_t>(n)));
  if (!events) {
    log::error("protocol error from host: " + events.error().describe());
    session_.send_error(events.error().message());
    (void)flush_port();
    host_gone_ = true;
    return ok();
  }
  for (const auto& event : *events) TRY(handle(event));
  return ok();
}

Status Supervisor::handle(const proto::Event& event) {
  if (auto* m = std::get_if<proto::event::Message>(&event))
    return handle_message(m->stream, m->body);
  if (auto* d = std::get_if<proto::event::Data>(&event)) {
    if (auto f = forwards_.find(d->stream); f != forwards_.end()) {
      f->second.on_data(std::move(d->bytes), session_);
      return ok();
    }
    auto it = inputs_.find(d->stream);
    if (it != inputs_.end() && !it->second.discard) it->second.pending += d->bytes;
    else session_.consumed(d->stream, d->bytes.size());  // nobody reads it
    return ok();
  }
  if (auto* e = std::get_if<proto::event::Eof>(&event)) {
    if (auto f = forwards_.find(e->stream); f != forwards_.end()) {
      f->second.on_eof(session_);
      return ok();
    }
    auto it = inputs_.find(e->stream);
    if (it == inputs_.end()) return ok();
    it->second.eof = true;
    // A pipe is closed once drained; a terminal's master stays open (a
    // terminal does not close), the host's typing has just ended.
    for (auto& [id, p] : processes_)
      if (p.input_stream == e->stream && p.stdin_fd && it->second.pending.empty())
        p.stdin_fd.reset();
    return ok();
  }
  if (auto* o = std::get_if<proto::event::Opened>(&event)) {
    const std::string& s = o->stream;
    bool is_stdin = s.ends_with("/stdin");
    if (is_stdin || s.ends_with("/tty")) {
      prune_inputs();
      inputs_[s];
    }
    // <id>/stdin is the host's to write: our direction is unused.
    if (is_stdin) (void)session_.send_eof(s);
    return ok();
  }
  if (auto* p = std::get_if<proto::event::PeerError>(&event)) {
    log::error("host reported a protocol error: " + p->message);
    host_gone_ = true;
  }
  return ok();
}

// Spare NICs are parked on a thread while the engine goes from create to
// start (net/nic_slots.h); nothing of the container runs before they are
// out of its sight, and the agent forks nothing while that thread runs. A
// failure leaves them visible, down: worth a warning, not a failed
// container.
void Supervisor::settle_nics() {
  if (!nic_slots_) return;
  if (Status s = nic_slots_->wait_parked(); !s) log::warn("spare network devices stay visible: " + s.error().describe());
}

void Supervisor::start_dns_relay() {
  if (dns_) return;
  auto relay = GuestDnsRelay::listen();
  if (relay) dns_ = std::move(*relay);
  else log::warn("no DNS relay: " + relay.error().describe());
}

// The container's namespace on the host changed while it runs (`docker
// network connect` or `disconnect`): NICs move in or out of sight as the
// host says (net/nic_slots.h), then the whole network is applied again,
// which adds what is new and leaves what is there.
Status Supervisor::on_network_update(const msg::NetworkUpdate& update) {
  auto follow = [&]() -> Status {
    if (!nic_slots_) return fail("this VM has no spare network devices");
    TRY(nic_slots_->follow(update.nics));
    TRY(net::apply_network_config(update.network));
    if (update.dns_relay) start_dns_relay();
    return ok();
  };
  msg::NetworkUpdated answer;
  if (Status s = follow(); !s) answer.error = msg::clip_text(s.error().describe());
  return send(answer.to_json());
}

// The host's virtiofsd holds a descriptor per inode this kernel caches
// (runtime/fs_pressure.h): dropping the unused dentries and inodes ("2";
// the page cache of files in use stays) sends it the FORGETs that let it
// close them.
Status Supervisor::on_reclaim_caches(const msg::ReclaimCaches&) {
  auto fd = io::open_file("/proc/sys/vm/drop_caches", O_WRONLY);
  Status s = fd ? io::write_all(fd->get(), "2\n") : Status(std::move(fd).error());
  if (!s) log::warn("reclaim the guest's caches: " + s.error().describe());
  return ok();
}

// Every message is parsed here, once, into its struct (proto/messages.h);
// the handlers see only typed values.
Status Supervisor::handle_message(const std::string& stream, const json& body) {
  auto message = msg::parse_host_message(body);
  if (!message) {
    log::warn("malformed message on stream " + stream + ": " + message.error().describe());
    return refuse_malformed(body, message.error());
  }
  return std::visit(
      [this](auto& m) -> Status {
        using M = std::decay_t<decltype(m)>;
        // A handler that never returns is reported on the console.
        watchdog_.begin(M::kType);
        ScopeGuard end_step([this] { watchdog_.end(); });
        if constexpr (std::is_same_v<M, msg::Create>) return on_create(m);
        else if constexpr (std::is_same_v<M, msg::Start>) return on_start(m);
        else if constexpr (std::is_same_v<M, msg::Exec>) return on_exec(m);
        else if constexpr (std::is_same_v<M, msg::Signal>) return on_signal(m);
        else if constexpr (std::is_same_v<M, msg::Resize>) return on_resize(m);
        else if constexpr (std::is_same_v<M, msg::Ps>) return on_ps(m);
        else if constexpr (std::is_same_v<M, msg::Stats>) return on_stats(m);
        else if constexpr (std::is_same_v<M, msg::Update>) return on_update(m);
        else if constexpr (std::is_same_v<M, msg::StatPath>) return on_stat_path(m);
        else if constexpr (std::is_same_v<M, msg::CopyIn>) return on_copy_in(m);
        else if constexpr (std::is_same_v<M, msg::CopyOut>) return on_copy_out(m);
        else if constexpr (std::is_same_v<M, msg::DnsAnswer>) return on_dns_answer(m);
        else if constexpr (std::is_same_v<M, msg::NetworkUpdate>) return on_network_update(m);
        else if constexpr (std::is_same_v<M, msg::ReclaimCaches>) return on_reclaim_caches(m);
        else if constexpr (std::is_same_v<M, msg::Freeze>) return on_freeze(m);
        else if constexpr (std::is_same_v<M, msg::Ping>) return send(msg::Updated{m.request}.to_json());
        else if constexpr (std::is_same_v<M, msg::Forward>) return on_forward(m);
        else return on_shutdown(m);
      },
      *message);
}

// A request that did not parse is still answered the way its kind is: a
// process that cannot start gets start_failed (and its streams their EOF),
// a query gets failed; anything else is only logged.
Status Supervisor::refuse_malformed(const json& body, const Error& error) {
  std::string type;
  if (body.is_object() && body.contains("type") && body["type"].is_string()) type = body["type"].get<std::string>();
  if (type == "create" || type == "exec" || type == "copy_in" || type == "copy_out") {
    msg::ProcessRef ref = msg::process_ref(body);
    // A stream that belongs to a process already running is not ours to end.
    bool taken = processes_.count(ref.id) > 0;
    return start_failed(ref.id, "invalid " + type + " request: " + error.describe(), 1,
                        taken ? std::vector<std::string>{} : ref.outputs, taken ? "" : ref.stdin_stream);
  }
  if (type == "start") return start_failed(msg::process_ref(body).id, "invalid start request: " + error.describe(), 1, {});
  if (type == "ps" || type == "stats" || type == "update" || type == "stat_path" || type == "freeze" ||
      type == "ping")
    return send(msg::Failed{msg::request_ref(body), msg::clip_text("invalid " + type + " request: " + error.describe())}
                    .to_json());
  return ok();
}

// ---------------------------------------------------------------------------
// Processes.

Status Supervisor::start_failed(const std::string& id, const std::string& message, int exit_code,
                                const std::vector<std::string>& outputs,
                                const std::string& stdin_stream) {
  if (auto it = inputs_.find(stdin_stream); it != inputs_.end()) {
    session_.consumed(stdin_stream, it->second.pending.size());
    inputs_.erase(it);
  }
  log::warn("process " + id + " could not start: " + msg::clip_text(message));
  for (const auto& stream : outputs) {
    (void)session_.send_eof(stream);
    inputs_.erase(stream);  // a tty's input
  }
  // Within what the host accepts: a long (or non-UTF-8) args[0] in runc's
  // message must not read as a protocol violation.
  return send(msg::StartFailed{id, msg::clip_text(message), std::clamp(exit_code, 1, 255)}.to_json());
}

Status Supervisor::check_streams(const msg::Stdio& stdio) {
  // Only what the agent writes must be open: the host may have ended (and
  // so retired) <id>/stdin before the request, when it has no input.
  for (const auto& s : stdio.outputs())
    if (!session_.is_open(s)) return fail("stdio: stream \"" + s + "\" is not open");
  return ok();
}

Process& Supervisor::track(std::string id, pid_t pid, ParentStdio stdio,
                           const msg::Stdio& streams) {
  Process& p = processes_[id];
  p.id = std::move(id);
  p.pid = pid;
  if (streams.terminal()) {
    p.input_stream = streams.tty;
    p.master = std::move(stdio.tty_master);
    (void)io::set_nonblocking(p.master.get());
    int out = ::fcntl(p.master.get(), F_DUPFD_CLOEXEC, 0);
    p.outputs.push_back({streams.tty, UniqueFd(out), true, false});
  } else {
    p.input_stream = streams.stdin_stream;
    p.stdin_fd = std::move(stdio.stdin_write);
    (void)io::set_nonblocking(p.stdin_fd.get());
    p.outputs.push_back({streams.stdout_stream, std::move(stdio.stdout_read), false, false});
    p.outputs.push_back({streams.stderr_stream, std::move(stdio.stderr_read), false, false});
    for (auto& out : p.outputs) (void)io::set_nonblocking(out.fd.get());
    // The host's input may have ended (or never been opened) before the
    // process existed.
    auto it = inputs_.find(p.input_stream);
    if (it == inputs_.end() || (it->second.eof && it->second.pending.empty())) p.stdin_fd.reset();
  }
  return p;
}

// Input buffers of streams no process took and the host has closed: a host
// that opens streams and never names them cannot grow the agent's memory.
void Supervisor::prune_inputs() {
  if (inputs_.size() < 2 * proto::kMaxStreams) return;
  for (auto it = inputs_.begin(); it != inputs_.end();) {
    bool used = std::any_of(processes_.begin(), processes_.end(),
                            [&](const auto& kv) { return kv.second.input_stream == it->first; });
    if (!used && !session_.is_open(it->first)) it = inputs_.erase(it);
    else ++it;
  }
}

Container* Supervisor::find_container(const std::string& name) {
  auto it = containers_.find(name);
  return it == containers_.end() ? nullptr : &it->second;
}

const Process* Supervisor::init_of(const Container& c) const {
  auto it = processes_.find(c.init_id);
  return it == processes_.end() || !it->second.is_init || it->second.container != c.name ? nullptr : &it->second;
}

bool Supervisor::init_running(const Container& c) const {
  const Process* init = init_of(c);
  return init && init->released && !init->wait_status && !init->forced_exit_code;
}

ContainerHandle Supervisor::handle(const Container& c) const {
  const Process* init = init_of(c);
  return ContainerHandle{init ? init->pid : -1, &c.cgroup};
}

std::string Supervisor::cannot_run_in(const std::string& name, const char* stopped_message,
                                      const char* not_started_message) {
  Container* c = find_container(name);
  if (!c) return "no container " + name + " in this VM";
  if (init_running(*c)) return "";
  return c->exited ? stopped_message : not_started_message;
}

std::optional<winsize> console_size_of(const oci::Process& process) {
  if (!process.console_size) return std::nullopt;
  winsize ws = {};
  ws.ws_row = process.console_size->height;
  ws.ws_col = process.console_size->width;
  return ws;
}

Status Supervisor::on_create(msg::Create& request) {
  const std::string& id = request.id;
  const std::string& name = request.container;
  std::vector<std::string> outputs = request.stdio.outputs();
  std::string stdin_stream = request.stdio.terminal() ? "" : request.stdio.stdin_stream;
  if (containers_.count(name)) return start_failed(id, "the container was already created", 1, {});
  if (processes_.count(id)) return start_failed(id, "process id " + id + " is in use", 1, {});
  if (Status s = check_streams(request.stdio); !s)
    return start_failed(id, "invalid create request: " + s.error().describe(), 1, {});
  auto refuse = [&](const std::string& why) { return start_failed(id, why, 1, outputs, stdin_stream); };
  // The VM's first container owns it (its network above all); the others
  // join it, and only while that first one runs.
  bool first = containers_.empty();
  if (first && name != msg::kFirstContainer)
    return refuse("container " + name + " cannot join a VM that has no first container");
  if (!first) {
    Container* owner = find_container(std::string(msg::kFirstContainer));
    if (!owner || owner->exited) return refuse("the VM's first container has stopped");
    if (!request.network.interfaces.empty() || !request.nics.empty() || request.dns_relay)
      return refuse("only the VM's first container configures the network; container " + name + " joins it");
    if (request.root_share == kRootTag)
      return refuse("container " + name + " cannot have the first container's root share as its root");
  } else if (request.root_share != kRootTag || !request.root_subpath.empty() || request.join.any()) {
    return refuse("the VM's first container has the root share as its root and joins no other container");
  }
  // The namespaces it shares with a container already here, held open
  // until its init has them.
  struct Joined {
    const std::string* with;
    const char* ns;
    UniqueFd fd;
  } joins[] = {{&request.join.ipc, "ipc", {}}, {&request.join.uts, "uts", {}}, {&request.join.pid, "pid", {}}};
  for (Joined& j : joins) {
    if (j.with->empty()) continue;
    Container* other = find_container(*j.with);
    const Process* init = other ? init_of(*other) : nullptr;
    if (!other || other->exited || !init || init->wait_status)
      return refuse("cannot join the " + std::string(j.ns) + " namespace of container " + *j.with +
                    ": it is not running in this VM");
    auto fd = io::open_file("/proc/" + std::to_string(init->pid) + "/ns/" + j.ns, O_RDONLY);
    if (!fd) return refuse("open the " + std::string(j.ns) + " namespace of container " + *j.with + ": " +
                           fd.error().describe());
    j.fd = std::move(*fd);
  }

  Container container;
  container.name = name;
  container.init_id = id;
  container.own_pid_namespace = request.join.pid.empty();
  if (guest_cgroup_ready()) {
    auto cgroup = GuestCgroup::make(name);
    if (!cgroup) return refuse("create the container's guest cgroup: " + cgroup.error().describe());
    container.cgroup = std::move(*cgroup);
    if (Status s = container.cgroup.apply_limits(request.resources); !s) {
      container.cgroup.remove();
      return refuse("apply resources: " + s.error().describe());
    }
  } else if (auto writes = cgroup_writes(request.resources, ""); !writes || !writes->empty()) {
    log::warn("no guest cgroup: resource limits are not applied");
  }
  // From here the container is on record: a failure below leaves it
  // stopped (an exec in it is refused as in any stopped container).
  Container& c = containers_[name] = std::move(container);
  c.exited = true;  // until its init is prepared

  ContainerConfig config;
  config.process = std::move(request.process.process);
  config.mounts = std::move(request.mounts);
  config.readonly_root = request.readonly_root;
  config.root_propagation = request.root_propagation;
  config.hostname = request.hostname;
  config.console_size = console_size_of(config.process);
  config.clear_onlcr = request.stdio.no_onlcr;
  config.domainname = request.domainname;
  config.sysctl = std::move(request.sysctl);
  config.cgroup = &c.cgroup;
  config.join_ipc_fd = joins[0].fd ? joins[0].fd.get() : -1;
  config.join_uts_fd = joins[1].fd ? joins[1].fd.get() : -1;
  config.join_pid_fd = joins[2].fd ? joins[2].fd.get() : -1;
  c.oom_score_adj = config.process.oom_score_adj;
  if (!first) {
    if (Status s = mount_share(request.root_share); !s)
      return refuse("mount the share of the container's root: " + s.error().describe());
    config.root = share_path(request.root_share) + (request.root_subpath.empty() ? "" : "/" + request.root_subpath);
    config.bind_root = true;
  }
  for (const auto& b : request.binds)
    if (Status s = mount_share(b.share); !s)
      return refuse("mount the share of " + b.destination + ": " + s.error().describe());
  config.binds = std::move(request.binds);
  config.devices = std::move(request.devices);
  auto confinement = confinement_of(request);
  if (!confinement) return refuse("invalid create request: " + confinement.error().describe());
  config.confinement = c.confinement = std::move(*confinement);
  if (first) {
    // The network the engine gave the container's namespace on the host,
    // recreated on the VM's NICs before the process exists (lo always).
    if (!request.network.interfaces.empty() || !request.nics.empty())
      if (Status s = load_modules(kNetworkModuleList); !s)
        return refuse("load the network driver: " + s.error().describe());
    if (!request.nics.empty()) {
      auto slots = net::NicSlots::set_up(request.nics);
      if (!slots) return refuse("set up the network devices: " + slots.error().describe());
      nic_slots_.emplace(std::move(*slots));
    }
    if (Status s = net::apply_network_config(request.network); !s)
      return refuse("configure the network: " + s.error().describe());
    if (request.dns_relay) start_dns_relay();
  } else {
    settle_nics();  // no fork while the parker thread runs
  }
  StartFailure failure;
  auto prepared = prepare_init(config, failure);
  if (!prepared) {
    if (failure.message.empty()) failure.message = prepared.error().describe();
    return start_failed(id, failure.message, failure.exit_code, outputs, stdin_stream);
  }
  c.exited = false;
  Process& p = track(id, prepared->pid, std::move(prepared->stdio), request.stdio);
  p.container = name;
  p.is_init = true;
  p.release = std::move(prepared->release);
  p.exec_watch = std::move(prepared->exec_watch);
  // Only now, with init cloned: the agent forks and clones with raw
  // syscalls that run no atfork handlers, so no other thread may run then
  // (every later fork waits for the parker: settle_nics).
  if (first && nic_slots_) nic_slots_->start_parking();
  return send(msg::Created{p.id, p.pid}.to_json());
}

Status Supervisor::fail_start_with_hook(Process& init, size_t index, const std::string& message) {
  std::string text = "error running hook #" + std::to_string(index) + ": " + message + "\n";
  log::warn(text);
  const std::string& stream = init.outputs.size() == 1 ? init.outputs[0].stream
                                                        : init.outputs[1].stream;
  size_t n = std::min(text.size(), session_.send_credit(stream));
  if (n > 0) (void)session_.send_data(stream, std::string_view(text).substr(0, n));
  ::kill(init.pid, SIGKILL);
  init.release.reset();
  init.released = true;
  init.forced_exit_code = 1;
  return send(msg::Started{init.id, init.pid}.to_json());
}

Status Supervisor::on_start(const msg::Start& request) {
  const std::string& id = request.id;
  auto it = processes_.find(id);
  if (it == processes_.end() || !it->second.is_init || it->second.container != request.container)
    return start_failed(id, "no container process \"" + id + "\" to start", 1, {});
  Process& init = it->second;
  Container* container = find_container(init.container);
  if (!container) return start_failed(id, "no container " + init.container + " in this VM", 1, {});
  if (init.released) return start_failed(id, "the container was already started", 1, {});
  if (init.wait_status) return start_failed(id, "the container process has exited", 1, {});
  settle_nics();
  for (size_t i = 0; i < request.hooks.size(); ++i)
    if (auto error = run_hook(ContainerHandle{init.pid, &container->cgroup}, request.hooks[i], request.state,
                              container->confinement.filter()))
      return fail_start_with_hook(init, i, *error);
  if (Status s = release_init(init.release); !s) {
    // It died before start (say, killed): its exit is reported as usual.
    init.released = true;
    log::warn("release the container process: " + s.error().describe());
  }
  // `started` (and with it `runvm start`) only once the program runs, as
  // runc's start returns once its init has gone on to exec: a signal sent
  // right after start must find the program, not the agent's child.
  if (!wait_for_exec(init.exec_watch, kExecWaitMs)) log::warn("the container process has not exec'd yet");
  init.exec_at = Clock::now();
  init.released = true;
  // Input that arrived before start can go to the process now.
  return send(msg::Started{id, init.pid}.to_json());
}

Status Supervisor::on_exec(const msg::Exec& request) {
  settle_nics();
  const std::string& id = request.id;
  std::vector<std::string> outputs = request.stdio.outputs();
  std::string stdin_stream = request.stdio.terminal() ? "" : request.stdio.stdin_stream;
  if (processes_.count(id)) return start_failed(id, "process id " + id + " is in use", 1, {});
  if (Status s = check_streams(request.stdio); !s)
    return start_failed(id, "invalid exec request: " + s.error().describe(), 1, {});
  if (std::string why = cannot_run_in(request.container, "cannot exec in a stopped container",
                                      "cannot exec in a container that has not been started");
      !why.empty())
    return start_failed(id, why, 1, outputs, stdin_stream);
  const Container& container = *find_container(request.container);
  if (processes_.size() >= kMaxProcesses)
    return start_failed(id, "too many processes in the container", 1, outputs, stdin_stream);
  StartFailure failure;
  oci::Process process = request.process.process;
  if (!process.oom_score_adj) process.oom_score_adj = container.oom_score_adj;
  auto spawned = spawn_exec(handle(container), process, console_size_of(process), failure,
                            container.confinement.filter(), request.cgroup, request.stdio.no_onlcr);
  if (!spawned) {
    if (failure.message.empty()) failure.message = spawned.error().describe();
    return start_failed(id, failure.message, failure.exit_code, outputs, stdin_stream);
  }
  Process& p = track(id, spawned->pid, std::move(spawned->stdio), request.stdio);
  p.container = request.container;
  p.released = true;
  return send(msg::Started{p.id, p.pid}.to_json());
}

Status Supervisor::on_copy_in(const msg::CopyIn& request) {
  return on_copy(request.id, request.container, request.stdio, copy_job(request));
}

Status Supervisor::on_copy_out(const msg::CopyOut& request) {
  return on_copy(request.id, request.container, request.stdio, copy_job(request));
}

// A copy is started like an exec (same streams, `started`/`start_failed`),
// but runs a transfer instead of a program (transfer_service.h).
Status Supervisor::on_copy(const std::string& id, const std::string& container, const msg::Stdio& stdio,
                           Result<CopyJob> job) {
  std::vector<std::string> outputs = stdio.outputs();
  const std::string& stdin_stream = stdio.stdin_stream;
  if (processes_.count(id)) return start_failed(id, "process id " + id + " is in use", 1, {});
  if (Status s = check_streams(stdio); !s)
    return start_failed(id, "invalid copy request: " + s.error().describe(), 1, {});
  if (!job)
    return start_failed(id, "invalid copy request: " + job.error().describe(), 1, outputs, stdin_stream);
  if (std::string why = cannot_run_in(container, "container not running", "container not running"); !why.empty())
    return start_failed(id, why, 1, outputs, stdin_stream);
  if (processes_.size() >= kMaxProcesses)
    return start_failed(id, "too many processes in the container", 1, outputs, stdin_stream);
  settle_nics();  // no fork while the parker thread runs
  StartFailure failure;
  auto spawned = spawn_copy(handle(*find_container(container)), *job, failure);
  if (!spawned) {
    if (failure.message.empty()) failure.message = spawned.error().describe();
    return start_failed(id, failure.message, failure.exit_code, outputs, stdin_stream);
  }
  Process& p = track(id, spawned->process.pid, std::move(spawned->process.stdio), stdio);
  p.container = container;
  p.released = true;
  p.copy_result = std::move(spawned->result);
  return send(msg::Started{p.id, p.pid}.to_json());
}

Status Supervisor::on_signal(const msg::Signal& request) {
  if (request.all) {
    if (Container* c = find_container(request.container)) c->cgroup.signal(request.signal);
    return ok();
  }
  auto it = processes_.find(request.id);
  // Not started or already exited: no effect, as the contract says.
  if (it == processes_.end() || !it->second.released || it->second.wait_status ||
      it->second.container != request.container)
    return ok();
  Process& p = it->second;
  int sig = request.signal;
  // init is PID 1 of its namespace: the kernel drops a signal it has left
  // at the default disposition (SIGKILL and SIGSTOP from outside excepted).
  // Right after start it may not have reached its handler setup yet, which
  // takes far longer in a VM under TCG than on a host: hold the signal
  // until it catches, ignores or blocks it, within the window.
  if (p.is_init && sig != SIGKILL && sig != SIGSTOP && p.exec_at &&
      Clock::now() - *p.exec_at < kSignalHoldWindow) {
    auto status = io::read_file("/proc/" + std::to_string(p.pid) + "/status");
    if (status && signal_stance(*status, sig) != SignalStance::kHandled) {
      if (std::find(p.held_signals.begin(), p.held_signals.end(), sig) == p.held_signals.end())
        p.held_signals.push_back(sig);
      log::info("holding signal " + std::to_string(sig) + " until the container process handles it");
      return ok();
    }
  }
  if (::kill(p.pid, sig) < 0)
    log::warn("kill " + std::to_string(p.pid) + " " + std::to_string(sig) + " failed");
  return ok();
}

// Held signals go as soon as init catches, ignores or blocks them, or when
// the window after its exec ends (then the kernel drops what it still has
// at the default, as it would have at once).
void Supervisor::deliver_held_signals() {
  for (auto& [id, p] : processes_) {
    if (p.held_signals.empty()) continue;
    if (p.wait_status) {
      p.held_signals.clear();
      continue;
    }
    bool window_over = !p.exec_at || Clock::now() - *p.exec_at >= kSignalHoldWindow;
    auto status = io::read_file("/proc/" + std::to_string(p.pid) + "/status");
    std::vector<int> still;
    auto now = Clock::now();
    for (int sig : p.held_signals) {
      SignalStance stance = status ? signal_stance(*status, sig) : SignalStance::kHandled;
      bool ready = stance == SignalStance::kHandled;
      if (stance == SignalStance::kBlocked) {
        auto since = p.blocked_since.try_emplace(sig, now).first->second;
        ready = now - since >= kBlockedLongEnough;
      } else {
        p.blocked_since.erase(sig);
      }
      if (!window_over && !ready) {
        still.push_back(sig);
        continue;
      }
      p.blocked_since.erase(sig);
      if (::kill(p.pid, sig) < 0) log::warn("kill " + std::to_string(p.pid) + " " + std::to_string(sig) + " failed");
    }
    p.held_signals = std::move(still);
  }
}

Status Supervisor::on_resize(const msg::Resize& request) {
  auto it = processes_.find(request.id);
  if (it == processes_.end() || !it->second.master) return ok();
  winsize ws = {};
  ws.ws_row = request.rows;
  ws.ws_col = request.cols;
  if (::ioctl(it->second.master.get(), TIOCSWINSZ, &ws) < 0) log::warn("resize " + request.id + " failed");
  return ok();
}

// ---------------------------------------------------------------------------
// Queries.

Status Supervisor::on_ps(const msg::Ps& request) {
  Container* c = find_container(request.container);
  if (!c) return no_container(request.request, request.container);
  if (!c->cgroup.exists())
    return send(msg::Failed{request.request, "the guest has no cgroup for the container"}.to_json());
  std::vector<ProcessInfo> infos;
  std::map<pid_t, pid_t> ns_pid_of;
  // The cgroup's members, and the zombies of the container's PID namespace
  // (gone from cgroup.procs, still counted in pids.current until reaped).
  std::vector<pid_t> pids = c->cgroup.pids();
  // A PID namespace shared with other containers holds their processes too.
  if (pid_t init = handle(*c).init_pid; init > 0 && c->own_pid_namespace) {
    std::set<pid_t> listed(pids.begin(), pids.end());
    for (pid_t pid : pids_in_namespace_of(init, msg::kMaxPsEntries))
      if (listed.insert(pid).second) pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    if (infos.size() >= msg::kMaxPsEntries) break;
    auto info = read_process(pid);
    if (!info) continue;  // it exited meanwhile
    ns_pid_of[info->guest_pid] = info->ns_pid;
    infos.push_back(std::move(*info));
  }
  msg::PsAnswer answer;
  answer.request = request.request;
  size_t bytes = 0;
  for (const auto& info : infos) {
    // A parent outside the container (the agent, for execs) shows as 0.
    auto parent = ns_pid_of.find(info.guest_ppid);
    std::string cmd = msg::clip_text(info.cmd);
    // Bounded as a whole: hex doubles a command line that is not UTF-8.
    bytes += 2 * cmd.size() + 128;
    if (bytes > msg::kMaxPsAnswerBytes) break;
    answer.processes.push_back({info.ns_pid, parent == ns_pid_of.end() ? 0 : parent->second, info.uid, info.tty,
                                info.time_ms, info.start_time_ms, std::move(cmd), info.state});
  }
  // /proc's start times count from boot on CLOCK_BOOTTIME.
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  answer.uptime_ms = static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
  return send(answer.to_json());
}

Status Supervisor::on_stats(const msg::Stats& request) {
  Container* c = find_container(request.container);
  if (!c) return no_container(request.request, request.container);
  if (!c->cgroup.exists())
    return send(msg::Failed{request.request, "the guest has no cgroup for the container"}.to_json());
  msg::StatsAnswer answer = c->cgroup.stats();
  answer.request = request.request;
  return send(answer.to_json());
}

Status Supervisor::on_stat_path(const msg::StatPath& request) {
  msg::StatPathAnswer answer;
  if (Container* c = find_container(request.container); c && init_running(*c)) {
    answer = stat_answer(handle(*c).init_pid, request);
  } else {
    answer.error_number = 0;
    answer.message = "container not running";
  }
  answer.request = request.request;
  return send(answer.to_json());
}

Status Supervisor::on_update(const msg::Update& request) {
  Container* c = find_container(request.container);
  if (!c) return no_container(request.request, request.container);
  return answer_change(request.request, c->cgroup.apply_limits(request.resources));
}

// `pause` of one container of a VM that several share: its guest cgroup is
// frozen, as runc freezes a container's cgroup on a host.
Status Supervisor::on_freeze(const msg::Freeze& request) {
  Container* c = find_container(request.container);
  if (!c) return no_container(request.request, request.container);
  return answer_change(request.request, c->cgroup.freeze(request.frozen));
}

// A connection to 127.0.0.1:port on the host side of the VM's network
// namespace, carried here: connected to 127.0.0.1:port in the guest, which
// is the namespace every container of the VM shares, and bridged to the
// stream the host opened for it. A failure ends the stream and says why.
Status Supervisor::on_forward(const msg::Forward& request) {
  // Why first, then the end: the host resets its client rather than
  // closing it in order.
  auto refuse = [&](int error, const std::string& why) {
    Status sent = send(msg::ForwardFailed{request.id, error, why}.to_json());
    if (session_.is_open(request.id)) (void)session_.send_eof(request.id);
    return sent;
  };
  if (!session_.is_open(request.id) || forwards_.count(request.id) || inputs_.count(request.id))
    return refuse(EINVAL, "stream " + request.id + " is not open or is taken");
  if (forwards_.size() >= kMaxForwards)
    return refuse(EMFILE, std::to_string(kMaxForwards) + " forwarded connections are open already");
  UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket) return refuse(errno, std::string("socket: ") + std::strerror(errno));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(request.port);
  bool connecting = false;
  if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    if (errno != EINPROGRESS)
      return refuse(errno, "connect 127.0.0.1:" + std::to_string(request.port) + ": " + std::strerror(errno));
    connecting = true;
  }
  forwards_.emplace(std::piecewise_construct, std::forward_as_tuple(request.id),
                    std::forward_as_tuple(request.id, std::move(socket), connecting));
  return ok();
}

Status Supervisor::on_shutdown(const msg::Shutdown&) {
  for (auto& [name, c] : containers_) c.cgroup.signal(SIGKILL);
  for (auto& [id, p] : processes_)
    if (!p.wait_status) ::kill(p.pid, SIGKILL);
  shutdown_ = true;
  return ok();
}

// ---------------------------------------------------------------------------
// Stdio.

void Supervisor::pump_output(Output& out) {
  size_t credit = session_.send_credit(out.stream);
  if (!out.fd || credit == 0) return;
  char buf[32 * 1024];
  ssize_t n = ::read(out.fd.get(), buf, std::min(credit, sizeof buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    // 0 for a pipe; EIO for a pty master once every slave holder is gone.
    out.fd.reset();
    if (!out.eof_sent) (void)session_.send_eof(out.stream);
    out.eof_sent = true;
    return;
  }
  (void)session_.send_data(out.stream, std::string_view(buf, static_cast<size_t>(n)));
}

void Supervisor::write_input(Process& p) {
  auto it = inputs_.find(p.input_stream);
  if (it == inputs_.end()) return;
  Input& in = it->second;
  int fd = p.master ? p.master.get() : p.stdin_fd.get();
  if (fd < 0 || in.pending.empty()) return;
  ssize_t n = ::write(fd, in.pending.data(), in.pending.size());
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    // The process closed its stdin: drop what the host sends from now on.
    session_.consumed(p.input_stream, in.pending.size());
    in.pending.clear();
    in.discard = true;
    p.stdin_fd.reset();
    return;
  }
  session_.consumed(p.input_stream, static_cast<size_t>(n));
  in.pending.erase(0, static_cast<size_t>(n));
  if (in.pending.empty() && in.eof) p.stdin_fd.reset();
}

void Supervisor::reap_children() {
  signalfd_siginfo info;
  while (::read(sigchld_.get(), &info, sizeof info) > 0) {
  }
  int status;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    for (auto& [id, p] : processes_) {
      if (p.pid != pid) continue;
      p.wait_status = status;
      p.exited_at = Clock::now();
    }
  }
}

Status Supervisor::report_exits() {
  for (auto it = processes_.begin(); it != processes_.end();) {
    bool done = false;
    TRY(maybe_report_exit(it->second, done));
    if (done) {
      inputs_.erase(it->second.input_stream);
      it = processes_.erase(it);
    } else {
      ++it;
    }
  }
  return ok();
}

// After a process exits, its output is drained: a pipe holds everything it
// wrote, so it is cut at the first moment it has nothing to read (something
// left behind may hold it open); a pty gets kTtyLinger for bytes in flight.
Status Supervisor::maybe_report_exit(Process& p, bool& done) {
  if (!p.wait_status) return ok();
  for (auto& out : p.outputs) {
    while (out.fd && session_.send_credit(out.stream) > 0) {
      pollfd pfd = {out.fd.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 0) <= 0) {
        if (out.tty && Clock::now() - *p.exited_at < kTtyLinger) return ok();
        out.fd.reset();
        break;
      }
      pump_output(out);
    }
    if (out.fd) return ok();  // waiting for the host to grant credit
    if (!out.eof_sent) (void)session_.send_eof(out.stream);
    out.eof_sent = true;
  }
  int status = *p.wait_status;
  if (p.copy_result) {
    done = true;
    return send(copied_message(p.id, p.copy_result.get(), status).to_json());
  }
  msg::Exit exit{p.id, 1, std::nullopt};
  if (p.forced_exit_code) {
    exit.exit_code = *p.forced_exit_code;
  } else if (WIFEXITED(status)) {
    exit.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit.signal = WTERMSIG(status);
    exit.exit_code = 128 + WTERMSIG(status);
  }
  if (p.is_init) {
    if (Container* c = find_container(p.container)) {
      c->exited = true;
      if (c->name != msg::kFirstContainer) {
        c->finishing = true;
        c->cgroup.signal(SIGKILL);
      }
    }
    // The host may stop the VM as soon as it reads this exit: whatever the
    // container wrote must be on the host's disk by then.
    ::sync();
  }
  done = true;
  return send(exit.to_json());
}

// Queries to 127.0.0.11 in the guest go to the host, which asks the
// engine's embedded DNS server in the container's namespace.
void Supervisor::relay_dns_queries(const std::vector<pollfd>& ready) {
  for (DnsQuery& q : dns_->handle(ready)) {
    (void)send(msg::DnsQuery{q.id, q.data, q.tcp}.to_json());
  }
}

Status Supervisor::on_dns_answer(const msg::DnsAnswer& answer) {
  if (dns_) dns_->answer(answer.query, answer.data);
  return ok();
}

Status Supervisor::flush_port() {
  std::string& out = session_.outbox();
  while (!out.empty()) {
    ssize_t n = ::write(port_.get(), out.data(), out.size());
    if (n < 0) {
      if (errno == EAGAIN) return ok();
      if (errno == EINTR) continue;
      return fail_errno("write to host port");
    }
    out.erase(0, static_cast<size_t>(n));
  }
  return ok();
}

}  // namespace

Status supervise(UniqueFd port, Watchdog& watchdog) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) return fail_errno("block SIGCHLD");
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return fail_errno("signalfd");
  Supervisor supervisor(std::move(port), UniqueFd(sfd), watchdog);
  return supervisor.run();
}

}  // namespace runvm::agent
