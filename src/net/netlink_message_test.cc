#include "net/netlink_message.h"

#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include <random>

namespace runvm::net {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> values) {
  std::vector<uint8_t> out;
  for (int v : values) out.push_back(static_cast<uint8_t>(v));
  return out;
}

// An attribute as the kernel lays it out (little-endian host assumed, as on
// every machine runvm runs on).
void put_attr(std::vector<uint8_t>& out, uint16_t type, std::vector<uint8_t> payload) {
  uint16_t len = static_cast<uint16_t>(4 + payload.size());
  out.push_back(len & 0xff);
  out.push_back(len >> 8);
  out.push_back(type & 0xff);
  out.push_back(type >> 8);
  out.insert(out.end(), payload.begin(), payload.end());
  while (out.size() % 4) out.push_back(0);
}

TEST(NetlinkRequest, LaysOutHeaderAttributesAndNesting) {
  ifinfomsg info{};
  info.ifi_index = 7;
  NetlinkRequest request(RTM_NEWLINK, NLM_F_CREATE, info);
  request.put_string(IFLA_IFNAME, "ab");  // 3 bytes with the NUL, padded to 4
  size_t nest = request.begin_nested(IFLA_LINKINFO);
  request.put_u32(1, 0x11223344);
  request.end_nested(nest);
  Bytes b = request.finish(NLM_F_ACK, 42);

  ASSERT_EQ(b.size(), 16u + 16u + 8u + 4u + 8u);
  auto nlh = *read_struct<nlmsghdr>(b);
  EXPECT_EQ(nlh.nlmsg_len, b.size());
  EXPECT_EQ(nlh.nlmsg_type, RTM_NEWLINK);
  EXPECT_EQ(nlh.nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK);
  EXPECT_EQ(nlh.nlmsg_seq, 42u);
  EXPECT_EQ(read_struct<ifinfomsg>(b.subspan(16))->ifi_index, 7);

  auto attrs = Attributes::parse(b.subspan(32));
  ASSERT_TRUE(attrs) << attrs.error().describe();
  EXPECT_EQ(attrs->string(IFLA_IFNAME), "ab");
  EXPECT_EQ(attrs->get(IFLA_IFNAME)->size(), 3u);
  auto inner = attrs->nested(IFLA_LINKINFO);
  ASSERT_TRUE(inner && inner->has_value());
  EXPECT_EQ((*inner)->u32(1), 0x11223344u);
  EXPECT_EQ(attrs->get(IFLA_LINKINFO)->size(), 8u);  // exactly the inner attribute
}

TEST(Attributes, ReadsTypedValuesOnlyAtTheirSize) {
  std::vector<uint8_t> data;
  put_attr(data, 1, bytes({1, 0, 0, 0}));
  put_attr(data, 2, bytes({9}));
  put_attr(data, 3, bytes({'e', 't', 'h', 0, 'x'}));
  put_attr(data, 4 | NLA_F_NESTED, {});
  auto attrs = Attributes::parse(data);
  ASSERT_TRUE(attrs);
  EXPECT_EQ(attrs->u32(1), 1u);
  EXPECT_EQ(attrs->u8(2), 9);
  EXPECT_EQ(attrs->u32(2), std::nullopt);  // one byte is no u32
  EXPECT_EQ(attrs->u8(1), std::nullopt);
  EXPECT_EQ(attrs->string(3), "eth");
  EXPECT_TRUE(attrs->has(4));  // flag bits are not part of the type
  EXPECT_FALSE(attrs->has(5));
}

TEST(Attributes, RejectsLengthsThatLie) {
  // Length shorter than the attribute header.
  EXPECT_FALSE(Attributes::parse(bytes({2, 0, 1, 0, 0, 0, 0, 0})));
  // Length past the end.
  EXPECT_FALSE(Attributes::parse(bytes({12, 0, 1, 0, 0, 0, 0, 0})));
  // A good attribute followed by one claiming 255 bytes.
  std::vector<uint8_t> data;
  put_attr(data, 1, bytes({1, 2, 3, 4}));
  auto tail = bytes({255, 0, 2, 0, 0, 0, 0, 0});
  data.insert(data.end(), tail.begin(), tail.end());
  EXPECT_FALSE(Attributes::parse(data));
  // A last attribute whose padding is missing is still whole.
  EXPECT_TRUE(Attributes::parse(bytes({5, 0, 1, 0, 7})));
  // Fewer bytes than a header: padding, not an attribute.
  EXPECT_TRUE(Attributes::parse(bytes({0, 0})));
}

std::vector<uint8_t> message(uint16_t type, uint32_t seq, std::vector<uint8_t> payload,
                             uint16_t flags = 0) {
  nlmsghdr nlh{};
  nlh.nlmsg_len = static_cast<uint32_t>(sizeof nlh + payload.size());
  nlh.nlmsg_type = type;
  nlh.nlmsg_seq = seq;
  nlh.nlmsg_flags = flags;
  std::vector<uint8_t> out(sizeof nlh);
  std::memcpy(out.data(), &nlh, sizeof nlh);
  out.insert(out.end(), payload.begin(), payload.end());
  while (out.size() % 4) out.push_back(0);
  return out;
}

