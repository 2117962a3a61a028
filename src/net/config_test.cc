#include "net/config.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <random>

namespace runvm::net {
namespace {

using nlohmann::json;

NetworkConfig sample() {
  NetworkConfig c;
  c.interfaces.push_back({"eth0",
                          {0x02, 0x42, 0xac, 0x11, 0x00, 0x02},
                          1450,
                          {{AF_INET, "172.17.0.2", 16}, {AF_INET6, "2001:db8::2", 64}}});
  c.interfaces.push_back({"net1", {0x0a, 0x58, 0x0a, 0x00, 0x00, 0x07}, 9000, {}});
  c.routes.push_back({AF_INET, "0.0.0.0", 0, "172.17.0.1", "eth0", 0, 0, false});
  c.routes.push_back({AF_INET, "10.96.0.0", 12, "", "net1", 100, 253, false});
  c.routes.push_back({AF_INET6, "::", 0, "fe80::1", "eth0", 1024, 0, false});
  c.routes.push_back({AF_INET, "192.168.7.0", 24, "169.254.1.1", "eth0", 5, 0, true});
  c.neighbors.push_back({AF_INET, "169.254.1.1", {0xee, 0xee, 0xee, 0xee, 0xee, 0xee}, "eth0"});
  c.arp = {{"all", "arp_ignore", 1}, {"eth0", "arp_announce", 2}};
  return c;
}

TEST(NetworkConfig, RoundTripsThroughJson) {
  NetworkConfig c = sample();
  auto back = parse_network_config(to_json(c).dump());
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(*back, c);
}

TEST(NetworkConfig, NeighborsNeedAKnownDeviceAndAMac) {
  json j = to_json(sample());
  EXPECT_EQ(j["neighbors"][0]["mac"], "ee:ee:ee:ee:ee:ee");
  j["neighbors"][0]["device"] = "eth9";
  EXPECT_FALSE(from_json(j));
  j["neighbors"][0]["device"] = "eth0";
  j["neighbors"][0]["mac"] = "zz";
  EXPECT_FALSE(from_json(j));
}

TEST(NetworkConfig, ArpSettingsAreKnownKeysInRangeOnKnownScopes) {
  json j = to_json(sample());
  EXPECT_EQ(j["arp"][1], (json{{"scope", "eth0"}, {"key", "arp_announce"}, {"value", 2}}));
  EXPECT_EQ(describe(sample().arp[1]), "net.ipv4.conf.eth0.arp_announce=2");
  auto with = [&](const char* field, json value) {
    json k = j;
    k["arp"][1][field] = std::move(value);
    auto r = from_json(k);
    return r ? std::string("accepted") : r.error().describe();
  };
  EXPECT_NE(with("key", "forwarding").find("arp[1].key: not an ARP setting runvm carries: forwarding"),
            std::string::npos) << with("key", "forwarding");
  EXPECT_NE(with("value", 3).find("arp[1].value: out of range (0 to 2)"), std::string::npos);
  EXPECT_NE(with("scope", "eth9").find("arp[1].scope"), std::string::npos);
  EXPECT_NE(with("scope", "../../../vm/drop_caches").find("arp[1].scope"), std::string::npos);
  EXPECT_EQ(with("scope", "net1"), "accepted");
}

TEST(NetworkConfig, JsonUsesTextForms) {
  json j = to_json(sample());
  EXPECT_EQ(j["interfaces"][0]["mac"], "02:42:ac:11:00:02");
  EXPECT_EQ(j["interfaces"][0]["addresses"][1]["family"], "inet6");
  EXPECT_EQ(j["interfaces"][0]["addresses"][1]["address"], "2001:db8::2");
  EXPECT_FALSE(j["routes"][1].contains("gateway"));
  EXPECT_EQ(j["routes"][0]["gateway"], "172.17.0.1");
}

TEST(NetworkConfig, AddressesComeBackCanonical) {
  json j = to_json(sample());
  j["interfaces"][0]["addresses"][1]["address"] = "2001:0DB8:0:0::0002";
  j["interfaces"][0]["mac"] = "02:42:AC:11:00:02";
  auto back = from_json(j);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->interfaces[0].addresses[1].address, "2001:db8::2");
  EXPECT_EQ(back->interfaces[0].mac, sample().interfaces[0].mac);
}

TEST(NetworkConfig, OptionalRouteFieldsDefault) {
  auto c = parse_network_config(R"({"interfaces": [{"name": "eth0",
      "mac": "02:00:00:00:00:01", "mtu": 1500}],
      "routes": [{"family": "inet", "destination": "0.0.0.0", "prefix_length": 0,
                  "gateway": "10.0.0.1", "device": "eth0"}]})");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->routes[0], (Route{AF_INET, "0.0.0.0", 0, "10.0.0.1", "eth0", 0, 0, false}));
  EXPECT_TRUE(c->interfaces[0].addresses.empty());
}

