#include "runtime/dns_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sstream>

#include "common/io.h"
#include "common/log.h"

namespace runvm::runtime {

std::optional<uint16_t> embedded_dns_port(std::string_view proc_net_udp) {
  // "  sl  local_address rem_address   st ..."; addresses are the kernel's
  // hex of the address in host byte order: 127.0.0.11 is 0B00007F here.
  std::istringstream lines{std::string(proc_net_udp)};
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string slot, local;
    if (!(words >> slot >> local)) continue;
    size_t colon = local.find(':');
    if (colon != 8 || local.size() != 13) continue;
    uint32_t address = static_cast<uint32_t>(std::stoul(local.substr(0, 8), nullptr, 16));
    if (address != htonl(INADDR_LOOPBACK + 10)) continue;
    return static_cast<uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
  }
  return std::nullopt;
}

std::optional<DnsRelay> DnsRelay::find(int proc_fd) {
  auto text = io::read_file_at(proc_fd, "self/net/udp");
  if (!text) return std::nullopt;
  std::optional<uint16_t> port;
  try {
    port = embedded_dns_port(*text);
  } catch (const std::exception&) {  // std::stoul on a malformed line
    return std::nullopt;
  }
  if (!port) return std::nullopt;
  log::debug("network: relaying DNS to the embedded server at 127.0.0.11:" + std::to_string(*port));
  return DnsRelay(*port);
}

void DnsRelay::forward(uint64_t query_id, std::string_view query) {
  if (query.empty() || query.size() > kMaxQuery || pending_.size() >= kMaxPending) return;
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port_);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 10);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 ||
      ::send(s.get(), query.data(), query.size(), 0) < 0)
    return;
  pending_.push_back({query_id, std::move(s), std::chrono::steady_clock::now() + kTimeout});
}

void DnsRelay::add_to_poll(std::vector<pollfd>& fds) const {
  for (const auto& p : pending_) fds.push_back({p.socket.get(), POLLIN, 0});
}

std::vector<std::pair<uint64_t, std::string>> DnsRelay::take_answers(const std::vector<pollfd>& fds,
                                                                     size_t base) {
  std::vector<std::pair<uint64_t, std::string>> answers;
  auto now = std::chrono::steady_clock::now();
  std::vector<bool> done(pending_.size(), false);
  for (size_t i = 0; i < pending_.size() && base + i < fds.size(); ++i) {
    if (fds[base + i].revents) {
      char buf[65536];
      ssize_t n = ::recv(pending_[i].socket.get(), buf, sizeof buf, 0);
      if (n > 0) answers.emplace_back(pending_[i].query_id, std::string(buf, static_cast<size_t>(n)));
      done[i] = n > 0 || (n < 0 && errno != EAGAIN);
    }
    if (now > pending_[i].deadline) done[i] = true;
  }
  size_t i = 0;
  std::erase_if(pending_, [&](const Pending&) { return done[i++]; });
  return answers;
}

}  // namespace runvm::runtime
