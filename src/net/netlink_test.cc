#include "net/netlink.h"

#include <gtest/gtest.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "net/link.h"
#include "net/netns_testing.h"

namespace runvm::net {
namespace {

using testing::in_new_netns;
using testing::sh;

Status dumps_the_namespaces_links() {
  NET_TRY(sh("ip link add v-one type veth peer name v-two"));
  NetlinkSocket netlink = NET_TRY(NetlinkSocket::open());
  std::vector<std::string> names;
  for (const Link& l : NET_TRY(list_links(netlink))) names.push_back(l.name);
  std::sort(names.begin(), names.end());
  NET_CHECK_EQ(names.size(), 3u);
  NET_CHECK_EQ(names[0], "lo");
  NET_CHECK_EQ(names[1], "v-one");
  NET_CHECK_EQ(names[2], "v-two");
  return ok();
}

TEST(NetlinkSocket, DumpsTheNamespacesLinks) {
  EXPECT_EQ(in_new_netns(dumps_the_namespaces_links), "");
}

// Many links make a dump span several datagrams.
Status dumps_spanning_many_datagrams() {
  NET_TRY(
      sh("for i in $(seq 1 150); do echo link add a$i type veth peer name b$i; "
         "done | ip -batch -"));
  NetlinkSocket netlink = NET_TRY(NetlinkSocket::open());
  NET_CHECK_EQ(NET_TRY(list_links(netlink)).size(), 301u);
  return ok();
}

TEST(NetlinkSocket, DumpsSpanningManyDatagrams) {
  EXPECT_EQ(in_new_netns(dumps_spanning_many_datagrams), "");
}

Status refusal_carries_errno_and_kernel_text() {
  NetlinkSocket netlink = NET_TRY(NetlinkSocket::open());
  tcmsg t{};
  t.tcm_ifindex = 1;
  t.tcm_parent = TC_H_INGRESS;
  t.tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
  NetlinkRequest request(RTM_DELQDISC, 0, t);
  Status s = netlink.execute(request, "delete lo's ingress qdisc");
  NET_CHECK(!s);
  NET_CHECK_EQ(s.error().errno_value(), ENOENT);
  NET_CHECK_EQ(s.error().message(),
               "delete lo's ingress qdisc: Cannot find specified qdisc on "
               "specified device");
  // The socket is still in step after a refusal.
  Link lo = NET_TRY(find_link(netlink, "lo"));
  NET_TRY(set_link_up(netlink, lo, true));
  NET_CHECK(NET_TRY(find_link(netlink, 1)).flags & IFF_UP);
  return ok();
}

TEST(NetlinkSocket, RefusalCarriesErrnoAndKernelText) {
  EXPECT_EQ(in_new_netns(refusal_carries_errno_and_kernel_text), "");
}

Status changes_to_missing_links_name_the_operation() {
  NetlinkSocket netlink = NET_TRY(NetlinkSocket::open());
  Status s = set_link_mtu(netlink, Link{.ifindex = 4242, .name = "ghost"}, 1400);
  NET_CHECK(!s);
  NET_CHECK_EQ(s.error().errno_value(), ENODEV);
  NET_CHECK(s.error().message().starts_with("set the MTU of ghost to 1400"));
  auto missing = find_link(netlink, "ghost");
  NET_CHECK(!missing);
  NET_CHECK_EQ(missing.error().message(), "no network link named ghost");
  return ok();
}

TEST(NetlinkSocket, ChangesToMissingLinksNameTheOperation) {
  EXPECT_EQ(in_new_netns(changes_to_missing_links_name_the_operation), "");
}

// The socket stays bound to the namespace it was opened in.
Status acts_on_the_namespace_it_was_opened_in() {
  NetlinkSocket netlink = NET_TRY(NetlinkSocket::open());
  auto other = NET_TRY(testing::Netns::create());
  auto home = NET_TRY(testing::Netns::current());
  NET_TRY(other.enter());
  NET_TRY(sh("ip link add only-there type veth peer name peer-there"));
  NET_TRY(home.enter());
  NET_CHECK(!find_link(netlink, "only-there"));
  NET_CHECK_EQ(NET_TRY(list_links(netlink)).size(), 1u);
  return ok();
}

TEST(NetlinkSocket, ActsOnTheNamespaceItWasOpenedIn) {
  EXPECT_EQ(in_new_netns(acts_on_the_namespace_it_was_opened_in), "");
}

}  // namespace
}  // namespace runvm::net
