#include "net/address_text.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

namespace runvm::net {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<Mac> parse_mac(std::string_view text) {
  Mac mac{};
  // "aa:bb:cc:dd:ee:ff" is exactly 17 characters; the separators sit at
  // every third position.
  if (text.size() != 17) return fail("invalid MAC address \"" + std::string(text) + "\"");
  for (size_t i = 0; i < mac.size(); ++i) {
    int hi = hex_digit(text[3 * i]);
    int lo = hex_digit(text[3 * i + 1]);
    bool separator_ok = i == mac.size() - 1 || text[3 * i + 2] == ':';
    if (hi < 0 || lo < 0 || !separator_ok)
      return fail("invalid MAC address \"" + std::string(text) + "\"");
    mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return mac;
}

std::string format_mac(const Mac& mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i) out += ':';
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

size_t address_size(int family) {
  if (family == AF_INET) return 4;
  if (family == AF_INET6) return 16;
  return 0;
}

size_t IpAddress::size() const { return address_size(family); }

std::string family_name(int family) {
  if (family == AF_INET) return "inet";
  if (family == AF_INET6) return "inet6";
  return std::to_string(family);
}

Result<IpAddress> parse_ip(int family, std::string_view text) {
  IpAddress out{family, {}};
  // inet_pton reads a C string: an embedded NUL would hide what follows it.
  std::string s(text);
  if (address_size(family) == 0 || s.find('\0') != std::string::npos ||
      ::inet_pton(family, s.c_str(), out.bytes.data()) != 1)
    return fail("invalid " + family_name(family) + " address \"" + s + "\"");
  return out;
}

std::string format_ip(int family, Bytes bytes) {
  char text[INET6_ADDRSTRLEN];
  if (address_size(family) == 0 || bytes.size() != address_size(family) ||
      !::inet_ntop(family, bytes.data(), text, sizeof text))
    return "?";
  return text;
}

std::string format_ip(const IpAddress& address) {
  return format_ip(address.family, address.view());
}

bool only_prefix_bits(const IpAddress& address, int prefix_length) {
  for (size_t i = 0; i < address.size(); ++i) {
    int bits_in_prefix = std::clamp(prefix_length - static_cast<int>(8 * i), 0, 8);
    uint8_t host_mask = static_cast<uint8_t>(0xff >> bits_in_prefix);
    if (address.bytes[i] & host_mask) return false;
  }
  return true;
}

}  // namespace runvm::net
