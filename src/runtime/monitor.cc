#include "runtime/monitor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/mount.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "common/json_bytes.h"
#include "common/io.h"
#include "common/log.h"
#include "host/message_socket.h"
#include "runtime/copy_request.h"
#include "runtime/hooks.h"

namespace runvm::runtime {

using nlohmann::json;
using namespace std::chrono_literals;

struct Monitor::Process {
  Process(const std::string& id, HostStdio io) : relay(id, std::move(io)) {}
  StdioRelay relay;
  int client_fd = -1;  // an exec's stand-in; -1 for init
  bool created = false;
  bool started = false;
  std::optional<int> exit_code;
  std::optional<std::string> start_error;
  int start_exit_code = 1;
  std::optional<msg::Copied> copied;  // a copy's result (runvm cp), for its client
  std::string container = std::string(msg::kFirstContainer);  // the guest name of its container
  bool member_init = false;  // the init of a container that joined the VM
  std::optional<int> exit_override;  // a joined container killed before it started
};

// A container that joined the VM: its stand-in (another runvm process)
// holds the connection that added it, and hears its exit there.
struct Monitor::Member {
  std::string oci_id;
  std::string init_id;
  int client_fd = -1;  // the stand-in's connection
  pid_t stand_in = 0;
  std::vector<oci::Hook> start_hooks;
  std::string hook_state;
  int start_client = -1;  // waiting for its "started"
};

struct Monitor::Client {
  UniqueFd fd;
  std::string exec_id;  // the exec this connection stands for, if any
  bool closed = false;
  pid_t peer = 0;       // the connecting process (an exec's stand-in)
};

namespace {

std::string console_tail(const vm::Vm& vm) {
  auto text = io::read_file(vm.console_log_path());
  if (!text || text->empty()) return "";
  size_t from = text->size() > 3000 ? text->size() - 3000 : 0;
  return "\nlast guest console output:\n" + text->substr(from);
}

// A process's host stdio from the descriptors its request brought: three
// (stdin, stdout, stderr), or with a terminal one (a console socket's pty)
// or three (stdin, stdout and the host console of a foreground exec -t or
// run -t, relayed as runc relays its own terminal: the guest pty without
// ONLCR). `what` names the request in the error.
Result<HostStdio> stdio_from(std::vector<UniqueFd> fds, bool terminal, const std::string& what) {
  HostStdio io;
  if (terminal) {
    if (fds.size() == 3) {
      io.in = fds[0].get();
      io.out = fds[1].get();
      io.tty = fds[2].get();
      io.no_onlcr = true;
    } else if (fds.size() == 1) {
      io.tty = fds[0].get();
    } else {
      return fail(what + " with a terminal takes one descriptor, or three (stdin, stdout, terminal)");
    }
  } else {
    if (fds.size() != 3) return fail(what + " takes three descriptors (stdin, stdout, stderr)");
    io.in = fds[0].get();
    io.out = fds[1].get();
    io.err = fds[2].get();
  }
  io.owned = std::move(fds);
  return io;
}

// The stream's process: "e3/stdout" belongs to "e3".
std::string owner_of(const std::string& stream) { return stream.substr(0, stream.find('/')); }

}  // namespace

msg::Create create_message(const oci::Spec& spec, std::vector<msg::BindShare> binds,
                           std::vector<oci::Device> devices) {
  msg::Create create;
  create.process.process = spec.process;
  create.readonly_root = spec.root.readonly;
  create.hostname = spec.hostname;
  create.mounts = spec.mounts;
  create.resources = msg::Resources::from_spec(spec.resources);
  create.binds = std::move(binds);
  create.devices = std::move(devices);
  create.root_propagation = spec.root_propagation;
  create.masked_paths = spec.masked_paths;
  create.readonly_paths = spec.readonly_paths;
  create.seccomp = spec.seccomp;
  create.sysctl = spec.sysctl;
  create.domainname = spec.domainname;
  return create;
}

Status enter_rootfs(const std::string& rootfs) {
  // A mount namespace of our own (QEMU and virtiofsd keep theirs), whose
  // root becomes the rootfs by pivot_root, as runc does it: tools that join
  // the container's mount namespace (podman cp does, and then writes to "/")
  // or go through /proc/<pid>/root land in the container.
  if (::unshare(CLONE_NEWNS) < 0) return fail_errno("unshare the monitor's mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    return fail_errno("make the monitor's mounts private");
  if (::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return fail_errno("bind " + rootfs + " onto itself");
  if (::chdir(rootfs.c_str()) < 0) return fail_errno("chdir " + rootfs);
  if (::syscall(SYS_pivot_root, ".", ".") < 0) return fail_errno("pivot_root into " + rootfs);
  if (::umount2(".", MNT_DETACH) < 0) return fail_errno("detach the host's root");
  if (::chdir("/") < 0) return fail_errno("chdir / in the rootfs");
  return ok();
}

Monitor::Monitor(MonitorConfig config) : config_(std::move(config)) {}

Monitor::~Monitor() {
  if (vm_) vm_->kill();
  if (control_ && state_dir_fd_) ::unlinkat(state_dir_fd_.get(), kControlSocket, 0);
}

Status Monitor::enter_rootfs() { return runtime::enter_rootfs(config_.vm.rootfs); }

Result<std::unique_ptr<Monitor>> Monitor::create(MonitorConfig config, int& start_exit_code) {
  std::unique_ptr<Monitor> m(new Monitor(std::move(config)));
  m->state_dir_fd_ = TRY(io::open_file(m->config_.state_dir, O_PATH | O_DIRECTORY));
  m->proc_ = TRY(io::open_file("/proc", O_PATH | O_DIRECTORY));
  m->signals_.emplace(TRY(SignalRoute::create()));
  m->control_ = TRY(host::listen_messages(m->config_.state_dir + "/" + kControlSocket));
  TRY(io::set_nonblocking(m->control_.get()));
  std::shared_ptr<vm::VmmBackend> backend =
      m->config_.backend ? m->config_.backend : std::shared_ptr<vm::VmmBackend>(vm::make_qemu_backend(m->config_.qemu));
  m->vm_ = TRY(backend->boot(m->config_.vm));
  m->link_ = std::make_unique<AgentLink>(m->vm_->agent_fd());
  if (Status s = m->link_->handshake(m->config_.boot_timeout, m->signals_->fd(), m->vm_->watch_fds());
      !s) {
    std::string why = m->vm_->check_failure();
    std::string threads = why.empty() ? m->vm_->describe_threads(m->proc_.get()) : "";
    return fail("boot the VM: " + s.error().describe() + (why.empty() ? "" : " (" + why + ")") +
                (threads.empty() ? "" : " (" + threads + ")") + console_tail(*m->vm_));
  }

  auto& init = m->processes_["init"];
  init = std::make_unique<Process>("init", std::move(m->config_.init_io));
  TRY(init->relay.open(m->link_->session()));
  msg::Create create = create_message(m->config_.spec, m->config_.binds, m->config_.devices);
  create.id = "init";
  create.network = m->config_.network.config;
  create.nics = m->config_.network.nic_slots();
  create.dns_relay = m->config_.network.dns.has_value();
  create.stdio = init->relay.streams();
  TRY_CTX(m->link_->send(create.to_json()),
          "send the container's process to the VM (process.args, process.env and the rest of config.json)");
  // Bounded like the boot: a guest that never answers must not leave
  // `create` (and the engine above it) waiting forever.
  auto sent = std::chrono::steady_clock::now();
  auto deadline = sent + m->config_.boot_timeout;
  while (!init->created && !init->start_error && !m->lost_) {
    auto now = std::chrono::steady_clock::now();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (left.count() <= 0) {
      std::string ping = !m->create_ping_ ? ""
                         : m->create_ping_answered_ ? "; a ping sent meanwhile was answered"
                                                    : "; a ping sent meanwhile was not answered";
      return fail("create the container: the guest did not prepare the process within " +
                  std::to_string(m->config_.boot_timeout.count() / 1000) + " s (" +
                  m->link_->describe_transport() + ping + "; " + m->vm_->describe_threads(m->proc_.get()) + ")" +
                  console_tail(*m->vm_));
    }
    // A quarter of the way: a ping, answered at once by a guest that reads.
    // A guest whose wake-up was lost (seen on a heavily loaded host: the
    // request read by QEMU, the guest idle) gets another one with it.
    if (!m->create_ping_ && now - sent >= m->config_.boot_timeout / 4) {
      msg::Ping ping{m->next_request_++};
      m->create_ping_ = ping.request;
      m->pending_queries_[ping.request] = {-1, deadline, true};
      log::warn("the guest has not answered create in " +
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - sent).count()) +
                " s; pinging it (" + m->link_->describe_transport() + ")");
      TRY(m->link_->send(ping.to_json()));
    }
    if (Status s = m->step(static_cast<int>(std::min<int64_t>(left.count(), 1000))); !s) {
      std::string why = m->vm_failure();
      return fail("create the container: " + (why.empty() ? s.error().describe() : why));
    }
  }
  if (init->start_error) {
    start_exit_code = init->start_exit_code;
    return fail(*init->start_error);
  }
  m->set_status("created");
  return m;
}

Status Monitor::start() {
  TRY(request_start(-1));
  Process& init = *processes_["init"];
  while (!init.started && !init.exit_code && !init.start_error && !lost_) TRY(step(-1));
  if (lost_) return fail("the VM stopped while starting the container: " + vm_failure());
  if (!init.started && init.start_error) return fail(*init.start_error);
  return ok();
}

int Monitor::serve() {
  Process& init = *processes_["init"];
  while (!lost_ && !(init.exit_code && (abandoned_ || init.relay.drained()))) {
    // The last resort: whatever escapes a step (a bug; the guest's input is
    // parsed into values before anything acts on it) stops the container
    // the way a lost VM does, recorded and cleaned up, never a crash that
    // leaves QEMU and a "running" state behind.
    Status s = ok();
    try {
      s = step(-1);
    } catch (const std::exception& e) {
      s = fail(std::string("internal error: ") + e.what());
    }
    if (!s) {
      log::error("lost the container's VM: " + s.error().describe());
      lost_ = true;
    }
  }
  int status = init.exit_code.value_or(kVmLostExitStatus);
  if (lost_) {
    std::string why = vm_failure();
    log::error("the container's VM stopped" + (why.empty() ? std::string() : ": " + why));
    status = kVmLostExitStatus;
  }
  set_status("stopped");
  // The agent synced the guest before it reported init's exit (see
  // docs/protocol.md), so the VM can go at once.
  vm_->kill();
  for (auto& [id, p] : processes_) {
    if (p->client_fd < 0) continue;
    // A joined container ends with the VM, as if SIGKILLed (its stand-in
    // records it stopped).
    if (p->started || (p->member_init && p->created))
      reply(p->client_fd, control::Reply{.exit = p->exit_code.value_or(kVmLostExitStatus)});
    else
      reply(p->client_fd, control::Reply::failure("the container stopped", 1));
  }
  for (auto& [name, m] : members_)
    if (m.start_client >= 0) reply(m.start_client, control::Reply::failure("the container stopped"));
  for (auto& [request, pending] : pending_queries_)
    if (!pending.probe) reply(pending.client_fd, control::Reply::failure("the container stopped"));
  if (start_client_ >= 0) reply(start_client_, control::Reply::failure("the container stopped"));
  return status;
}

Status Monitor::step(int timeout_ms) {
  proto::Session& session = link_->session();
  std::vector<pollfd> fds = {
      {link_->fd(), static_cast<short>(POLLIN | (link_->wants_write() ? POLLOUT : 0)), 0},
      {signals_->fd(), POLLIN, 0},
      {control_.get(), POLLIN, 0}};
  std::vector<int> watch = vm_->watch_fds();
  size_t watch_base = fds.size();
  for (int w : watch) fds.push_back({w, POLLIN, 0});
  size_t client_base = fds.size();
  for (auto& c : clients_) fds.push_back({c->fd.get(), POLLIN, 0});
  std::vector<Process*> polled;
  for (auto& [id, p] : processes_) {
    p->relay.add_to_poll(fds, session);
    polled.push_back(p.get());
  }
  std::optional<DnsRelay>& dns = config_.network.dns;
  size_t dns_base = fds.size();
  if (dns) dns->add_to_poll(fds);
  std::optional<PortForwarder>& forwarder = config_.network.forwarder;
  if (forwarder) forwarder->add_to_poll(fds, session);
  std::optional<net::NetlinkWatch>& network_watch = config_.network.watch;
  size_t network_base = fds.size();
  if (network_watch) fds.push_back({network_watch->fd(), POLLIN, 0});
  auto now = std::chrono::steady_clock::now();
  int housekeeping_ms = fs_pressure_.ms_until_due(now);
  auto until = [&](std::chrono::steady_clock::time_point t) {
    return static_cast<int>(std::clamp<int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count() + 1, 0, INT32_MAX));
  };
  if (network_resync_at_) housekeeping_ms = std::min(housekeeping_ms, until(*network_resync_at_));
  if (kill_deadline_) housekeeping_ms = std::min(housekeeping_ms, until(*kill_deadline_));
  if (start_deadline_ && start_client_ >= 0) housekeeping_ms = std::min(housekeeping_ms, until(*start_deadline_));
  for (const auto& [request, pending] : pending_queries_)
    housekeeping_ms = std::min(housekeeping_ms, until(pending.deadline));
  if (timeout_ms < 0 || housekeeping_ms < timeout_ms) timeout_ms = housekeeping_ms;
  if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
    if (errno == EINTR) return ok();
    return fail_errno("poll");
  }
  // Relays first: they index into this poll set, which the handlers below
  // may invalidate by adding or removing processes.
  for (Process* p : polled) TRY(p->relay.handle(fds, session));
  if (dns)
    for (auto& [query, data] : dns->take_answers(fds, dns_base))
      TRY(link_->send(msg::DnsAnswer{query, data}.to_json()));
  if (forwarder) forwarder->handle(fds, session);
  size_t client_count = clients_.size();
  for (size_t i = 0; i < client_count; ++i)
    if (fds[client_base + i].revents) on_client(*clients_[i]);
  std::erase_if(clients_, [](const auto& c) { return c->closed; });
  if (fds[2].revents) {
    auto accepted = host::accept_messages(control_.get());
    if (accepted && accepted->valid()) {
      ucred cred{};
      socklen_t len = sizeof cred;
      ::getsockopt(accepted->get(), SOL_SOCKET, SO_PEERCRED, &cred, &len);
      clients_.push_back(std::make_unique<Client>(Client{std::move(*accepted), "", false, cred.pid}));
    }
  }
  if (fds[1].revents)
    while (int sig = signals_->next()) on_signal(sig);
  Status agent = fds[0].revents ? handle_agent_events() : ok();
  finish_exits();
  TRY(watch_file_servers());
  if (network_watch && fds[network_base].revents && network_watch->drain() && !network_resync_at_)
    network_resync_at_ = std::chrono::steady_clock::now() + kNetworkSettleTime;
  TRY(follow_network());
  TRY(link_->flush());
  if (!agent) return agent;
  TRY(check_deadlines());
  for (size_t i = 0; i < watch.size(); ++i)
    if (fds[watch_base + i].revents) {
      lost_ = true;
      return fail("the VM stopped: " + vm_failure());
    }
  return ok();
}

