#include "net/scan.h"

#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "net/link.h"
#include "net/netns_testing.h"

namespace runvm::net {
namespace {

using testing::in_new_netns;
using testing::Netns;
using testing::sh;
using testing::sh_in;

// A veth whose `name` end is here and whose other end is in `far`, as an
// engine leaves it.
Status add_veth(const Netns& far, const std::string& name) {
  TRY(sh_in(far, "ip link add far-" + name + " type veth peer name " + name + " netns " +
                     std::to_string(::getpid())));
  TRY(sh_in(far, "ip link set far-" + name + " up"));
  return ok();
}

// What the kernel sets on an address it made from a router advertisement;
// iproute2 6.1 cannot set it, so the request is made here.
Status add_address_from_ra(const std::string& device, const std::string& text) {
  NetlinkSocket netlink = TRY(NetlinkSocket::open());
  Link link = TRY(find_link(netlink, device));
  IpAddress ip = TRY(parse_ip(AF_INET6, text));
  ifaddrmsg info{};
  info.ifa_family = AF_INET6;
  info.ifa_prefixlen = 64;
  info.ifa_index = static_cast<uint32_t>(link.ifindex);
  NetlinkRequest request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, info);
  request.put(IFA_LOCAL, ip.bytes.data(), 16);
  request.put_u32(IFA_FLAGS, IFA_F_NODAD);
  request.put_u8(IFA_PROTO, IFAPROT_KERNEL_RA);
  return netlink.execute(request, "add an address as from an RA");
}

Status set_up_namespace(const Netns& far) {
  TRY(add_veth(far, "eth0"));
  TRY(add_veth(far, "net1"));
  TRY(add_veth(far, "idle0"));
  TRY(
      sh("ip link set eth0 address 02:42:ac:11:00:02 mtu 1450 up && "
         "ip link set net1 address 0a:58:0a:00:00:07 mtu 9000 up && "
         "ip addr add 172.17.0.2/16 dev eth0 && "
         "ip addr add 2001:db8::2/64 dev eth0 nodad && "
         "ip addr add 169.254.5.5/16 dev eth0 scope link && "
         "ip route add default via 172.17.0.1 && "
         "ip route add 10.20.0.0/16 via 172.17.0.254 metric 20 && "
         "ip route add 192.168.9.0/24 dev net1 scope link && "
         "ip route add 198.51.100.0/24 via 203.0.113.1 dev eth0 onlink && "
         "ip route add 10.30.0.0/16 nexthop via 172.17.0.1 dev eth0 "
         "nexthop via 172.17.0.254 dev eth0 && "
         "ip -6 route add default via 2001:db8::1 dev eth0 && "
         "ip -6 route add 2001:db8:5::/48 via 2001:db8::1 dev eth0 proto ra && "
         "ip tuntap add dev runvm-tap7 mode tap && ip link set runvm-tap7 up && "
         "ip tuntap add dev tun0 mode tun && ip link set tun0 up && "
         "ip addr add 10.99.0.1/24 dev tun0"));
  return add_address_from_ra("eth0", "2001:db8:1::5");
}

NetworkConfig expected_config() {
  NetworkConfig c;
  c.interfaces.push_back({"eth0",
                          {0x02, 0x42, 0xac, 0x11, 0x00, 0x02},
                          1450,
                          {{AF_INET, "172.17.0.2", 16}, {AF_INET6, "2001:db8::2", 64}}});
  c.interfaces.push_back({"net1", {0x0a, 0x58, 0x0a, 0x00, 0x00, 0x07}, 9000, {}});
  c.routes = {
      {AF_INET, "0.0.0.0", 0, "172.17.0.1", "eth0", 0, 0, false},
      {AF_INET, "10.20.0.0", 16, "172.17.0.254", "eth0", 20, 0, false},
      {AF_INET, "192.168.9.0", 24, "", "net1", 0, 253, false},
      {AF_INET, "198.51.100.0", 24, "203.0.113.1", "eth0", 0, 0, true},
      {AF_INET6, "::", 0, "2001:db8::1", "eth0", 1024, 0, false},
  };
  return c;
}

void sort_routes(NetworkConfig& c) {
  std::sort(c.routes.begin(), c.routes.end(),
            [](const Route& a, const Route& b) { return describe(a) < describe(b); });
}

std::string skipped_text(const std::vector<Skipped>& skipped) {
  std::vector<std::string> lines;
  for (const Skipped& s : skipped) lines.push_back(s.what + ": " + s.reason);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

Status reads_what_an_engine_configured() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(set_up_namespace(far));
  ScanResult scan = NET_TRY(scan_network_namespace(testing::proc_fd()));
  sort_routes(scan.config);
  NetworkConfig expected = expected_config();
  sort_routes(expected);
  NET_CHECK_EQ(to_json(scan.config), to_json(expected));
  NET_CHECK_EQ(scan.ifindexes.size(), 2u);
  NetlinkSocket netlink = NET_TRY(NetlinkSocket::open());
  NET_CHECK_EQ(NET_TRY(find_link(netlink, scan.ifindexes[0])).name, "eth0");
  NET_CHECK_EQ(NET_TRY(find_link(netlink, scan.ifindexes[1])).name, "net1");
  NET_CHECK_EQ(skipped_text(scan.skipped),
               "link idle0: down and without addresses\n"
               "link tun0: not an Ethernet device (link type 65534)\n"
               "multipath route to 10.30.0.0/16: multipath routes are not "
               "supported\n"
               "route 2001:db8:5::/48 via 2001:db8::1 dev eth0 metric 1024: "
               "learned from a router advertisement; the guest learns its own\n");
  // The scan is what the guest is sent: it must pass the guest's checks.
  auto sent = from_json(to_json(scan.config));
  NET_CHECK(sent.has_value());
  return ok();
}

TEST(ScanNetworkNamespace, ReadsWhatAnEngineConfigured) {
  EXPECT_EQ(in_new_netns(reads_what_an_engine_configured), "");
}

Status empty_namespace_has_nothing_to_carry() {
  NET_TRY(sh("ip link set lo up"));
  ScanResult scan = NET_TRY(scan_network_namespace(testing::proc_fd()));
  NET_CHECK_EQ(to_json(scan.config), to_json(NetworkConfig{}));
  NET_CHECK(scan.skipped.empty());
  return ok();
}

TEST(ScanNetworkNamespace, EmptyNamespaceHasNothingToCarry) {
  EXPECT_EQ(in_new_netns(empty_namespace_has_nothing_to_carry), "");
}

// A link that is down but has an address is carried: the engine meant it.
Status carries_a_down_link_with_addresses() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_veth(far, "eth0"));
  NET_TRY(sh("ip addr add 10.1.2.3/8 dev eth0"));
  ScanResult scan = NET_TRY(scan_network_namespace(testing::proc_fd()));
  NET_CHECK_EQ(scan.config.interfaces.size(), 1u);
  NET_CHECK_EQ(scan.config.interfaces[0].addresses.size(), 1u);
  NET_CHECK_EQ(describe(scan.config.interfaces[0].addresses[0]), "10.1.2.3/8");
  return ok();
}

