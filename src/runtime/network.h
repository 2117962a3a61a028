// The container's network, carried into the VM: what the engine configured
// in the container's network namespace (Docker's libnetwork from its
// prestart hook, podman's netavark, CNI) becomes one tap per interface,
// wired to the interface by tc redirects, and a virtio-net device in the
// guest with the interface's MAC, MTU, addresses and routes. See
// docs/ARCHITECTURE.md, "Networking".
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/result.h"
#include "net/config.h"
#include "net/tap_redirect.h"
#include "oci/spec.h"
#include "runtime/dns_relay.h"
#include "vm/vmm.h"

namespace runvm::runtime {

struct ContainerNetwork {
  // Held for the container's life: dropping one removes its redirects.
  std::vector<net::TapLink> taps;
  net::NetworkConfig config;  // for the guest (the create request's `network`)
  std::optional<DnsRelay> dns;  // the engine's embedded DNS server, relayed for the guest

  std::vector<vm::Nic> nics() const;
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

}  // namespace runvm::runtime
