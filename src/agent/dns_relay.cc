#include "agent/dns_relay.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/log.h"

namespace runvm::agent {
namespace {

Result<UniqueFd> bound(int type) {
  UniqueFd s(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return fail_errno("socket for the DNS relay");
  int on = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(53);
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 10);  // 127.0.0.11
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) < 0)
    return fail_errno(std::string("bind 127.0.0.11:53/") + (type == SOCK_STREAM ? "tcp" : "udp") +
                      " for the DNS relay");
  return s;
}

std::string length_prefixed(std::string_view data) {
  std::string out = {static_cast<char>(data.size() >> 8), static_cast<char>(data.size() & 0xff)};
  out.append(data);
  return out;
}

}  // namespace

Result<GuestDnsRelay> GuestDnsRelay::listen() {
  UniqueFd udp = TRY(bound(SOCK_DGRAM));
  auto tcp = bound(SOCK_STREAM);
  if (tcp && ::listen(tcp->get(), static_cast<int>(kMaxConnections)) < 0) tcp = fail_errno("listen on 127.0.0.11:53/tcp");
  if (!tcp) log::warn("DNS relay over UDP only: " + tcp.error().describe());
  return GuestDnsRelay(std::move(udp), tcp ? std::move(*tcp) : UniqueFd());
}

std::vector<pollfd> GuestDnsRelay::poll_set() const {
  std::vector<pollfd> fds = {{udp_.get(), POLLIN, 0}};
  if (tcp_.valid()) fds.push_back({tcp_.get(), POLLIN, 0});
  for (const auto& [fd, c] : connections_)
    fds.push_back({fd, static_cast<short>((c.eof ? 0 : POLLIN) | (c.out.empty() ? 0 : POLLOUT)), 0});
  return fds;
}

std::vector<DnsQuery> GuestDnsRelay::handle(const std::vector<pollfd>& ready) {
  std::vector<DnsQuery> queries;
  for (const pollfd& p : ready) {
    if (!p.revents) continue;
    if (p.fd == udp_.get()) {
      receive_datagrams(queries);
    } else if (tcp_.valid() && p.fd == tcp_.get()) {
      accept_connections();
    } else if (auto it = connections_.find(p.fd); it != connections_.end()) {
      // A reset or hung-up client can be given nothing more (and poll would
      // keep saying so).
      bool keep = !(p.revents & (POLLERR | POLLHUP));
      if (keep && (p.revents & POLLOUT)) keep = write_to(it->second);
      if (keep && !it->second.eof && (p.revents & POLLIN)) keep = read_from(it->second, queries);
      if (!keep || it->second.done()) close_connection(p.fd);
    }
  }
  return queries;
}

void GuestDnsRelay::receive_datagrams(std::vector<DnsQuery>& queries) {
  for (int i = 0; i < 16; ++i) {  // a bounded batch per wakeup
    char buf[kMaxQuery];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(udp_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n <= 0) break;
    if (clients_.size() >= kMaxClients) clients_.erase(clients_.begin());
    uint64_t id = next_id_++;
    clients_[id] = from;
    queries.push_back({id, std::string(buf, static_cast<size_t>(n)), false});
  }
}

void GuestDnsRelay::close_connection(int fd) {
  std::erase_if(tcp_askers_, [fd](const auto& a) { return a.second == fd; });
  connections_.erase(fd);
}

void GuestDnsRelay::accept_connections() {
  for (;;) {
    int fd = ::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    UniqueFd owned(fd);
    // Full: the oldest client goes, so idle connections cannot lock the
    // relay out.
    if (connections_.size() >= kMaxConnections) {
      auto oldest = std::min_element(connections_.begin(), connections_.end(), [](const auto& a, const auto& b) {
        return a.second.opened < b.second.opened;
      });
      close_connection(oldest->first);
    }
    connections_[fd] = Connection{std::move(owned), "", "", next_connection_++, 0};
  }
}

bool GuestDnsRelay::read_from(Connection& c, std::vector<DnsQuery>& queries) {
  char buf[kMaxQuery + 2];
  ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) {
    // Half-closed after its queries (some clients do): its answers still go.
    c.eof = true;
    return true;
  }
  c.in.append(buf, static_cast<size_t>(n));
  while (c.in.size() >= 2) {
    size_t length = (static_cast<uint8_t>(c.in[0]) << 8) | static_cast<uint8_t>(c.in[1]);
    if (length == 0 || length > kMaxQuery) return false;
    if (c.in.size() < 2 + length) break;
    // A resolver waits for its answers; one that piles queries up is cut off.
    if (c.outstanding >= kMaxOutstanding) return false;
    uint64_t id = next_id_++;
    tcp_askers_[id] = c.fd.get();
    ++c.outstanding;
    queries.push_back({id, c.in.substr(2, length), true});
    c.in.erase(0, 2 + length);
  }
  return true;
}

bool GuestDnsRelay::write_to(Connection& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

void GuestDnsRelay::answer(uint64_t query_id, std::string_view data) {
  if (auto asker = tcp_askers_.find(query_id); asker != tcp_askers_.end()) {
    auto c = connections_.find(asker->second);
    tcp_askers_.erase(asker);
    if (c == connections_.end()) return;
    if (c->second.outstanding > 0) --c->second.outstanding;
    if (data.size() > 65535) return;
    if (c->second.out.size() + data.size() + 2 > kMaxPendingOutput) return;  // a client that does not read
    c->second.out += length_prefixed(data);
    if (!write_to(c->second) || c->second.done()) close_connection(c->first);
    return;
  }
  auto it = clients_.find(query_id);
  if (it == clients_.end()) return;
  (void)!::sendto(udp_.get(), data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&it->second),
                  sizeof it->second);
  clients_.erase(it);
}

}  // namespace runvm::agent
