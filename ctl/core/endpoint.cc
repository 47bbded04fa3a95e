#include "core/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace xlb {
namespace {

// Bytes of xlb_addr that carry the address; the rest are zero by the ABI.
size_t addr_bytes(uint8_t family) { return family == XLB_AF_INET ? 4 : 16; }

uint8_t max_prefix_len(uint8_t family) { return family == XLB_AF_INET ? 32 : 128; }

// The address with every bit past the first len bits set to zero.
IpAddr with_host_bits_cleared(const IpAddr& ip, uint8_t len) {
  IpAddr network = ip;
  auto* bytes = reinterpret_cast<uint8_t*>(&network.addr);
  for (size_t i = 0; i < addr_bytes(ip.family); ++i) {
    size_t first_bit = i * 8;
    if (first_bit >= len)
      bytes[i] = 0;
    else if (len - first_bit < 8)
      bytes[i] &= static_cast<uint8_t>(0xff << (8 - (len - first_bit)));
  }
  return network;
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// A decimal number of at most max_digits digits and nothing else: no sign, no
// spaces, no hex. Leading zeros are read as decimal ("080" is 80), never octal.
bool parse_decimal(const std::string& text, size_t max_digits, unsigned long& value) {
  if (text.empty() || text.size() > max_digits) return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned long>(c - '0');
  }
  return true;
}

// "[fd00::1]:80" -> address "fd00::1", port "80", has_port. Throws when the
// brackets are not closed or something other than ":PORT" follows them.
void split_bracketed(const std::string& text, std::string& address, std::string& port,
                     bool& has_port) {
  size_t close = text.find(']');
  if (close == std::string::npos) throw InputError("invalid endpoint " + quoted(text) + ": missing \"]\"");
  address = text.substr(1, close - 1);
  std::string rest = text.substr(close + 1);
  has_port = !rest.empty();
  if (has_port && rest[0] != ':')
    throw InputError("invalid endpoint " + quoted(text) + ": expected \":PORT\" after \"]\"");
  if (has_port) port = rest.substr(1);
}

}  // namespace

IpAddr IpAddr::parse(const std::string& text) {
  IpAddr ip;
  // inet_pton is strict: dotted quad only for IPv4 (no "1", no octal, no
  // spaces), and no zone ids or brackets for IPv6. It reads a C string, so
  // an embedded NUL would hide whatever follows it.
  bool c_string = text.find('\0') == std::string::npos;
  if (c_string && inet_pton(AF_INET, text.c_str(), &ip.addr.v4) == 1) {
    ip.family = XLB_AF_INET;
  } else if (c_string && inet_pton(AF_INET6, text.c_str(), ip.addr.v6) == 1) {
    ip.family = XLB_AF_INET6;
  } else {
    throw InputError("invalid address " + quoted(text));
  }
  return ip;
}

IpAddr IpAddr::from_abi(uint8_t family, const xlb_addr& addr) {
  if (family != XLB_AF_INET && family != XLB_AF_INET6)
    throw InputError("invalid address family " + std::to_string(family));
  IpAddr ip;
  ip.family = family;
  // Copy only the address bytes so an IPv4 address keeps its zero tail even
  // if the map held something else there.
  std::memcpy(&ip.addr, &addr, addr_bytes(family));
  return ip;
}

std::string IpAddr::str() const {
  if (family != XLB_AF_INET && family != XLB_AF_INET6) return "<unset>";
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, &addr, buf, sizeof buf);
  return buf;
}

bool IpAddr::operator==(const IpAddr& o) const {
  return family == o.family && std::memcmp(&addr, &o.addr, addr_bytes(family)) == 0;
}

bool IpAddr::operator<(const IpAddr& o) const {
  if (family != o.family) return family < o.family;
  // Network byte order, so memcmp orders addresses numerically.
  return std::memcmp(&addr, &o.addr, addr_bytes(family)) < 0;
}