TEST(NetworkConfig, DescribesRoutesAsIpDoes) {
  NetworkConfig c = sample();
  EXPECT_EQ(describe(c.routes[0]), "default via 172.17.0.1 dev eth0");
  EXPECT_EQ(describe(c.routes[1]), "10.96.0.0/12 dev net1 metric 100 scope 253");
  EXPECT_EQ(describe(c.routes[3]), "192.168.7.0/24 via 169.254.1.1 dev eth0 metric 5 onlink");
  EXPECT_EQ(describe(c.interfaces[0].addresses[0]), "172.17.0.2/16");
}

// Each case changes one thing in a valid config; the error must name the
// field. Never an exception.
struct BadCase {
  const char* pointer;  // JSON pointer of the value to replace
  json value;
  const char* expected;  // part of the message
};

TEST(NetworkConfig, RejectsEachMalformedField) {
  const std::vector<BadCase> cases = {
      {"/interfaces", "eth0", "interfaces: expected an array"},
      {"/interfaces/0", 7, "interfaces[0]: expected an object"},
      {"/interfaces/0/name", "", "interfaces[0].name: invalid interface name"},
      {"/interfaces/0/name", "a-name-too-long-x", "invalid interface name"},
      {"/interfaces/0/name", "et/h0", "invalid interface name"},
      {"/interfaces/0/name", "eth 0", "invalid interface name"},
      {"/interfaces/0/name", "eth0:1", "invalid interface name"},
      {"/interfaces/0/name", "..", "invalid interface name"},
      {"/interfaces/0/name", 3, "interfaces[0].name: expected a string"},
      {"/interfaces/0/mac", "02:42:ac:11:00", "interfaces[0].mac: invalid MAC"},
      {"/interfaces/0/mac", "02:42:ac:11:00:0g", "invalid MAC"},
      {"/interfaces/0/mac", "02-42-ac-11-00-02", "invalid MAC"},
      {"/interfaces/0/mac", "02:42:ac:11:00:02:", "invalid MAC"},
      {"/interfaces/0/mac", "01:00:5e:00:00:01", "multicast"},
      {"/interfaces/0/mac", "00:00:00:00:00:00", "all-zero"},
      {"/interfaces/0/mac", nullptr, "interfaces[0].mac: is required"},
      {"/interfaces/0/mtu", 0, "interfaces[0].mtu: out of range"},
      {"/interfaces/0/mtu", 67, "out of range"},
      {"/interfaces/0/mtu", 65536, "out of range"},
      {"/interfaces/0/mtu", -1500, "out of range"},
      {"/interfaces/0/mtu", 1500.5, "expected an integer"},
      {"/interfaces/0/mtu", "1500", "expected an integer"},
      {"/interfaces/0/mtu", true, "expected an integer"},
      {"/interfaces/0/addresses", json::object(), "addresses: expected an array"},
      {"/interfaces/0/addresses/0/family", "ipx", "unknown address family \"ipx\""},
      {"/interfaces/0/addresses/0/family", 2, "family: expected a string"},
      {"/interfaces/0/addresses/0/address", "172.17.0.256", "invalid inet address"},
      {"/interfaces/0/addresses/0/address", "2001:db8::2", "invalid inet address"},
      {"/interfaces/0/addresses/0/address", std::string("172.17.0.2\0x", 12), "invalid inet"},
      {"/interfaces/0/addresses/0/address", " 172.17.0.2", "invalid inet address"},
      {"/interfaces/0/addresses/1/address", "fe80::1%eth0", "invalid inet6 address"},
      {"/interfaces/0/addresses/0/prefix_length", 33, "prefix_length: out of range (0 to 32)"},
      {"/interfaces/0/addresses/1/prefix_length", 129, "out of range (0 to 128)"},
      {"/interfaces/0/addresses/0/prefix_length", -1, "out of range"},
      {"/interfaces/0/addresses/0/prefix_length", 18446744073709551615u, "out of range"},
      {"/interfaces/1/name", "eth0", "interfaces[1].name: duplicate interface name"},
      {"/interfaces/1/mac", "02:42:ac:11:00:02", "interfaces[1].mac: duplicate MAC"},
      {"/routes", json::object(), "routes: expected an array"},
      {"/routes/0/device", "eth9", "routes[0].device: no interface named \"eth9\""},
      {"/routes/0/gateway", "2001:db8::1", "routes[0].gateway: invalid inet address"},
      {"/routes/0/gateway", 1, "routes[0].gateway: expected a string"},
      {"/routes/1/destination", "10.96.0.1", "has bits set past the prefix"},
      {"/routes/2/destination", "::1", "has bits set past the prefix"},
      {"/routes/1/metric", 4294967296, "routes[1].metric: out of range"},
      {"/routes/1/metric", -1, "out of range"},
      {"/routes/1/scope", 256, "routes[1].scope: out of range"},
      {"/routes/1/onlink", "yes", "routes[1].onlink: expected a boolean"},
      {"/routes/1/prefix_length", nullptr, "routes[1].prefix_length: is required"},
  };
  json good = to_json(sample());
  for (const BadCase& c : cases) {
    json bad = good;
    if (c.value.is_null())
      bad[json::json_pointer(c.pointer).parent_pointer()].erase(
          json::json_pointer(c.pointer).back());
    else
      bad[json::json_pointer(c.pointer)] = c.value;
    Result<NetworkConfig> r = Error();
    ASSERT_NO_THROW(r = from_json(bad)) << c.pointer;
    ASSERT_FALSE(r) << c.pointer << " = " << c.value.dump() << " was accepted";
    EXPECT_NE(r.error().message().find(c.expected), std::string::npos)
        << c.pointer << ": got \"" << r.error().message() << "\", expected \"" << c.expected
        << "\"";
  }
}

