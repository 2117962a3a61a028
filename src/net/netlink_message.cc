#include "net/netlink_message.h"

#include <cerrno>

namespace runvm::net {
namespace {

constexpr size_t align4(size_t n) { return (n + 3) & ~size_t{3}; }

// The header of an attribute, as rtattr/nlattr lay it out.
struct AttrHeader {
  uint16_t len;
  uint16_t type;
};

}  // namespace

// ---------------------------------------------------------------------------
// NetlinkRequest

void NetlinkRequest::start(uint16_t type, uint16_t flags, const void* header,
                           size_t size) {
  nlmsghdr nlh{};
  nlh.nlmsg_type = type;
  nlh.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  append(&nlh, sizeof nlh);
  append(header, size);
  pad();
}

void NetlinkRequest::append(const void* data, size_t size) {
  auto bytes = static_cast<const uint8_t*>(data);
  buffer_.insert(buffer_.end(), bytes, bytes + size);
}

void NetlinkRequest::pad() { buffer_.resize(align4(buffer_.size()), 0); }

void NetlinkRequest::put(uint16_t type, const void* data, size_t size) {
  AttrHeader header{static_cast<uint16_t>(sizeof(AttrHeader) + size), type};
  append(&header, sizeof header);
  append(data, size);
  pad();
}

void NetlinkRequest::put_string(uint16_t type, std::string_view value) {
  std::string with_nul(value);
  put(type, with_nul.c_str(), with_nul.size() + 1);
}

size_t NetlinkRequest::begin_nested(uint16_t type) {
  size_t token = buffer_.size();
  put(type, nullptr, 0);
  return token;
}

void NetlinkRequest::end_nested(size_t token) {
  auto len = static_cast<uint16_t>(buffer_.size() - token);
  std::memcpy(buffer_.data() + token + offsetof(AttrHeader, len), &len, sizeof len);
}

Bytes NetlinkRequest::finish(uint16_t extra_flags, uint32_t seq) {
  nlmsghdr nlh;
  std::memcpy(&nlh, buffer_.data(), sizeof nlh);
  nlh.nlmsg_len = static_cast<uint32_t>(buffer_.size());
  nlh.nlmsg_flags |= extra_flags;
  nlh.nlmsg_seq = seq;
  std::memcpy(buffer_.data(), &nlh, sizeof nlh);
  return buffer_;
}

// ---------------------------------------------------------------------------
// Attributes

Result<Attributes> Attributes::parse(Bytes data) {
  Attributes out;
  while (data.size() >= sizeof(AttrHeader)) {
    AttrHeader header = *read_struct<AttrHeader>(data);
    if (header.len < sizeof(AttrHeader) || header.len > data.size())
      return fail("malformed netlink attribute (type " +
                  std::to_string(header.type) + ", length " +
                  std::to_string(header.len) + " with " +
                  std::to_string(data.size()) + " bytes left)");
    uint16_t type = header.type & NLA_TYPE_MASK;
    out.by_type_[type] = data.subspan(sizeof(AttrHeader), header.len - sizeof(AttrHeader));
    data = data.subspan(std::min(align4(header.len), data.size()));
  }
  // Fewer bytes than a header can only be padding.
  return out;
}

std::optional<Bytes> Attributes::get(uint16_t type) const {
  auto it = by_type_.find(type);
  if (it == by_type_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint8_t> Attributes::u8(uint16_t type) const {
  auto value = get(type);
  if (!value || value->size() != sizeof(uint8_t)) return std::nullopt;
  return (*value)[0];
}

std::optional<uint32_t> Attributes::u32(uint16_t type) const {
  auto value = get(type);
  if (!value || value->size() != sizeof(uint32_t)) return std::nullopt;
  return read_struct<uint32_t>(*value);
}

std::optional<std::string> Attributes::string(uint16_t type) const {
  auto value = get(type);
  if (!value) return std::nullopt;
  std::string s(value->begin(), value->end());
  if (auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
  return s;
}

Result<std::optional<Attributes>> Attributes::nested(uint16_t type) const {
  auto value = get(type);
  if (!value) return std::optional<Attributes>();
  Attributes inner = TRY_CTX(parse(*value), "nested attribute " + std::to_string(type));
  return std::optional<Attributes>(std::move(inner));
}

// ---------------------------------------------------------------------------
// Replies

Result<Attributes> NetlinkMessage::attributes(size_t header_size) const {
  size_t offset = align4(header_size);
  if (payload.size() < offset)
    return fail("netlink message type " + std::to_string(type) + " too short (" +
                std::to_string(payload.size()) + " bytes)");
  return Attributes::parse(Bytes(payload).subspan(offset));
}

Result<std::vector<NetlinkMessage>> split_messages(Bytes datagram) {
  std::vector<NetlinkMessage> out;
  while (datagram.size() >= sizeof(nlmsghdr)) {
    nlmsghdr nlh = *read_struct<nlmsghdr>(datagram);
    if (nlh.nlmsg_len < sizeof(nlmsghdr) || nlh.nlmsg_len > datagram.size())
      return fail("malformed netlink message (length " + std::to_string(nlh.nlmsg_len) +
                  " with " + std::to_string(datagram.size()) + " bytes left)");
    auto body = datagram.subspan(sizeof(nlmsghdr), nlh.nlmsg_len - sizeof(nlmsghdr));
    out.push_back({nlh.nlmsg_type, nlh.nlmsg_flags, nlh.nlmsg_seq, {body.begin(), body.end()}});
    datagram = datagram.subspan(std::min(align4(nlh.nlmsg_len), datagram.size()));
  }
  if (!datagram.empty())
    return fail("netlink datagram ends in " + std::to_string(datagram.size()) +
                " stray bytes");
  return out;
}

// The payload is nlmsgerr (errno and the request's header), then the
// request's own payload unless the kernel capped it, then the extended-ack
// attributes if NLM_F_ACK_TLVS says there are some.
Result<NetlinkAck> parse_ack(const NetlinkMessage& message) {
  auto err = message.header<nlmsgerr>();
  if (!err) return fail("netlink error message too short");
  NetlinkAck ack{-err->error, err->msg.nlmsg_seq, {}};
  if (ack.error < 0) return fail("netlink error message with errno " + std::to_string(err->error));
  if (!(message.flags & NLM_F_ACK_TLVS)) return ack;
  size_t offset = sizeof(nlmsgerr);
  if (!(message.flags & NLM_F_CAPPED)) {
    if (err->msg.nlmsg_len < sizeof(nlmsghdr)) return fail("netlink error message malformed");
    offset += align4(err->msg.nlmsg_len - sizeof(nlmsghdr));
  }
  if (offset > message.payload.size()) return fail("netlink error message truncated");
  Attributes tlvs = TRY(Attributes::parse(Bytes(message.payload).subspan(offset)));
  if (auto text = tlvs.string(NLMSGERR_ATTR_MSG)) ack.message = *text;
  return ack;
}

}  // namespace runvm::net