Status Monitor::handle_agent_events() {
  std::vector<proto::Event> events;
  Status received = link_->receive(events);
  proto::Session& session = link_->session();
  std::optional<PortForwarder>& forwarder = config_.network.forwarder;
  for (auto& e : events) {
    if (auto* d = std::get_if<proto::event::Data>(&e)) {
      if (forwarder && forwarder->on_data(d->stream, d->bytes, session)) continue;
      auto it = processes_.find(owner_of(d->stream));
      size_t size = d->bytes.size();
      if (it == processes_.end() || !it->second->relay.on_data(d->stream, std::move(d->bytes), session))
        session.consumed(d->stream, size);  // a process we no longer relay
    } else if (auto* eof = std::get_if<proto::event::Eof>(&e)) {
      if (forwarder && forwarder->on_eof(eof->stream, session)) continue;
      if (auto it = processes_.find(owner_of(eof->stream)); it != processes_.end())
        it->second->relay.on_eof(eof->stream);
    } else if (auto* m = std::get_if<proto::event::Message>(&e)) {
      // The guest is untrusted: a message that is not what the protocol
      // says ends the connection, as a malformed frame does, and the
      // container stops (exit 137) rather than act on it.
      auto message = msg::parse_guest_message(m->body);
      if (!message) {
        std::string why = "malformed message from the guest: " + message.error().describe();
        log::error(why);
        session.send_error(why.substr(0, 4096));
        (void)link_->flush();
        lost_ = true;
        return fail(why);
      }
      TRY(on_message(*message));
    } else if (auto* p = std::get_if<proto::event::PeerError>(&e)) {
      lost_ = true;
      return fail("the guest agent reported a protocol error: " + p->message);
    }
  }
  if (!received) lost_ = true;
  return received;
}

