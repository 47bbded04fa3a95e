// Test frame builder: see packet.h. Written for obviousness, not speed: every
// header is appended byte by byte in wire order, every checksum is a fresh
// RFC 1071 sum over the finished bytes.
#include "packet.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace xlb::test {
namespace {

constexpr uint16_t kEthP8021Q = 0x8100;
constexpr uint16_t kEthP8021AD = 0x88a8;
constexpr uint16_t kEthPIp = 0x0800;
constexpr uint16_t kEthPIpv6 = 0x86dd;
constexpr uint8_t kProtoIpip = 4;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIpv6 = 41;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoIcmpv6 = 58;

void put8(Bytes& b, uint8_t v) { b.push_back(v); }
void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
void put(Bytes& b, const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }
void set16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}
uint16_t get16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
}

std::array<uint8_t, 4> v4addr(const std::string& s) {
  std::array<uint8_t, 4> a{};
  if (inet_pton(AF_INET, s.c_str(), a.data()) != 1)
    throw std::invalid_argument("bad IPv4 address in test frame: " + s);
  return a;
}
std::array<uint8_t, 16> v6addr(const std::string& s) {
  std::array<uint8_t, 16> a{};
  if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1)
    throw std::invalid_argument("bad IPv6 address in test frame: " + s);
  return a;
}

Bytes padded4(const Bytes& b) {
  Bytes out = b;
  while (out.size() % 4) out.push_back(0);
  return out;
}

// Sum of the IPv4 pseudo-header (RFC 793 / 768), not folded or inverted.
uint32_t pseudo_sum_v4(const uint8_t* src, const uint8_t* dst, uint8_t proto,
                       size_t l4len) {
  Bytes ph;
  put(ph, src, 4);
  put(ph, dst, 4);
  put8(ph, 0);
  put8(ph, proto);
  put16(ph, static_cast<uint16_t>(l4len));
  return csum_fold(ph.data(), ph.size());
}

// Sum of the IPv6 pseudo-header (RFC 8200 section 8.1).
uint32_t pseudo_sum_v6(const uint8_t* src, const uint8_t* dst, uint8_t nh,
                       size_t l4len) {
  Bytes ph;
  put(ph, src, 16);
  put(ph, dst, 16);
  put32(ph, static_cast<uint32_t>(l4len));
  put8(ph, 0);
  put8(ph, 0);
  put8(ph, 0);
  put8(ph, nh);
  return csum_fold(ph.data(), ph.size());
}

Bytes ipv4_header(const Ipv4& h, uint8_t proto, size_t payload_len) {
  Bytes opts = padded4(h.options);
  if (opts.size() > 40) throw std::invalid_argument("IPv4 options longer than 40 bytes");
  const size_t hlen = 20 + opts.size();
  Bytes b;
  put8(b, static_cast<uint8_t>(0x40 | (hlen / 4)));
  put8(b, h.tos);
  put16(b, h.total_len ? *h.total_len : static_cast<uint16_t>(hlen + payload_len));
  put16(b, h.id);
  uint16_t frag = static_cast<uint16_t>(h.frag_offset & 0x1fff);
  if (h.df) frag |= 0x4000;
  if (h.mf) frag |= 0x2000;
  put16(b, frag);
  put8(b, h.ttl);
  put8(b, h.proto ? *h.proto : proto);
  put16(b, 0);  // checksum, below
  auto s = v4addr(h.src), d = v4addr(h.dst);
  put(b, s.data(), 4);
  put(b, d.data(), 4);
  put(b, opts.data(), opts.size());
  set16(b, 10, h.checksum ? *h.checksum : inet_checksum(b.data(), b.size()));
  return b;
}

Bytes ipv6_header(const Ipv6& h, uint8_t nh, size_t payload_len) {
  Bytes b;
  put32(b, (6u << 28) | (uint32_t{h.tclass} << 20) | (h.flow_label & 0xfffff));
  put16(b, h.payload_len ? *h.payload_len : static_cast<uint16_t>(payload_len));
  put8(b, h.next_header ? *h.next_header : nh);
  put8(b, h.hop_limit);
  auto s = v6addr(h.src), d = v6addr(h.dst);
  put(b, s.data(), 16);
  put(b, d.data(), 16);
  return b;
}