TEST(NetworkConfig, RejectsNonObjects) {
  for (const char* text :
       {"", "nul", "[]", "\"x\"", "3", "{\"interfaces\": 1}", "{}", "{\"routes\": []}"}) {
    Result<NetworkConfig> r = Error();
    ASSERT_NO_THROW(r = parse_network_config(text)) << text;
    EXPECT_FALSE(r) << text;
  }
}

TEST(NetworkConfig, EmptyIsValid) {
  auto c = parse_network_config(R"({"interfaces": []})");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(*c, NetworkConfig{});
}

// Corrupts bytes of a valid message at random: whatever comes out must be
// an error or a config that is valid again, and never an exception.
TEST(NetworkConfig, SurvivesCorruptedInput) {
  const std::string good = to_json(sample()).dump();
  const std::string alphabet = "{}[]:,\"0123456789.-e:afinet6 \\\x01\xff";
  std::mt19937 random(12345);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = good;
    int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = random() % text.size();
      switch (random() % 3) {
        case 0:
          text[at] = alphabet[random() % alphabet.size()];
          break;
        case 1:
          text.erase(at, 1 + random() % 8);
          break;
        default:
          text.insert(at, 1, alphabet[random() % alphabet.size()]);
      }
      if (text.empty()) text = "{";
    }
    Result<NetworkConfig> r = Error();
    ASSERT_NO_THROW(r = parse_network_config(text)) << text;
    if (!r) continue;
    ++accepted;
    auto again = from_json(to_json(*r));
    ASSERT_TRUE(again) << text << ": " << again.error().describe();
    EXPECT_EQ(*again, *r) << text;
  }
  EXPECT_LT(accepted, 20000);  // the corruption did reach the checks
}

}  // namespace
}  // namespace runvm::net
