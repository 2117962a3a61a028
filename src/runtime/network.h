// The container's network, carried into the VM: what the engine configured
// in the container's network namespace (Docker's libnetwork from its
// prestart hook, podman's netavark, CNI) becomes one tap per interface,
// wired to the interface by tc redirects, and a virtio-net device in the
// guest with the interface's MAC, MTU, addresses and routes. See
// docs/ARCHITECTURE.md, "Networking".
#pragma once

#include <vector>

#include "common/result.h"
#include "net/config.h"
#include "net/tap_redirect.h"
#include "oci/spec.h"
#include "vm/vmm.h"

namespace runvm::runtime {

struct ContainerNetwork {
  // Held for the container's life: dropping one removes its redirects.
  std::vector<net::TapLink> taps;
  net::NetworkConfig config;  // for the guest (the create request's `network`)

  std::vector<vm::Nic> nics() const;
};

// Run in the container's network namespace, after the hooks that configure
// it. A spec without a network namespace means the host's network, which a
// VM cannot share: that is refused, as is a namespace whose interfaces
// another runvm VM already carries.
Result<ContainerNetwork> wire_network(const oci::Spec& spec);

}  // namespace runvm::runtime
