#include "runtime/network.h"

#include <sys/stat.h>

#include <algorithm>

#include "common/log.h"
#include "net/link.h"
#include "net/netlink.h"
#include "net/scan.h"

namespace runvm::runtime {
namespace {

bool has_network_namespace(const oci::Spec& spec) {
  return std::any_of(spec.namespaces.begin(), spec.namespaces.end(),
                     [](const oci::Namespace& ns) { return ns.type == "network"; });
}

// A runvm tap in the namespace means another VM carries its interfaces
// (`--network container:X` with X a runvm container, or pod containers
// sharing a sandbox's namespace): a second redirect would steal them.
Status refuse_shared_namespace() {
  net::NetlinkSocket netlink = TRY(net::NetlinkSocket::open());
  for (const auto& link : TRY(net::list_links(netlink)))
    if (link.name.starts_with(net::kTapNamePrefix))
      return fail("the network namespace's interfaces are already carried by another runvm VM "
                  "(" + link.name + "): a VM's network cannot be shared with another VM; give this "
                  "container a network of its own");
  return ok();
}

}  // namespace

std::vector<vm::Nic> ContainerNetwork::nics() const {
  std::vector<vm::Nic> nics;
  for (size_t i = 0; i < taps.size(); ++i)
    nics.push_back({taps[i].fd(), net::format_mac(config.interfaces[i].mac), config.interfaces[i].mtu});
  return nics;
}

NetnsId current_netns() {
  struct stat st {};
  if (::stat("/proc/self/ns/net", &st) < 0) return {};
  return {st.st_dev, st.st_ino};
}

Result<ContainerNetwork> wire_network(const oci::Spec& spec, NetnsId callers) {
  // Docker's --network host names the host's namespace by path
  // (/var/run/docker/netns/default) rather than leaving the entry out: the
  // namespace runvm was started in is the host's network, either way.
  if (!has_network_namespace(spec) || (callers.inode != 0 && current_netns() == callers))
    return fail("the container would use the host's network (--network host, or no network namespace "
                "in the spec); a VM has a network stack of its own and cannot share the host's "
                "interfaces: use a bridge network, or --network none");
  TRY_CTX(refuse_shared_namespace(), "network");
  net::ScanResult scan = TRY_CTX(net::scan_network_namespace(), "read the container's network");
  for (const auto& s : scan.skipped) log::debug("network: not carried into the VM: " + s.what + " (" + s.reason + ")");
  ContainerNetwork network;
  for (size_t i = 0; i < scan.config.interfaces.size(); ++i)
    network.taps.push_back(TRY_CTX(net::connect_tap(scan.ifindexes[i], static_cast<int>(i)),
                                   "connect " + scan.config.interfaces[i].name + " to the VM"));
  network.config = std::move(scan.config);
  network.dns = DnsRelay::find();
  return network;
}

}  // namespace runvm::runtime
