// Network links (interfaces) of the current namespace, read and changed
// over rtnetlink: list them, and set one up or down, its MTU or its name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "net/netlink.h"

namespace runvm::net {

struct Link {
  int ifindex = 0;
  std::string name;
  uint16_t type = 0;   // ARPHRD_*
  uint32_t flags = 0;  // IFF_*
  uint32_t mtu = 0;
  std::vector<uint8_t> address;  // link-layer address, empty if none
};

Result<std::vector<Link>> list_links(NetlinkSocket& netlink);
// The link with that index or name; an error naming it if there is none.
Result<Link> find_link(NetlinkSocket& netlink, int ifindex);
Result<Link> find_link(NetlinkSocket& netlink, const std::string& name);

Status set_link_up(NetlinkSocket& netlink, const Link& link, bool up);
Status set_link_mtu(NetlinkSocket& netlink, const Link& link, uint32_t mtu);
Status set_link_mac(NetlinkSocket& netlink, const Link& link, const std::vector<uint8_t>& mac);
// Moves the link into the network namespace `netns_fd`, under `name` there
// (so it cannot clash with a link of that namespace). The socket must be
// in the link's current namespace.
Status move_link(NetlinkSocket& netlink, const Link& link, int netns_fd, const std::string& name);
// The kernel renames only a link that is down.
Status rename_link(NetlinkSocket& netlink, const Link& link, const std::string& name);

}  // namespace runvm::net
