// The guest's end of the embedded-DNS relay (see runtime/dns_relay.h): a
// UDP socket on 127.0.0.11:53 whose queries go to the host as control
// messages, and whose answers go back to the asking client.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::agent {

class GuestDnsRelay {
 public:
  static constexpr size_t kMaxClients = 64;

  // Binds 127.0.0.11:53 (lo must be up).
  static Result<GuestDnsRelay> listen();

  int fd() const { return socket_.get(); }
  // The queries waiting on the socket, each with the id its answer must
  // carry.
  std::vector<std::pair<uint64_t, std::string>> receive();
  // Sends an answer to the client that asked; unknown ids are ignored.
  void answer(uint64_t query_id, std::string_view data);

 private:
  explicit GuestDnsRelay(UniqueFd socket) : socket_(std::move(socket)) {}

  UniqueFd socket_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, sockaddr_in> clients_;  // oldest first; bounded
};

}  // namespace runvm::agent