// Splits an Ethernet frame into L2 header and L3 packet for the encap helpers.
void split_l2(const Bytes& frame, Bytes* l2, Bytes* l3, uint16_t* inner_type) {
  size_t l2len = l2_header_len(frame);
  if (l2len == 0) throw std::invalid_argument("encap: frame too short for Ethernet");
  *l2 = Bytes(frame.begin(), frame.begin() + l2len);
  *l3 = Bytes(frame.begin() + l2len, frame.end());
  *inner_type = l2_ethertype(frame);
  if (*inner_type != kEthPIp && *inner_type != kEthPIpv6)
    throw std::invalid_argument("encap: inner frame is neither IPv4 nor IPv6");
  if (l3->empty()) throw std::invalid_argument("encap: no inner packet");
}

uint8_t inner_tos(const Bytes& l3, uint16_t type) {
  if (type == kEthPIp) return l3.size() > 1 ? l3[1] : 0;
  if (l3.size() < 2) return 0;
  return static_cast<uint8_t>(((l3[0] & 0x0f) << 4) | (l3[1] >> 4));
}

Bytes join_l2(Bytes l2, uint16_t type, const Bytes& outer, const Bytes& l3) {
  set16(l2, l2.size() - 2, type);
  put(l2, outer.data(), outer.size());
  put(l2, l3.data(), l3.size());
  return l2;
}

}  // namespace

Mac parse_mac(const std::string& text) {
  Mac m{};
  unsigned v[6];
  char tail;
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3],
                  &v[4], &v[5], &tail) != 6)
    throw std::invalid_argument("bad MAC: " + text);
  for (int i = 0; i < 6; i++) {
    if (v[i] > 0xff) throw std::invalid_argument("bad MAC: " + text);
    m[i] = static_cast<uint8_t>(v[i]);
  }
  return m;
}

std::string mac_str(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
                m[4], m[5]);
  return buf;
}

// ---- Frame -----------------------------------------------------------------

Frame& Frame::eth(const Mac& src, const Mac& dst) {
  has_eth_ = true;
  src_ = src;
  dst_ = dst;
  return *this;
}
Frame& Frame::vlan(uint16_t tci) {
  vlan_ = tci;
  return *this;
}
Frame& Frame::ethertype(uint16_t type) {
  ethertype_ = type;
  return *this;
}
Frame& Frame::ipv4(const Ipv4& h) {
  v4_ = h;
  v6_.reset();
  return *this;
}
Frame& Frame::ipv6(const Ipv6& h) {
  v6_ = h;
  v4_.reset();
  return *this;
}
Frame& Frame::tcp(const Tcp& h) {
  tcp_ = h;
  udp_.reset();
  return *this;
}
Frame& Frame::udp(const Udp& h) {
  udp_ = h;
  tcp_.reset();
  return *this;
}
Frame& Frame::payload(const Bytes& p) {
  payload_ = p;
  return *this;
}
Frame& Frame::payload(const std::string& p) {
  payload_.assign(p.begin(), p.end());
  return *this;
}

Bytes Frame::build() const {
  // L4 (header + payload), checksum left zero until the IP addresses are known.
  Bytes l4;
  std::optional<uint8_t> l4proto;
  size_t csum_off = 0;
  if (tcp_) {
    const Tcp& t = *tcp_;
    Bytes opts = padded4(t.options);
    if (opts.size() > 40) throw std::invalid_argument("TCP options longer than 40 bytes");
    put16(l4, t.sport);
    put16(l4, t.dport);
    put32(l4, t.seq);
    put32(l4, t.ack);
    put8(l4, static_cast<uint8_t>(((20 + opts.size()) / 4) << 4));
    put8(l4, t.flags);
    put16(l4, t.window);
    put16(l4, 0);  // checksum
    put16(l4, 0);  // urgent pointer
    put(l4, opts.data(), opts.size());
    l4proto = kProtoTcp;
    csum_off = 16;
  } else if (udp_) {
    const Udp& u = *udp_;
    put16(l4, u.sport);
    put16(l4, u.dport);
    put16(l4, u.length ? *u.length : static_cast<uint16_t>(8 + payload_.size()));
    put16(l4, 0);
    l4proto = kProtoUdp;
    csum_off = 6;
  }
  put(l4, payload_.data(), payload_.size());

  Bytes l3;
  uint16_t type = 0;
  if (v4_) {
    if (!l4proto && !v4_->proto)
      throw std::invalid_argument("Ipv4::proto must be set without tcp()/udp()");
    uint8_t proto = v4_->proto ? *v4_->proto : *l4proto;
    if (l4proto) {
      auto s = v4addr(v4_->src), d = v4addr(v4_->dst);
      uint32_t sum = pseudo_sum_v4(s.data(), d.data(), *l4proto, l4.size());
      uint16_t c = static_cast<uint16_t>(~csum_fold(l4.data(), l4.size(), sum));
      if (*l4proto == kProtoUdp && c == 0) c = 0xffff;  // RFC 768: 0 means "none"
      const std::optional<uint16_t>& over = tcp_ ? tcp_->checksum : udp_->checksum;
      set16(l4, csum_off, over ? *over : c);
    }
    l3 = ipv4_header(*v4_, proto, l4.size());
    type = kEthPIp;
  } else if (v6_) {
    if (!l4proto && !v6_->next_header)
      throw std::invalid_argument("Ipv6::next_header must be set without tcp()/udp()");
    uint8_t nh = v6_->next_header ? *v6_->next_header : *l4proto;
    if (l4proto) {
      auto s = v6addr(v6_->src), d = v6addr(v6_->dst);
      uint32_t sum = pseudo_sum_v6(s.data(), d.data(), *l4proto, l4.size());
      uint16_t c = static_cast<uint16_t>(~csum_fold(l4.data(), l4.size(), sum));
      if (*l4proto == kProtoUdp && c == 0) c = 0xffff;  // mandatory over IPv6
      const std::optional<uint16_t>& over = tcp_ ? tcp_->checksum : udp_->checksum;
      set16(l4, csum_off, over ? *over : c);
    }
    l3 = ipv6_header(*v6_, nh, l4.size());
    type = kEthPIpv6;
  } else if (l4proto) {
    throw std::invalid_argument("tcp()/udp() need ipv4() or ipv6() for the checksum");
  }
  put(l3, l4.data(), l4.size());

  if (!has_eth_) return l3;
  Bytes f;
  put(f, dst_.data(), 6);
  put(f, src_.data(), 6);
  if (vlan_) {
    put16(f, kEthP8021Q);
    put16(f, *vlan_);
  }
  put16(f, ethertype_ ? *ethertype_ : type);
  put(f, l3.data(), l3.size());
  return f;
}

