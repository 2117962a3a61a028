// The traffic-control pieces that join an interface to a tap (Kata
// Containers' "tcfilter" model): an ingress qdisc on a link, and on it a
// filter that sends every frame arriving there out of another link.
#pragma once

#include <string>

#include "common/result.h"
#include "net/link.h"
#include "net/netlink.h"

namespace runvm::net {

// Adds an ingress qdisc (handle ffff:). A link that has one already is an
// error: its filters are someone else's.
Status add_ingress_qdisc(NetlinkSocket& netlink, const Link& link);

// Deletes the link's ingress qdisc, and with it every filter on it. A link
// without one, or a link that is gone, is not an error.
Status delete_ingress_qdisc(NetlinkSocket& netlink, int ifindex, const std::string& name);

// On from's ingress: a u32 filter matching every frame (any protocol) with
// a mirred action that redirects it out of `to` unchanged.
Status add_redirect_filter(NetlinkSocket& netlink, const Link& from, const Link& to);

}  // namespace runvm::net
