// The container's network, carried into the VM: what the engine configured
// in the container's network namespace (Docker's libnetwork from its
// prestart hook, podman's netavark, CNI) becomes one tap per interface,
// wired to the interface by tc redirects, and a virtio-net device in the
// guest with the interface's MAC, MTU, addresses and routes. Interfaces
// added later (`docker network connect` on a running container) take one of
// a few spare NICs the VM boots with, and one that goes away frees its NIC.
// See docs/ARCHITECTURE.md, "Networking".
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "proto/messages.h"
#include "net/config.h"
#include "net/netlink.h"
#include "net/tap_redirect.h"
#include "oci/spec.h"
#include "runtime/dns_relay.h"
#include "runtime/port_forward.h"
#include "vm/vmm.h"

namespace runvm::runtime {

// How many spare NICs a VM with a network boots with, unless the
// annotation kSpareNicsAnnotation says otherwise (0 to kMaxSpareNics).
inline constexpr int kDefaultSpareNics = 1;
inline constexpr int kMaxSpareNics = 8;
inline constexpr const char* kSpareNicsAnnotation = "io.runvm.network.spare-interfaces";

// One of the VM's NICs. Its tap is joined to a container interface, or to
// none (a spare, parked by the agent where the container cannot see it).
// `slot_mac` names the NIC to the agent for good; the guest NIC wears it
// while spare and the interface's MAC while joined.
struct NicSlot {
  net::TapLink tap;
  net::Mac slot_mac{};
  int interface_ifindex = 0;  // 0: spare
  net::Mac mac{};             // the MAC the guest NIC has now
};

struct ContainerNetwork {
  std::vector<NicSlot> slots;  // the interfaces found at create, then the spares
  net::NetworkConfig config;   // what the guest was last given (the create request's `network`)
  std::optional<DnsRelay> dns;  // the engine's embedded DNS server, relayed for the guest
  // Connections to localhost in the namespace, carried into the VM (port-forward).
  std::optional<PortForwarder> forwarder;
  // Hears changes in the container's namespace; only when it has spares.
  std::optional<net::NetlinkWatch> watch;
  std::set<int> unplaced;  // interfaces not carried (no spare left, or it failed), said once

  std::vector<vm::Nic> nics() const;
  // The container links that carry a redirect to the VM now (state.json).
  std::vector<int> redirected_links() const;
  // The create request's and network_update's `nics` (docs/protocol.md).
  std::vector<net::NicSlot> nic_slots() const;
  // Reads the namespace again, joins new interfaces to spare NICs and
  // frees the NICs of interfaces that went. Returns the network_update
  // message for the guest if anything changed. Run in the container's
  // namespace (the monitor stays there); `proc_fd` is the host's /proc.
  Result<std::optional<msg::NetworkUpdate>> follow(int proc_fd);
};

// A network namespace's identity.
struct NetnsId {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const NetnsId&) const = default;
};
NetnsId current_netns();

// Run in the container's network namespace, after the hooks that configure
// it; `callers` is the namespace runvm was started in. A spec without a
// network namespace, or one naming the caller's, is the host's network,
// which a VM cannot share: that is refused, as is a namespace whose
// interfaces another runvm VM already carries.
Result<ContainerNetwork> wire_network(const oci::Spec& spec, NetnsId callers);

// The path of the network namespace the spec joins, or "" (a new one).
std::string netns_path_of(const oci::Spec& spec);

// For delete, after a monitor that died without cleaning up (SIGKILL): the
// ingress qdiscs (and so the redirects) on those links of the namespace at
// `netns_path`, which runvm added; links gone or without one are skipped.
// A namespace that is gone has nothing left to clean.
Status remove_leftover_redirects(const std::string& netns_path, const std::vector<int>& links);

}  // namespace runvm::runtime
