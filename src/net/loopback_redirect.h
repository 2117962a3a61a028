// Every TCP connection made to 127.0.0.1 in this network namespace,
// redirected to one local port. A pod's (or container's) namespace on the
// host holds none of its processes, which run in the VM; a client that
// dials localhost there (containerd's `kubectl port-forward`, a tool in
// `nsenter -n`) reaches the monitor's listener instead, which learns the
// port asked for (SO_ORIGINAL_DST) and carries the connection to the guest
// (runtime/port_forward.h). See docs/ARCHITECTURE.md, "Port forwarding".
//
// An nftables table of runvm's own (`ip runvm`, a nat chain on the output
// hook), made over raw netfilter netlink (no libnftnl, no `nft` binary: the
// monitor may have left the host's mount namespace) and owned by the
// netlink socket that made it (NFT_TABLE_F_OWNER): the kernel removes it
// when this object goes, or when the process holding it dies, so no
// failure path can leave it behind.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "net/netlink.h"
#include "net/netlink_message.h"

namespace runvm::net {

inline constexpr const char* kRedirectTable = "runvm";

// The nfnetlink batch that makes the table, its chain and the rule
// `meta l4proto tcp ip daddr 127.0.0.1 redirect to :to_port`, markers
// included. Pure, so its bytes are unit-tested.
std::vector<NetlinkRequest> loopback_redirect_batch(uint16_t to_port);

class LoopbackRedirect {
 public:
  // In the calling thread's network namespace.
  static Result<LoopbackRedirect> install(uint16_t to_port);

 private:
  explicit LoopbackRedirect(NetlinkSocket owner) : owner_(std::move(owner)) {}
  NetlinkSocket owner_;  // the table lives as long as this socket
};

}  // namespace runvm::net
