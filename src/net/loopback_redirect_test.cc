#include "net/loopback_redirect.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "net/netns_testing.h"

namespace runvm::net {
namespace {

using testing::in_new_netns;
using testing::sh;

// A listener on 127.0.0.1, on a port the kernel picks.
Result<std::pair<UniqueFd, uint16_t>> listener() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || ::listen(fd.get(), 8) < 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) < 0)
    return fail_errno("listen");
  return std::pair{std::move(fd), ntohs(a.sin_port)};
}

// connect() to 127.0.0.1:port: 0, or its errno.
int connect_to(uint16_t port, UniqueFd& out) {
  out = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return ::connect(out.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 ? errno : 0;
}

Status redirects_every_loopback_port_and_goes_with_its_owner() {
  NET_TRY(sh("ip link set lo up"));
  auto [listen_fd, port] = NET_TRY(listener());
  std::optional<LoopbackRedirect> redirect = NET_TRY(LoopbackRedirect::install(port));
  for (uint16_t asked : {uint16_t{8080}, uint16_t{1}, uint16_t{65535}}) {
    UniqueFd client;
    NET_CHECK_EQ(connect_to(asked, client), 0);
    UniqueFd accepted(::accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    NET_CHECK(accepted.valid());
    sockaddr_in original{};
    socklen_t len = sizeof original;
    NET_CHECK_EQ(::getsockopt(accepted.get(), SOL_IP, SO_ORIGINAL_DST, &original, &len), 0);
    NET_CHECK_EQ(ntohs(original.sin_port), asked);
    NET_CHECK_EQ(ntohl(original.sin_addr.s_addr), uint32_t{INADDR_LOOPBACK});
  }
  // UDP and other addresses are left alone.
  UniqueFd other;
  NET_TRY(sh("ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true"));
  other = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
  a.sin_port = htons(8080);
  NET_CHECK(::connect(other.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0);
  NET_CHECK_EQ(errno, ECONNREFUSED);
  // Its owner gone, the table is gone: nothing is redirected.
  redirect.reset();
  UniqueFd late;
  NET_CHECK_EQ(connect_to(8080, late), ECONNREFUSED);
  return ok();
}

TEST(LoopbackRedirect, RedirectsEveryLoopbackPortAndGoesWithItsOwner) {
  EXPECT_EQ(in_new_netns(redirects_every_loopback_port_and_goes_with_its_owner), "");
}

// A second table in the same namespace is refused with the kernel's
// reason, and the first keeps working.
Status a_second_install_is_refused() {
  NET_TRY(sh("ip link set lo up"));
  auto [listen_fd, port] = NET_TRY(listener());
  LoopbackRedirect first = NET_TRY(LoopbackRedirect::install(port));
  auto second = LoopbackRedirect::install(port);
  NET_CHECK(!second);
  NET_CHECK(second.error().message().find("nftables") != std::string::npos);
  UniqueFd client;
  NET_CHECK_EQ(connect_to(9, client), 0);
  return ok();
}

TEST(LoopbackRedirect, ASecondInstallIsRefused) { EXPECT_EQ(in_new_netns(a_second_install_is_refused), ""); }

TEST(LoopbackRedirect, TheBatchIsFramedAndAsksForTheOwnedTable) {
  std::vector<NetlinkRequest> batch = loopback_redirect_batch(4242);
  ASSERT_EQ(batch.size(), 5u);
  std::vector<uint16_t> types;
  for (auto& r : batch) {
    Bytes b = r.finish(0, 1);
    auto messages = split_messages(b);
    ASSERT_TRUE(messages) << messages.error().describe();
    ASSERT_EQ(messages->size(), 1u);
    types.push_back((*messages)[0].type);
    if ((*messages)[0].type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) {
      auto attrs = (*messages)[0].attributes(sizeof(nfgenmsg));
      ASSERT_TRUE(attrs);
      EXPECT_EQ(attrs->string(NFTA_TABLE_NAME), std::string(kRedirectTable));
      EXPECT_EQ(attrs->u32(NFTA_TABLE_FLAGS), htonl(NFT_TABLE_F_OWNER));
    }
  }
  EXPECT_EQ(types, (std::vector<uint16_t>{NFNL_MSG_BATCH_BEGIN, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE,
                                          (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN,
                                          (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE, NFNL_MSG_BATCH_END}));
}

}  // namespace
}  // namespace runvm::net
