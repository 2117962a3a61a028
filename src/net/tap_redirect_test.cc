#include "net/tap_redirect.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "common/io.h"
#include "net/address_text.h"
#include "net/netns_testing.h"

namespace runvm::net {
namespace {

using nlohmann::json;
using testing::in_new_netns;
using testing::Netns;
using testing::sh;
using testing::sh_in;
using testing::sh_json;

const Mac kPeerMac = {0x02, 0x00, 0x00, 0x00, 0xaa, 0x01};   // the engine's side
const Mac kGuestMac = {0x02, 0x00, 0x00, 0x00, 0xbb, 0x02};  // eth0, and so the guest

// eth0 here (up, MTU 1450), its peer "far" in `far` with 10.5.0.1/24.
Status add_interface(const Netns& far) {
  TRY(sh_in(far, "ip link add far type veth peer name eth0 netns " + std::to_string(::getpid())));
  TRY(sh_in(far, "ip link set far address " + format_mac(kPeerMac) + " up"));
  TRY(sh_in(far, "ip addr add 10.5.0.1/24 dev far"));
  TRY(sh("ip link set eth0 address " + format_mac(kGuestMac) + " mtu 1450 up"));
  return ok();
}

Result<int> eth0_index() {
  return static_cast<int>(TRY(sh_json("ip -j link show eth0"))[0]["ifindex"].get<int>());
}

// The redirect filter on dev's ingress, as `tc -j` shows its action.
Result<json> redirect_action(const std::string& dev) {
  json filters = TRY(sh_json("tc -j filter show dev " + dev + " ingress"));
  for (const json& f : filters)
    if (f.contains("options") && f["options"].contains("actions"))
      return f["options"]["actions"][0];
  return fail("no filter with actions on " + dev + ": " + filters.dump());
}

Result<bool> has_ingress_qdisc(const std::string& dev) {
  for (const json& q : TRY(sh_json("tc -j qdisc show dev " + dev)))
    if (q["kind"] == "ingress") return true;
  return false;
}

Status check_redirect(const std::string& from, const std::string& to) {
  json action = TRY(redirect_action(from));
  NET_CHECK_EQ(action["kind"], json("mirred"));
  NET_CHECK_EQ(action["mirred_action"], json("redirect"));
  NET_CHECK_EQ(action["direction"], json("egress"));
  NET_CHECK_EQ(action["to_dev"], json(to));
  return ok();
}

Status connects_both_directions() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_interface(far));
  {
    TapLink tap = NET_TRY(connect_tap(NET_TRY(eth0_index()), 3));
    NET_CHECK_EQ(tap.name(), "runvm-tap3");
    NET_CHECK_EQ(tap.interface_name(), "eth0");
    NET_CHECK(tap.fd() >= 0);
    json link = NET_TRY(sh_json("ip -j link show runvm-tap3"))[0];
    NET_CHECK_EQ(link["mtu"], json(1450));
    NET_CHECK_EQ(link["ifindex"], json(tap.ifindex()));
    NET_CHECK(std::count(link["flags"].begin(), link["flags"].end(), "UP") == 1);
    NET_CHECK_EQ(NET_TRY(io::read_file("/proc/sys/net/ipv6/conf/runvm-tap3/disable_ipv6")), "1\n");
    NET_TRY(check_redirect("eth0", "runvm-tap3"));
    NET_TRY(check_redirect("runvm-tap3", "eth0"));
  }
  // Gone with the TapLink: the qdisc (and so the filter) and the tap.
  NET_CHECK(!NET_TRY(has_ingress_qdisc("eth0")));
  NET_CHECK(!sh("ip link show runvm-tap3").has_value());
  return ok();
}

TEST(ConnectTap, ConnectsBothDirections) { EXPECT_EQ(in_new_netns(connects_both_directions), ""); }