// Past a quarter of virtiofsd's descriptor limit, the guest drops the dentries
// and inodes it is not using (runtime/fs_pressure.h). Not while paused: the
// guest could not act on it, and nothing grows meanwhile.
Status Monitor::watch_file_servers() {
  auto now = FsPressure::Clock::now();
  if (fs_pressure_.ms_until_due(now) > 0) return ok();
  if (config_.state.status == "paused") {
    fs_pressure_.defer(now);  // else the check stays due and poll never waits
    return ok();
  }
  std::vector<DescriptorUse> use;
  for (pid_t pid : vm_->file_server_pids(proc_.get())) use.push_back(read_descriptor_use(proc_.get(), pid));
  if (!fs_pressure_.check(use, now)) return ok();
  return link_->send(msg::ReclaimCaches{}.to_json());
}

// The engine changed the container's namespace (`docker network connect`
// or `disconnect` on a running container): once the changes have settled,
// the VM follows.
Status Monitor::follow_network() {
  if (!network_resync_at_ || std::chrono::steady_clock::now() < *network_resync_at_) return ok();
  network_resync_at_.reset();
  auto update = config_.network.follow(proc_.get());
  if (!update) {
    log::error("network: follow the container's namespace: " + update.error().describe());
    return ok();
  }
  if (!*update) return ok();
  config_.state.redirected_links = config_.network.redirected_links();
  if (Status s = save_state_at(state_dir_fd_.get(), config_.state); !s)
    log::warn("record the container's redirected links: " + s.error().describe());
  return link_->send(update->value().to_json());
}

