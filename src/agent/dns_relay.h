// The guest's end of the embedded-DNS relay (see runtime/dns_relay.h): a
// UDP socket and a TCP listener on 127.0.0.11:53 whose queries go to the
// host as control messages, and whose answers go back to the asking
// client. TCP is what a resolver falls back to for an answer too large for
// a datagram: each connection carries length-prefixed queries, one at a
// time or several. Everything is bounded: clients, connections, sizes.
#pragma once

#include <netinet/in.h>
#include <poll.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::agent {

// A query for the host: its id (for the answer), the message, and whether
// the client asked over TCP.
struct DnsQuery {
  uint64_t id = 0;
  std::string data;
  bool tcp = false;
};

class GuestDnsRelay {
 public:
  static constexpr size_t kMaxClients = 64;      // UDP queries awaiting an answer
  static constexpr size_t kMaxConnections = 16;  // TCP clients at once
  static constexpr size_t kMaxQuery = 4096;
  static constexpr size_t kMaxPendingOutput = 4 * 65537;  // per TCP client
  static constexpr size_t kMaxOutstanding = 8;  // per TCP client: unanswered queries; more closes it

  // Binds 127.0.0.11:53, UDP, and TCP if it can (lo must be up): without
  // TCP, UDP still answers.

  static Result<GuestDnsRelay> listen();

  // What to poll, and for what: the UDP socket, the listener, each client.
  std::vector<pollfd> poll_set() const;
  // After poll: accepts, reads and writes what is ready; returns the
  // queries that came whole.
  std::vector<DnsQuery> handle(const std::vector<pollfd>& ready);
  // Sends an answer to the client that asked; unknown ids are ignored.
  void answer(uint64_t query_id, std::string_view data);

 private:
  struct Connection {
    UniqueFd fd;
    std::string in, out;
    uint64_t opened = 0;       // order of arrival: the oldest goes when full
    size_t outstanding = 0;    // queries sent on, not answered yet
    bool eof = false;          // the client is done sending: close once answered
    bool done() const { return eof && outstanding == 0 && out.empty(); }
  };
  GuestDnsRelay(UniqueFd udp, UniqueFd tcp) : udp_(std::move(udp)), tcp_(std::move(tcp)) {}
  void receive_datagrams(std::vector<DnsQuery>& queries);
  void accept_connections();
  // False when the connection is done with (closed, broken, malformed).
  bool read_from(Connection& c, std::vector<DnsQuery>& queries);
  bool write_to(Connection& c);
  void close_connection(int fd);

  UniqueFd udp_, tcp_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, sockaddr_in> clients_;     // UDP: id -> the asker; oldest first
  std::map<uint64_t, int> tcp_askers_;          // TCP: id -> the connection's fd
  std::map<int, Connection> connections_;
  uint64_t next_connection_ = 0;
};

}  // namespace runvm::agent
