#include "agent/dns_relay.h"

#include <arpa/inet.h>
#include <sys/socket.h>

namespace runvm::agent {

Result<GuestDnsRelay> GuestDnsRelay::listen() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return fail_errno("socket for the DNS relay");
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(53);
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 10);  // 127.0.0.11
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) < 0)
    return fail_errno("bind 127.0.0.11:53 for the DNS relay");
  return GuestDnsRelay(std::move(s));
}

std::vector<std::pair<uint64_t, std::string>> GuestDnsRelay::receive() {
  std::vector<std::pair<uint64_t, std::string>> queries;
  for (int i = 0; i < 16; ++i) {  // a bounded batch per wakeup
    char buf[4096];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(socket_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n <= 0) break;
    if (clients_.size() >= kMaxClients) clients_.erase(clients_.begin());
    uint64_t id = next_id_++;
    clients_[id] = from;
    queries.emplace_back(id, std::string(buf, static_cast<size_t>(n)));
  }
  return queries;
}

void GuestDnsRelay::answer(uint64_t query_id, std::string_view data) {
  auto it = clients_.find(query_id);
  if (it == clients_.end()) return;
  (void)!::sendto(socket_.get(), data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&it->second),
                  sizeof it->second);
  clients_.erase(it);
}

}  // namespace runvm::agent
