#include "net/apply.h"

// Before the <linux/...> headers, which then leave its definitions alone.
#include <net/if.h>

#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <map>

#include "common/io.h"
#include "net/link.h"
#include "net/netlink.h"

namespace runvm::net {
namespace {

struct Matched {
  const InterfaceConfig* config;
  Link link;
};

Result<Link> link_with_mac(const std::vector<Link>& links, const InterfaceConfig& wanted) {
  for (const Link& link : links)
    if (link.type == ARPHRD_ETHER && std::equal(link.address.begin(), link.address.end(),
                                                wanted.mac.begin(), wanted.mac.end()))
      return link;
  return fail("no network device with MAC " + format_mac(wanted.mac) + " for " + wanted.name);
}

Status bring_up_loopback(NetlinkSocket& netlink, const std::vector<Link>& links) {
  for (const Link& link : links)
    if ((link.flags & IFF_LOOPBACK) && !(link.flags & IFF_UP))
      TRY(set_link_up(netlink, link, true));
  return ok();
}

// In two passes through temporary names, so that links whose names are
// swapped (the config's eth0 is the guest's eth1 and the other way round)
// never ask for a name the other still holds.
Status rename_all(NetlinkSocket& netlink, std::vector<Matched>& matched) {
  for (Matched& m : matched) {
    if (m.link.name == m.config->name) continue;
    if (m.link.flags & IFF_UP) TRY(set_link_up(netlink, m.link, false));
    m.link.flags &= ~IFF_UP;
    std::string temporary = "runvm-tmp" + std::to_string(m.link.ifindex);
    TRY(rename_link(netlink, m.link, temporary));
    m.link.name = temporary;
  }
  for (Matched& m : matched) {
    if (m.link.name == m.config->name) continue;
    TRY(rename_link(netlink, m.link, m.config->name));
    m.link.name = m.config->name;
  }
  return ok();
}

// A link the config does not name may hold a name it wants (a spare NIC
// the kernel called eth1 before it is parked): it moves aside first.
Status clear_names(NetlinkSocket& netlink, const std::vector<Link>& links, const std::vector<Matched>& matched) {
  for (const Link& link : links) {
    bool is_matched = std::any_of(matched.begin(), matched.end(), [&](const Matched& m) { return m.link.ifindex == link.ifindex; });
    bool squats = std::any_of(matched.begin(), matched.end(), [&](const Matched& m) { return m.config->name == link.name; });
    if (is_matched || !squats) continue;
    if (link.flags & IFF_UP) TRY(set_link_up(netlink, link, false));
    TRY(rename_link(netlink, link, "runvm-tmp" + std::to_string(link.ifindex)));
  }
  return ok();
}

Status add_address(NetlinkSocket& netlink, const Link& link, const Address& address) {
  IpAddress ip = TRY(parse_ip(address.family, address.address));
  ifaddrmsg info{};
  info.ifa_family = static_cast<uint8_t>(address.family);
  info.ifa_prefixlen = static_cast<uint8_t>(address.prefix_length);
  info.ifa_scope = RT_SCOPE_UNIVERSE;
  info.ifa_index = static_cast<uint32_t>(link.ifindex);
  uint32_t flags = address.family == AF_INET6 ? IFA_F_NODAD : 0;
  info.ifa_flags = static_cast<uint8_t>(flags);
  NetlinkRequest request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, info);
  request.put(IFA_LOCAL, ip.bytes.data(), ip.size());
  request.put(IFA_ADDRESS, ip.bytes.data(), ip.size());
  request.put_u32(IFA_FLAGS, flags);
  // As Docker's netlink library does: the subnet's broadcast address, so
  // subnet-directed broadcasts reach the container.
  if (address.family == AF_INET && address.prefix_length < 31) {
    IpAddress broadcast = ip;
    for (int bit = address.prefix_length; bit < 32; ++bit)
      broadcast.bytes[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    request.put(IFA_BROADCAST, broadcast.bytes.data(), 4);
  }
  return netlink.execute(request, "add address " + describe(address) + " to " + link.name);
}

Status configure_interface(NetlinkSocket& netlink, const Matched& m) {
  if (m.link.mtu != m.config->mtu) TRY(set_link_mtu(netlink, m.link, m.config->mtu));
  if (!(m.link.flags & IFF_UP)) TRY(set_link_up(netlink, m.link, true));
  for (const Address& address : m.config->addresses) TRY(add_address(netlink, m.link, address));
  return ok();
}

Status add_route(NetlinkSocket& netlink, const Route& route, int ifindex) {
  std::string what = "add route " + describe(route);
  IpAddress destination = TRY_CTX(parse_ip(route.family, route.destination), what);
  rtmsg info{};
  info.rtm_family = static_cast<uint8_t>(route.family);
  info.rtm_dst_len = static_cast<uint8_t>(route.prefix_length);
  info.rtm_table = RT_TABLE_MAIN;
  info.rtm_protocol = RTPROT_BOOT;  // what `ip route add` and engines use
  info.rtm_scope = static_cast<uint8_t>(route.scope);
  info.rtm_type = RTN_UNICAST;
  info.rtm_flags = route.onlink ? RTNH_F_ONLINK : 0;
  NetlinkRequest request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, info);
  if (route.prefix_length > 0) request.put(RTA_DST, destination.bytes.data(), destination.size());
  if (!route.gateway.empty()) {
    IpAddress gateway = TRY_CTX(parse_ip(route.family, route.gateway), what);
    request.put(RTA_GATEWAY, gateway.bytes.data(), gateway.size());
  }
  request.put_u32(RTA_OIF, static_cast<uint32_t>(ifindex));
  if (route.metric) request.put_u32(RTA_PRIORITY, route.metric);
  return netlink.execute(request, what);
}

Status add_routes(NetlinkSocket& netlink, const std::vector<Route>& routes,
                  const std::vector<Matched>& matched) {
  std::map<std::string, int> ifindex;
  for (const Matched& m : matched) ifindex[m.config->name] = m.link.ifindex;
  std::vector<const Route*> ordered;
  for (const Route& r : routes) ordered.push_back(&r);
  std::stable_partition(ordered.begin(), ordered.end(),
                        [](const Route* r) { return r->gateway.empty(); });
  for (const Route* r : ordered) {
    auto device = ifindex.find(r->device);
    if (device == ifindex.end())
      return fail("add route " + describe(*r) + ": no interface named " + r->device);
    TRY(add_route(netlink, *r, device->second));
  }
  return ok();
}

Status add_neighbor(NetlinkSocket& netlink, const Neighbor& n, const std::vector<Matched>& matched) {
  std::string what = "add neighbour " + describe(n);
  auto m = std::find_if(matched.begin(), matched.end(),
                        [&](const Matched& x) { return x.config->name == n.device; });
  if (m == matched.end()) return fail(what + ": no interface named " + n.device);
  IpAddress address = TRY_CTX(parse_ip(n.family, n.address), what);
  ndmsg info{};
  info.ndm_family = static_cast<uint8_t>(n.family);
  info.ndm_ifindex = m->link.ifindex;
  info.ndm_state = NUD_PERMANENT;
  NetlinkRequest request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, info);
  request.put(NDA_DST, address.bytes.data(), address.size());
  request.put(NDA_LLADDR, n.mac.data(), n.mac.size());
  return netlink.execute(request, what);
}