// ---- frame surgery ------------------------------------------------------------

size_t l2_header_len(const Bytes& frame) {
  if (frame.size() < 14) return 0;
  uint16_t t = get16(frame, 12);
  if (t != kEthP8021Q && t != kEthP8021AD) return 14;
  if (frame.size() < 18) return 0;
  // QinQ: an 802.1Q tag inside the outer one (as bpf/lib/parse.h).
  if (get16(frame, 16) == kEthP8021Q) return frame.size() < 22 ? 0 : 22;
  return 18;
}

uint16_t l2_ethertype(const Bytes& frame) {
  size_t n = l2_header_len(frame);
  return n ? get16(frame, n - 2) : 0;
}

void set_macs(Bytes& frame, const Mac& dst, const Mac& src) {
  if (frame.size() < 12) throw std::invalid_argument("set_macs: frame too short");
  std::copy(dst.begin(), dst.end(), frame.begin());
  std::copy(src.begin(), src.end(), frame.begin() + 6);
}

// ---- expected encapsulation --------------------------------------------------

Bytes encap_ipv4(const Bytes& frame, const std::string& outer_src,
                 const std::string& outer_dst) {
  Bytes l2, l3;
  uint16_t type;
  split_l2(frame, &l2, &l3, &type);
  Ipv4 o;
  o.src = outer_src;
  o.dst = outer_dst;
  o.tos = inner_tos(l3, type);
  o.ttl = 64;
  o.id = 0;
  o.df = true;
  return encap_ipv4(frame, o);
}

Bytes encap_ipv4(const Bytes& frame, const Ipv4& outer) {
  Bytes l2, l3;
  uint16_t type;
  split_l2(frame, &l2, &l3, &type);
  Bytes hdr = ipv4_header(outer, type == kEthPIp ? kProtoIpip : kProtoIpv6, l3.size());
  return join_l2(l2, kEthPIp, hdr, l3);
}

Bytes encap_ipv6(const Bytes& frame, const std::string& outer_src,
                 const std::string& outer_dst) {
  Bytes l2, l3;
  uint16_t type;
  split_l2(frame, &l2, &l3, &type);
  Ipv6 o;
  o.src = outer_src;
  o.dst = outer_dst;
  o.tclass = inner_tos(l3, type);
  o.flow_label = 0;
  o.hop_limit = 64;
  return encap_ipv6(frame, o);
}

Bytes encap_ipv6(const Bytes& frame, const Ipv6& outer) {
  Bytes l2, l3;
  uint16_t type;
  split_l2(frame, &l2, &l3, &type);
  Bytes hdr = ipv6_header(outer, type == kEthPIp ? kProtoIpip : kProtoIpv6, l3.size());
  return join_l2(l2, kEthPIpv6, hdr, l3);
}

// ---- checks --------------------------------------------------------------------

