// Addresses, endpoints and prefixes as users write them, and their conversion
// to the ABI's network-order forms. Every parser throws InputError with a
// message naming the offending text; none accepts partial input.
#pragma once
#include <cstdint>
#include <string>

#include "error.h"
#include "xlb/abi.h"

namespace xlb {

// An IPv4 or IPv6 address. family is XLB_AF_INET or XLB_AF_INET6; addr uses
// the ABI layout (IPv4 in v4, remaining bytes zero).
struct IpAddr {
  uint8_t family = 0;
  xlb_addr addr{};

  // "198.18.0.1" or "fd00::1" (no brackets, no port).
  static IpAddr parse(const std::string& text);
  static IpAddr from_abi(uint8_t family, const xlb_addr& addr);
  std::string str() const;
  bool is_v4() const { return family == XLB_AF_INET; }
  bool operator==(const IpAddr& o) const;
  bool operator!=(const IpAddr& o) const { return !(*this == o); }
  bool operator<(const IpAddr& o) const;  // total order: family, then bytes
};

// An address with a port: "198.18.100.1:80" or "[fd00::1]:80". Ports must be
// 1..65535 unless allow_zero_port (then "198.18.0.1" without a port also
// parses, with port 0).
struct Endpoint {
  IpAddr ip;
  uint16_t port = 0;  // host byte order

  static Endpoint parse(const std::string& text, bool allow_zero_port = false);
  std::string str() const;  // "198.18.100.1:80", "[fd00::1]:80"
  bool operator==(const Endpoint& o) const { return ip == o.ip && port == o.port; }
  bool operator<(const Endpoint& o) const;
};

// "198.18.64.0/24", "fd00:1::/64"; a bare address is a full-length prefix.
// Host bits beyond the length must be zero.
struct IpPrefix {
  IpAddr ip;
  uint8_t len = 0;

  static IpPrefix parse(const std::string& text);
  std::string str() const;
};

// "tcp" -> IPPROTO_TCP, "udp" -> IPPROTO_UDP; anything else throws.
uint8_t parse_proto(const std::string& text);
std::string proto_name(uint8_t proto);

// ABI key of a VIP.
xlb_vip_key make_vip_key(const Endpoint& vip, uint8_t proto);

}  // namespace xlb