// The guest's /proc/sys/net is its container's: the process runs in the
// guest's namespace.
Status set_arp(const ArpSetting& a) {
  std::string path = "/proc/sys/net/ipv4/conf/" + a.scope + "/" + a.key;
  UniqueFd fd = TRY_CTX(io::open_file(path, O_WRONLY), "set " + describe(a));
  return std::move(io::write_all(fd.get(), std::to_string(a.value))).context("set " + describe(a));
}

}  // namespace

Status apply_network_config(const NetworkConfig& config) {
  NetlinkSocket netlink = TRY(NetlinkSocket::open());
  std::vector<Link> links = TRY(list_links(netlink));
  TRY_CTX(bring_up_loopback(netlink, links), "configure lo");
  std::vector<Matched> matched;
  std::map<int, std::string> claimed;  // ifindex -> interface
  for (const InterfaceConfig& i : config.interfaces) {
    Link link = TRY(link_with_mac(links, i));
    if (auto [it, fresh] = claimed.emplace(link.ifindex, i.name); !fresh)
      return fail(i.name + " and " + it->second + " both have MAC " + format_mac(i.mac));
    matched.push_back({&i, std::move(link)});
  }
  TRY_CTX(clear_names(netlink, links, matched), "name the network interfaces");
  TRY_CTX(rename_all(netlink, matched), "name the network interfaces");
  for (const Matched& m : matched)
    TRY_CTX(configure_interface(netlink, m), "configure interface " + m.config->name);
  for (const Neighbor& n : config.neighbors) TRY(add_neighbor(netlink, n, matched));
  for (const ArpSetting& a : config.arp) TRY(set_arp(a));
  return add_routes(netlink, config.routes, matched);
}

}  // namespace runvm::net
