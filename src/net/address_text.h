// Text forms of link-layer and IP addresses, as `ip` prints them: MACs as
// "aa:bb:cc:dd:ee:ff", IP addresses as inet_ntop writes them. Parsing is
// strict because the text crosses from host to guest.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/netlink_message.h"

namespace runvm::net {

using Mac = std::array<uint8_t, 6>;

// Six two-digit hex groups separated by ':'; either case.
Result<Mac> parse_mac(std::string_view text);
std::string format_mac(const Mac& mac);

// An IPv4 or IPv6 address in network byte order.
struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};

  size_t size() const;  // 4 or 16
  Bytes view() const { return Bytes(bytes.data(), size()); }
};

// The address length of a family: 4 or 16, 0 for any other family.
size_t address_size(int family);
// "inet" / "inet6", as `ip -j` names them; the number for others.
std::string family_name(int family);

Result<IpAddress> parse_ip(int family, std::string_view text);
// bytes must be address_size(family) long; anything else reads "?".
std::string format_ip(int family, Bytes bytes);
std::string format_ip(const IpAddress& address);

// Whether every bit past the first prefix_length bits is zero, as the
// kernel requires of an IPv4 route's destination.
bool only_prefix_bits(const IpAddress& address, int prefix_length);

}  // namespace runvm::net