// Once QEMU holds the tap, remove() undoes only the interface's side; the
// tap lives until its last holder closes it.
Status released_tap_outlives_remove() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_interface(far));
  TapLink tap = NET_TRY(connect_tap(NET_TRY(eth0_index()), 0));
  UniqueFd held = tap.release_fd();
  NET_CHECK_EQ(tap.fd(), -1);
  NET_TRY(tap.remove());
  NET_TRY(tap.remove());
  NET_CHECK(!NET_TRY(has_ingress_qdisc("eth0")));
  NET_TRY(sh("ip link show runvm-tap0"));
  held.reset();
  NET_CHECK(!sh("ip link show runvm-tap0").has_value());
  return ok();
}

TEST(ConnectTap, ReleasedTapOutlivesRemove) {
  EXPECT_EQ(in_new_netns(released_tap_outlives_remove), "");
}

// Someone else's ingress qdisc is refused, and left as it was; the tap
// made before the refusal is gone.
Status leaves_a_foreign_qdisc_alone() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_interface(far));
  NET_TRY(sh("tc qdisc add dev eth0 ingress"));
  auto tap = connect_tap(NET_TRY(eth0_index()), 0);
  NET_CHECK(!tap);
  NET_CHECK_EQ(tap.error().errno_value(), EEXIST);
  NET_CHECK_EQ(tap.error().message(),
               "connect eth0 to runvm-tap0: add an ingress qdisc to eth0: it has one already, which "
               "runvm would disturb");
  NET_CHECK(NET_TRY(has_ingress_qdisc("eth0")));
  NET_CHECK(!sh("ip link show runvm-tap0").has_value());
  return ok();
}

TEST(ConnectTap, LeavesAForeignQdiscAlone) {
  EXPECT_EQ(in_new_netns(leaves_a_foreign_qdisc_alone), "");
}

// A spare: made joined to nothing and down; joined later to an interface
// (its MTU, the redirects), then freed (no qdisc on either side, down) and
// joined again, as NICs move between interfaces on a running VM.
Status spare_tap_joins_leaves_and_joins_again() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_interface(far));
  int eth0 = NET_TRY(eth0_index());
  TapLink tap = NET_TRY(create_tap(3));
  NET_CHECK(!tap.attached());
  json link = NET_TRY(sh_json("ip -j link show runvm-tap3"))[0];
  NET_CHECK(link["flags"].dump().find("\"UP\"") == std::string::npos);
  NET_TRY(tap.attach(eth0));
  NET_CHECK(tap.attached());
  NET_CHECK_EQ(tap.interface_name(), std::string("eth0"));
  NET_TRY(check_redirect("eth0", "runvm-tap3"));
  NET_TRY(check_redirect("runvm-tap3", "eth0"));
  link = NET_TRY(sh_json("ip -j link show runvm-tap3"))[0];
  NET_CHECK_EQ(link["mtu"].get<int>(), 1450);
  NET_CHECK(!tap.attach(eth0));  // once at a time
  NET_TRY(tap.detach());
  NET_CHECK(!tap.attached());
  NET_CHECK(!NET_TRY(has_ingress_qdisc("eth0")));
  NET_CHECK(!NET_TRY(has_ingress_qdisc("runvm-tap3")));
  link = NET_TRY(sh_json("ip -j link show runvm-tap3"))[0];
  NET_CHECK(link["flags"].dump().find("\"UP\"") == std::string::npos);
  NET_TRY(tap.attach(eth0));
  NET_TRY(check_redirect("eth0", "runvm-tap3"));
  // The interface goes (docker network disconnect): freeing is no error.
  NET_TRY(sh("ip link del eth0"));
  NET_TRY(tap.detach());
  return ok();
}

TEST(ConnectTap, SpareTapJoinsLeavesAndJoinsAgain) {
  EXPECT_EQ(in_new_netns(spare_tap_joins_leaves_and_joins_again), "");
}

