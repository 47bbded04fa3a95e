#include "encap_ref.h"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>

namespace xlb::test {

xlb_flow_key client_key_of(const Bytes& frame) {
  xlb_flow_key k;
  std::memset(&k, 0, sizeof k);
  size_t off = l2_header_len(frame);
  uint16_t type = l2_ethertype(frame);
  size_t l4;
  if (type == 0x0800) {
    if (frame.size() < off + 20) throw std::invalid_argument("short IPv4 frame");
    k.family = XLB_AF_INET;
    k.proto = frame[off + 9];
    std::memcpy(&k.src.v4, &frame[off + 12], 4);
    std::memcpy(&k.dst.v4, &frame[off + 16], 4);
    l4 = off + (frame[off] & 0xf) * 4u;
  } else if (type == 0x86dd) {
    if (frame.size() < off + 40) throw std::invalid_argument("short IPv6 frame");
    k.family = XLB_AF_INET6;
    k.proto = frame[off + 6];
    std::memcpy(k.src.v6, &frame[off + 8], 16);
    std::memcpy(k.dst.v6, &frame[off + 24], 16);
    l4 = off + 40;
  } else {
    throw std::invalid_argument("not IP");
  }
  if (frame.size() < l4 + 4) throw std::invalid_argument("no ports");
  std::memcpy(&k.sport, &frame[l4], 2);  // network order, as on the wire
  std::memcpy(&k.dport, &frame[l4 + 2], 2);
  return k;
}

namespace {
uint32_t rol32(uint32_t w, unsigned s) { return (w << s) | (w >> ((32 - s) & 31)); }

void mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c; a ^= rol32(c, 4); c += b;
  b -= a; b ^= rol32(a, 6); a += c;
  c -= b; c ^= rol32(b, 8); b += a;
  a -= c; a ^= rol32(c, 16); c += b;
  b -= a; b ^= rol32(a, 19); a += c;
  c -= b; c ^= rol32(b, 4); b += a;
}

void final(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b; c -= rol32(b, 14);
  a ^= c; a -= rol32(c, 11);
  b ^= a; b -= rol32(a, 25);
  c ^= b; c -= rol32(b, 16);
  a ^= c; a -= rol32(c, 4);
  b ^= a; b -= rol32(a, 14);
  c ^= b; c -= rol32(b, 24);
}
}  // namespace

// The kernel's jhash2 (include/linux/jhash.h), loop form.
uint32_t ref_jhash2(const uint32_t* k, uint32_t n, uint32_t seed) {
  uint32_t a, b, c;
  a = b = c = 0xdeadbeef + (n << 2) + seed;
  while (n > 3) {
    a += k[0];
    b += k[1];
    c += k[2];
    mix(a, b, c);
    n -= 3;
    k += 3;
  }
  switch (n) {
    case 3: c += k[2]; [[fallthrough]];
    case 2: b += k[1]; [[fallthrough]];
    case 1:
      a += k[0];
      final(a, b, c);
      break;
    default: break;
  }
  return c;
}

uint32_t ref_flow_label(const xlb_flow_key& key, uint32_t seed) {
  uint32_t words[sizeof key / 4];
  std::memcpy(words, &key, sizeof key);
  uint32_t label = ref_jhash2(words, sizeof key / 4, seed) >> 12;
  return label ? label : 1;
}

uint32_t ref_src_bits(const xlb_flow_key& key) {
  uint32_t x = key.src.v6[0] ^ key.src.v6[1] ^ key.src.v6[2] ^ key.src.v6[3];
  uint32_t port = key.sport;  // the 16 bits as stored (network order)
  x ^= (port << 16) | port;
  return x * 0x9e3779b1u;
}

uint32_t ref_outer_src_v4(const xlb_flow_key& key, uint32_t prefix, uint8_t plen) {
  if (plen >= 32) return prefix;
  uint32_t host_mask = 0xffffffffu >> plen;
  return (prefix & ~host_mask) | (ref_src_bits(key) >> plen);
}

void set_outer_flow_label(Bytes& frame, uint32_t label) {
  size_t off = l2_header_len(frame);
  if (frame.size() < off + 40) throw std::invalid_argument("short IPv6 frame");
  frame[off + 1] = static_cast<uint8_t>((frame[off + 1] & 0xf0) | ((label >> 16) & 0xf));
  frame[off + 2] = static_cast<uint8_t>(label >> 8);
  frame[off + 3] = static_cast<uint8_t>(label);
}

}  // namespace xlb::test
