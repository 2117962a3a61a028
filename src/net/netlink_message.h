// Netlink messages as bytes: building requests (header, family header,
// attributes, nested attributes) and taking the kernel's replies apart. No
// I/O, so the bounds checks are unit-tested on hand-made bytes. Every length
// read from a reply is checked against what is left before it is used.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace runvm::net {

using Bytes = std::span<const uint8_t>;

// One request: nlmsghdr, a family header (ifinfomsg, tcmsg, ...) and
// attributes, each padded to 4 bytes as the kernel expects.
class NetlinkRequest {
 public:
  template <typename Header>
  NetlinkRequest(uint16_t type, uint16_t flags, const Header& header) {
    start(type, flags, &header, sizeof header);
  }

  void put(uint16_t type, const void* data, size_t size);
  void put_u8(uint16_t type, uint8_t value) { put(type, &value, sizeof value); }
  void put_u32(uint16_t type, uint32_t value) { put(type, &value, sizeof value); }
  // A NUL-terminated string, as the kernel's NLA_STRING/NLA_NUL_STRING want.
  void put_string(uint16_t type, std::string_view value);
  template <typename T>
  void put_struct(uint16_t type, const T& value) {
    put(type, &value, sizeof value);
  }

  // Nested attributes: everything put between begin_nested and end_nested
  // (with the token begin_nested returned) goes inside.
  size_t begin_nested(uint16_t type);
  void end_nested(size_t token);

  // Sets the header's flags (|=), sequence number and length; the bytes
  // to send.
  Bytes finish(uint16_t extra_flags, uint32_t seq);

 private:
  void start(uint16_t type, uint16_t flags, const void* header, size_t size);
  void append(const void* data, size_t size);
  void pad();

  std::vector<uint8_t> buffer_;
};

// Reads a T from bytes that may be unaligned; nullopt when too short.
template <typename T>
std::optional<T> read_struct(Bytes data) {
  if (data.size() < sizeof(T)) return std::nullopt;
  T value;
  std::memcpy(&value, data.data(), sizeof(T));
  return value;
}

// The attributes of a message or of a nested attribute, by type. Views into
// the bytes they were parsed from, which must outlive them. A later
// attribute of the same type replaces an earlier one.
class Attributes {
 public:
  // Fails on an attribute whose length is shorter than its header or runs
  // past the end: the kernel never sends one, so the bytes are not trusted.
  static Result<Attributes> parse(Bytes data);

  bool has(uint16_t type) const { return by_type_.count(type) != 0; }
  std::optional<Bytes> get(uint16_t type) const;
  // nullopt when absent or not exactly the size of the type.
  std::optional<uint8_t> u8(uint16_t type) const;
  std::optional<uint32_t> u32(uint16_t type) const;
  // The bytes up to the first NUL (or all of them).
  std::optional<std::string> string(uint16_t type) const;
  // A nested attribute's own attributes; nullopt when absent.
  Result<std::optional<Attributes>> nested(uint16_t type) const;

 private:
  std::map<uint16_t, Bytes> by_type_;
};

// One message from the kernel, copied out of the datagram it came in.
struct NetlinkMessage {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  std::vector<uint8_t> payload;  // after the nlmsghdr

  // The family header at the start of the payload; nullopt when too short.
  template <typename Header>
  std::optional<Header> header() const {
    return read_struct<Header>(payload);
  }
  // The attributes after a family header of header_size bytes.
  Result<Attributes> attributes(size_t header_size) const;
};

// Splits a datagram into its messages. Fails if a length field is shorter
// than the header or runs past the end of the datagram.
Result<std::vector<NetlinkMessage>> split_messages(Bytes datagram);

// What an NLMSG_ERROR message says: the errno (0 for an ack) and the
// kernel's extended-ack text, if it sent one.
struct NetlinkAck {
  int error = 0;
  uint32_t seq = 0;
  std::string message;
};
Result<NetlinkAck> parse_ack(const NetlinkMessage& message);

}  // namespace runvm::net