// One handler per guest message (proto/messages.h), named after it; the
// message was parsed and checked at the boundary (handle_agent_events).
Status Monitor::on_message(msg::GuestMessage& message) {
  return std::visit(
      [this](auto& m) -> Status {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, msg::DnsQuery>) return on_dns_query(m);
        else if constexpr (std::is_same_v<M, msg::NetworkUpdated>) return on_network_updated(m);
        else if constexpr (std::is_same_v<M, msg::ForwardFailed>) return on_forward_failed(m);
        else if constexpr (std::is_same_v<M, msg::PsAnswer>) return on_answer(m.request, {.ps = m});
        else if constexpr (std::is_same_v<M, msg::StatsAnswer>) return on_answer(m.request, {.stats = m});
        else if constexpr (std::is_same_v<M, msg::StatPathAnswer>) return on_answer(m.request, {.stat_path = m});
        else if constexpr (std::is_same_v<M, msg::Updated>) return on_answer(m.request, control::Reply::success());
        else if constexpr (std::is_same_v<M, msg::Failed>)
          return on_answer(m.request, control::Reply::failure(m.message));
        else return on_process_message(m);
      },
      message);
}

// The guest could not connect a forwarded connection: its client is reset.
Status Monitor::on_forward_failed(const msg::ForwardFailed& m) {
  if (config_.network.forwarder) config_.network.forwarder->on_failed(m, link_->session());
  return ok();
}

// A guest's query for 127.0.0.11, sent on to the engine's server in the
// container's namespace.
Status Monitor::on_dns_query(const msg::DnsQuery& m) {
  if (auto& dns = config_.network.dns) dns->forward(m.query, m.data, m.tcp);
  return ok();
}

Status Monitor::on_network_updated(const msg::NetworkUpdated& m) {
  if (m.error && guest_said_++ < kMaxLoggedFromGuest)
    log::error("network: the guest could not follow the container's network: " + msg::clip_text(*m.error));
  return ok();
}

