#include "net/link.h"

// Before the <linux/...> headers, which then leave its definitions alone.
#include <net/if.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>

namespace runvm::net {
namespace {

Result<Link> parse_link(const NetlinkMessage& message) {
  auto info = message.header<ifinfomsg>();
  if (!info) return fail("link message too short");
  Attributes attrs = TRY(message.attributes(sizeof(ifinfomsg)));
  Link link;
  link.ifindex = info->ifi_index;
  link.type = info->ifi_type;
  link.flags = info->ifi_flags;
  link.name = attrs.string(IFLA_IFNAME).value_or("");
  link.mtu = attrs.u32(IFLA_MTU).value_or(0);
  if (auto address = attrs.get(IFLA_ADDRESS)) link.address.assign(address->begin(), address->end());
  return link;
}

// An RTM_NEWLINK that changes an existing link (no NLM_F_CREATE).
NetlinkRequest change_link(const Link& link, uint32_t flags = 0, uint32_t change = 0) {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = link.ifindex;
  info.ifi_flags = flags;
  info.ifi_change = change;
  return NetlinkRequest(RTM_NEWLINK, 0, info);
}

}  // namespace

Result<std::vector<Link>> list_links(NetlinkSocket& netlink) {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  NetlinkRequest request(RTM_GETLINK, 0, info);
  auto messages = TRY(netlink.dump(request, "list network links"));
  std::vector<Link> links;
  for (const NetlinkMessage& m : messages) {
    if (m.type != RTM_NEWLINK) continue;
    links.push_back(TRY_CTX(parse_link(m), "list network links"));
  }
  return links;
}

Result<Link> find_link(NetlinkSocket& netlink, int ifindex) {
  for (Link& link : TRY(list_links(netlink)))
    if (link.ifindex == ifindex) return std::move(link);
  return fail("no network link with index " + std::to_string(ifindex));
}

Result<Link> find_link(NetlinkSocket& netlink, const std::string& name) {
  for (Link& link : TRY(list_links(netlink)))
    if (link.name == name) return std::move(link);
  return fail("no network link named " + name);
}

Status set_link_up(NetlinkSocket& netlink, const Link& link, bool up) {
  NetlinkRequest request = change_link(link, up ? IFF_UP : 0, IFF_UP);
  return netlink.execute(request, std::string("set ") + link.name + (up ? " up" : " down"));
}

Status set_link_mtu(NetlinkSocket& netlink, const Link& link, uint32_t mtu) {
  NetlinkRequest request = change_link(link);
  request.put_u32(IFLA_MTU, mtu);
  return netlink.execute(request, "set the MTU of " + link.name + " to " + std::to_string(mtu));
}

Status set_link_mac(NetlinkSocket& netlink, const Link& link, const std::vector<uint8_t>& mac) {
  NetlinkRequest request = change_link(link);
  request.put(IFLA_ADDRESS, mac.data(), mac.size());
  return netlink.execute(request, "set the MAC address of " + link.name);
}

Status move_link(NetlinkSocket& netlink, const Link& link, int netns_fd, const std::string& name) {
  NetlinkRequest request = change_link(link);
  request.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  request.put_string(IFLA_IFNAME, name);
  return netlink.execute(request, "move " + link.name + " to another network namespace as " + name);
}

Status rename_link(NetlinkSocket& netlink, const Link& link, const std::string& name) {
  NetlinkRequest request = change_link(link);
  request.put_string(IFLA_IFNAME, name);
  return netlink.execute(request, "rename " + link.name + " to " + name);
}

}  // namespace runvm::net