uint16_t csum_fold(const uint8_t* data, size_t len, uint32_t initial) {
  uint64_t sum = initial;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t{data[i]} << 8) | data[i + 1];
  if (len & 1) sum += uint32_t{data[len - 1]} << 8;  // odd byte, zero-padded
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint16_t inet_checksum(const uint8_t* data, size_t len) {
  return static_cast<uint16_t>(~csum_fold(data, len));
}

namespace {

// Walks the IP headers of a frame. Calls on_v4(offset, ihl_bytes) for each
// IPv4 header; returns the innermost L4 (proto, offset, length, pseudo sum)
// through the out params. False if unparseable.
struct L4Info {
  uint8_t proto = 0;
  size_t off = 0;
  size_t len = 0;
  uint32_t pseudo = 0;
  bool v4 = false;
};

template <typename OnV4>
bool walk(const Bytes& f, OnV4 on_v4, L4Info* l4) {
  size_t off = l2_header_len(f);
  if (off == 0) return false;
  uint16_t type = l2_ethertype(f);
  size_t end = f.size();
  for (int depth = 0; depth < 4; depth++) {
    uint8_t proto;
    if (type == kEthPIp) {
      if (end < off + 20 || (f[off] >> 4) != 4) return false;
      size_t ihl = (f[off] & 0x0f) * 4u;
      size_t tot = get16(f, off + 2);
      if (ihl < 20 || tot < ihl || off + tot > end) return false;
      on_v4(off, ihl);
      if (get16(f, off + 6) & 0x3fff) return false;  // a fragment: no L4 to check
      proto = f[off + 9];
      end = off + tot;
      if (proto == kProtoTcp || proto == kProtoUdp) {
        l4->proto = proto;
        l4->off = off + ihl;
        l4->len = tot - ihl;
        l4->pseudo = pseudo_sum_v4(&f[off + 12], &f[off + 16], proto, l4->len);
        l4->v4 = true;
        return true;
      }
      off += ihl;
    } else if (type == kEthPIpv6) {
      if (end < off + 40 || (f[off] >> 4) != 6) return false;
      size_t plen = get16(f, off + 4);
      if (off + 40 + plen > end) return false;
      proto = f[off + 6];
      end = off + 40 + plen;
      if (proto == kProtoTcp || proto == kProtoUdp) {
        l4->proto = proto;
        l4->off = off + 40;
        l4->len = plen;
        l4->pseudo = pseudo_sum_v6(&f[off + 8], &f[off + 24], proto, plen);
        l4->v4 = false;
        return true;
      }
      off += 40;
    } else {
      return false;
    }
    if (proto == kProtoIpip)
      type = kEthPIp;
    else if (proto == kProtoIpv6)
      type = kEthPIpv6;
    else
      return true;  // parsed, but no TCP/UDP
  }
  return false;
}

}  // namespace

bool ipv4_header_checksum_ok(const Bytes& frame) {
  int seen = 0;
  bool ok = true;
  L4Info l4;
  bool parsed = walk(
      frame,
      [&](size_t off, size_t ihl) {
        seen++;
        if (csum_fold(&frame[off], ihl) != 0xffff) ok = false;
      },
      &l4);
  // A fragment stops the walk (returns false) after its header was checked.
  (void)parsed;
  return seen > 0 && ok;
}

bool l4_checksum_ok(const Bytes& frame) {
  L4Info l4;
  if (!walk(frame, [](size_t, size_t) {}, &l4) || l4.proto == 0) return false;
  if (l4.proto == kProtoTcp && l4.len < 20) return false;
  if (l4.proto == kProtoUdp && l4.len < 8) return false;
  if (l4.proto == kProtoUdp && l4.v4 && get16(frame, l4.off + 6) == 0) return true;
  return csum_fold(&frame[l4.off], l4.len, l4.pseudo) == 0xffff;
}

Bytes icmp4_message(uint8_t type, uint8_t code, uint32_t rest, const Bytes& body) {
  Bytes m;
  put8(m, type);
  put8(m, code);
  put16(m, 0);  // checksum, below
  put32(m, rest);
  put(m, body.data(), body.size());
  set16(m, 2, inet_checksum(m.data(), m.size()));
  return m;
}

Bytes icmp6_message(uint8_t type, uint8_t code, uint32_t rest, const Bytes& body,
                    const std::string& src, const std::string& dst) {
  Bytes m;
  put8(m, type);
  put8(m, code);
  put16(m, 0);
  put32(m, rest);
  put(m, body.data(), body.size());
  auto s = v6addr(src), d = v6addr(dst);
  uint32_t pseudo = pseudo_sum_v6(s.data(), d.data(), kProtoIcmpv6, m.size());
  set16(m, 2, static_cast<uint16_t>(~csum_fold(m.data(), m.size(), pseudo)));
  return m;
}