// The answer to a query a client is waiting for; an answer nobody asked
// for (or asked for and gave up on) is dropped, and a probe's only says
// that the guest still answers.
Status Monitor::on_answer(uint64_t request, const control::Reply& answer) {
  if (create_ping_ && request == *create_ping_) create_ping_answered_ = true;
  auto it = pending_queries_.find(request);
  if (it == pending_queries_.end()) return ok();
  if (!it->second.probe) reply(it->second.client_fd, answer);
  pending_queries_.erase(it);
  return ok();
}

// A message about one process. Messages for processes the monitor does not
// know (a confused or hostile guest) change nothing; they are logged, a
// bounded number of times.
template <typename M>
Status Monitor::on_process_message(const M& m) {
  auto it = processes_.find(m.id);
  if (it == processes_.end()) {
    if (guest_said_++ < kMaxLoggedFromGuest)
      log::warn("the agent sent \"" + std::string(M::kType) + "\" for an unknown process");
    return ok();
  }
  Process& p = *it->second;
  bool is_init = it->first == "init";
  auto member = members_.find(p.container);
  if (p.member_init && member == members_.end()) return ok();  // gone already
  if constexpr (std::is_same_v<M, msg::Created>) {
    if (p.created) return ok();  // a duplicate
    p.created = true;
    if (p.member_init) reply(p.client_fd, control::Reply{.ok = true, .container = p.container});
  } else if constexpr (std::is_same_v<M, msg::Started>) {
    if (p.started || p.exit_code) return ok();  // a duplicate
    if (p.member_init && !p.created) return ok();  // out of order: ignored
    p.started = true;
    p.relay.set_started();
    // A terminal starts at the host side's current size; later changes
    // come as SIGWINCH (init) or resize requests (an exec's stand-in).
    winsize size{};
    if (p.relay.terminal() && ::ioctl(p.relay.tty_fd(), TIOCGWINSZ, &size) == 0 && size.ws_row)
      TRY(link_->send(msg::Resize{it->first, size.ws_row, size.ws_col}.to_json()));
    if (is_init) {
      set_status("running");
      if (start_client_ >= 0) reply(start_client_, control::Reply::success());
      start_client_ = -1;
    } else if (p.member_init) {
      reply(member->second.start_client, control::Reply::success());
      member->second.start_client = -1;
    } else {
      reply(p.client_fd, control::Reply{.started = m.pid});
    }
  } else if constexpr (std::is_same_v<M, msg::StartFailed>) {
    if (p.started) return ok();  // too late: the process runs
    p.start_error = m.message;
    p.start_exit_code = m.exit_code;
    if (is_init && start_client_ >= 0) {
      // `start` refused (a malformed request, init already gone): the
      // command waiting for it hears why instead of waiting for ever.
      reply(start_client_, control::Reply::failure(m.message));
      start_client_ = -1;
    }
    if (p.member_init && p.created) {
      // `start` refused: its command hears why; the container stays.
      reply(member->second.start_client, control::Reply::failure(m.message));
      member->second.start_client = -1;
      p.start_error.reset();
    } else if (!is_init) {
      reply(p.client_fd, control::Reply::failure(*p.start_error, p.start_exit_code));
      p.client_fd = -1;
      if (p.member_init) members_.erase(member);
      processes_.erase(it);
    }
  } else if constexpr (std::is_same_v<M, msg::Exit> || std::is_same_v<M, msg::Copied>) {
    if (p.exit_code) return ok();  // a duplicate
    p.exit_code = p.exit_override.value_or(m.exit_code);
    if constexpr (std::is_same_v<M, msg::Copied>) p.copied = m;
    p.relay.stop_input();
  }
  return ok();
}

// An exec whose process exited and whose output is all written: tell its
// stand-in the status and let go of its descriptors.
void Monitor::finish_exits() {
  for (auto it = processes_.begin(); it != processes_.end();) {
    Process& p = *it->second;
    if (it->first == "init" || !p.exit_code || !p.relay.drained()) {
      ++it;
      continue;
    }
    p.relay.close_owned();
    control::Reply done{.exit = *p.exit_code, .copied = p.copied};
    if (p.client_fd >= 0) reply(p.client_fd, done);
    if (p.member_init) {
      if (auto m = members_.find(p.container); m != members_.end()) {
        reply(m->second.start_client, control::Reply::failure("the container's process has exited"));
        members_.erase(m);
      }
    }
    it = processes_.erase(it);
  }
}

void Monitor::on_client(Client& client) {
  auto message = host::receive_message(client.fd.get());
  if (!message || !*message) {
    client.closed = true;
    // The exec's stand-in is gone (killed, say): its process goes too. A
    // joined container's stand-in: all of that container's processes.
    if (auto it = processes_.find(client.exec_id); it != processes_.end()) {
      Process& p = *it->second;
      p.client_fd = -1;
      if (p.member_init && !p.exit_code)
        (void)link_->send(msg::Signal{client.exec_id, SIGKILL, true, p.container}.to_json());
      else if (p.started && !p.exit_code)
        (void)link_->send(msg::Signal{client.exec_id, SIGKILL, false, p.container}.to_json());
    }
    if (start_client_ == client.fd.get()) start_client_ = -1;
    for (auto& [name, m] : members_) {
      if (m.start_client == client.fd.get()) m.start_client = -1;
      if (m.client_fd == client.fd.get()) m.client_fd = -1;
    }
    for (auto& [request, pending] : pending_queries_)
      if (pending.client_fd == client.fd.get()) pending.client_fd = -1;  // answered to nobody
    return;
  }
  // The request is parsed here, once, into its struct (runtime/control.h).
  auto request = control::parse_addressed((*message)->body);
  Status handled = request ? on_request(client, request->container, request->request, std::move((*message)->fds))
                           : Status(std::move(request).error());
  if (!handled) reply(client.fd.get(), control::Reply::failure(handled.error().describe()));
}

