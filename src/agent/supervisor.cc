#include "agent/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>

#include "agent/cgroup.h"
#include "agent/boot.h"
#include "agent/container.h"
#include "agent/dns_relay.h"
#include "agent/procfs.h"
#include "agent/requests.h"
#include "agent/transfer_service.h"
#include "common/hex.h"
#include "common/io.h"
#include "common/log.h"
#include "net/apply.h"
#include "net/nic_slots.h"
#include "proto/session.h"

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
  pid_t pid = -1;
  bool is_init = false;
  bool released = false;    // exec'd (init: start received)
  UniqueFd release;         // init before start
  std::string input_stream;
  UniqueFd stdin_fd;        // pipe, without a terminal
  UniqueFd master;          // pty master, with one
  std::vector<Output> outputs;
  std::optional<int> wait_status;
  std::optional<Clock::time_point> exited_at;
  std::optional<int> forced_exit_code;  // a hook failed: exit 1 whatever the signal
  UniqueFd copy_result;     // a copy's result pipe: reported as `copied` (transfer_service.h)
};

std::string control() { return std::string(proto::kControlStream); }

// request[key] if it is a string, else fallback.
std::string string_or(const json& request, const char* key, const std::string& fallback) {
  auto it = request.find(key);
  return it != request.end() && it->is_string() ? it->get<std::string>() : fallback;
}

class Supervisor {
 public:
  Supervisor(UniqueFd port, UniqueFd sigchld)
      : port_(std::move(port)), sigchld_(std::move(sigchld)), session_("runvm-agent") {}

  Status run();

 private:
  Status on_port_readable();
  Status handle(const proto::Event& event);
  Status handle_message(const std::string& stream, const json& body);

  Status on_create(const json& request);
  Status on_start(const json& request);
  Status on_exec(const json& request);
  Status on_signal(const json& request);
  Status on_resize(const json& request);
  Status on_ps(const json& request);
  Status on_stats(const json& request);
  Status on_update(const json& request);
  Status on_copy(const json& request);
  Status on_stat_path(const json& request);
  void reclaim_caches();
  void start_dns_relay();
  void settle_nics();
  Status on_network_update(const json& update);
  Status on_dns_answer(const json& answer);
  void relay_dns_queries(const std::vector<pollfd>& ready);
  void on_shutdown();

  // Answers start_failed and EOFs the process's outputs.
  Status start_failed(const std::string& id, const std::string& message, int exit_code,
                      const std::vector<std::string>& outputs,
                      const std::string& stdin_stream = "");
  Result<StdioStreams> stdio_of(const json& request, bool terminal);
  struct ProcessRequest {
    Result<std::string> id;
    json process_json;
    Result<oci::Process> process;
    Result<StdioStreams> streams;
    std::vector<std::string> outputs;
    std::string stdin_stream;
  };
  ProcessRequest parse_process_request(const json& request);
  Process& track(std::string id, pid_t pid, ParentStdio stdio, const StdioStreams& streams);
  Status fail_start_with_hook(Process& init, size_t index, const std::string& message);
  bool init_running() const;
  pid_t init_pid() const;
  void prune_inputs();

  void pump_output(Output& out);
  void write_input(Process& p);
  void reap_children();
  Status report_exits();
  Status maybe_report_exit(Process& p, bool& done);
  Status flush_port();
  int poll_timeout() const;

  UniqueFd port_;
  UniqueFd sigchld_;
  proto::Session session_;
  std::map<std::string, Process> processes_;
  std::optional<net::NicSlots> nic_slots_;  // when the VM has spare NICs
  std::optional<GuestDnsRelay> dns_;  // 127.0.0.11:53, when the host has a server to relay to
  Confinement confinement_;  // from create; its seccomp filter goes to every exec and hook
  std::map<std::string, Input> inputs_;
  bool init_created_ = false;
  bool init_exited_ = false;
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
    TRY(report_exits());
    TRY(flush_port());
  }
  return ok();
}

