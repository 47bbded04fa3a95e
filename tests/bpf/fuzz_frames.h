// The packet fuzzer's view of frames (tests/bpf/fuzz_test.cc): a parser that
// is deliberately independent of bpf/lib/parse.h (it walks any number of VLAN
// tags and IPv6 extension headers, so it sees at least as much as the data
// path does), a checksum walker that either checks or repairs every checksum
// it can find (IPv4 headers, TCP/UDP, ICMP and the IPv4 header quoted by an
// ICMP error, through IP-in-IP). The mutations and the checks built on these
// live in fuzz_test.cc.
//
// Everything here is plain byte surgery on Bytes, with no BPF and no gtest.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kit/packet.h"

namespace xlb::test::fuzz {

inline constexpr uint16_t kEthIp = 0x0800;
inline constexpr uint16_t kEthIpv6 = 0x86dd;
inline constexpr uint16_t kEthVlan = 0x8100;
inline constexpr uint16_t kEthQinQ = 0x88a8;
inline constexpr uint8_t kIpip = 4, kTcp = 6, kUdp = 17, kIpv6 = 41, kIcmp = 1, kIcmp6 = 58;
inline constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kAh = 51, kDstOpts = 60;

inline uint16_t rd16(const Bytes& b, size_t off) { return uint16_t(b[off] << 8 | b[off + 1]); }
inline void wr16(Bytes& b, size_t off, uint16_t v) {
  b[off] = uint8_t(v >> 8);
  b[off + 1] = uint8_t(v);
}

// An address as a set key: family byte (4 or 6) then the raw bytes.
using Addr = std::string;
inline Addr addr_at(const Bytes& f, size_t off, bool v6) {
  return Addr(1, v6 ? '6' : '4') + std::string(f.begin() + off, f.begin() + off + (v6 ? 16 : 4));
}

// ---- parsing -------------------------------------------------------------------

struct L2 {
  size_t l3 = 0;      // offset of the L3 header
  uint16_t type = 0;  // ethertype after every tag
  int tags = 0;
};

// Ethernet and any number (up to 8) of 802.1Q / 802.1ad tags. False if the
// frame is too short for that.
inline bool parse_l2(const Bytes& f, L2* l2) {
  if (f.size() < 14) return false;
  size_t off = 12;
  uint16_t type = rd16(f, off);
  int tags = 0;
  while ((type == kEthVlan || type == kEthQinQ) && tags < 8) {
    if (f.size() < off + 6) return false;
    off += 4;
    type = rd16(f, off);
    tags++;
  }
  l2->l3 = off + 2;
  l2->type = type;
  l2->tags = tags;
  return true;
}

struct Ip {
  size_t off = 0;
  bool v6 = false;
  size_t hlen = 0;          // IHL * 4, or 40 + the extension headers walked
  size_t len = 0;           // IP length per the header (IPv4 total, 40 + IPv6 payload)
  uint8_t proto = 0;        // upper-layer protocol (after extension headers)
  bool frag = false;        // IPv4 MF or offset, or an IPv6 fragment header
  bool hdr_complete = false;  // the whole header (options, extensions) is inside the limit
  bool len_ok = false;      // hlen <= len and off + len <= limit
  Addr src, dst;
};

// The IP header at off, limited to [off, limit). want: 4 or 6 (the version
// the ethertype / outer protocol announced). False if the fixed header does
// not fit or its version is not `want`.
inline bool parse_ip(const Bytes& f, size_t off, size_t limit, int want, Ip* ip) {
  if (limit > f.size()) limit = f.size();
  *ip = Ip{};
  ip->off = off;
  if (want == 4) {
    if (off + 20 > limit || (f[off] >> 4) != 4) return false;
    ip->hlen = (f[off] & 0x0f) * 4u;
    ip->len = rd16(f, off + 2);
    ip->proto = f[off + 9];
    ip->frag = (rd16(f, off + 6) & 0x3fff) != 0;
    ip->src = addr_at(f, off + 12, false);
    ip->dst = addr_at(f, off + 16, false);
    ip->hdr_complete = ip->hlen >= 20 && off + ip->hlen <= limit;
    ip->len_ok = ip->hdr_complete && ip->len >= ip->hlen && off + ip->len <= limit;
    return true;
  }
  if (off + 40 > limit || (f[off] >> 4) != 6) return false;
  ip->v6 = true;
  ip->len = 40 + rd16(f, off + 4);
  ip->src = addr_at(f, off + 8, true);
  ip->dst = addr_at(f, off + 24, true);
  size_t end = off + ip->len <= limit ? off + ip->len : limit;
  size_t pos = off + 40;
  uint8_t nh = f[off + 6];
  bool complete = true;
  for (int i = 0; i < 8; i++) {
    if (nh == kHopByHop || nh == kRouting || nh == kDstOpts || nh == kAh) {
      if (pos + 2 > end) { complete = false; break; }
      size_t l = nh == kAh ? (f[pos + 1] + 2u) * 4u : (f[pos + 1] + 1u) * 8u;
      nh = f[pos];
      pos += l;
    } else if (nh == kFragment) {
      if (pos + 8 > end) { complete = false; break; }
      ip->frag = true;
      nh = f[pos];
      pos += 8;
    } else {
      break;
    }
  }
  if (pos > end) complete = false;
  ip->proto = nh;
  ip->hlen = pos - off;
  ip->hdr_complete = complete;
  ip->len_ok = complete && off + ip->len <= limit && ip->hlen <= ip->len;
  return true;
}

// The outermost IP header of a frame; false if there is none.
inline bool parse_outer(const Bytes& f, L2* l2, Ip* ip) {
  if (!parse_l2(f, l2)) return false;
  if (l2->type == kEthIp) return parse_ip(f, l2->l3, f.size(), 4, ip);
  if (l2->type == kEthIpv6) return parse_ip(f, l2->l3, f.size(), 6, ip);
  return false;
}

// ---- checksums -----------------------------------------------------------------

enum class Sum { kNone, kOk, kBad };

struct Sums {
  int v4_headers = 0;  // IPv4 headers seen (outer, IP-in-IP inner, ICMP-quoted)
  int v4_bad = 0;      // ... with a wrong header checksum
  Sum l4 = Sum::kNone;    // the innermost TCP/UDP: checksum and header lengths
  Sum icmp = Sum::kNone;  // the outermost ICMP message's checksum
};

inline uint32_t pseudo_sum(const Bytes& f, const Ip& ip, uint8_t proto, size_t len) {
  Bytes p;
  size_t alen = ip.v6 ? 16 : 4;
  p.insert(p.end(), ip.src.begin() + 1, ip.src.begin() + 1 + alen);
  p.insert(p.end(), ip.dst.begin() + 1, ip.dst.begin() + 1 + alen);
  if (ip.v6) {
    for (int s = 24; s >= 0; s -= 8) p.push_back(uint8_t(len >> s));
    p.insert(p.end(), {0, 0, 0, proto});
  } else {
    p.insert(p.end(), {0, proto, uint8_t(len >> 8), uint8_t(len)});
  }
  (void)f;
  return csum_fold(p.data(), p.size());
}

// Checks (fix = false) or repairs (fix = true) a checksum field at `field`
// covering [from, to) plus `pseudo`. Returns whether it was right.
inline bool sum_field(Bytes& f, size_t field, size_t from, size_t to, uint32_t pseudo, bool fix) {
  if (!fix) return csum_fold(&f[from], to - from, pseudo) == 0xffff;
  wr16(f, field, 0);
  wr16(f, field, uint16_t(~csum_fold(&f[from], to - from, pseudo)));
  return true;
}

inline bool icmp_is_error(uint8_t type, bool v6) {
  return v6 ? type >= 1 && type <= 4 : type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

// Walks the IP packet at off (limited to limit), checking or repairing every
// checksum inside out: quoted/inner headers first, then the ICMP / L4
// checksum, then the IPv4 header's own.
inline void walk_sums(Bytes& f, size_t off, size_t limit, int want, bool fix, Sums* s, int depth,
                      bool quoted) {
  Ip ip;
  if (!parse_ip(f, off, limit, want, &ip) || !ip.hdr_complete) return;
  if (ip.len_ok && !quoted) {
    size_t l4 = off + ip.hlen, end = off + ip.len;
    if ((ip.proto == kIpip || ip.proto == kIpv6) && depth < 3) {
      walk_sums(f, l4, end, ip.proto == kIpip ? 4 : 6, fix, s, depth + 1, false);
    } else if ((ip.proto == kTcp || ip.proto == kUdp) && !ip.frag) {
      size_t seg = end - l4;
      bool ok;
      if (ip.proto == kTcp) {
        ok = seg >= 20 && (f[l4 + 12] >> 4) * 4u >= 20 && (f[l4 + 12] >> 4) * 4u <= seg;
        if (seg >= 20) ok = sum_field(f, l4 + 16, l4, end, pseudo_sum(f, ip, kTcp, seg), fix) && ok;
      } else {
        ok = seg >= 8 && rd16(f, l4 + 4) == seg;
        if (seg >= 8 && !(fix && !ip.v6 && rd16(f, l4 + 6) == 0)) {
          bool none = !ip.v6 && rd16(f, l4 + 6) == 0;  // IPv4 "no checksum"
          ok = (none || sum_field(f, l4 + 6, l4, end, pseudo_sum(f, ip, kUdp, seg), fix)) && ok;
          if (fix && rd16(f, l4 + 6) == 0) wr16(f, l4 + 6, 0xffff);
        }
      }
      s->l4 = ok ? Sum::kOk : Sum::kBad;
    } else if (ip.proto == (ip.v6 ? kIcmp6 : kIcmp) && !ip.frag && end - l4 >= 8) {
      if (icmp_is_error(f[l4], ip.v6) && end - l4 >= 8 + 20) {
        // Only the quoted IP header's checksum: the quote is cut short.
        int qv = f[l4 + 8] >> 4;
        if (qv == 4 || qv == 6) walk_sums(f, l4 + 8, end, qv, fix, s, depth + 1, true);
      }
      uint32_t pseudo = ip.v6 ? pseudo_sum(f, ip, kIcmp6, end - l4) : 0;
      bool ok = sum_field(f, l4 + 2, l4, end, pseudo, fix);
      if (s->icmp == Sum::kNone) s->icmp = ok ? Sum::kOk : Sum::kBad;
    }
  }
  if (!ip.v6) {
    s->v4_headers++;
    if (!sum_field(f, off + 10, off, off + ip.hlen, 0, fix)) s->v4_bad++;
  }
}

// Every checksum of a frame, checked.
inline Sums sums_of(const Bytes& frame) {
  Sums s;
  L2 l2;
  if (!parse_l2(frame, &l2) || (l2.type != kEthIp && l2.type != kEthIpv6)) return s;
  Bytes copy = frame;
  walk_sums(copy, l2.l3, copy.size(), l2.type == kEthIp ? 4 : 6, false, &s, 0, false);
  return s;
}

// Every checksum of a frame, repaired (lengths are left as they are).
inline void fix_sums(Bytes& frame) {
  Sums s;
  L2 l2;
  if (!parse_l2(frame, &l2) || (l2.type != kEthIp && l2.type != kEthIpv6)) return;
  walk_sums(frame, l2.l3, frame.size(), l2.type == kEthIp ? 4 : 6, true, &s, 0, false);
}

}  // namespace xlb::test::fuzz
