#include "runtime/network.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "common/io.h"
#include "common/log.h"
#include "common/procfs.h"
#include "net/link.h"
#include "net/netlink.h"
#include "net/scan.h"

namespace runvm::runtime {
namespace {

using nlohmann::json;

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

Result<int> spare_nic_count(const oci::Spec& spec) {
  auto it = spec.annotations.find(kSpareNicsAnnotation);
  if (it == spec.annotations.end()) return kDefaultSpareNics;
  int n = -1;
  if (!procfs::parse_number(it->second, n) || n < 0 || n > kMaxSpareNics)
    return fail(std::string("annotation ") + kSpareNicsAnnotation + "=\"" + it->second +
                "\": expected a number of spare network interfaces from 0 to " + std::to_string(kMaxSpareNics));
  return n;
}

// Locally administered, "rv" and the slot: seen only by the guest, while
// the NIC is spare.
net::Mac slot_mac(size_t slot) {
  return {0x02, 0x72, 0x76, 0x00, static_cast<uint8_t>(slot >> 8), static_cast<uint8_t>(slot)};
}

// The scan's config, less the interfaces no NIC carries (and their routes
// and neighbours).
net::NetworkConfig carried_only(net::NetworkConfig config, const std::set<std::string>& carried) {
  std::erase_if(config.interfaces, [&](const auto& i) { return !carried.count(i.name); });
  std::erase_if(config.routes, [&](const auto& r) { return !carried.count(r.device); });
  std::erase_if(config.neighbors, [&](const auto& n) { return !carried.count(n.device); });
  std::erase_if(config.arp, [&](const auto& a) { return a.scope != "all" && !carried.count(a.scope); });
  return config;
}

}  // namespace

std::vector<vm::Nic> ContainerNetwork::nics() const {
  std::vector<vm::Nic> nics;
  for (const NicSlot& s : slots) {
    uint32_t mtu = 0;  // a spare's MTU is set when it is joined: no upper bound now
    for (const auto& i : config.interfaces)
      if (i.mac == s.mac) mtu = i.mtu;
    nics.push_back({s.tap.fd(), net::format_mac(s.mac), mtu});
  }
  return nics;
}

std::vector<int> ContainerNetwork::redirected_links() const {
  std::vector<int> links;
  for (const NicSlot& s : slots)
    if (s.interface_ifindex) links.push_back(s.interface_ifindex);
  return links;
}

std::vector<net::NicSlot> ContainerNetwork::nic_slots() const {
  std::vector<net::NicSlot> out;
  for (const NicSlot& s : slots)
    out.push_back({s.slot_mac, s.interface_ifindex ? std::optional<net::Mac>(s.mac) : std::nullopt});
  return out;
}

Result<std::optional<msg::NetworkUpdate>> ContainerNetwork::follow(int proc_fd) {
  net::ScanResult scan = TRY_CTX(net::scan_network_namespace(proc_fd), "read the container's network");
  bool changed = false;
  // Interfaces that went (docker network disconnect): their NICs are spare again.
  for (NicSlot& s : slots) {
    if (!s.interface_ifindex) continue;
    auto at = std::find(scan.ifindexes.begin(), scan.ifindexes.end(), s.interface_ifindex);
    if (at != scan.ifindexes.end() && scan.config.interfaces[at - scan.ifindexes.begin()].mac == s.mac) continue;
    // The interface is gone (or no longer this one): the slot is free either
    // way; a redirect that could not be undone went with its interface.
    if (Status d = s.tap.detach(); !d) log::error("network: free " + s.tap.name() + ": " + d.error().describe());
    s.interface_ifindex = 0;
    s.mac = s.slot_mac;
    changed = true;
  }
  std::set<std::string> carried;
  for (size_t i = 0; i < scan.ifindexes.size(); ++i) {
    const net::InterfaceConfig& interface = scan.config.interfaces[i];
    int ifindex = scan.ifindexes[i];
    auto holder = std::find_if(slots.begin(), slots.end(), [&](const NicSlot& s) { return s.interface_ifindex == ifindex; });
    if (holder == slots.end()) {
      if (unplaced.count(ifindex)) continue;  // said once; not retried at every change
      holder = std::find_if(slots.begin(), slots.end(), [](const NicSlot& s) { return !s.interface_ifindex; });
      if (holder == slots.end()) {
        if (unplaced.insert(ifindex).second)
          log::error("network: " + interface.name + " was added to the running container, but its VM has no "
                     "spare network interface left (it booted with " + std::to_string(slots.size()) +
                     "); it is not carried into the VM. Recreate the container with it, or with a larger "
                     "annotation " + kSpareNicsAnnotation);
        continue;
      }
      if (Status s = holder->tap.attach(ifindex); !s) {
        // Not retried: the attempt itself changes the tap, which would
        // wake this again and again.
        unplaced.insert(ifindex);
        log::error("network: carry " + interface.name + " into the VM: " + s.error().describe() +
                   "; it is not carried (reconnect it to try again)");
        continue;
      }
      holder->interface_ifindex = ifindex;
      holder->mac = interface.mac;
      changed = true;
    }
    carried.insert(interface.name);
  }
  net::NetworkConfig now = carried_only(std::move(scan.config), carried);
  bool dns_found = false;
  if (!dns && (dns = DnsRelay::find(proc_fd))) dns_found = true;
  if (!changed && !dns_found && now == config) return std::optional<msg::NetworkUpdate>();
  config = std::move(now);
  return std::optional<msg::NetworkUpdate>(msg::NetworkUpdate{config, nic_slots(), dns.has_value()});
}

std::string netns_path_of(const oci::Spec& spec) {
  for (const oci::Namespace& ns : spec.namespaces)
    if (ns.type == "network") return ns.path;
  return "";
}

Status remove_leftover_redirects(const std::string& netns_path, const std::vector<int>& links) {
  if (netns_path.empty() || links.empty()) return ok();
  auto target = io::open_file(netns_path, O_RDONLY);
  if (!target) return ok();  // the namespace went, and its links with it
  // On a thread of its own: setns acts on the calling thread, and the
  // thread ends there, so delete never goes on in the wrong namespace.
  Status removed;
  std::thread([&] {
    if (::setns(target->get(), CLONE_NEWNET) < 0) {
      removed = fail_errno("enter the network namespace " + netns_path);
      return;
    }
    for (int ifindex : links)
      if (Status s = net::remove_ingress_redirect(ifindex); !s && removed) removed = std::move(s);
  }).join();
  return std::move(removed).context("remove runvm's redirects in " + netns_path);
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
  int spares = TRY(spare_nic_count(spec));
  TRY_CTX(refuse_shared_namespace(), "network");
  ContainerNetwork network;
  // Listening before the scan, so no change after it goes unheard.
  // Neighbour changes are not listened to: ARP traffic makes them all the
  // time, and only permanent entries are carried.
  if (spares > 0)
    network.watch.emplace(TRY_CTX(net::NetlinkWatch::open(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
                                                           RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE),
                                  "watch the container's network"));
  UniqueFd proc = TRY(io::open_file("/proc", O_PATH | O_DIRECTORY));
  net::ScanResult scan = TRY_CTX(net::scan_network_namespace(proc.get()), "read the container's network");
  for (const auto& s : scan.skipped) log::debug("network: not carried into the VM: " + s.what + " (" + s.reason + ")");
  for (size_t i = 0; i < scan.config.interfaces.size(); ++i) {
    net::TapLink tap = TRY_CTX(net::connect_tap(scan.ifindexes[i], static_cast<int>(i)),
                               "connect " + scan.config.interfaces[i].name + " to the VM");
    network.slots.push_back({std::move(tap), slot_mac(i), scan.ifindexes[i], scan.config.interfaces[i].mac});
  }
  // A container with no network at create (--network none) gets none
  // later either: Docker and podman refuse to connect one.
  if (network.slots.empty()) network.watch.reset();
  for (int k = 0; network.watch && k < spares; ++k) {
    size_t i = network.slots.size();
    net::TapLink tap = TRY_CTX(net::create_tap(static_cast<int>(i)), "make a spare network interface");
    network.slots.push_back({std::move(tap), slot_mac(i), 0, slot_mac(i)});
  }
  network.config = std::move(scan.config);
  network.dns = DnsRelay::find(proc.get());
  if (TRY(PortForwarder::wanted(spec))) {
    auto forwarder = PortForwarder::open();
    if (forwarder) network.forwarder.emplace(std::move(*forwarder));
    else if (forwarder.error().errno_value() == EADDRNOTAVAIL)
      log::debug("port forwarding: the namespace's loopback is down: nothing there can dial localhost");
    else
      log::warn(forwarder.error().describe() +
                "; connections to localhost in the container's network namespace (kubectl port-forward) "
                "will not reach it");
  }
  return network;
}

}  // namespace runvm::runtime