Status Monitor::on_request(Client& client, const std::string& container, const control::Request& request,
                           std::vector<UniqueFd> fds) {
  int fd = client.fd.get();
  // A request for a container that joined the VM names it (its stand-in
  // sends it on); the guest's messages then name it too.
  std::string guest = TRY(guest_container(container));
  Member* member = container.empty() ? nullptr : &members_.at(guest);
  return std::visit(
      [&](const auto& r) -> Status {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, control::AddContainer>) {
          if (member) return fail("add_container: a container cannot be added to a container");
          return request_add(client, r, std::move(fds));
        } else if constexpr (std::is_same_v<R, control::Start>) {
          return member ? request_member_start(fd, *member) : request_start(fd);
        } else if constexpr (std::is_same_v<R, control::Exec>) {
          return request_exec(client, guest, r, std::move(fds));
        } else if constexpr (std::is_same_v<R, control::CopyIn> || std::is_same_v<R, control::CopyOut>) {
          return request_copy(client, guest, r, std::move(fds));
        } else if constexpr (std::is_same_v<R, control::StatPath>) {
          return forward_query(fd, msg::StatPath{0, r.path, r.follow_link, r.root_share, guest});
        } else if constexpr (std::is_same_v<R, control::ForgetCached>) {
          // runvm cp wrote on the host's view of the rootfs (copy_side.cc).
          TRY(link_->send(msg::ReclaimCaches{}.to_json()));
          reply(fd, control::Reply::success());
          return ok();
        } else if constexpr (std::is_same_v<R, control::Kill>) {
          TRY(member ? request_member_kill(*member, r) : request_kill(r));
          reply(fd, control::Reply::success());
          return ok();
        } else if constexpr (std::is_same_v<R, control::Pause> || std::is_same_v<R, control::Resume>) {
          // One container of the VM: its guest cgroup is frozen; the VM's
          // own container: the whole VM, and every container in it.
          if (member) return forward_query(fd, msg::Freeze{0, std::is_same_v<R, control::Pause>, guest});
          TRY(set_paused(std::is_same_v<R, control::Pause>));
          reply(fd, control::Reply::success());
          return ok();
        } else if constexpr (std::is_same_v<R, control::HostPids>) {
          // The host processes that stand for the container's: this monitor
          // for init, and each running exec's stand-in. (The processes
          // themselves live in the guest, where host tools cannot see them.)
          std::vector<int64_t> pids = {member ? member->stand_in : ::getpid()};
          for (const auto& c : clients_) {
            auto it = processes_.find(c->exec_id);
            if (!c->exec_id.empty() && !c->closed && c->peer > 0 && it != processes_.end() &&
                !it->second->member_init && it->second->container == guest)
              pids.push_back(c->peer);
          }
          reply(fd, control::Reply{.pids = pids});
          return ok();
        } else if constexpr (std::is_same_v<R, control::Ps>) {
          return forward_query(fd, msg::Ps{0, guest});
        } else if constexpr (std::is_same_v<R, control::Stats>) {
          return forward_query(fd, msg::Stats{0, guest});
        } else if constexpr (std::is_same_v<R, control::Update>) {
          return forward_query(fd, msg::Update{0, r.resources, guest});
        } else if constexpr (std::is_same_v<R, control::Signal>) {
          if (client.exec_id.empty()) return fail("signal: not an exec's connection");
          TRY(link_->send(msg::Signal{client.exec_id, r.signal, false, guest}.to_json()));
          // The stand-in forwards its signals (SIGTERM from its caller): if
          // the guest no longer answers, the stand-in must hear so and end
          // rather than wait for ever. A stopped VM (paused) answers later.
          if (config_.state.status == "paused") return ok();
          msg::Stats probe;
          probe.request = next_request_++;
          pending_queries_[probe.request] = {fd, std::chrono::steady_clock::now() + config_.answer_timeout, true};
          return link_->send(probe.to_json());
        } else {
          static_assert(std::is_same_v<R, control::Resize>);
          if (client.exec_id.empty()) return fail("resize: not an exec's connection");
          return link_->send(msg::Resize{client.exec_id, r.rows, r.cols}.to_json());
        }
      },
      request);
}

Status Monitor::request_start(int client_fd) {
  const std::string& status = config_.state.status;
  if (status != "created") {
    if (status == "running" || status == "paused") return fail("cannot start an already running container");
    return fail("cannot start a container in the " + status + " state");
  }
  start_client_ = client_fd;
  start_deadline_ = std::chrono::steady_clock::now() + config_.boot_timeout;
  return link_->send(msg::Start{"init", config_.spec.hooks.start_container,
                                json_bytes::to_text(state_for_hooks(config_.state, "created"))}
                         .to_json());
}