TEST(SplitMessages, SplitsAndCopiesEachMessage) {
  auto datagram = message(RTM_NEWLINK, 5, bytes({1, 2, 3}));
  auto second = message(NLMSG_DONE, 5, bytes({0, 0, 0, 0}));
  datagram.insert(datagram.end(), second.begin(), second.end());
  auto messages = split_messages(datagram);
  ASSERT_TRUE(messages) << messages.error().describe();
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[0].type, RTM_NEWLINK);
  EXPECT_EQ((*messages)[0].payload, bytes({1, 2, 3}));
  EXPECT_EQ((*messages)[1].type, NLMSG_DONE);
  EXPECT_EQ((*messages)[1].seq, 5u);
}

TEST(SplitMessages, RejectsLengthsThatLie) {
  auto datagram = message(RTM_NEWLINK, 1, bytes({1, 2, 3, 4}));
  auto too_long = datagram;
  too_long[0] = 200;
  EXPECT_FALSE(split_messages(too_long));
  auto too_short = datagram;
  too_short[0] = 8;
  EXPECT_FALSE(split_messages(too_short));
  auto stray = datagram;
  stray.insert(stray.end(), {1, 2, 3});
  EXPECT_FALSE(split_messages(stray));
}

TEST(NetlinkMessage, HeaderAndAttributesNeedEnoughBytes) {
  NetlinkMessage m{RTM_NEWLINK, 0, 0, bytes({1, 2, 3})};
  EXPECT_FALSE(m.header<ifinfomsg>());
  EXPECT_FALSE(m.attributes(sizeof(ifinfomsg)));
}

std::vector<uint8_t> error_payload(int error, std::vector<uint8_t> echoed, uint32_t seq) {
  nlmsgerr err{};
  err.error = error;
  err.msg.nlmsg_len = static_cast<uint32_t>(sizeof(nlmsghdr) + echoed.size());
  err.msg.nlmsg_seq = seq;
  std::vector<uint8_t> out(sizeof err);
  std::memcpy(out.data(), &err, sizeof err);
  out.insert(out.end(), echoed.begin(), echoed.end());
  return out;
}

TEST(ParseAck, ReadsErrnoAndExtendedAckText) {
  // Capped: only the request's header is echoed.
  auto capped = error_payload(-ENOENT, {}, 9);
  put_attr(capped, NLMSGERR_ATTR_MSG, bytes({'n', 'o', 'p', 'e', 0}));
  auto ack = parse_ack({NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 9, capped});
  ASSERT_TRUE(ack) << ack.error().describe();
  EXPECT_EQ(ack->error, ENOENT);
  EXPECT_EQ(ack->seq, 9u);
  EXPECT_EQ(ack->message, "nope");

  // Not capped: the request's payload comes before the attributes.
  auto full = error_payload(-EEXIST, bytes({1, 2, 3, 4, 5, 6, 7, 8}), 3);
  put_attr(full, NLMSGERR_ATTR_MSG, bytes({'x', 0}));
  ack = parse_ack({NLMSG_ERROR, NLM_F_ACK_TLVS, 3, full});
  ASSERT_TRUE(ack) << ack.error().describe();
  EXPECT_EQ(ack->error, EEXIST);
  EXPECT_EQ(ack->message, "x");

  ack = parse_ack({NLMSG_ERROR, 0, 1, error_payload(0, {}, 1)});
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->error, 0);
}

TEST(ParseAck, RejectsMalformedErrors) {
  EXPECT_FALSE(parse_ack({NLMSG_ERROR, 0, 1, bytes({1, 2})}));
  // Claims an echoed request longer than the message.
  auto lying = error_payload(-EINVAL, {}, 1);
  lying[4] = 200;
  EXPECT_FALSE(parse_ack({NLMSG_ERROR, NLM_F_ACK_TLVS, 1, lying}));
}

// Random bytes through every parser: errors are fine, crashes are not.
TEST(NetlinkParsers, SurviveRandomBytes) {
  std::mt19937 random(7);
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> data(random() % 64);
    for (auto& b : data) b = static_cast<uint8_t>(random() % 4 == 0 ? random() % 40 : random());
    if (auto messages = split_messages(data)) {
      for (const auto& m : *messages) {
        (void)parse_ack(m);
        if (auto attrs = m.attributes(0)) (void)attrs->nested(1);
      }
    }
    if (auto attrs = Attributes::parse(data))
      for (uint16_t t = 0; t < 8; ++t) (void)attrs->string(t), (void)attrs->u32(t);
  }
}

}  // namespace
}  // namespace runvm::net
