// The guest's half: recreates a NetworkConfig on the VM's own links. Run by
// the agent before the container's process starts.
#pragma once

#include "common/result.h"
#include "net/config.h"

namespace runvm::net {

// Brings lo up; for each interface, finds the link with its MAC (the guest
// kernel names it eth0, eth1, ... in its own order), renames it to the
// config's name (as under runc, `ip a` in the container shows the engine's
// names), sets its MTU, brings it up and adds its addresses (IPv6 without
// duplicate address detection, so they work at once); then adds the
// routes, those without a gateway first since a gateway must be reachable,
// and sets the ARP settings (/proc/sys/net/ipv4/conf).
// Addresses and routes replace equal ones, so applying twice is harmless.
// Errors name the interface, address or route.
Status apply_network_config(const NetworkConfig& config);

}  // namespace runvm::net