Status Monitor::request_exec(Client& client, const std::string& container, const control::Exec& request,
                             std::vector<UniqueFd> fds) {
  const std::string& status = config_.state.status;
  // With --ignore-paused the request waits in the frozen VM and the process
  // starts once it is resumed, as runc's waits in the frozen cgroup.
  if (status == "paused" && !request.ignore_paused)
    return fail("cannot exec in a paused container (use --ignore-paused to override)");
  if (status != "running" && status != "paused") return fail("cannot exec in a " + status + " container");
  if (!client.exec_id.empty()) return fail("one exec per connection");
  HostStdio io = TRY(stdio_from(std::move(fds), request.process.process.terminal, "exec"));
  std::string id = "e" + std::to_string(next_exec_++);
  auto p = std::make_unique<Process>(id, std::move(io));
  p->client_fd = client.fd.get();
  p->container = container;
  TRY(p->relay.open(link_->session()));
  TRY(link_->send(msg::Exec{id, request.process, p->relay.streams(), request.cgroup, container}.to_json()));
  client.exec_id = id;
  processes_[id] = std::move(p);
  return ok();
}

// runvm cp on a running container: a transfer in the guest, relayed like an
// exec's stdio, whose client is told its result (copy_request.h).
template <typename R>
Status Monitor::request_copy(Client& client, const std::string& container, const R& request,
                             std::vector<UniqueFd> fds) {
  if (config_.state.status != "running") return fail("container " + config_.state.id + " is not running");
  if (!client.exec_id.empty()) return fail("one exec per connection");
  constexpr bool in = std::is_same_v<R, control::CopyIn>;
  HostStdio io = TRY(copy_stdio(in, std::move(fds)));
  std::string id = "t" + std::to_string(next_exec_++);
  auto p = std::make_unique<Process>(id, std::move(io));
  p->client_fd = client.fd.get();
  p->container = container;
  TRY(p->relay.open(link_->session()));
  if constexpr (in)
    TRY(link_->send(msg::CopyIn{id, request.dest, request.same_owner, p->relay.streams(), container}.to_json()));
  else
    TRY(link_->send(msg::CopyOut{id, request.path, request.name, request.contents_only, request.follow_link,
                                 p->relay.streams(), container}
                        .to_json()));
  client.exec_id = id;
  processes_[id] = std::move(p);
  return ok();
}

Result<std::string> Monitor::guest_container(const std::string& container) {
  if (container.empty() || container == msg::kFirstContainer) return std::string(msg::kFirstContainer);
  if (!members_.count(container)) return fail("no container " + container + " in this VM (it has exited)");
  return container;
}

// A container that joins the running VM: created there beside the VM's
// own, its rootfs and binds already in the pod share (its stand-in put
// them there), its stdio relayed as an exec's is.
Status Monitor::request_add(Client& client, const control::AddContainer& request, std::vector<UniqueFd> fds) {
  const std::string& status = config_.state.status;
  if (status != "running")
    return fail("cannot add a container to the VM of container " + config_.state.id + ", which is " + status);
  if (!client.exec_id.empty()) return fail("one container per connection");
  if (request.create.root_share != kPodShareTag)
    return fail("add_container: a joining container's root comes from the pod share");
  for (const auto& b : request.create.binds)
    if (b.share != kPodShareTag) return fail("add_container: a joining container's binds come from the pod share");
  HostStdio io = TRY(stdio_from(std::move(fds), request.create.process.process.terminal, "add_container"));
  int number = next_member_++;
  std::string name = "c" + std::to_string(number);
  std::string id = "i" + std::to_string(number);
  auto p = std::make_unique<Process>(id, std::move(io));
  p->client_fd = client.fd.get();
  p->container = name;
  p->member_init = true;
  TRY(p->relay.open(link_->session()));
  msg::Create create = request.create;
  create.id = id;
  create.container = name;
  create.stdio = p->relay.streams();
  // The network is the VM's, set up by its own container.
  create.network = {};
  create.nics.clear();
  create.dns_relay = false;
  TRY(link_->send(create.to_json()));
  log::info("container " + request.id + " joins the VM as " + name);
  client.exec_id = id;
  processes_[id] = std::move(p);
  members_[name] = Member{request.id, id, client.fd.get(), client.peer, request.start_hooks, request.hook_state, -1};
  return ok();
}

Status Monitor::request_member_start(int client_fd, Member& member) {
  auto it = processes_.find(member.init_id);
  if (it == processes_.end() || it->second->exit_code) return fail("cannot start a container in the stopped state");
  Process& init = *it->second;
  if (!init.created) return fail("the container is still being created");
  if (init.started || member.start_client >= 0) return fail("cannot start an already running container");
  member.start_client = client_fd;
  msg::Start start{member.init_id, member.start_hooks, member.hook_state};
  start.container = init.container;
  return link_->send(start.to_json());
}

