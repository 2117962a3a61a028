// Reads the network a container engine configured in the current network
// namespace (Docker, podman, CNI: a veth with addresses and routes) into
// the NetworkConfig the guest recreates. Run by the monitor inside the
// container's namespace, before QEMU starts.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "net/config.h"

namespace runvm::net {

// Something in the namespace that is not carried into the VM, and why; for
// the caller to log. Loopback, runvm's own taps, the routes the guest
// kernel makes itself and routes through links not carried (those links
// are listed) are left out silently.
struct Skipped {
  std::string what;    // "link tun0", "route 10.0.0.0/8 dev eth0"
  std::string reason;
};

struct ScanResult {
  NetworkConfig config;
  std::vector<int> ifindexes;  // the link behind config.interfaces[i]
  std::vector<Skipped> skipped;
};

// Carried: every Ethernet link except loopback and runvm's taps that is up
// or has addresses, with its MAC and MTU; its global IPv4 and IPv6
// addresses, but not link-local ones nor those the kernel (6.1 on) marks
// as made from router advertisements, since the guest makes both itself
// from the same MAC; the main table's unicast routes through those
// links, except the kernel's connected routes, which the guest kernel adds
// with the addresses; permanent neighbour entries on them; and the ARP
// settings (kArpKeys) of "all" and of those links that are not 0, read
// from /proc/sys/net/ipv4/conf through `proc_fd`, a descriptor of /proc
// (the caller may have left the mount namespace /proc is in).
Result<ScanResult> scan_network_namespace(int proc_fd);

}  // namespace runvm::net
