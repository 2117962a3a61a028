#include "net/apply.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "net/netns_testing.h"
#include "net/scan.h"

namespace runvm::net {
namespace {

using nlohmann::json;
using testing::in_new_netns;
using testing::Netns;
using testing::sh;
using testing::sh_in;
using testing::sh_json;

const Mac kMacA = {0x02, 0x00, 0x00, 0x00, 0x0a, 0x01};
const Mac kMacB = {0x02, 0x00, 0x00, 0x00, 0x0b, 0x02};

// A veth named `name` here with `mac`, its peer (up) in `far`, as the guest
// kernel presents a virtio-net device: down, named by the kernel.
Status add_device(const Netns& far, const std::string& name, const Mac& mac) {
  TRY(sh_in(far, "ip link add far-" + name + " type veth peer name " + name + " netns " +
                     std::to_string(::getpid())));
  TRY(sh_in(far, "ip link set far-" + name + " up"));
  TRY(sh("ip link set " + name + " address " + format_mac(mac)));
  return ok();
}

// Gateway routes come before the link route that makes their gateway
// reachable, so the order apply chooses is what makes this work.
NetworkConfig guest_config() {
  NetworkConfig c;
  c.interfaces.push_back(
      {"eth7", kMacA, 1400, {{AF_INET, "10.7.0.2", 24}, {AF_INET6, "2001:db8:7::2", 64}}});
  c.routes = {
      {AF_INET, "0.0.0.0", 0, "10.7.0.1", "eth7", 0, 0, false},
      {AF_INET, "10.70.0.0", 16, "192.168.77.1", "eth7", 30, 0, false},
      {AF_INET, "192.168.77.0", 24, "", "eth7", 0, 253, false},
      {AF_INET, "198.51.100.0", 24, "203.0.113.9", "eth7", 0, 0, true},
      {AF_INET6, "::", 0, "2001:db8:7::1", "eth7", 1024, 0, false},
      {AF_INET6, "2001:db8:70::", 48, "fe80::1", "eth7", 50, 0, false},
  };
  c.arp = {{"all", "arp_ignore", 1}, {"eth7", "arp_announce", 2}, {"eth7", "arp_notify", 1}};
  return c;
}

void sort_routes(NetworkConfig& c) {
  std::sort(c.routes.begin(), c.routes.end(),
            [](const Route& a, const Route& b) { return describe(a) < describe(b); });
}

// `ip -j` entries whose fields include all of `wanted`'s.
bool has_entry(const json& entries, const json& wanted) {
  for (const json& e : entries) {
    bool all = true;
    for (auto& [key, value] : wanted.items())
      if (!e.contains(key) || e[key] != value) all = false;
    if (all) return true;
  }
  return false;
}

Status check_with_ip_tools() {
  json link = TRY(sh_json("ip -j link show eth7"))[0];
  NET_CHECK_EQ(link["address"], json(format_mac(kMacA)));
  NET_CHECK_EQ(link["mtu"], json(1400));
  NET_CHECK(has_entry(json::array({link}), {{"operstate", "UP"}}));
  NET_CHECK(!sh("ip link show vguest").has_value());
  json lo = TRY(sh_json("ip -j link show lo"))[0];
  NET_CHECK(std::count(lo["flags"].begin(), lo["flags"].end(), "UP") == 1);

  json addresses = TRY(sh_json("ip -j addr show dev eth7"))[0]["addr_info"];
  NET_CHECK(has_entry(addresses, {{"local", "10.7.0.2"},
                                  {"prefixlen", 24},
                                  {"broadcast", "10.7.0.255"},
                                  {"scope", "global"}}));
  NET_CHECK(has_entry(addresses, {{"local", "2001:db8:7::2"}, {"prefixlen", 64}}));
  // Usable at once: no duplicate address detection pending.
  for (const json& a : addresses)
    if (a["local"] == "2001:db8:7::2") NET_CHECK(!a.contains("tentative"));

  json routes = TRY(sh_json("ip -j route show table main"));
  NET_CHECK(has_entry(routes, {{"dst", "default"}, {"gateway", "10.7.0.1"}, {"dev", "eth7"}}));
  NET_CHECK(
      has_entry(routes, {{"dst", "10.70.0.0/16"}, {"gateway", "192.168.77.1"}, {"metric", 30}}));
  NET_CHECK(has_entry(routes, {{"dst", "192.168.77.0/24"}, {"scope", "link"}}));
  NET_CHECK(has_entry(routes, {{"dst", "198.51.100.0/24"}, {"flags", {"onlink"}}}));
  json routes6 = TRY(sh_json("ip -j -6 route show table main"));
  NET_CHECK(has_entry(routes6, {{"dst", "default"}, {"gateway", "2001:db8:7::1"}}));
  NET_CHECK(
      has_entry(routes6, {{"dst", "2001:db8:70::/48"}, {"gateway", "fe80::1"}, {"metric", 50}}));
  return ok();
}

Status applies_config_to_a_renamed_link() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_device(far, "vguest", kMacA));
  NetworkConfig config = guest_config();
  NET_TRY(apply_network_config(config));
  NET_TRY(check_with_ip_tools());
  // What the host would scan here now is what was applied.
  ScanResult scan = NET_TRY(scan_network_namespace(testing::proc_fd()));
  sort_routes(scan.config);
  sort_routes(config);
  NET_CHECK_EQ(to_json(scan.config), to_json(config));
  // Applying again changes nothing and is no error.
  NET_TRY(apply_network_config(guest_config()));
  ScanResult again = NET_TRY(scan_network_namespace(testing::proc_fd()));
  sort_routes(again.config);
  NET_CHECK_EQ(to_json(again.config), to_json(config));
  return ok();
}