TEST(ScanNetworkNamespace, CarriesADownLinkWithAddresses) {
  EXPECT_EQ(in_new_netns(carries_a_down_link_with_addresses), "");
}

// The ARP settings that are not the kernel's default, of the namespace
// ("all") and of carried links; not of links left out.
Status reads_arp_settings() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_veth(far, "eth0"));
  NET_TRY(add_veth(far, "idle0"));  // down, no addresses: not carried
  NET_TRY(sh("ip link set eth0 up"));
  NET_TRY(sh("echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore"));
  NET_TRY(sh("echo 2 > /proc/sys/net/ipv4/conf/eth0/arp_announce && echo 1 > /proc/sys/net/ipv4/conf/eth0/arp_notify"));
  NET_TRY(sh("echo 1 > /proc/sys/net/ipv4/conf/idle0/proxy_arp"));
  ScanResult scan = NET_TRY(scan_network_namespace(testing::proc_fd()));
  NET_CHECK_EQ(scan.config.arp.size(), 3u);
  NET_CHECK_EQ(describe(scan.config.arp[0]), std::string("net.ipv4.conf.all.arp_ignore=1"));
  NET_CHECK_EQ(describe(scan.config.arp[1]), std::string("net.ipv4.conf.eth0.arp_announce=2"));
  NET_CHECK_EQ(describe(scan.config.arp[2]), std::string("net.ipv4.conf.eth0.arp_notify=1"));
  return ok();
}

TEST(ScanNetworkNamespace, ReadsArpSettings) {
  EXPECT_EQ(in_new_netns(reads_arp_settings), "");
}

}  // namespace
}  // namespace runvm::net
