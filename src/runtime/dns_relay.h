// Docker's embedded DNS server (127.0.0.11 on user-defined networks) lives
// in the container's network namespace on the host: dockerd listens there
// on 127.0.0.11 at a random port, and the container's resolv.conf names
// 127.0.0.11. In the VM, 127.0.0.11 is the guest's own loopback, so the
// agent answers there and relays each query over the agent channel to the
// monitor, which sits in that namespace and asks Docker's server. Bounded:
// the guest is untrusted (sizes, pending queries, timeouts).
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::runtime {

// The port of a socket bound to 127.0.0.11 in the text of /proc/net/udp,
// or of /proc/net/tcp with `listening` (state LISTEN only); nullopt when
// there is none (no embedded DNS server in this namespace).
std::optional<uint16_t> embedded_dns_port(std::string_view proc_net, bool listening = false);

class DnsRelay {
 public:
  static constexpr size_t kMaxQuery = 4096;
  static constexpr size_t kMaxPending = 64;
  static constexpr std::chrono::seconds kTimeout{10};

  // The relay for this namespace's embedded DNS server, if it has one;
  // `proc_fd` is the host's /proc (the monitor may have left the host's
  // mount namespace).
  static std::optional<DnsRelay> find(int proc_fd);

  // Sends a guest's query on; a query over the limits is dropped, as a
  // lost datagram would be. `tcp`: the guest's client asked over TCP (for
  // an answer too large for a datagram), so the server is asked over TCP.
  void forward(uint64_t query_id, std::string_view query, bool tcp = false);

  void add_to_poll(std::vector<pollfd>& fds) const;
  // After poll, from `base` on: the answers that came, and expired
  // queries forgotten.
  std::vector<std::pair<uint64_t, std::string>> take_answers(const std::vector<pollfd>& fds, size_t base);

 private:
  struct Pending {
    uint64_t query_id;
    UniqueFd socket;
    std::chrono::steady_clock::time_point deadline;
    bool tcp = false;
    std::string out;  // TCP: the length-prefixed query not yet sent
    std::string in;   // TCP: the length-prefixed answer so far
  };
  DnsRelay(uint16_t udp_port, std::optional<uint16_t> tcp_port) : port_(udp_port), tcp_port_(tcp_port) {}
  void forward_tcp(uint64_t query_id, std::string_view query);
  // TCP: reads or writes what the poll said; true when the exchange is
  // over, with the answer in `answer` if one came whole.
  bool step_tcp(Pending& p, short revents, std::optional<std::string>& answer);

  uint16_t port_;
  std::optional<uint16_t> tcp_port_;
  std::vector<Pending> pending_;
};

}  // namespace runvm::runtime