// As for the VM's own container: a created one ends on any signal that
// would end a process, with that signal's status.
Status Monitor::request_member_kill(Member& member, const control::Kill& request) {
  int sig = request.signal;
  if (sig == 0) return ok();
  auto it = processes_.find(member.init_id);
  if (it == processes_.end() || it->second->exit_code) return ok();
  Process& init = *it->second;
  if (!init.started && sig != SIGCONT && sig != SIGWINCH && sig != SIGCHLD && sig != SIGURG) {
    init.exit_override = 128 + sig;
    return link_->send(msg::Signal{member.init_id, SIGKILL, true, init.container}.to_json());
  }
  return link_->send(msg::Signal{member.init_id, sig, request.all, init.container}.to_json());
}

Status Monitor::request_kill(const control::Kill& request) {
  int sig = request.signal;
  bool all = request.all;
  if (sig == 0) return ok();  // runc's liveness check: the monitor answering is the answer
  Process& init = *processes_["init"];
  // A created container's process has not run yet: a signal ends it
  // (runc's would die of it too), and there is no output to wait for.
  if (!init.started && !init.exit_code && sig != SIGCONT && sig != SIGWINCH && sig != SIGCHLD && sig != SIGURG) {
    init.exit_code = 128 + sig;
    abandoned_ = true;
    return ok();
  }
  // A frozen VM cannot act on a signal; SIGKILL thaws it, as runc does.
  if (sig == SIGKILL && config_.state.status == "paused") TRY(set_paused(false));
  // SIGKILL ends the container whatever the guest does: if its exit is not
  // reported in time (a hung VM), the VM is stopped (check_deadlines).
  if (sig == SIGKILL && !init.exit_code && !kill_deadline_)
    kill_deadline_ = std::chrono::steady_clock::now() + config_.kill_timeout;
  return link_->send(msg::Signal{"init", sig, all}.to_json());
}

Status Monitor::set_paused(bool paused) {
  const std::string& status = config_.state.status;
  if (paused) {
    if (status != "running" && status != "created") return fail("container not running");
    TRY(vm_->pause());
    set_status("paused");
  } else {
    if (status != "paused") return fail("container not paused");
    TRY(vm_->resume());
    set_status(processes_["init"]->started ? "running" : "created");
  }
  return ok();
}

template <typename Q>
Status Monitor::forward_query(int client_fd, Q query) {
  if (config_.state.status == "paused") return fail("the container is paused: resume it first");
  query.request = next_request_++;
  pending_queries_[query.request] = {client_fd, std::chrono::steady_clock::now() + config_.answer_timeout};
  return link_->send(query.to_json());
}

namespace {
std::string seconds_text(std::chrono::milliseconds t) {
  if (t.count() % 1000 == 0) return std::to_string(t.count() / 1000) + " s";
  return std::to_string(t.count()) + " ms";
}
}  // namespace

Status Monitor::check_deadlines() {
  auto now = std::chrono::steady_clock::now();
  std::string late = "the container's VM did not answer within " + seconds_text(config_.answer_timeout);
  for (auto it = pending_queries_.begin(); it != pending_queries_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    if (!reported_unanswered_) {
      reported_unanswered_ = true;
      log::error(late + ": the guest has stopped answering (a hung or stopped VM)");
    }
    reply(it->second.client_fd,
          control::Reply::failure(late + (it->second.probe ? " after a signal; the process may still be running" : "")));
    it = pending_queries_.erase(it);
  }
  if (start_deadline_ && start_client_ >= 0 && now >= *start_deadline_) {
    log::error("the container's VM did not start the process within " + seconds_text(config_.boot_timeout));
    reply(start_client_, control::Reply::failure("the container's VM did not start the process within " +
                                                 seconds_text(config_.boot_timeout) +
                                                 " (raise it with --boot-timeout or RUNVM_BOOT_TIMEOUT)"));
    start_client_ = -1;
    start_deadline_.reset();
  }
  if (kill_deadline_ && now >= *kill_deadline_ && !processes_["init"]->exit_code)
    return fail("the container's VM did not report its process's exit within " +
                seconds_text(config_.kill_timeout) + " of SIGKILL; stopping the VM");
  return ok();
}

void Monitor::on_signal(int sig) {
  Process& init = *processes_["init"];
  if (sig == SIGWINCH) {
    winsize size{};
    if (config_.init_tty_follows_winch && init.relay.terminal() &&
        ::ioctl(init.relay.tty_fd(), TIOCGWINSZ, &size) == 0)
      (void)link_->send(msg::Resize{"init", size.ws_row, size.ws_col}.to_json());
    return;
  }
  if (!init.started || init.exit_code) return;
  log::debug("forwarding signal " + std::to_string(sig));
  (void)link_->send(msg::Signal{"init", sig, false}.to_json());
}

void Monitor::set_status(const std::string& status) {
  config_.state.status = status;
  if (Status s = save_state_at(state_dir_fd_.get(), config_.state); !s)
    log::warn("recording status " + status + ": " + s.error().describe());
}

void Monitor::reply(int client_fd, const control::Reply& body) {
  if (client_fd < 0) return;
  if (Status s = host::send_message(client_fd, body.to_json()); !s)
    log::debug("reply to a command: " + s.error().describe());
}

std::string Monitor::vm_failure() {
  vm_->wait_exit(500ms);
  return vm_->check_failure();
}

}  // namespace runvm::runtime
