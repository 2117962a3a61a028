// A small rtnetlink client: one NETLINK_ROUTE socket, requests that wait
// for the kernel's ack, and dumps. The socket acts on the network namespace
// it was opened in, whatever namespace its owner is in later; TapLink relies
// on that to clean up in the right place.
#pragma once

#include <linux/netlink.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "net/netlink_message.h"

namespace runvm::net {

class NetlinkSocket {
 public:
  // `protocol`: NETLINK_ROUTE, or NETLINK_NETFILTER for nftables.
  static Result<NetlinkSocket> open(int protocol = NETLINK_ROUTE);

  // Sends the request and waits for the kernel's ack. A refusal is an
  // error "what: <kernel's extended-ack text>" with the kernel's errno.
  Status execute(NetlinkRequest& request, const std::string& what);

  // Sends the requests as one datagram (an nfnetlink batch: the caller
  // puts its begin and end markers first and last) and waits for the ack
  // of every request between them. The first refusal is the error.
  Status execute_batch(std::vector<NetlinkRequest>& batch, const std::string& what);

  // Sends a dump request and returns every message of the reply. A dump the
  // kernel marks inconsistent (the tables changed meanwhile) is retried.
  Result<std::vector<NetlinkMessage>> dump(NetlinkRequest& request, const std::string& what);

 private:
  explicit NetlinkSocket(UniqueFd fd) : fd_(std::move(fd)) {}

  Status send(NetlinkRequest& request, uint16_t flags, uint32_t seq);
  // One datagram from the kernel, split into messages.
  Result<std::vector<NetlinkMessage>> receive();
  Result<std::vector<NetlinkMessage>> dump_once(NetlinkRequest& request, const std::string& what,
                                                bool& interrupted);

  UniqueFd fd_;
  uint32_t seq_ = 0;
};

// A socket that hears the kernel's rtnetlink notifications (multicast
// groups, RTMGRP_*) of the namespace it was opened in: for a poll loop,
// which only needs to know that something changed and then reads the
// namespace again. Non-blocking.
class NetlinkWatch {
 public:
  static Result<NetlinkWatch> open(uint32_t groups);
  int fd() const { return fd_.get(); }
  // Reads whatever is pending; true if anything was. An overrun (ENOBUFS:
  // notifications were lost) counts as a change too.
  bool drain();

 private:
  explicit NetlinkWatch(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace runvm::net