TEST(ApplyNetworkConfig, AppliesConfigToARenamedLink) {
  EXPECT_EQ(in_new_netns(applies_config_to_a_renamed_link), "");
}

// The guest kernel may name the devices in another order than the engine.
Status swaps_names() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_device(far, "eth0", kMacA));
  NET_TRY(add_device(far, "eth1", kMacB));
  NetworkConfig config;
  config.interfaces = {{"eth0", kMacB, 1500, {}}, {"eth1", kMacA, 1500, {}}};
  NET_TRY(apply_network_config(config));
  NET_CHECK_EQ(NET_TRY(sh_json("ip -j link show eth0"))[0]["address"], json(format_mac(kMacB)));
  NET_CHECK_EQ(NET_TRY(sh_json("ip -j link show eth1"))[0]["address"], json(format_mac(kMacA)));
  return ok();
}

TEST(ApplyNetworkConfig, SwapsNames) { EXPECT_EQ(in_new_netns(swaps_names), ""); }

Status missing_device_is_named() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_device(far, "eth0", kMacA));
  NetworkConfig config;
  config.interfaces = {{"eth0", kMacA, 1500, {}}, {"net1", kMacB, 1500, {}}};
  Status s = apply_network_config(config);
  NET_CHECK(!s);
  NET_CHECK_EQ(s.error().message(), "no network device with MAC 02:00:00:00:0b:02 for net1");
  return ok();
}

TEST(ApplyNetworkConfig, MissingDeviceIsNamed) {
  EXPECT_EQ(in_new_netns(missing_device_is_named), "");
}

Status unreachable_gateway_names_the_route() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_device(far, "eth0", kMacA));
  NetworkConfig config;
  config.interfaces = {{"eth0", kMacA, 1500, {{AF_INET, "10.7.0.2", 24}}}};
  config.routes = {{AF_INET, "0.0.0.0", 0, "10.99.0.1", "eth0", 0, 0, false}};
  Status s = apply_network_config(config);
  NET_CHECK(!s);
  NET_CHECK_EQ(s.error().errno_value(), ENETUNREACH);
  NET_CHECK(s.error().message().starts_with("add route default via 10.99.0.1 dev eth0"));
  return ok();
}

TEST(ApplyNetworkConfig, UnreachableGatewayNamesTheRoute) {
  EXPECT_EQ(in_new_netns(unreachable_gateway_names_the_route), "");
}

// A device the config does not name that holds a name it wants (a spare
// NIC the guest kernel named eth1, not parked yet) is moved aside.
Status name_held_by_another_device_is_moved_aside() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_device(far, "eth0", kMacA));
  NET_TRY(add_device(far, "eth1", kMacB));
  NetworkConfig config;
  config.interfaces = {{"eth1", kMacA, 1500, {}}};
  NET_TRY(apply_network_config(config));
  json taken = NET_TRY(sh_json("ip -j link show eth1"));
  NET_CHECK_EQ(taken[0]["address"].get<std::string>(), format_mac(kMacA));
  json links = NET_TRY(sh_json("ip -j link show"));
  bool aside = false;
  for (const json& l : links)
    if (l.value("address", "") == format_mac(kMacB))
      aside = l.value("ifname", "").starts_with("runvm-tmp");
  NET_CHECK(aside);
  return ok();
}

TEST(ApplyNetworkConfig, NameHeldByAnotherDeviceIsMovedAside) {
  EXPECT_EQ(in_new_netns(name_held_by_another_device_is_moved_aside), "");
}

}  // namespace
}  // namespace runvm::net