int Supervisor::poll_timeout() const {
  for (const auto& [id, p] : processes_)
    if (p.wait_status)
      for (const auto& out : p.outputs)
        if (out.fd && out.tty) return 50;
  return -1;
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
    auto it = inputs_.find(d->stream);
    if (it != inputs_.end() && !it->second.discard) it->second.pending += d->bytes;
    else session_.consumed(d->stream, d->bytes.size());  // nobody reads it
    return ok();
  }
  if (auto* e = std::get_if<proto::event::Eof>(&event)) {
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
Status Supervisor::on_network_update(const json& update) {
  auto follow = [&]() -> Status {
    if (!nic_slots_) return fail("this VM has no spare network devices");
    net::NetworkConfig network = TRY(net::from_json(update.value("network", json())));
    std::vector<net::NicSlot> nics = TRY(net::nic_slots_from_json(update.value("nics", json())));
    TRY(nic_slots_->follow(nics));
    TRY(net::apply_network_config(network));
    if (update.value("dns_relay", false)) start_dns_relay();
    return ok();
  };
  json answer = {{"type", "network_updated"}};
  if (Status s = follow(); !s) answer["error"] = s.error().describe();
  return session_.send_message(control(), answer);
}

// The host's virtiofsd holds a descriptor per inode this kernel caches
// (runtime/fs_pressure.h): dropping the unused dentries and inodes ("2";
// the page cache of files in use stays) sends it the FORGETs that let it
// close them.
void Supervisor::reclaim_caches() {
  auto fd = io::open_file("/proc/sys/vm/drop_caches", O_WRONLY);
  Status s = fd ? io::write_all(fd->get(), "2\n") : Status(std::move(fd).error());
  if (!s) log::warn("reclaim the guest's caches: " + s.error().describe());
}

Status Supervisor::handle_message(const std::string& stream, const json& body) {
  std::string type = body.contains("type") && body["type"].is_string()
                         ? body["type"].get<std::string>() : "";
  if (type == "create") return on_create(body);
  if (type == "start") return on_start(body);
  if (type == "exec") return on_exec(body);
  if (type == "signal") return on_signal(body);
  if (type == "resize") return on_resize(body);
  if (type == "ps") return on_ps(body);
  if (type == "stats") return on_stats(body);
  if (type == "update") return on_update(body);
  if (type == "dns_answer") return on_dns_answer(body);
  if (type == "copy_in" || type == "copy_out") return on_copy(body);
  if (type == "stat_path") return on_stat_path(body);
  if (type == "network_update") return on_network_update(body);
  if (type == "reclaim_caches") {
    reclaim_caches();
    return ok();
  }
  if (type == "shutdown") {
    on_shutdown();
    return ok();
  }
  log::warn("ignoring unknown message \"" + type + "\" on stream " + stream);
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
  log::warn("process " + id + " could not start: " + message);
  for (const auto& stream : outputs) {
    (void)session_.send_eof(stream);
    inputs_.erase(stream);  // a tty's input
  }
  return session_.send_message(control(), {{"type", "start_failed"}, {"id", id},
                                           {"message", message}, {"exit_code", exit_code}});
}

Result<StdioStreams> Supervisor::stdio_of(const json& request, bool terminal) {
  auto it = request.find("stdio");
  StdioStreams streams = TRY(parse_stdio(it == request.end() ? json() : *it, terminal));
  // Only what the agent writes must be open: the host may have ended (and
  // so retired) <id>/stdin before the request, when it has no input.
  for (const auto& s : streams.outputs())
    if (!session_.is_open(s)) return fail("stdio: stream \"" + s + "\" is not open");
  return streams;
}

Process& Supervisor::track(std::string id, pid_t pid, ParentStdio stdio,
                           const StdioStreams& streams) {
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

bool Supervisor::init_running() const {
  auto it = std::find_if(processes_.begin(), processes_.end(),
                         [](const auto& kv) { return kv.second.is_init; });
  return it != processes_.end() && it->second.released && !it->second.wait_status &&
         !it->second.forced_exit_code;
}

std::optional<winsize> console_size_of(const json& process) {
  auto it = process.find("consoleSize");
  if (it == process.end() || !it->is_object()) return std::nullopt;
  auto h = it->find("height"), w = it->find("width");
  if (h == it->end() || w == it->end() || !h->is_number_unsigned() || !w->is_number_unsigned())
    return std::nullopt;
  winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(std::min<uint64_t>(h->get<uint64_t>(), 0xffff));
  ws.ws_col = static_cast<unsigned short>(std::min<uint64_t>(w->get<uint64_t>(), 0xffff));
  return ws;
}

// What create and exec requests share, parsed up front; each part is
// checked where the request is refused, so a failure still closes the
// streams the host opened.
Supervisor::ProcessRequest Supervisor::parse_process_request(const json& request) {
  json process_json = request.value("process", json::object());
  auto process = oci::process_from_json(process_json);
  auto streams = stdio_of(request, process && process->terminal);
  std::vector<std::string> outputs = streams ? streams->outputs() : std::vector<std::string>{};
  // Whatever the host sent for its stdin is dropped with it.
  std::string stdin_stream = streams && !streams->terminal() ? streams->stdin_stream : "";
  return {parse_process_id(request), std::move(process_json), std::move(process),
          std::move(streams), std::move(outputs), std::move(stdin_stream)};
}

Status Supervisor::on_create(const json& request) {
  ProcessRequest r = parse_process_request(request);
  auto& [id, process_json, process, streams, outputs, stdin_stream] = r;
  std::string pid_name = id ? *id : "init";
  if (!id) return start_failed(pid_name, "invalid create request: " + id.error().describe(), 1, {});
  if (init_created_) return start_failed(pid_name, "the container was already created", 1, {});
  if (!process)
    return start_failed(pid_name, "invalid create request: " + process.error().describe(), 1, outputs, stdin_stream);
  if (!streams)
    return start_failed(pid_name, "invalid create request: " + streams.error().describe(), 1, {});
  auto mounts = oci::mounts_from_json(request.value("mounts", json::array()));
  if (!mounts)
    return start_failed(pid_name, "invalid create request: " + mounts.error().describe(), 1, outputs, stdin_stream);
  auto limits = limits_from_json(request.value("resources", json()));
  if (!limits)
    return start_failed(pid_name, "invalid create request: " + limits.error().describe(), 1, outputs, stdin_stream);
  if (guest_cgroup_ready()) {
    if (Status s = apply_limits(*limits); !s)
      return start_failed(pid_name, "apply resources: " + s.error().describe(), 1, outputs, stdin_stream);
  } else if (!cgroup_writes(*limits, "").empty()) {
    log::warn("no guest cgroup: resource limits are not applied");
  }

  ContainerConfig config;
  config.process = std::move(*process);
  config.mounts = std::move(*mounts);
  json root = request.value("root", json::object());
  config.readonly_root = root.is_object() && root.contains("readonly") &&
                         root["readonly"].is_boolean() && root["readonly"].get<bool>();
  config.hostname = string_or(request, "hostname", "");
  config.console_size = console_size_of(process_json);
  auto binds = parse_binds(request.value("binds", json()));
  if (!binds)
    return start_failed(pid_name, "invalid create request: " + binds.error().describe(), 1, outputs, stdin_stream);
  for (const auto& b : *binds)
    if (Status s = mount_share(b.share); !s)
      return start_failed(pid_name, "mount the share of " + b.destination + ": " + s.error().describe(), 1,
                          outputs, stdin_stream);
  config.binds = std::move(*binds);
  auto devices = parse_devices(request.value("devices", json()));
  if (!devices)
    return start_failed(pid_name, "invalid create request: " + devices.error().describe(), 1, outputs, stdin_stream);
  config.devices = std::move(*devices);
  auto confinement = confinement_from_create(request);
  if (!confinement)
    return start_failed(pid_name, "invalid create request: " + confinement.error().describe(), 1, outputs, stdin_stream);
  config.confinement = confinement_ = std::move(*confinement);
  // The network the engine gave the container's namespace on the host,
  // recreated on the VM's NICs before the process exists (lo always).
  auto network = request.contains("network") ? net::from_json(request["network"])
                                              : Result<net::NetworkConfig>(net::NetworkConfig{});
  if (!network)
    return start_failed(pid_name, "invalid create request: " + network.error().describe(), 1, outputs, stdin_stream);
  auto nics = net::nic_slots_from_json(request.value("nics", json()));
  if (!nics)
    return start_failed(pid_name, "invalid create request: " + nics.error().describe(), 1, outputs, stdin_stream);
  if (!network->interfaces.empty() || !nics->empty())
    if (Status s = load_modules(kNetworkModuleList); !s)
      return start_failed(pid_name, "load the network driver: " + s.error().describe(), 1, outputs, stdin_stream);
  if (!nics->empty()) {
    auto slots = net::NicSlots::set_up(*nics);
    if (!slots)
      return start_failed(pid_name, "set up the network devices: " + slots.error().describe(), 1, outputs,
                          stdin_stream);
    nic_slots_.emplace(std::move(*slots));
  }
  if (Status s = net::apply_network_config(*network); !s)
    return start_failed(pid_name, "configure the network: " + s.error().describe(), 1, outputs, stdin_stream);
  if (request.value("dns_relay", false)) start_dns_relay();
  init_created_ = true;
  StartFailure failure;
  auto prepared = prepare_init(config, failure);
  if (!prepared) {
    init_exited_ = true;  // nothing to exec into
    if (failure.message.empty()) failure.message = prepared.error().describe();
    return start_failed(pid_name, failure.message, failure.exit_code, outputs, stdin_stream);
  }
  Process& p = track(pid_name, prepared->pid, std::move(prepared->stdio), *streams);
  p.is_init = true;
  p.release = std::move(prepared->release);
  // Only now, with init cloned: the agent forks and clones with raw
  // syscalls that run no atfork handlers, so no other thread may run then
  // (every later fork waits for the parker: settle_nics).
  if (nic_slots_) nic_slots_->start_parking();
  return session_.send_message(control(), {{"type", "created"}, {"id", p.id}, {"pid", p.pid}});
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
  return session_.send_message(control(), {{"type", "started"}, {"id", init.id}, {"pid", init.pid}});
}

Status Supervisor::on_start(const json& request) {
  std::string id = string_or(request, "id", "init");
  auto it = processes_.find(id);
  if (it == processes_.end() || !it->second.is_init)
    return start_failed(id, "no container process \"" + id + "\" to start", 1, {});
  Process& init = it->second;
  if (init.released) return start_failed(id, "the container was already started", 1, {});
  if (init.wait_status) return start_failed(id, "the container process has exited", 1, {});
  auto hooks = parse_hooks(request.value("hooks", json()));
  if (!hooks) return start_failed(id, "invalid start request: " + hooks.error().describe(), 1, {});
  settle_nics();
  std::string state = request.value("state", json::object()).dump(
      -1, ' ', false, json::error_handler_t::replace);
  for (size_t i = 0; i < hooks->size(); ++i)
    if (auto error = run_hook(init.pid, (*hooks)[i], state, confinement_.filter()))
      return fail_start_with_hook(init, i, *error);
  if (Status s = release_init(init.release); !s) {
    // It died before start (say, killed): its exit is reported as usual.
    init.released = true;
    log::warn("release the container process: " + s.error().describe());
  }
  init.released = true;
  // Input that arrived before start can go to the process now.
  return session_.send_message(control(), {{"type", "started"}, {"id", id}, {"pid", init.pid}});
}

Status Supervisor::on_exec(const json& request) {
  settle_nics();
  ProcessRequest r = parse_process_request(request);
  auto& [id, process_json, process, streams, outputs, stdin_stream] = r;
  if (!id) return start_failed("", "invalid exec request: " + id.error().describe(), 1, {});
  if (processes_.count(*id)) return start_failed(*id, "process id " + *id + " is in use", 1, {});
  if (!process)
    return start_failed(*id, "invalid exec request: " + process.error().describe(), 1, outputs, stdin_stream);
  if (!streams)
    return start_failed(*id, "invalid exec request: " + streams.error().describe(), 1, {});
  if (!init_running())
    return start_failed(*id, init_exited_ || !init_created_
                                 ? "cannot exec in a stopped container"
                                 : "cannot exec in a container that has not been started",
                        1, outputs, stdin_stream);
  if (processes_.size() >= kMaxProcesses)
    return start_failed(*id, "too many processes in the container", 1, outputs, stdin_stream);
  pid_t init_pid = -1;
  for (const auto& [pid_id, p] : processes_)
    if (p.is_init) init_pid = p.pid;
  StartFailure failure;
  auto spawned = spawn_exec(init_pid, *process, console_size_of(process_json), failure, confinement_.filter());
  if (!spawned) {
    if (failure.message.empty()) failure.message = spawned.error().describe();
    return start_failed(*id, failure.message, failure.exit_code, outputs, stdin_stream);
  }
  Process& p = track(*id, spawned->pid, std::move(spawned->stdio), *streams);
  p.released = true;
  return session_.send_message(control(), {{"type", "started"}, {"id", p.id}, {"pid", p.pid}});
}

pid_t Supervisor::init_pid() const {
  for (const auto& [id, p] : processes_)
    if (p.is_init) return p.pid;
  return -1;
}

// A copy is started like an exec (same streams, `started`/`start_failed`),
// but runs a transfer instead of a program (transfer_service.h).
Status Supervisor::on_copy(const json& request) {
  auto id = parse_process_id(request);
  auto streams = stdio_of(request, false);
  std::vector<std::string> outputs = streams ? streams->outputs() : std::vector<std::string>{};
  std::string stdin_stream = streams ? streams->stdin_stream : "";
  if (!id) return start_failed("", "invalid copy request: " + id.error().describe(), 1, {});
  if (processes_.count(*id)) return start_failed(*id, "process id " + *id + " is in use", 1, {});
  if (!streams) return start_failed(*id, "invalid copy request: " + streams.error().describe(), 1, {});
  auto job = parse_copy_request(request);
  if (!job)
    return start_failed(*id, "invalid copy request: " + job.error().describe(), 1, outputs, stdin_stream);
  if (!init_running())
    return start_failed(*id, "container not running", 1, outputs, stdin_stream);
  if (processes_.size() >= kMaxProcesses)
    return start_failed(*id, "too many processes in the container", 1, outputs, stdin_stream);
  settle_nics();  // no fork while the parker thread runs
  StartFailure failure;
  auto spawned = spawn_copy(init_pid(), *job, failure);
  if (!spawned) {
    if (failure.message.empty()) failure.message = spawned.error().describe();
    return start_failed(*id, failure.message, failure.exit_code, outputs, stdin_stream);
  }
  Process& p = track(*id, spawned->process.pid, std::move(spawned->process.stdio), *streams);
  p.released = true;
  p.copy_result = std::move(spawned->result);
  return session_.send_message(control(), {{"type", "started"}, {"id", p.id}, {"pid", p.pid}});
}

Status Supervisor::on_signal(const json& request) {
  auto sig_it = request.find("signal");
  if (sig_it == request.end() || !sig_it->is_number_integer()) {
    log::warn("signal request without a signal number");
    return ok();
  }
  int64_t sig = sig_it->get<int64_t>();
  if (sig <= 0 || sig >= 65) {
    log::warn("ignoring signal " + std::to_string(sig));
    return ok();
  }
  auto all = request.find("all");
  if (all != request.end() && all->is_boolean() && all->get<bool>()) {
    signal_cgroup(static_cast<int>(sig));
    return ok();
  }
  std::string id = string_or(request, "id", "init");
  auto it = processes_.find(id);
  // Not started or already exited: no effect, as the contract says.
  if (it == processes_.end() || !it->second.released || it->second.wait_status) return ok();
  if (::kill(it->second.pid, static_cast<int>(sig)) < 0)
    log::warn("kill " + std::to_string(it->second.pid) + " " + std::to_string(sig) + " failed");
  return ok();
}

Status Supervisor::on_resize(const json& request) {
  std::string id = string_or(request, "id", "");
  auto it = processes_.find(id);
  if (it == processes_.end() || !it->second.master) return ok();
  auto dim = [&](const char* key) -> unsigned short {
    auto v = request.find(key);
    if (v == request.end() || !v->is_number_unsigned()) return 0;
    return static_cast<unsigned short>(std::min<uint64_t>(v->get<uint64_t>(), 0xffff));
  };
  winsize ws = {};
  ws.ws_row = dim("rows");
  ws.ws_col = dim("cols");
  if (::ioctl(it->second.master.get(), TIOCSWINSZ, &ws) < 0) log::warn("resize " + id + " failed");
  return ok();
}

// ---------------------------------------------------------------------------
// Queries.

json request_of(const json& request) {
  auto it = request.find("request");
  return it == request.end() ? json() : *it;
}

Status Supervisor::on_ps(const json& request) {
  std::vector<ProcessInfo> infos;
  std::map<pid_t, pid_t> ns_pid_of;
  for (pid_t pid : cgroup_pids()) {
    if (infos.size() >= kMaxPsEntries) break;
    auto info = read_process(pid);
    if (!info) continue;  // it exited meanwhile
    ns_pid_of[info->guest_pid] = info->ns_pid;
    infos.push_back(std::move(*info));
  }
  json list = json::array();
  for (const auto& info : infos) {
    // A parent outside the container (the agent, for execs) shows as 0.
    auto parent = ns_pid_of.find(info.guest_ppid);
    list.push_back({{"pid", info.ns_pid},
                    {"ppid", parent == ns_pid_of.end() ? 0 : parent->second},
                    {"uid", info.uid},
                    {"tty", info.tty},
                    {"time_ms", info.time_ms},
                    {"start_time_ms", info.start_time_ms},
                    {"cmd", info.cmd}});
  }
  json answer = {{"type", "ps"}, {"request", request_of(request)}, {"processes", std::move(list)}};
  if (!guest_cgroup_ready())
    answer = {{"type", "failed"}, {"request", request_of(request)},
              {"message", "the guest has no cgroup for the container"}};
  return session_.send_message(control(), answer);
}

Status Supervisor::on_stats(const json& request) {
  if (!guest_cgroup_ready())
    return session_.send_message(control(), {{"type", "failed"}, {"request", request_of(request)},
                                             {"message", "the guest has no cgroup for the container"}});
  json answer = cgroup_stats();
  answer["type"] = "stats";
  answer["request"] = request_of(request);
  return session_.send_message(control(), answer);
}

Status Supervisor::on_stat_path(const json& request) {
  json answer = init_running() ? stat_answer(init_pid(), request)
                               : json{{"errno", 0}, {"message", "container not running"}};
  answer["type"] = "stat_path";
  answer["request"] = request_of(request);
  return session_.send_message(control(), answer);
}

Status Supervisor::on_update(const json& request) {
  auto it = request.find("resources");
  auto limits = limits_from_json(it == request.end() ? json() : *it);
  Status applied = limits ? apply_limits(*limits) : Status(std::move(limits).error());
  if (!applied)
    return session_.send_message(control(), {{"type", "failed"}, {"request", request_of(request)},
                                             {"message", applied.error().describe()}});
  return session_.send_message(control(), {{"type", "updated"}, {"request", request_of(request)}});
}

void Supervisor::on_shutdown() {
  signal_cgroup(SIGKILL);
  for (auto& [id, p] : processes_)
    if (!p.wait_status) ::kill(p.pid, SIGKILL);
  shutdown_ = true;
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
    return session_.send_message(control(), copied_message(p.id, p.copy_result.get(), status));
  }
  json exit = {{"type", "exit"}, {"id", p.id}, {"exit_code", nullptr}, {"signal", nullptr}};
  if (p.forced_exit_code) {
    exit["exit_code"] = *p.forced_exit_code;
  } else if (WIFEXITED(status)) {
    exit["exit_code"] = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit["signal"] = WTERMSIG(status);
    exit["exit_code"] = 128 + WTERMSIG(status);
  }
  if (p.is_init) {
    init_exited_ = true;
    // The host may stop the VM as soon as it reads this exit: whatever the
    // container wrote must be on the host's disk by then.
    ::sync();
  }
  done = true;
  return session_.send_message(control(), exit);
}

// Queries to 127.0.0.11 in the guest go to the host, which asks the
// engine's embedded DNS server in the container's namespace.
void Supervisor::relay_dns_queries(const std::vector<pollfd>& ready) {
  for (DnsQuery& q : dns_->handle(ready)) {
    json m = {{"type", "dns_query"}, {"query", q.id}, {"data", hex::encode(q.data)}};
    if (q.tcp) m["tcp"] = true;
    (void)session_.send_message(control(), m);
  }
}

Status Supervisor::on_dns_answer(const json& answer) {
  if (!dns_ || !answer.contains("query") || !answer["query"].is_number_unsigned() || !answer.contains("data") ||
      !answer["data"].is_string())
    return ok();
  if (auto data = hex::decode(answer["data"].get<std::string>()))
    dns_->answer(answer["query"].get<uint64_t>(), *data);
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

Status supervise(UniqueFd port) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) return fail_errno("block SIGCHLD");
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return fail_errno("signalfd");
  Supervisor supervisor(std::move(port), UniqueFd(sfd));
  return supervisor.run();
}

}  // namespace runvm::agent
