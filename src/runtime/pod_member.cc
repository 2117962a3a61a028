#include "runtime/pod_member.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/io.h"
#include "common/log.h"
#include "host/message_socket.h"
#include "runtime/monitor.h"
#include "runtime/placement.h"

namespace runvm::runtime {

using nlohmann::json;

// One command's connection to us and the connection we opened to the owner
// for it: requests go up addressed to the container, replies come down.
struct PodMember::Proxy {
  UniqueFd client;
  UniqueFd upstream;
  // What the request's success makes the container: running (start),
  // paused (pause), running again (resume); "" no change.
  std::string status_after;
};

namespace {

// Connects to the owner's control socket through a descriptor of its state
// directory: the stand-in no longer sees the host's paths once it stands in
// the container's rootfs.
Result<UniqueFd> connect_owner(int owner_dir_fd) {
  UniqueFd here(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (::fchdir(owner_dir_fd) < 0) return fail_errno("reach the pod owner's state directory");
  auto conn = host::connect_messages(kControlSocket);
  if (here) (void)!::fchdir(here.get());
  if (!conn) return fail("the pod's owner does not answer: " + conn.error().describe());
  return conn;
}

// Waits for one message on a blocking connection, up to `limit`.
Result<std::optional<host::Message>> receive_within(int fd, std::chrono::milliseconds limit) {
  pollfd p = {fd, POLLIN, 0};
  int r;
  do r = ::poll(&p, 1, static_cast<int>(limit.count()));
  while (r < 0 && errno == EINTR);
  if (r < 0) return fail_errno("poll");
  if (r == 0) return fail("the pod's owner did not answer within " + std::to_string(limit.count() / 1000) + " s");
  return host::receive_message(fd);
}

}  // namespace

PodMember::PodMember(MemberConfig config) : config_(std::move(config)) {}

PodMember::~PodMember() {
  if (control_ && state_dir_fd_) ::unlinkat(state_dir_fd_.get(), kControlSocket, 0);
}

Status PodMember::enter_namespaces(const std::vector<oci::Namespace>& namespaces) {
  // Its PID and cgroup namespaces are in the guest, and those it shares
  // with another container of the VM are joined there
  // (plan_namespace_joins): on the host it enters the rest as any
  // container's process does.
  std::vector<oci::Namespace> host;
  for (const auto& ns : namespaces)
    if (ns.type != "pid" && ns.type != "cgroup" && ns.type != "user") host.push_back(ns);
  return runtime::enter_namespaces(host);
}

Result<std::unique_ptr<PodMember>> PodMember::join(MemberConfig config) {
  std::unique_ptr<PodMember> m(new PodMember(std::move(config)));
  MemberConfig& c = m->config_;
  m->state_dir_fd_ = TRY(io::open_file(c.state_dir, O_PATH | O_DIRECTORY));
  // The container's files, in the owner's pod share: recorded before each
  // is made, so that delete unmounts whatever got made.
  if (::mkdir(c.state.pod_dir.c_str(), 0700) < 0 && errno != EEXIST)
    return fail_errno("make " + c.state.pod_dir + " in the pod share");
  for (const auto& mount : c.mounts) {
    c.state.pod_mounts.push_back(mount.target);
    TRY(save_state_at(m->state_dir_fd_.get(), c.state));
    TRY(mount_into_pod(mount.source, mount.target, mount.readonly));
  }
  UniqueFd owner_dir = TRY(io::open_file(c.owner.state_dir, O_PATH | O_DIRECTORY));
  // After the mounts: a mount namespace of its own would keep them from
  // the host's, and so from the VM.
  TRY(enter_namespaces(c.namespaces));
  if (c.before_add) TRY(c.before_add());
  m->control_ = TRY(host::listen_messages(c.state_dir + "/" + kControlSocket));
  TRY(io::set_nonblocking(m->control_.get()));
  m->owner_ = TRY(connect_owner(owner_dir.get()));
  // As an exec's: a terminal alone, or (a foreground run -t) our stdin and
  // stdout relayed to it.
  std::vector<int> fds;
  if (c.io.tty >= 0 && c.io.in >= 0) fds = {c.io.in, c.io.out, c.io.tty};
  else if (c.io.tty >= 0) fds = {c.io.tty};
  else fds = {c.io.in, c.io.out, c.io.err};
  TRY(host::send_message(m->owner_.get(), control::to_json(control::Request(c.add)), fds));
  auto answer = TRY(receive_within(m->owner_.get(), c.answer_timeout));
  if (!answer) return fail("the pod's owner went away while adding the container");
  control::Reply reply = TRY(control::Reply::parse(answer->body));
  if (reply.error) return fail(*reply.error);
  if (!reply.ok || !reply.container) return fail("the pod's owner did not add the container");
  c.state.guest_name = *reply.container;
  // Kept for the later requests, which go to the owner each on a
  // connection of their own.
  m->owner_dir_ = std::move(owner_dir);
  m->set_status("created");
  return m;
}

Status PodMember::enter_rootfs() { return runtime::enter_rootfs(config_.state.rootfs); }

void PodMember::set_status(const std::string& status) {
  config_.state.status = status;
  if (Status s = save_state_at(state_dir_fd_.get(), config_.state); !s)
    log::warn("recording status " + status + ": " + s.error().describe());
}

// A command's request: sent on to the owner, addressed to the container.
Status PodMember::on_client(Proxy& proxy) {
  auto message = host::receive_message(proxy.client.get());
  if (!message || !*message) return fail("closed");
  auto request = control::parse_request((*message)->body);
  if (!request) {
    (void)host::send_message(proxy.client.get(), control::Reply::failure(request.error().describe()).to_json());
    return ok();
  }
  if (std::holds_alternative<control::AddContainer>(*request)) {
    (void)host::send_message(proxy.client.get(),
                             control::Reply::failure("a container of a pod cannot take another in").to_json());
    return ok();
  }
  if (!proxy.upstream) {
    auto conn = connect_owner(owner_dir_.get());
    if (!conn) {
      (void)host::send_message(proxy.client.get(), control::Reply::failure(conn.error().describe()).to_json());
      return fail("no owner");
    }
    proxy.upstream = std::move(*conn);
    TRY(io::set_nonblocking(proxy.upstream.get()));
  }
  if (std::holds_alternative<control::Start>(*request) || std::holds_alternative<control::Resume>(*request))
    proxy.status_after = "running";
  if (std::holds_alternative<control::Pause>(*request)) proxy.status_after = "paused";
  // As runc: a paused container takes an exec only with --ignore-paused.
  if (auto* exec = std::get_if<control::Exec>(&*request);
      exec && config_.state.status == "paused" && !exec->ignore_paused) {
    (void)host::send_message(proxy.client.get(),
                             control::Reply::failure("cannot exec in a paused container (use --ignore-paused to "
                                                     "override)")
                                 .to_json());
    return ok();
  }
  std::vector<int> fds;
  for (const auto& fd : (*message)->fds) fds.push_back(fd.get());
  return host::send_message(proxy.upstream.get(),
                            control::to_json(control::Addressed{config_.state.guest_name, std::move(*request)}), fds);
}

// The owner's reply, checked and passed down.
Status PodMember::on_upstream(Proxy& proxy) {
  auto message = host::receive_message(proxy.upstream.get());
  if (!message || !*message) return fail("closed");
  auto reply = control::Reply::parse((*message)->body);
  if (!reply) return fail("a malformed reply from the pod's owner: " + reply.error().describe());
  if (!proxy.status_after.empty() && reply->ok) {
    set_status(proxy.status_after);
    proxy.status_after.clear();
  }
  return host::send_message(proxy.client.get(), reply->to_json());
}

int PodMember::serve() {
  // Our stdio went to the owner with the container's: our copies must not
  // keep the caller's pipes open after the container exits.
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; ++fd) ::dup2(devnull, fd);
  if (devnull > 2) ::close(devnull);
  config_.io = HostStdio{};
  ::signal(SIGPIPE, SIG_IGN);
  int status = kVmLostExitStatus;
  for (;;) {
    std::vector<pollfd> fds = {{owner_.get(), POLLIN, 0}, {control_.get(), POLLIN, 0}};
    for (auto& p : proxies_) {
      fds.push_back({p->client.get(), POLLIN, 0});
      fds.push_back({p->upstream ? p->upstream.get() : -1, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      log::error("poll: " + std::string(std::strerror(errno)));
      break;
    }
    for (size_t i = 0; i < proxies_.size(); ++i) {
      Proxy& p = *proxies_[i];
      bool closed = false;
      if (fds[2 + 2 * i].revents && !on_client(p)) closed = true;
      if (!closed && fds[3 + 2 * i].revents && !on_upstream(p)) closed = true;
      if (closed) {
        p.client.reset();
        p.upstream.reset();
      }
    }
    std::erase_if(proxies_, [](const auto& p) { return !p->client; });
    if (fds[1].revents) {
      auto accepted = host::accept_messages(control_.get());
      if (accepted && accepted->valid()) {
        auto proxy = std::make_unique<Proxy>();
        proxy->client = std::move(*accepted);
        proxies_.push_back(std::move(proxy));
      }
    }
    if (fds[0].revents) {
      // The container's exit, or the owner gone (its VM with it).
      auto message = host::receive_message(owner_.get());
      if (message && *message) {
        auto reply = control::Reply::parse((*message)->body);
        if (reply && reply->exit) status = *reply->exit;
        else if (reply && !reply->error) continue;  // nothing for us
      }
      break;
    }
  }
  set_status("stopped");
  return status;
}

}  // namespace runvm::runtime
