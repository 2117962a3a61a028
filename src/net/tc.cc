#include "net/tc.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include <cerrno>
#include <vector>

namespace runvm::net {
namespace {

constexpr uint32_t kIngressHandle = TC_H_MAKE(TC_H_INGRESS, 0);  // "ffff:"
// Ours is the only filter on a qdisc runvm added, so any priority will do.
constexpr uint32_t kFilterPriority = 1;

tcmsg qdisc_message(int ifindex) {
  tcmsg t{};
  t.tcm_family = AF_UNSPEC;
  t.tcm_ifindex = ifindex;
  t.tcm_handle = kIngressHandle;
  t.tcm_parent = TC_H_INGRESS;
  return t;
}

// A selector with one key that masks nothing, so it matches every frame,
// as `tc filter ... u32 match u8 0 0` builds it. TERMINAL makes the match
// final, which tc sets whenever a filter has an action.
std::vector<uint8_t> match_all_selector() {
  tc_u32_sel sel{};
  sel.flags = TC_U32_TERMINAL;
  sel.nkeys = 1;
  tc_u32_key key{};
  std::vector<uint8_t> bytes(sizeof sel + sizeof key);
  std::memcpy(bytes.data(), &sel, sizeof sel);
  std::memcpy(bytes.data() + sizeof sel, &key, sizeof key);
  return bytes;
}

// Action 1 of the filter: mirred, redirecting to the egress of `to`. STOLEN
// ends the frame's way through the source link's stack.
void put_redirect_action(NetlinkRequest& request, int to_ifindex) {
  size_t actions = request.begin_nested(TCA_U32_ACT);
  size_t first = request.begin_nested(1);
  request.put_string(TCA_ACT_KIND, "mirred");
  size_t options = request.begin_nested(TCA_ACT_OPTIONS);
  tc_mirred mirred{};
  mirred.action = TC_ACT_STOLEN;
  mirred.eaction = TCA_EGRESS_REDIR;
  mirred.ifindex = static_cast<uint32_t>(to_ifindex);
  request.put_struct(TCA_MIRRED_PARMS, mirred);
  request.end_nested(options);
  request.end_nested(first);
  request.end_nested(actions);
}

}  // namespace

Status add_ingress_qdisc(NetlinkSocket& netlink, const Link& link) {
  NetlinkRequest request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, qdisc_message(link.ifindex));
  request.put_string(TCA_KIND, "ingress");
  std::string what = "add an ingress qdisc to " + link.name;
  Status added = netlink.execute(request, what);
  if (!added && added.error().errno_value() == EEXIST)
    return Failure{Error(what + ": it has one already, which runvm would disturb", EEXIST)};
  return added;
}

Status delete_ingress_qdisc(NetlinkSocket& netlink, int ifindex, const std::string& name) {
  NetlinkRequest request(RTM_DELQDISC, 0, qdisc_message(ifindex));
  Status deleted = netlink.execute(request, "delete the ingress qdisc of " + name);
  if (!deleted && (deleted.error().errno_value() == ENOENT ||
                   deleted.error().errno_value() == ENODEV))
    return ok();
  return deleted;
}

Status add_redirect_filter(NetlinkSocket& netlink, const Link& from, const Link& to) {
  tcmsg t{};
  t.tcm_family = AF_UNSPEC;
  t.tcm_ifindex = from.ifindex;
  t.tcm_parent = kIngressHandle;
  t.tcm_info = TC_H_MAKE(kFilterPriority << 16, htons(ETH_P_ALL));
  NetlinkRequest request(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, t);
  request.put_string(TCA_KIND, "u32");
  size_t options = request.begin_nested(TCA_OPTIONS);
  std::vector<uint8_t> selector = match_all_selector();
  request.put(TCA_U32_SEL, selector.data(), selector.size());
  put_redirect_action(request, to.ifindex);
  request.end_nested(options);
  return netlink.execute(request, "redirect " + from.name + "'s ingress to " + to.name);
}

}  // namespace runvm::net
