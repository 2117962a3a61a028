#include "runtime/dns_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sstream>

#include "common/io.h"
#include "common/log.h"

namespace runvm::runtime {

std::optional<uint16_t> embedded_dns_port(std::string_view proc_net, bool listening) {
  // "  sl  local_address rem_address   st ..."; addresses are the kernel's
  // hex of the address in host byte order: 127.0.0.11 is 0B00007F here.
  std::istringstream lines{std::string(proc_net)};
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string slot, local, remote, state;
    if (!(words >> slot >> local >> remote >> state)) continue;
    if (listening && state != "0A") continue;  // TCP_LISTEN
    size_t colon = local.find(':');
    if (colon != 8 || local.size() != 13) continue;
    uint32_t address = static_cast<uint32_t>(std::stoul(local.substr(0, 8), nullptr, 16));
    if (address != htonl(INADDR_LOOPBACK + 10)) continue;
    return static_cast<uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
  }
  return std::nullopt;
}

std::optional<DnsRelay> DnsRelay::find(int proc_fd) {
  // std::stoul throws on a malformed line: that is no server.
  auto port_in = [&](const char* file, bool listening) -> std::optional<uint16_t> {
    auto text = io::read_file_at(proc_fd, file);
    if (!text) return std::nullopt;
    try {
      return embedded_dns_port(*text, listening);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  std::optional<uint16_t> port = port_in("self/net/udp", false);
  if (!port) return std::nullopt;
  std::optional<uint16_t> tcp_port = port_in("self/net/tcp", true);
  log::debug("network: relaying DNS to the embedded server at 127.0.0.11:" + std::to_string(*port) +
             (tcp_port ? " (TCP " + std::to_string(*tcp_port) + ")" : ""));
  return DnsRelay(*port, tcp_port);
}

void DnsRelay::forward(uint64_t query_id, std::string_view query, bool tcp) {
  if (query.empty() || query.size() > kMaxQuery || pending_.size() >= kMaxPending) return;
  if (tcp) return forward_tcp(query_id, query);
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

void DnsRelay::forward_tcp(uint64_t query_id, std::string_view query) {
  if (!tcp_port_) return;  // no TCP server: the client times out, as with a lost datagram
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(*tcp_port_);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 10);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 && errno != EINPROGRESS) return;
  std::string framed = {static_cast<char>(query.size() >> 8), static_cast<char>(query.size() & 0xff)};
  framed.append(query);
  pending_.push_back({query_id, std::move(s), std::chrono::steady_clock::now() + kTimeout, true, framed, ""});
}

bool DnsRelay::step_tcp(Pending& p, short revents, std::optional<std::string>& answer) {
  if (revents & POLLOUT && !p.out.empty()) {
    ssize_t n = ::send(p.socket.get(), p.out.data(), p.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno != EAGAIN && errno != EINTR;
    p.out.erase(0, static_cast<size_t>(n));
    return false;
  }
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return false;
  char buf[16384];
  ssize_t n = ::recv(p.socket.get(), buf, sizeof buf, 0);
  if (n < 0) return errno != EAGAIN && errno != EINTR;
  if (n == 0) return true;  // closed before a whole answer
  p.in.append(buf, static_cast<size_t>(n));
  if (p.in.size() < 2) return false;
  size_t length = (static_cast<uint8_t>(p.in[0]) << 8) | static_cast<uint8_t>(p.in[1]);
  if (p.in.size() < 2 + length) return false;  // bounded: length is 16 bits
  answer = p.in.substr(2, length);
  return true;
}

void DnsRelay::add_to_poll(std::vector<pollfd>& fds) const {
  for (const auto& p : pending_)
    fds.push_back({p.socket.get(), static_cast<short>(p.tcp && !p.out.empty() ? POLLOUT : POLLIN), 0});
}

std::vector<std::pair<uint64_t, std::string>> DnsRelay::take_answers(const std::vector<pollfd>& fds,
                                                                     size_t base) {
  std::vector<std::pair<uint64_t, std::string>> answers;
  auto now = std::chrono::steady_clock::now();
  std::vector<bool> done(pending_.size(), false);
  for (size_t i = 0; i < pending_.size() && base + i < fds.size(); ++i) {
    if (pending_[i].tcp) {
      std::optional<std::string> answer;
      if (fds[base + i].revents) done[i] = step_tcp(pending_[i], fds[base + i].revents, answer);
      if (answer) answers.emplace_back(pending_[i].query_id, std::move(*answer));
    } else if (fds[base + i].revents) {
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
