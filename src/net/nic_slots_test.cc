#include "net/nic_slots.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "net/netns_testing.h"

namespace runvm::net {
namespace {

using nlohmann::json;
using testing::in_new_netns;
using testing::Netns;
using testing::sh;
using testing::sh_in;
using testing::sh_json;

const Mac kSlot0 = {0x02, 0x72, 0x76, 0x00, 0x00, 0x00};
const Mac kSlot1 = {0x02, 0x72, 0x76, 0x00, 0x00, 0x01};
const Mac kEth0 = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
const Mac kEth1 = {0x02, 0x42, 0xac, 0x12, 0x00, 0x02};

// A veth here with `mac`, as the guest kernel presents a virtio-net
// device; its peer in `far`.
Status add_nic(const Netns& far, const std::string& name, const Mac& mac) {
  TRY(sh_in(far, "ip link add far-" + name + " type veth peer name " + name + " netns " +
                     std::to_string(::getpid())));
  TRY(sh("ip link set " + name + " address " + format_mac(mac)));
  return ok();
}

// The Ethernet links this namespace has: MAC -> name.
Result<std::map<std::string, std::string>> links_here() {
  json links = TRY(sh_json("ip -j link show"));
  std::map<std::string, std::string> out;
  for (const json& l : links)
    if (l.value("link_type", "") == "ether") out[l.value("address", "")] = l.value("ifname", "");
  return out;
}

TEST(NicSlots, SparesArePutAwayAndComeBackWearingTheInterfacesMac) {
  std::string failure = in_new_netns([]() -> Status {
    Netns far = NET_TRY(Netns::create());
    NET_TRY(add_nic(far, "eth0", kEth0));
    NET_TRY(add_nic(far, "eth1", kSlot1));
    const std::vector<NicSlot> booted = {{kSlot0, kEth0}, {kSlot1, std::nullopt}};
    auto set_up = NicSlots::set_up(booted);
    if (!set_up) return std::move(set_up).error();
    NicSlots& slots = *set_up;
    NET_CHECK_EQ(NET_TRY(links_here()).size(), 2u);  // parked only once asked
    slots.start_parking();
    NET_TRY(slots.wait_parked());
    auto links = NET_TRY(links_here());
    NET_CHECK_EQ(links.size(), 1u);  // the spare is out of sight
    NET_CHECK_EQ(links[format_mac(kEth0)], std::string("eth0"));
    // docker network connect: the spare carries a new interface.
    NET_TRY(slots.follow({{kSlot0, kEth0}, {kSlot1, kEth1}}));
    links = NET_TRY(links_here());
    NET_CHECK_EQ(links.size(), 2u);
    NET_CHECK_EQ(links[format_mac(kEth1)], std::string("runvm-new1"));
    // disconnect of the first: its NIC goes away, addresses and all.
    NET_TRY(sh("ip addr add 10.1.0.2/24 dev eth0 && ip link set eth0 up"));
    NET_TRY(slots.follow({{kSlot0, std::nullopt}, {kSlot1, kEth1}}));
    links = NET_TRY(links_here());
    NET_CHECK_EQ(links.size(), 1u);
    NET_CHECK(links.count(format_mac(kEth1)));
    // And back, to a different interface; the address did not come along.
    const Mac other = {0x02, 0x42, 0xac, 0x13, 0x00, 0x09};
    NET_TRY(slots.follow({{kSlot0, other}, {kSlot1, kEth1}}));
    links = NET_TRY(links_here());
    NET_CHECK_EQ(links[format_mac(other)], std::string("runvm-new0"));
    std::string addresses = NET_TRY(sh("ip -o addr show dev runvm-new0"));
    NET_CHECK(addresses.find("10.1.0.2") == std::string::npos);
    // A MAC that moves from one slot to the other is never worn twice.
    NET_TRY(slots.follow({{kSlot0, kEth1}, {kSlot1, other}}));
    links = NET_TRY(links_here());
    NET_CHECK_EQ(links.size(), 2u);
    // A slot that was never there.
    Status unknown = slots.follow({{{0x02, 0, 0, 0, 0, 9}, kEth0}});
    NET_CHECK(!unknown);
    return ok();
  });
  EXPECT_EQ(failure, "");
}

TEST(NicSlots, TheMessageIsChecked) {
  auto good = nic_slots_from_json(json::parse(R"([{"slot":"02:72:76:00:00:00","mac":"02:42:ac:11:00:02"},
                                                  {"slot":"02:72:76:00:00:01","mac":null}])"));
  ASSERT_TRUE(good) << good.error().describe();
  EXPECT_EQ(*good, (std::vector<NicSlot>{{kSlot0, kEth0}, {kSlot1, std::nullopt}}));
  EXPECT_TRUE(nic_slots_from_json(json()));  // an older host's create: no slots
  for (const char* bad : {R"({})", R"([1])", R"([{"mac":"02:42:ac:11:00:02"}])", R"([{"slot":"nope"}])",
                          R"([{"slot":"02:72:76:00:00:00","mac":7}])",
                          R"([{"slot":"02:72:76:00:00:00"},{"slot":"02:72:76:00:00:00"}])"})
    EXPECT_FALSE(nic_slots_from_json(json::parse(bad))) << bad;
  json many = json::array();
  for (int i = 0; i < 65; ++i) many.push_back({{"slot", "02:72:76:00:00:" + std::string(i < 16 ? "0" : "") +
                                                            ([](int v) { char b[3]; snprintf(b, 3, "%x", v); return std::string(b); })(i)}});
  EXPECT_FALSE(nic_slots_from_json(many));
}

}  // namespace
}  // namespace runvm::net