Endpoint Endpoint::parse(const std::string& text, bool allow_zero_port) {
  if (text.empty()) throw InputError("invalid endpoint \"\": empty");
  std::string address, port;
  bool has_port = false;
  bool bracketed = text[0] == '[';
  if (bracketed) {
    split_bracketed(text, address, port, has_port);
  } else {
    // One colon separates IPv4 and port; more colons make an IPv6 literal,
    // which may only stand without a port (a port would be ambiguous).
    size_t colon = text.find(':');
    has_port = colon != std::string::npos && text.find(':', colon + 1) == std::string::npos;
    address = has_port ? text.substr(0, colon) : text;
    if (has_port) port = text.substr(colon + 1);
  }

  Endpoint ep;
  try {
    ep.ip = IpAddr::parse(address);
  } catch (const InputError&) {
    throw InputError("invalid address " + quoted(address) + " in " + quoted(text));
  }
  if (bracketed && ep.ip.is_v4())
    throw InputError("invalid endpoint " + quoted(text) + ": brackets are for IPv6 addresses only");
  if (!has_port) {
    if (allow_zero_port) return ep;
    if (!ep.ip.is_v4())
      throw InputError("missing port in " + quoted(text) + ": write IPv6 endpoints as \"[address]:port\"");
    throw InputError("missing port in " + quoted(text));
  }

  unsigned long value = 0;
  unsigned long min_port = allow_zero_port ? 0 : 1;
  if (!parse_decimal(port, 5, value) || value < min_port || value > 65535)
    throw InputError("invalid port in " + quoted(text) + ": must be " + std::to_string(min_port) +
                     "..65535");
  ep.port = static_cast<uint16_t>(value);
  return ep;
}

std::string Endpoint::str() const {
  std::string port_text = std::to_string(port);
  return ip.is_v4() ? ip.str() + ":" + port_text : "[" + ip.str() + "]:" + port_text;
}

bool Endpoint::operator<(const Endpoint& o) const {
  if (ip != o.ip) return ip < o.ip;
  return port < o.port;
}

IpPrefix IpPrefix::parse(const std::string& text) {
  size_t slash = text.find('/');
  IpPrefix prefix;
  try {
    prefix.ip = IpAddr::parse(text.substr(0, slash));
  } catch (const InputError&) {
    throw InputError("invalid address " + quoted(text.substr(0, slash)) + " in prefix " + quoted(text));
  }
  uint8_t max_len = max_prefix_len(prefix.ip.family);
  prefix.len = max_len;
  if (slash != std::string::npos) {
    unsigned long len = 0;
    if (!parse_decimal(text.substr(slash + 1), 3, len) || len > max_len)
      throw InputError("invalid prefix length in " + quoted(text) + ": must be 0.." +
                       std::to_string(max_len));
    prefix.len = static_cast<uint8_t>(len);
  }

  IpPrefix network{with_host_bits_cleared(prefix.ip, prefix.len), prefix.len};
  if (network.ip != prefix.ip)
    throw InputError("invalid prefix " + quoted(text) + ": host bits are set (did you mean " +
                     network.str() + "?)");
  return prefix;
}

std::string IpPrefix::str() const { return ip.str() + "/" + std::to_string(len); }

uint8_t parse_proto(const std::string& text) {
  if (text == "tcp") return IPPROTO_TCP;
  if (text == "udp") return IPPROTO_UDP;
  throw InputError("invalid protocol " + quoted(text) + ": must be tcp or udp");
}

std::string proto_name(uint8_t proto) {
  if (proto == IPPROTO_TCP) return "tcp";
  if (proto == IPPROTO_UDP) return "udp";
  return std::to_string(proto);
}

xlb_vip_key make_vip_key(const Endpoint& vip, uint8_t proto) {
  xlb_vip_key key;
  // The key is hashed bytewise by the kernel: nothing may be left undefined.
  std::memset(&key, 0, sizeof key);
  std::memcpy(&key.addr, &vip.ip.addr, addr_bytes(vip.ip.family));
  key.port = htons(vip.port);
  key.proto = proto;
  key.family = vip.ip.family;
  return key;
}

}  // namespace xlb
