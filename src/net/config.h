// The network a container is given, as the host found it in the container's
// network namespace (scan.h) and the guest recreates it (apply.h). It
// travels from host to guest as JSON; from_json checks every field, so a
// malformed message is an error naming the field, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "net/address_text.h"

namespace runvm::net {

struct Address {
  int family = 0;           // AF_INET or AF_INET6
  std::string address;      // inet_ntop text
  int prefix_length = 0;

  bool operator==(const Address&) const = default;
};

struct InterfaceConfig {
  std::string name;  // the name in the container's namespace, e.g. "eth0"
  Mac mac{};
  uint32_t mtu = 1500;
  std::vector<Address> addresses;

  bool operator==(const InterfaceConfig&) const = default;
};

// A main-table unicast route. The default route is destination "0.0.0.0"
// (or "::") with prefix length 0.
struct Route {
  int family = 0;
  std::string destination;
  int prefix_length = 0;
  std::string gateway;  // empty: directly reachable on the device
  std::string device;   // an InterfaceConfig's name
  uint32_t metric = 0;
  int scope = 0;        // RT_SCOPE_*: 0 universe, 253 link, 254 host
  bool onlink = false;  // gateway used without a route to it (RTNH_F_ONLINK)

  bool operator==(const Route&) const = default;
};

// A permanent neighbour (ARP or NDP) entry, as CNI plugins such as Calico
// set for their gateway; the guest needs it as much as the namespace did.
struct Neighbor {
  int family = 0;
  std::string address;
  Mac mac{};
  std::string device;  // an InterfaceConfig's name

  bool operator==(const Neighbor&) const = default;
};

// An ARP setting of the namespace, net.ipv4.conf.<scope>.<key>, carried
// when it is not the kernel's default (0 for every key carried): `scope`
// is "all" or an InterfaceConfig's name.
struct ArpSetting {
  std::string scope;
  std::string key;  // one of kArpKeys
  int value = 0;

  bool operator==(const ArpSetting&) const = default;
};

// The ARP-relevant keys of net.ipv4.conf.*, with their largest values.
inline constexpr std::pair<std::string_view, int> kArpKeys[] = {
    {"arp_ignore", 8}, {"arp_announce", 2}, {"arp_filter", 1},
    {"arp_notify", 1}, {"arp_accept", 2},   {"proxy_arp", 1}};

struct NetworkConfig {
  std::vector<InterfaceConfig> interfaces;
  std::vector<Route> routes;
  std::vector<Neighbor> neighbors;
  std::vector<ArpSetting> arp;

  bool operator==(const NetworkConfig&) const = default;
};

nlohmann::json to_json(const NetworkConfig& config);
// Checks everything from_json checks, also cross-field rules (unique names
// and MACs, routes naming a configured device). Address texts are returned
// in canonical inet_ntop form.
Result<NetworkConfig> from_json(const nlohmann::json& json);
Result<NetworkConfig> parse_network_config(std::string_view text);

// "10.0.0.2/24"
std::string describe(const Address& address);
// As `ip route` shows it: "default via 10.0.0.1 dev eth0 metric 100".
std::string describe(const Route& route);
// "net.ipv4.conf.eth0.arp_ignore=1"
std::string describe(const ArpSetting& setting);
// "169.254.1.1 lladdr ee:ee:ee:ee:ee:ee dev eth0"
std::string describe(const Neighbor& neighbor);

}  // namespace runvm::net
