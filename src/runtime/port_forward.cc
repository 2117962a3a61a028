#include "runtime/port_forward.h"

#include <arpa/inet.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace runvm::runtime {

Result<bool> PortForwarder::wanted(const oci::Spec& spec) {
  auto it = spec.annotations.find(kPortForwardAnnotation);
  if (it == spec.annotations.end() || it->second == "true") return true;
  if (it->second == "false") return false;
  return fail(std::string("annotation ") + kPortForwardAnnotation + ": expected \"true\" or \"false\", not \"" +
              it->second + "\"");
}

Result<PortForwarder> PortForwarder::open() {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener) return fail_errno("port forwarding: socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof address;
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
    return fail_errno("port forwarding: bind 127.0.0.1 (is the namespace's loopback up?)");
  if (::listen(listener.get(), SOMAXCONN) < 0) return fail_errno("port forwarding: listen");
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &len) < 0)
    return fail_errno("port forwarding: getsockname");
  net::LoopbackRedirect redirect = TRY_CTX(net::LoopbackRedirect::install(ntohs(address.sin_port)), "port forwarding");
  return PortForwarder(std::move(listener), std::move(redirect));
}

void PortForwarder::add_to_poll(std::vector<pollfd>& fds, const proto::Session& session) {
  poll_base_ = fds.size();
  fds.push_back({bridges_.size() < kMaxConnections ? listener_.get() : -1, POLLIN, 0});
  polled_.clear();
  for (auto& [stream, bridge] : bridges_) {
    fds.push_back(bridge.poll_entry(session));
    polled_.push_back(stream);
  }
}

void PortForwarder::handle(const std::vector<pollfd>& fds, proto::Session& session) {
  for (size_t i = 0; i < polled_.size(); ++i) {
    auto it = bridges_.find(polled_[i]);
    if (it != bridges_.end()) it->second.on_ready(fds[poll_base_ + 1 + i].revents, session);
  }
  if (fds[poll_base_].revents & POLLIN)
    while (bridges_.size() < kMaxConnections) {
      size_t before = next_;
      accept_one(session);
      if (next_ == before) break;  // nothing more to accept
    }
  std::erase_if(bridges_, [](const auto& kv) { return kv.second.done(); });
}

// The client dialed 127.0.0.1:PORT; the redirect brought it here, and
// SO_ORIGINAL_DST says which PORT.
void PortForwarder::accept_one(proto::Session& session) {
  UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!client) return;
  std::string stream = "p" + std::to_string(next_++);
  sockaddr_in original{};
  socklen_t len = sizeof original;
  if (::getsockopt(client.get(), SOL_IP, SO_ORIGINAL_DST, &original, &len) < 0) {
    log::warn("port forwarding: the original port of a connection: " + std::string(std::strerror(errno)));
    return;  // closed
  }
  uint16_t port = ntohs(original.sin_port);
  if (Status s = session.open(stream); !s) {
    log::warn("port forwarding: open a stream for port " + std::to_string(port) + ": " + s.error().describe());
    return;
  }
  (void)session.send_message(std::string(proto::kControlStream), msg::Forward{stream, port}.to_json());
  log::debug("port forwarding: 127.0.0.1:" + std::to_string(port) + " on " + stream);
  bridges_.emplace(std::piecewise_construct, std::forward_as_tuple(stream),
                   std::forward_as_tuple(stream, std::move(client)));
}

bool PortForwarder::on_data(const std::string& stream, std::string& bytes, proto::Session& session) {
  auto it = bridges_.find(stream);
  if (it == bridges_.end()) return false;
  it->second.on_data(std::move(bytes), session);
  return true;
}

bool PortForwarder::on_eof(const std::string& stream, proto::Session& session) {
  auto it = bridges_.find(stream);
  if (it == bridges_.end()) return false;
  it->second.on_eof(session);
  return true;
}

void PortForwarder::on_failed(const msg::ForwardFailed& failed, proto::Session& session) {
  auto it = bridges_.find(failed.id);
  if (it == bridges_.end()) return;
  log::debug("port forwarding: " + failed.id + ": the guest could not connect: " + failed.message);
  it->second.abort(session);
}

}  // namespace runvm::runtime