Status moved_tap_link_cleans_up_once() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_interface(far));
  int eth0 = NET_TRY(eth0_index());
  {
    TapLink first = NET_TRY(connect_tap(eth0, 1));
    TapLink second = std::move(first);
    NET_CHECK(NET_TRY(has_ingress_qdisc("eth0")));
    first = std::move(second);
    NET_CHECK(NET_TRY(has_ingress_qdisc("eth0")));
    NET_TRY(check_redirect("eth0", "runvm-tap1"));
  }
  NET_CHECK(!NET_TRY(has_ingress_qdisc("eth0")));
  NET_CHECK(!sh("ip link show runvm-tap1").has_value());
  return ok();
}

TEST(ConnectTap, MovedTapLinkCleansUpOnce) {
  EXPECT_EQ(in_new_netns(moved_tap_link_cleans_up_once), "");
}

Status cleanup_path_removes_the_redirect() {
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_interface(far));
  int eth0 = NET_TRY(eth0_index());
  NET_TRY(remove_ingress_redirect(eth0));  // none yet: not an error
  TapLink tap = NET_TRY(connect_tap(eth0, 0));
  UniqueFd held = tap.release_fd();
  NET_TRY(remove_ingress_redirect(eth0));
  NET_CHECK(!NET_TRY(has_ingress_qdisc("eth0")));
  NET_CHECK(!connect_tap(4242, 1).has_value());
  NET_CHECK(!connect_tap(eth0, 1000000).has_value());
  return ok();
}

TEST(ConnectTap, CleanupPathRemovesTheRedirect) {
  EXPECT_EQ(in_new_netns(cleanup_path_removes_the_redirect), "");
}

// ---------------------------------------------------------------------------
// Traffic: the test plays the guest on the tap's descriptor and the
// engine's peer is a namespace with an address.

using Frame = std::vector<uint8_t>;

void put16(Frame& f, uint16_t v) {
  f.push_back(v >> 8);
  f.push_back(v & 0xff);
}

void put_bytes(Frame& f, const uint8_t* p, size_t n) { f.insert(f.end(), p, p + n); }

Frame ethernet(const Mac& to, const Mac& from, uint16_t type) {
  Frame f;
  put_bytes(f, to.data(), 6);
  put_bytes(f, from.data(), 6);
  put16(f, type);
  return f;
}

std::array<uint8_t, 4> ipv4(const char* text) {
  std::array<uint8_t, 4> out;
  ::inet_pton(AF_INET, text, out.data());
  return out;
}

Frame arp_reply(const Mac& to) {
  Frame f = ethernet(to, kGuestMac, 0x0806);
  for (uint16_t v : {1, 0x0800}) put16(f, v);
  f.push_back(6);
  f.push_back(4);
  put16(f, 2);  // reply
  put_bytes(f, kGuestMac.data(), 6);
  put_bytes(f, ipv4("10.5.0.2").data(), 4);
  put_bytes(f, to.data(), 6);
  put_bytes(f, ipv4("10.5.0.1").data(), 4);
  return f;
}

