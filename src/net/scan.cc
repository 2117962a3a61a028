#include "net/scan.h"

#include <algorithm>

// Before the <linux/...> headers, which then leave its definitions alone.
#include <net/if.h>

#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <map>
#include <optional>

#include "common/io.h"
#include "common/procfs.h"
#include "net/link.h"
#include "net/netlink.h"
#include "net/tap_redirect.h"

namespace runvm::net {
namespace {

using AddressesByLink = std::map<int, std::vector<Address>>;

// IPv6 link-local addresses (fe80::/10) and those the kernel made from a
// router advertisement are the guest kernel's own to make.
bool made_by_kernel(const IpAddress& ip, const Attributes& attrs) {
  if (ip.family == AF_INET6 && ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80) return true;
  return attrs.u8(IFA_PROTO) == IFAPROT_KERNEL_RA;
}

Status add_address(const NetlinkMessage& m, AddressesByLink& out) {
  auto info = m.header<ifaddrmsg>();
  if (!info) return fail("address message too short");
  Attributes attrs = TRY(m.attributes(sizeof(ifaddrmsg)));
  if (info->ifa_scope != RT_SCOPE_UNIVERSE || address_size(info->ifa_family) == 0) return ok();
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on
  // a point-to-point link, and the only one IPv6 sends.
  auto bytes = attrs.get(IFA_LOCAL);
  if (!bytes) bytes = attrs.get(IFA_ADDRESS);
  if (!bytes || bytes->size() != address_size(info->ifa_family))
    return fail("address message without an address");
  IpAddress ip{info->ifa_family, {}};
  std::copy(bytes->begin(), bytes->end(), ip.bytes.begin());
  if (made_by_kernel(ip, attrs)) return ok();
  out[static_cast<int>(info->ifa_index)].push_back(
      {ip.family, format_ip(ip), info->ifa_prefixlen});
  return ok();
}

Result<AddressesByLink> list_addresses(NetlinkSocket& netlink) {
  ifaddrmsg info{};
  info.ifa_family = AF_UNSPEC;
  NetlinkRequest request(RTM_GETADDR, 0, info);
  AddressesByLink out;
  for (const NetlinkMessage& m : TRY(netlink.dump(request, "list addresses")))
    if (m.type == RTM_NEWADDR) TRY_CTX(add_address(m, out), "list addresses");
  return out;
}

bool is_runvm_tap(const Link& link) { return link.name.starts_with(kTapNamePrefix); }

// Adds the link to the result or says why not.
void scan_link(const Link& link, AddressesByLink& addresses, ScanResult& out) {
  if ((link.flags & IFF_LOOPBACK) || is_runvm_tap(link)) return;
  auto& own = addresses[link.ifindex];
  if (!(link.flags & IFF_UP) && own.empty()) {
    out.skipped.push_back({"link " + link.name, "down and without addresses"});
    return;
  }
  if (link.type != ARPHRD_ETHER || link.address.size() != 6) {
    out.skipped.push_back({"link " + link.name, "not an Ethernet device (link type " +
                                                    std::to_string(link.type) + ")"});
    return;
  }
  if (std::all_of(link.address.begin(), link.address.end(), [](uint8_t b) { return b == 0; })) {
    out.skipped.push_back({"link " + link.name, "no MAC address to give the guest's NIC"});
    return;
  }
  InterfaceConfig config{link.name, {}, link.mtu, own};
  std::copy(link.address.begin(), link.address.end(), config.mac.begin());
  out.config.interfaces.push_back(std::move(config));
  out.ifindexes.push_back(link.ifindex);
}

std::string ip_attr(const Attributes& attrs, uint16_t type, int family) {
  auto bytes = attrs.get(type);
  if (!bytes) {
    IpAddress any{family, {}};
    return format_ip(any);
  }
  return format_ip(family, *bytes);
}

// Why a main-table route through a carried link is not carried; nullopt
// if it is. Checked after the silent skips in scan_route.
std::optional<std::string> unsupported(const rtmsg& rt, const Attributes& attrs) {
  if (rt.rtm_type != RTN_UNICAST)
    return "route type " + std::to_string(rt.rtm_type) + " is not carried (only unicast)";
  if (rt.rtm_protocol == RTPROT_RA)
    return "learned from a router advertisement; the guest learns its own";
  if (attrs.has(RTA_VIA)) return "a gateway of another address family is not supported";
  return std::nullopt;
}

Status scan_route(const NetlinkMessage& m, const std::map<int, std::string>& carried,
                  ScanResult& out) {
  auto rt = m.header<rtmsg>();
  if (!rt) return fail("route message too short");
  Attributes attrs = TRY(m.attributes(sizeof(rtmsg)));
  uint32_t table = attrs.u32(RTA_TABLE).value_or(rt->rtm_table);
  if (table != RT_TABLE_MAIN || address_size(rt->rtm_family) == 0 ||
      rt->rtm_protocol == RTPROT_KERNEL)
    return ok();
  if (attrs.has(RTA_MULTIPATH)) {
    out.skipped.push_back({"multipath route to " + ip_attr(attrs, RTA_DST, rt->rtm_family) +
                               "/" + std::to_string(rt->rtm_dst_len),
                           "multipath routes are not supported"});
    return ok();
  }
  auto oif = attrs.u32(RTA_OIF);
  auto device = oif ? carried.find(static_cast<int>(*oif)) : carried.end();
  if (device == carried.end()) return ok();
  Route route{rt->rtm_family, ip_attr(attrs, RTA_DST, rt->rtm_family), rt->rtm_dst_len,
              attrs.has(RTA_GATEWAY) ? ip_attr(attrs, RTA_GATEWAY, rt->rtm_family) : "",
              device->second, attrs.u32(RTA_PRIORITY).value_or(0), rt->rtm_scope,
              (rt->rtm_flags & RTNH_F_ONLINK) != 0};
  if (auto why = unsupported(*rt, attrs))
    out.skipped.push_back({"route " + describe(route), *why});
  else
    out.config.routes.push_back(std::move(route));
  return ok();
}

// ifindex -> the name the guest will give the link, for the links carried.
std::map<int, std::string> carried_links(const ScanResult& out) {
  std::map<int, std::string> carried;
  for (size_t i = 0; i < out.ifindexes.size(); ++i)
    carried[out.ifindexes[i]] = out.config.interfaces[i].name;
  return carried;
}

Status scan_routes(NetlinkSocket& netlink, ScanResult& out) {
  std::map<int, std::string> carried = carried_links(out);
  rtmsg info{};
  info.rtm_family = AF_UNSPEC;
  NetlinkRequest request(RTM_GETROUTE, 0, info);
  for (const NetlinkMessage& m : TRY(netlink.dump(request, "list routes")))
    if (m.type == RTM_NEWROUTE) TRY_CTX(scan_route(m, carried, out), "list routes");
  return ok();
}

// Permanent neighbour entries on carried links (dynamic ones the guest
// learns itself).
Status scan_neighbors(NetlinkSocket& netlink, ScanResult& out) {
  std::map<int, std::string> carried = carried_links(out);
  ndmsg info{};
  info.ndm_family = AF_UNSPEC;
  NetlinkRequest request(RTM_GETNEIGH, 0, info);
  for (const NetlinkMessage& m : TRY(netlink.dump(request, "list neighbours"))) {
    auto nd = m.header<ndmsg>();
    if (m.type != RTM_NEWNEIGH || !nd || !(nd->ndm_state & NUD_PERMANENT)) continue;
    auto device = carried.find(nd->ndm_ifindex);
    if (device == carried.end() || address_size(nd->ndm_family) == 0) continue;
    Attributes attrs = TRY_CTX(m.attributes(sizeof(ndmsg)), "list neighbours");
    auto dst = attrs.get(NDA_DST);
    auto lladdr = attrs.get(NDA_LLADDR);
    if (!dst || dst->size() != address_size(nd->ndm_family) || !lladdr || lladdr->size() != 6) continue;
    Neighbor n{nd->ndm_family, format_ip(nd->ndm_family, *dst), {}, device->second};
    std::copy(lladdr->begin(), lladdr->end(), n.mac.begin());
    out.config.neighbors.push_back(std::move(n));
  }
  return ok();
}

// /proc/sys/net shows the namespace of the process reading it: this one's.
Status scan_arp_settings(int proc_fd, ScanResult& out) {
  std::vector<std::string> scopes = {"all"};
  for (const auto& i : out.config.interfaces) scopes.push_back(i.name);
  for (const std::string& scope : scopes)
    for (const auto& [key, max] : kArpKeys) {
      std::string path = "sys/net/ipv4/conf/" + scope + "/" + std::string(key);
      auto text = io::read_file_at(proc_fd, path);
      if (!text && text.error().errno_value() == ENOENT) continue;  // no IPv4 on the link
      if (!text) return std::move(text).error().context("read the ARP settings");
      int value = 0;
      auto fields = procfs::split_ws(*text);
      if (fields.empty() || !procfs::parse_number(fields[0], value) || value < 0 || value > max)
        return fail("read the ARP settings: /proc/" + path + ": unexpected value \"" + *text + "\"");
      if (value != 0) out.config.arp.push_back({scope, std::string(key), value});
    }
  return ok();
}

}  // namespace

Result<ScanResult> scan_network_namespace(int proc_fd) {
  NetlinkSocket netlink = TRY(NetlinkSocket::open());
  std::vector<Link> links = TRY(list_links(netlink));
  AddressesByLink addresses = TRY(list_addresses(netlink));
  ScanResult out;
  for (const Link& link : links) scan_link(link, addresses, out);
  TRY(scan_routes(netlink, out));
  TRY(scan_neighbors(netlink, out));
  TRY(scan_arp_settings(proc_fd, out));
  return out;
}

}  // namespace runvm::net
