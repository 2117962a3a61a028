#include "net/loopback_redirect.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

namespace runvm::net {
namespace {

constexpr const char* kChain = "output";
// NF_IP_PRI_NAT_DST: where iptables' nat OUTPUT chain sits.
constexpr int32_t kNatDstPriority = -100;

nfgenmsg family_header(uint8_t family, uint16_t res_id = 0) {
  nfgenmsg h{};
  h.nfgen_family = family;
  h.version = NFNETLINK_V0;
  h.res_id = htons(res_id);
  return h;
}

uint16_t nft_type(uint16_t message) { return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | message); }
uint16_t nested(uint16_t type) { return static_cast<uint16_t>(type | NLA_F_NESTED); }
// nf_tables' integers are big-endian.
void put_be32(NetlinkRequest& r, uint16_t type, uint32_t value) { r.put_u32(type, htonl(value)); }

// One expression of a rule: {name, data: {...}}.
template <typename Fill>
void expression(NetlinkRequest& r, const char* name, Fill fill) {
  size_t elem = r.begin_nested(nested(NFTA_LIST_ELEM));
  r.put_string(NFTA_EXPR_NAME, name);
  size_t data = r.begin_nested(nested(NFTA_EXPR_DATA));
  fill();
  r.end_nested(data);
  r.end_nested(elem);
}

void compare_equal(NetlinkRequest& r, const void* value, size_t size) {
  expression(r, "cmp", [&] {
    put_be32(r, NFTA_CMP_SREG, NFT_REG_1);
    put_be32(r, NFTA_CMP_OP, NFT_CMP_EQ);
    size_t d = r.begin_nested(nested(NFTA_CMP_DATA));
    r.put(NFTA_DATA_VALUE, value, size);
    r.end_nested(d);
  });
}

}  // namespace

std::vector<NetlinkRequest> loopback_redirect_batch(uint16_t to_port) {
  std::vector<NetlinkRequest> batch;
  batch.reserve(5);  // the references below stay valid
  batch.emplace_back(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, family_header(AF_UNSPEC, NFNL_SUBSYS_NFTABLES));

  NetlinkRequest& table = batch.emplace_back(nft_type(NFT_MSG_NEWTABLE), NLM_F_REQUEST | NLM_F_CREATE,
                                             family_header(NFPROTO_IPV4));
  table.put_string(NFTA_TABLE_NAME, kRedirectTable);
  put_be32(table, NFTA_TABLE_FLAGS, NFT_TABLE_F_OWNER);

  NetlinkRequest& chain = batch.emplace_back(nft_type(NFT_MSG_NEWCHAIN), NLM_F_REQUEST | NLM_F_CREATE,
                                             family_header(NFPROTO_IPV4));
  chain.put_string(NFTA_CHAIN_TABLE, kRedirectTable);
  chain.put_string(NFTA_CHAIN_NAME, kChain);
  size_t hook = chain.begin_nested(nested(NFTA_CHAIN_HOOK));
  put_be32(chain, NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT);
  put_be32(chain, NFTA_HOOK_PRIORITY, static_cast<uint32_t>(kNatDstPriority));
  chain.end_nested(hook);
  chain.put_string(NFTA_CHAIN_TYPE, "nat");

  NetlinkRequest& rule = batch.emplace_back(nft_type(NFT_MSG_NEWRULE),
                                            NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND,
                                            family_header(NFPROTO_IPV4));
  rule.put_string(NFTA_RULE_TABLE, kRedirectTable);
  rule.put_string(NFTA_RULE_CHAIN, kChain);
  size_t exprs = rule.begin_nested(nested(NFTA_RULE_EXPRESSIONS));
  // meta l4proto tcp
  expression(rule, "meta", [&] {
    put_be32(rule, NFTA_META_KEY, NFT_META_L4PROTO);
    put_be32(rule, NFTA_META_DREG, NFT_REG_1);
  });
  uint8_t tcp = IPPROTO_TCP;
  compare_equal(rule, &tcp, sizeof tcp);
  // ip daddr 127.0.0.1
  expression(rule, "payload", [&] {
    put_be32(rule, NFTA_PAYLOAD_DREG, NFT_REG_1);
    put_be32(rule, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
    put_be32(rule, NFTA_PAYLOAD_OFFSET, 16);  // iphdr.daddr
    put_be32(rule, NFTA_PAYLOAD_LEN, 4);
  });
  uint32_t loopback = htonl(INADDR_LOOPBACK);
  compare_equal(rule, &loopback, sizeof loopback);
  // redirect to :to_port
  expression(rule, "immediate", [&] {
    put_be32(rule, NFTA_IMMEDIATE_DREG, NFT_REG_1);
    size_t d = rule.begin_nested(nested(NFTA_IMMEDIATE_DATA));
    uint16_t port = htons(to_port);
    rule.put(NFTA_DATA_VALUE, &port, sizeof port);
    rule.end_nested(d);
  });
  expression(rule, "redir", [&] { put_be32(rule, NFTA_REDIR_REG_PROTO_MIN, NFT_REG_1); });
  rule.end_nested(exprs);

  batch.emplace_back(NFNL_MSG_BATCH_END, NLM_F_REQUEST, family_header(AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
  return batch;
}

Result<LoopbackRedirect> LoopbackRedirect::install(uint16_t to_port) {
  NetlinkSocket socket = TRY(NetlinkSocket::open(NETLINK_NETFILTER));
  std::vector<NetlinkRequest> batch = loopback_redirect_batch(to_port);
  TRY(socket.execute_batch(batch, "redirect 127.0.0.1 to port " + std::to_string(to_port) + " (nftables)"));
  return LoopbackRedirect(std::move(socket));
}

}  // namespace runvm::net