uint16_t ip_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += p[i] << 8 | p[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// 10.5.0.2:7777 -> 10.5.0.1:port; UDP checksum 0 (none), as IPv4 allows.
Frame udp_from_guest(uint16_t port, const std::string& payload) {
  Frame f = ethernet(kPeerMac, kGuestMac, 0x0800);
  size_t ip_start = f.size();
  f.push_back(0x45);
  f.push_back(0);
  put16(f, static_cast<uint16_t>(20 + 8 + payload.size()));
  for (uint16_t v : {0, 0x4000}) put16(f, v);  // id, don't fragment
  f.push_back(64);
  f.push_back(17);
  put16(f, 0);
  put_bytes(f, ipv4("10.5.0.2").data(), 4);
  put_bytes(f, ipv4("10.5.0.1").data(), 4);
  uint16_t sum = ip_checksum(f.data() + ip_start, 20);
  f[ip_start + 10] = sum >> 8;
  f[ip_start + 11] = sum & 0xff;
  for (uint16_t v : {7777, static_cast<int>(port), static_cast<int>(8 + payload.size()), 0})
    put16(f, v);
  put_bytes(f, reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  return f;
}

uint16_t get16(const Frame& f, size_t at) { return static_cast<uint16_t>(f[at] << 8 | f[at + 1]); }

// Reads frames from the tap until one satisfies `wanted`; frames the peer
// sends on its own (IPv6 neighbour discovery, MLD) are skipped.
template <typename Wanted>
Result<Frame> read_until(int tap, Wanted wanted, const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{tap, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    Frame f(2048);
    ssize_t n = ::read(tap, f.data(), f.size());
    if (n < 0) return fail_errno("read the tap");
    f.resize(static_cast<size_t>(n));
    if (f.size() >= 14 && wanted(f)) return f;
  }
  return fail("no " + what + " arrived on the tap");
}

bool is_arp_request_for_guest(const Frame& f) {
  return f.size() >= 42 && get16(f, 12) == 0x0806 && get16(f, 20) == 1 &&
         std::equal(f.begin() + 38, f.begin() + 42, ipv4("10.5.0.2").begin());
}

bool is_udp_to_guest(const Frame& f) {
  return f.size() >= 42 && get16(f, 12) == 0x0800 && f[23] == 17 && get16(f, 36) == 9999;
}

Result<UniqueFd> udp_socket(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return fail_errno("bind");
  return fd;
}

// The peer's side: a socket in `far` sends to the guest and one listens.
Status exchange_datagrams(const Netns& far, const Netns& home, int tap) {
  NET_TRY(far.enter());
  auto sender = udp_socket(0);
  auto receiver = udp_socket(8888);
  NET_TRY(home.enter());
  UniqueFd out = NET_TRY(std::move(sender)), in = NET_TRY(std::move(receiver));
  sockaddr_in guest{};
  guest.sin_family = AF_INET;
  guest.sin_port = htons(9999);
  ::inet_pton(AF_INET, "10.5.0.2", &guest.sin_addr);
  const std::string hello = "hello, guest";
  NET_CHECK(::sendto(out.get(), hello.data(), hello.size(), 0, reinterpret_cast<sockaddr*>(&guest),
                     sizeof guest) > 0);
  // The peer asks who has 10.5.0.2; the "guest" answers; then the datagram.
  Frame request = NET_TRY(read_until(tap, is_arp_request_for_guest, "ARP request"));
  NET_CHECK(std::equal(kPeerMac.begin(), kPeerMac.end(), request.begin() + 6));
  NET_TRY(io::write_all(
      tap, std::string_view(reinterpret_cast<const char*>(arp_reply(kPeerMac).data()), 42)));
  Frame datagram = NET_TRY(read_until(tap, is_udp_to_guest, "UDP datagram"));
  NET_CHECK_EQ(std::string(datagram.begin() + 42, datagram.end()), hello);
  // And back: a datagram the guest writes reaches the peer's socket.
  Frame reply = udp_from_guest(8888, "hello, peer");
  NET_TRY(io::write_all(
      tap, std::string_view(reinterpret_cast<const char*>(reply.data()), reply.size())));
  pollfd p{in.get(), POLLIN, 0};
  NET_CHECK(::poll(&p, 1, 5000) == 1);
  char buffer[64];
  ssize_t n = ::recv(in.get(), buffer, sizeof buffer, 0);
  NET_CHECK_EQ(std::string(buffer, n > 0 ? static_cast<size_t>(n) : 0), "hello, peer");
  return ok();
}

Status carries_traffic_both_ways() {
  Netns home = NET_TRY(Netns::current());
  Netns far = NET_TRY(Netns::create());
  NET_TRY(add_interface(far));
  TapLink tap = NET_TRY(connect_tap(NET_TRY(eth0_index()), 0));
  return exchange_datagrams(far, home, tap.fd());
}

TEST(ConnectTap, CarriesTrafficBothWays) { EXPECT_EQ(in_new_netns(carries_traffic_both_ways), ""); }

}  // namespace
}  // namespace runvm::net