namespace {

// Offset and length of the ICMP message of a frame; false if there is none.
bool find_icmp(const Bytes& f, size_t* off, size_t* len, bool* v6) {
  size_t l3 = l2_header_len(f);
  if (l3 == 0) return false;
  uint16_t type = l2_ethertype(f);
  if (type == kEthPIp) {
    if (f.size() < l3 + 20 || (f[l3] >> 4) != 4 || f[l3 + 9] != kProtoIcmp) return false;
    size_t ihl = (f[l3] & 0x0f) * 4u, tot = get16(f, l3 + 2);
    if (ihl < 20 || tot < ihl || l3 + tot > f.size()) return false;
    *off = l3 + ihl;
    *len = tot - ihl;
    *v6 = false;
    return true;
  }
  if (type == kEthPIpv6) {
    if (f.size() < l3 + 40 || (f[l3] >> 4) != 6 || f[l3 + 6] != kProtoIcmpv6) return false;
    size_t plen = get16(f, l3 + 4);
    if (l3 + 40 + plen > f.size()) return false;
    *off = l3 + 40;
    *len = plen;
    *v6 = true;
    return true;
  }
  return false;
}

}  // namespace

bool icmp_checksum_ok(const Bytes& frame) {
  size_t off, len;
  bool v6;
  if (!find_icmp(frame, &off, &len, &v6) || len < 8) return false;
  uint32_t pseudo = 0;
  if (v6) {
    size_t l3 = l2_header_len(frame);
    pseudo = pseudo_sum_v6(&frame[l3 + 8], &frame[l3 + 24], kProtoIcmpv6, len);
  }
  return csum_fold(&frame[off], len, pseudo) == 0xffff;
}

Bytes icmp_quoted_frame(const Bytes& frame) {
  size_t off, len;
  bool v6;
  if (!find_icmp(frame, &off, &len, &v6) || len <= 8) return {};
  Bytes quoted(frame.begin() + off + 8, frame.begin() + off + len);
  Bytes f;
  put(f, kDefaultDstMac.data(), 6);
  put(f, kDefaultSrcMac.data(), 6);
  put16(f, (quoted[0] >> 4) == 6 ? kEthPIpv6 : kEthPIp);
  put(f, quoted.data(), quoted.size());
  return f;
}

std::string hexdump(const Bytes& data) {
  std::string out;
  char buf[24];
  for (size_t row = 0; row < data.size(); row += 16) {
    std::snprintf(buf, sizeof buf, "%04zx ", row);
    out += buf;
    for (size_t i = row; i < row + 16 && i < data.size(); i++) {
      std::snprintf(buf, sizeof buf, " %02x", data[i]);
      out += buf;
    }
    out += '\n';
  }
  return out;
}

std::string hexdump_diff(const Bytes& expected, const Bytes& actual) {
  std::string out;
  char buf[128];
  size_t first = std::string::npos;
  size_t n = std::max(expected.size(), actual.size());
  for (size_t i = 0; i < n && first == std::string::npos; i++)
    if (i >= expected.size() || i >= actual.size() || expected[i] != actual[i]) first = i;
  if (first == std::string::npos) {
    std::snprintf(buf, sizeof buf, "frames are equal (%zu bytes)\n", n);
    return buf;
  }
  std::snprintf(buf, sizeof buf,
                "expected %zu bytes, actual %zu bytes; first difference at offset %zu "
                "(0x%zx)\n",
                expected.size(), actual.size(), first, first);
  out += buf;
  out += "       expected                                          actual\n";
  auto cell = [](const Bytes& b, size_t i) -> std::string {
    if (i >= b.size()) return "  ";
    char c[3];
    std::snprintf(c, sizeof c, "%02x", b[i]);
    return c;
  };
  for (size_t row = 0; row < n; row += 16) {
    std::string left, right, mark_l, mark_r;
    bool differs = false;
    for (size_t i = row; i < row + 16; i++) {
      bool in_any = i < n;
      bool d = in_any && (i >= expected.size() || i >= actual.size() ||
                          expected[i] != actual[i]);
      differs |= d;
      left += cell(expected, i) + " ";
      right += cell(actual, i) + " ";
      mark_l += d ? "^^ " : "   ";
      mark_r += d ? "^^ " : "   ";
    }
    std::snprintf(buf, sizeof buf, "%c %04zx ", differs ? '!' : ' ', row);
    out += buf + left + " " + right + "\n";
    if (differs) out += "       " + mark_l + " " + mark_r + "\n";
  }
  return out;
}

}  // namespace xlb::test
