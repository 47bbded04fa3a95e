// A packet fuzzer, kept in the tests (issue 10, section 5).
//
// Mutated frames run through the real xlb_lb (every VIP mode configured at
// once: ipip, l2dsr, nat and fullnat VIPs, IPv4 and IPv6, TCP and UDP, six
// schedulers) and the real xlb_decap with BPF_PROG_TEST_RUN. The frames start
// from valid seeds of every kind (client to VIP, not for a VIP, nat replies
// from backends, ICMP errors quoting flows, ICMP echo, IPv4 options, IPv6
// extension headers, fragments, VLAN and QinQ tags, IP-in-IP for decap) and
// get one to four mutations each (bit flips, byte overwrites, truncations,
// extensions, wrong length fields, options, extension-header chains, fragment
// bits, tags inserted and removed, ICMP errors quoting anything, addresses
// swapped for interesting ones, splices of two seeds). Half of them then get
// every checksum repaired, so that the checks below also judge packets that
// are odd but internally consistent.
//
// Checks for every packet (check_lb / check_decap):
//  - prog-run succeeds, and the verdict is never XDP_ABORTED (nor unknown);
//  - xlb_lb: a packet whose destination address is none the load balancer
//    answers for (VIP addresses, fullnat sources, and clients, to which nat
//    replies and ICMP errors about nat flows go) leaves with XDP_PASS and
//    unchanged; and XDP_PASS always means unchanged (lb.bpf.c: "anything
//    else leaves with XDP_PASS, untouched");
//  - xlb_lb, XDP_TX / XDP_REDIRECT: the frame is well-formed: the ethertype
//    matches the IP version; the IP length fits the frame (and covers no more
//    padding than the input had); an encapsulated packet's outer length is
//    exactly the inner packet's, and the inner packet is the input's IP
//    packet byte for byte; a forwarded TCP/UDP header lies inside the IP
//    length; a new outer IPv4 header has a valid checksum, and every other
//    checksum (IPv4 headers, TCP/UDP, ICMP) is valid whenever the input's
//    was; the destination is a configured backend, a client (a seed client
//    or one the flow table knows), an l2dsr VIP sent to an l2dsr backend's
//    MAC, or, for ICMP, the input's sender; the MACs are a fixture
//    neighbour's (or the sender's) and ours (or the one the input was for);
//  - xlb_decap: never TX/REDIRECT; a frame not for a decap address passes
//    unchanged; a changed frame is the input minus exactly its outer IP
//    header, with the ethertype of the inner packet, where only the inner
//    ECN field may differ (to CE, when the outer one was CE: RFC 6040), with
//    a valid inner IPv4 checksum if it was valid.
//
// Seeded and reproducible: packet i is generated from (seed, i) alone, and
// the map state is reset every kResetEvery packets, so
//   XLB_FUZZ_SEED=S XLB_FUZZ_PACKETS=N build/tests/bpf/xlb_bpf_tests --gtest_filter='Fuzz.*'
// sends the same packets again (fullnat's source ports too: they are a hash
// of the flow, probed in a fixed order). A failure prints the seed, the packet index, the seed frame
// and mutations, the reason, and hex dumps of the input and output.
// Without XLB_FUZZ_PACKETS / XLB_FUZZ_SEED the ctest run uses
// kDefaultPackets and kDefaultSeed; XLB_FUZZ_SEED=random explores.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "decap.skel.h"
#include "fuzz_frames.h"
#include "nat_fixture.h"

namespace xlb::test::fuzz {
namespace {

using nat::Family;
using nat::kV4;
using nat::kV6;
using nat::Pkt;

// The ctest run: well under 30 s on the 2-vCPU test VM (docs/testing.md).
constexpr uint64_t kDefaultPackets = 100000;
constexpr uint64_t kDefaultSeed = 20261206;
// Flows, nat reply entries and connection counts are cleared this often, so
// that new-flow paths stay reachable and a run can be replayed from the
// last reset.
constexpr uint64_t kResetEvery = 4096;
constexpr size_t kMaxFrame = 2048;

uint64_t env_u64(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  return std::strtoull(v, nullptr, 0);
}

// ---- random numbers ---------------------------------------------------------------

// splitmix64: packet i's generator is seeded from (seed, i) alone.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t s) : g_(s) {}
  uint32_t below(uint32_t n) { return n ? uint32_t(g_() % n) : 0; }
  bool chance(uint32_t one_in) { return below(one_in) == 0; }
  uint8_t byte() { return uint8_t(g_()); }
  // An interesting value for a byte field.
  uint8_t odd_byte() {
    static const uint8_t v[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0x04, 0x05, 0x06, 0x0f, 0x40, 0x45, 0x60};
    return chance(2) ? v[below(sizeof v)] : byte();
  }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(uint32_t(v.size()))]; }

 private:
  std::mt19937_64 g_;
};

// ---- seeds ------------------------------------------------------------------------

struct Seed {
  std::string name;
  Bytes frame;
};

Bytes l3_of(const Bytes& frame) { return Bytes(frame.begin() + l2_header_len(frame), frame.end()); }

Bytes tcp_or_udp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                 uint8_t proto, uint8_t flags = kTcpSyn) {
  Pkt p;
  p.src = src;
  p.sport = sport;
  p.dst = dst;
  p.dport = dport;
  p.proto = proto;
  p.flags = flags;
  return nat::build(p);
}

// An ICMP error from `from` to `to` quoting `quoted` (an Ethernet frame; the
// first 8 bytes of its L4 header and more are quoted).
Bytes icmp_error(const std::string& from, const std::string& to, const Bytes& quoted, bool v6,
                 uint8_t type, uint8_t code, uint32_t rest, size_t quote_len = 64) {
  Bytes q = l3_of(quoted);
  if (q.size() > quote_len) q.resize(quote_len);
  Frame fr;
  fr.eth(nat::kPeerMac, kFixtureMac);
  if (v6) {
    Ipv6 ip;
    ip.src = from;
    ip.dst = to;
    ip.next_header = kIcmp6;
    return fr.ipv6(ip).payload(icmp6_message(type, code, rest, q, from, to)).build();
  }
  Ipv4 ip;
  ip.src = from;
  ip.dst = to;
  ip.proto = kIcmp;
  return fr.ipv4(ip).payload(icmp4_message(type, code, rest, q)).build();
}

Bytes icmp_echo(const std::string& from, const std::string& to, bool v6) {
  Bytes body = {'p', 'i', 'n', 'g', 0, 1, 2, 3};
  Frame fr;
  fr.eth(nat::kPeerMac, kFixtureMac);
  if (v6) {
    Ipv6 ip;
    ip.src = from;
    ip.dst = to;
    ip.next_header = kIcmp6;
    return fr.ipv6(ip).payload(icmp6_message(128, 0, 0x12340001, body, from, to)).build();
  }
  Ipv4 ip;
  ip.src = from;
  ip.dst = to;
  ip.proto = kIcmp;
  return fr.ipv4(ip).payload(icmp4_message(8, 0, 0x12340001, body)).build();
}

// ---- mutations ----------------------------------------------------------------------

// Inserts bytes at off (clamped to the frame).
void insert_at(Bytes& f, size_t off, const Bytes& b) {
  if (off > f.size()) off = f.size();
  f.insert(f.begin() + off, b.begin(), b.end());
}

// Adds n to the outer IP length field (IPv4 total / IPv6 payload).
void grow_ip_len(Bytes& f, const L2& l2, const Ip& ip, int n) {
  size_t field = l2.l3 + (ip.v6 ? 4 : 2);
  wr16(f, field, uint16_t(rd16(f, field) + n));
}

class Mutator {
 public:
  Mutator(Rng& rng, const std::vector<Seed>& seeds, const std::vector<Addr>& interesting)
      : r_(rng), seeds_(seeds), interesting_(interesting) {}

  // Applies one random mutation; returns its name.
  std::string mutate(Bytes& f) {
    using M = std::string (Mutator::*)(Bytes&);
    static const M all[] = {
        &Mutator::flip_bits,    &Mutator::flip_bits,     &Mutator::overwrite,   &Mutator::overwrite,
        &Mutator::truncate,     &Mutator::extend,        &Mutator::length,      &Mutator::length,
        &Mutator::ip_options,   &Mutator::ext_headers,   &Mutator::ext_headers, &Mutator::fragment,
        &Mutator::vlan,         &Mutator::vlan,          &Mutator::icmp_wrap,   &Mutator::ethertype,
        &Mutator::ipip_wrap,    &Mutator::splice,        &Mutator::readdress,   &Mutator::readdress,
        &Mutator::tcp_flags,
    };
    std::string name = (this->*all[r_.below(sizeof all / sizeof all[0])])(f);
    if (f.size() > kMaxFrame) f.resize(kMaxFrame);
    // BPF_PROG_TEST_RUN refuses XDP frames shorter than an Ethernet header
    // (EINVAL): the program never sees one.
    if (f.size() < 14) f.resize(14, 0);
    return name;
  }

 private:
  // Somewhere in the headers, mostly.
  size_t header_pos(const Bytes& f) {
    if (f.empty()) return 0;
    size_t lim = f.size() < 96 || r_.chance(4) ? f.size() : 96;
    return r_.below(uint32_t(lim));
  }

  std::string flip_bits(Bytes& f) {
    if (f.empty()) return "flip(none)";
    int n = 1 + int(r_.below(4));
    std::ostringstream os;
    os << "flip(";
    for (int i = 0; i < n; i++) {
      size_t pos = header_pos(f);
      int bit = int(r_.below(8));
      f[pos] ^= uint8_t(1u << bit);
      os << (i ? "," : "") << pos << ":" << bit;
    }
    return os.str() + ")";
  }

  std::string overwrite(Bytes& f) {
    if (f.empty()) return "overwrite(none)";
    size_t pos = header_pos(f);
    f[pos] = r_.odd_byte();
    return "overwrite(" + std::to_string(pos) + ")";
  }

  std::string truncate(Bytes& f) {
    size_t n = f.size();
    L2 l2;
    Ip ip;
    if (r_.chance(2) && parse_outer(f, &l2, &ip)) {
      // Near a header boundary: inside L3, L4, or just short of the end.
      size_t marks[] = {l2.l3, l2.l3 + ip.hlen, l2.l3 + ip.hlen + 8, l2.l3 + ip.hlen + 20, f.size()};
      n = marks[r_.below(5)] + r_.below(5) - 2;
    } else {
      n = r_.below(uint32_t(f.size() + 1));
    }
    if (n < f.size()) f.resize(n);
    return "truncate(" + std::to_string(f.size()) + ")";
  }

  std::string extend(Bytes& f) {
    size_t n = r_.chance(16) ? 1400 + r_.below(200) : 1 + r_.below(64);
    bool zero = r_.chance(2);
    for (size_t i = 0; i < n; i++) f.push_back(zero ? 0 : r_.byte());
    return "extend(" + std::to_string(n) + ")";
  }

  // A wrong value in a length field of the outer IP header or its L4 header.
  std::string length(Bytes& f) {
    L2 l2;
    Ip ip;
    if (!parse_outer(f, &l2, &ip)) return "length(none)";
    size_t l4 = l2.l3 + ip.hlen;
    int which = int(r_.below(4));
    auto value = [&](uint16_t cur) -> uint16_t {
      switch (r_.below(5)) {
        case 0: return uint16_t(cur + 1);
        case 1: return uint16_t(cur - 1);
        case 2: return 0;
        case 3: return 0xffff;
        default: return uint16_t(r_.below(cur + 64u));
      }
    };
    if (which == 0) {  // IP length
      size_t field = l2.l3 + (ip.v6 ? 4 : 2);
      wr16(f, field, value(rd16(f, field)));
      return "length(ip)";
    }
    if (which == 1 && !ip.v6) {  // IHL
      f[l2.l3] = uint8_t(0x40 | (r_.below(16)));
      return "length(ihl)";
    }
    if (which == 2 && ip.proto == kUdp && l4 + 8 <= f.size()) {
      wr16(f, l4 + 4, value(rd16(f, l4 + 4)));
      return "length(udp)";
    }
    if (ip.proto == kTcp && l4 + 20 <= f.size()) {
      f[l4 + 12] = uint8_t((r_.below(16) << 4) | (f[l4 + 12] & 0x0f));
      return "length(tcp doff)";
    }
    return "length(none)";
  }

  std::string ip_options(Bytes& f) {
    L2 l2;
    Ip ip;
    if (!parse_outer(f, &l2, &ip) || ip.v6 || !ip.hdr_complete) return "options(none)";
    size_t words = 1 + r_.below(uint32_t(15 - ip.hlen / 4 + 1));
    if (ip.hlen / 4 + words > 15) return "options(full)";
    Bytes opt;
    while (opt.size() < words * 4) {
      switch (r_.below(4)) {
        case 0: opt.push_back(1); break;  // NOP
        case 1: opt.push_back(0); break;  // EOL
        case 2: opt.insert(opt.end(), {0x94, 0x04, 0x00, 0x00}); break;  // router alert
        default: opt.push_back(r_.byte());
      }
    }
    opt.resize(words * 4);
    insert_at(f, l2.l3 + ip.hlen, opt);
    f[l2.l3] = uint8_t(0x40 | (ip.hlen / 4 + words));
    grow_ip_len(f, l2, ip, int(words * 4));
    return "options(" + std::to_string(words * 4) + ")";
  }

  // A chain of IPv6 extension headers right after the fixed header.
  std::string ext_headers(Bytes& f) {
    L2 l2;
    Ip ip;
    if (!parse_outer(f, &l2, &ip) || !ip.v6) return "ext(none)";
    static const std::vector<uint8_t> kinds = {kHopByHop, kRouting, kDstOpts, kFragment, kAh, kDstOpts,
                                               kHopByHop};
    int n = 1 + int(r_.below(4));
    Bytes chain;
    std::vector<size_t> starts;  // where each header (and its next-header byte) begins
    std::vector<uint8_t> kinds_used;
    std::ostringstream os;
    os << "ext(";
    for (int i = 0; i < n; i++) {
      uint8_t kind = r_.chance(10) ? r_.byte() : r_.pick(kinds);
      Bytes h;
      if (kind == kFragment) {
        uint16_t off_m = uint16_t(r_.chance(2) ? 0 : (r_.below(0x2000) << 3));
        if (r_.chance(2)) off_m |= 1;  // M
        h = {0, 0, uint8_t(off_m >> 8), uint8_t(off_m), r_.byte(), r_.byte(), r_.byte(), r_.byte()};
      } else if (kind == kAh) {
        uint8_t len = uint8_t(1 + r_.below(3));  // (len + 2) * 4 bytes
        h.assign((len + 2u) * 4u, 0);
        h[1] = len;
      } else if (kind == kRouting) {
        uint8_t len = uint8_t(r_.below(3));  // type, segments left: small numbers
        h.assign((len + 1u) * 8u, 0);
        h[1] = len;
        h[2] = uint8_t(r_.below(5));
        h[3] = uint8_t(r_.below(3));
      } else {
        uint8_t len = uint8_t(r_.below(3));  // (len + 1) * 8 bytes, one PadN option
        h.assign((len + 1u) * 8u, 0);
        h[1] = len;
        h[2] = 1;
        h[3] = uint8_t(h.size() - 4);
      }
      if (r_.chance(8)) h[1] = r_.odd_byte();  // a wrong length
      starts.push_back(chain.size());
      kinds_used.push_back(kind);
      chain.insert(chain.end(), h.begin(), h.end());
      os << int(kind) << (i + 1 < n ? "," : "");
    }
    // Chained: the fixed header names the first, each names the next, the
    // last names whatever followed the fixed header before.
    for (int i = 0; i + 1 < n; i++) chain[starts[i]] = kinds_used[i + 1];
    chain[starts.back()] = f[l2.l3 + 6];
    f[l2.l3 + 6] = kinds_used[0];
    insert_at(f, l2.l3 + 40, chain);
    grow_ip_len(f, l2, ip, int(chain.size()));
    return os.str() + ")";
  }

  std::string fragment(Bytes& f) {
    L2 l2;
    Ip ip;
    if (!parse_outer(f, &l2, &ip)) return "frag(none)";
    if (ip.v6) return ext_headers(f);
    uint16_t fo = rd16(f, l2.l3 + 6) & 0x4000;
    switch (r_.below(3)) {
      case 0: fo |= 0x2000; break;                               // first fragment
      case 1: fo |= uint16_t(1 + r_.below(0x1fff)); break;        // last fragment
      default: fo |= uint16_t(0x2000 | (1 + r_.below(0x1fff)));  // middle
    }
    wr16(f, l2.l3 + 6, fo);
    return "frag(" + std::to_string(fo) + ")";
  }

  std::string vlan(Bytes& f) {
    if (f.size() < 14) return "vlan(none)";
    uint16_t type = rd16(f, 12);
    if ((type == kEthVlan || type == kEthQinQ) && r_.chance(2) && f.size() >= 18) {
      f.erase(f.begin() + 12, f.begin() + 16);
      return "vlan(removed)";
    }
    uint16_t tpid = r_.chance(3) ? kEthQinQ : kEthVlan;
    uint16_t tci = uint16_t(r_.chance(4) ? r_.below(0x10000) : 1 + r_.below(4094));
    insert_at(f, 12, {uint8_t(tpid >> 8), uint8_t(tpid), uint8_t(tci >> 8), uint8_t(tci)});
    return tpid == kEthQinQ ? "vlan(802.1ad)" : "vlan(802.1q)";
  }

  // An ICMP error quoting this frame's IP packet (or random bytes) from an
  // interesting address to an interesting address.
  std::string icmp_wrap(Bytes& f) {
    L2 l2;
    Ip ip;
    bool has_ip = parse_outer(f, &l2, &ip);
    bool v6 = has_ip ? ip.v6 : r_.chance(2);
    Bytes q;
    if (has_ip && !r_.chance(5)) {
      q.assign(f.begin() + l2.l3, f.end());
    } else {
      q.resize(r_.below(80));
      for (auto& b : q) b = r_.byte();
    }
    q.resize(r_.chance(2) ? std::min<size_t>(q.size(), 8 + r_.below(80)) : q.size());
    static const uint8_t t4[] = {3, 3, 11, 4, 5, 12, 0, 8};
    static const uint8_t t6[] = {1, 2, 3, 4, 1, 128, 129, 135};
    uint8_t type = v6 ? t6[r_.below(8)] : t4[r_.below(8)];
    uint8_t code = uint8_t(r_.chance(2) ? (v6 ? 0 : 4) : r_.below(16));
    Addr src = interesting(v6), dst = interesting(v6);
    if (has_ip && r_.chance(2)) dst = ip.src;  // to the quoted sender, as real errors go
    std::string s = to_text(src), d = to_text(dst);
    Frame fr;
    fr.eth(nat::kPeerMac, kFixtureMac);
    Bytes out;
    if (v6) {
      Ipv6 h;
      h.src = s;
      h.dst = d;
      h.next_header = kIcmp6;
      out = fr.ipv6(h).payload(icmp6_message(type, code, 1280, q, s, d)).build();
    } else {
      Ipv4 h;
      h.src = s;
      h.dst = d;
      h.proto = kIcmp;
      out = fr.ipv4(h).payload(icmp4_message(type, code, 1400, q)).build();
    }
    f = out;
    return "icmp(" + std::to_string(type) + "/" + std::to_string(code) + ")";
  }

  std::string ethertype(Bytes& f) {
    L2 l2;
    if (!parse_l2(f, &l2)) return "ethertype(none)";
    static const uint16_t types[] = {kEthIp, kEthIpv6, kEthVlan, 0x0806, 0x88cc};
    uint16_t t = r_.chance(5) ? uint16_t(r_.below(0x10000)) : types[r_.below(5)];
    wr16(f, l2.l3 - 2, t);
    return "ethertype(" + std::to_string(t) + ")";
  }

  // IP-in-IP around this frame's IP packet, to an interesting address.
  std::string ipip_wrap(Bytes& f) {
    L2 l2;
    Ip ip;
    if (!parse_outer(f, &l2, &ip)) return "ipip(none)";
    if ((f[l2.l3] >> 4) != (ip.v6 ? 6 : 4) || l2.tags > 1) return "ipip(none)";  // the kit's encap needs that
    bool v6 = r_.chance(2);
    Addr dst = interesting(v6);
    Bytes out = v6 ? encap_ipv6(f, to_text(interesting(true)), to_text(dst))
                   : encap_ipv4(f, to_text(interesting(false)), to_text(dst));
    f = out;
    return std::string("ipip(") + (v6 ? "6" : "4") + ")";
  }

  std::string splice(Bytes& f) {
    const Bytes& other = r_.pick(seeds_).frame;
    size_t at = r_.below(uint32_t(std::min(f.size(), other.size()) + 1));
    f.resize(at);
    f.insert(f.end(), other.begin() + at, other.end());
    return "splice(" + std::to_string(at) + ")";
  }

  // The source or destination address replaced by an interesting one.
  std::string readdress(Bytes& f) {
    L2 l2;
    Ip ip;
    if (!parse_outer(f, &l2, &ip)) return "readdress(none)";
    Addr a = interesting(ip.v6);
    bool dst = r_.chance(2);
    size_t off = l2.l3 + (ip.v6 ? (dst ? 24 : 8) : (dst ? 16 : 12));
    std::copy(a.begin() + 1, a.end(), f.begin() + off);
    return dst ? "readdress(dst)" : "readdress(src)";
  }

  std::string tcp_flags(Bytes& f) {
    L2 l2;
    Ip ip;
    if (!parse_outer(f, &l2, &ip) || ip.proto != kTcp || l2.l3 + ip.hlen + 14 > f.size())
      return "flags(none)";
    f[l2.l3 + ip.hlen + 13] = r_.byte();
    return "flags";
  }

  Addr interesting(bool v6) {
    for (int i = 0; i < 8; i++) {
      const Addr& a = r_.pick(interesting_);
      if ((a[0] == '6') == v6) return a;
    }
    return v6 ? Addr("6") + std::string(16, '\x01') : Addr("4") + std::string(4, '\x01');
  }

  static std::string to_text(const Addr& a) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(a[0] == '6' ? AF_INET6 : AF_INET, a.data() + 1, buf, sizeof buf);
    return buf;
  }

  Rng& r_;
  const std::vector<Seed>& seeds_;
  const std::vector<Addr>& interesting_;
};

// ---- the fixture: every mode at once -----------------------------------------------

Addr addr_of(const std::string& text) {
  xlb_addr a = abi_addr(text);
  bool v6 = nat::is_v6(text);
  return Addr(1, v6 ? '6' : '4') + std::string(reinterpret_cast<const char*>(&a), v6 ? 16 : 4);
}

// Per family: one VIP address per mode, TCP port 80 and UDP port 53 on each.
struct ModeVips {
  uint8_t mode;
  const char* v4;
  const char* v6;
};
const ModeVips kModes[] = {
    {XLB_MODE_IPIP, "198.18.100.1", "fd00:100::1"},
    {XLB_MODE_L2DSR, "198.18.100.2", "fd00:100::2"},
    {XLB_MODE_NAT, "198.18.100.3", "fd00:100::3"},
    {XLB_MODE_FULLNAT, "198.18.100.4", "fd00:100::4"},
};
const uint8_t kScheds[] = {XLB_SCHED_MAGLEV, XLB_SCHED_LEAST_CONN, XLB_SCHED_RR,
                           XLB_SCHED_WRR,    XLB_SCHED_RANDOM,     XLB_SCHED_SRC_HASH};
constexpr uint16_t kNatBackendPort = 8080;  // TCP nat/fullnat backends; UDP keeps 53
constexpr uint16_t kSnatMin = 20000, kSnatMax = 20007;

struct Stats {
  std::map<std::string, uint64_t> lb, decap;
  std::map<std::string, uint64_t> forwarded;  // by forward_kind()
  uint64_t checked_sums = 0;  // forwarded with every input checksum valid
};

class Fuzz : public nat::NatFixture {
 protected:
  void SetUp() override {
    NatFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    configure_lb();
    load_decap();
    seeds_ = make_seeds();
    for (const Seed& s : seeds_) {
      L2 l2;
      Ip ip;
      if (parse_outer(s.frame, &l2, &ip)) {
        interesting_.push_back(ip.src);
        interesting_.push_back(ip.dst);
      }
    }
  }
  void TearDown() override {
    if (decap_) decap_bpf__destroy(decap_);
    NatFixture::TearDown();
  }

  void configure_lb() {
    uint32_t next_backend = 1;
    int k = 0;
    for (const Family* f : {&kV4, &kV6}) {
      for (const ModeVips& m : kModes) {
        for (uint8_t proto : {uint8_t(IPPROTO_TCP), uint8_t(IPPROTO_UDP)}) {
          std::string vip = f->v6 ? m.v6 : m.v4;
          uint16_t port = proto == IPPROTO_TCP ? 80 : 53;
          uint32_t v = add_vip(vip, port, proto, 13, kScheds[k++ % 6]);
          set_mode(v, m.mode);
          bool nat = m.mode == XLB_MODE_NAT || m.mode == XLB_MODE_FULLNAT;
          uint16_t be_port = nat && proto == IPPROTO_TCP ? kNatBackendPort : 0;
          // ipip IPv4 UDP: IPv6 backends (IPv4-in-IPv6); ipip TCP also has
          // one behind the gateway.
          bool v6_be = f->v6 || (m.mode == XLB_MODE_IPIP && proto == IPPROTO_UDP);
          std::vector<std::string> addrs = {v6_be ? kV6.backend : kV4.backend, v6_be ? kV6.backend2 : kV4.backend2};
          if (m.mode == XLB_MODE_IPIP && proto == IPPROTO_TCP) addrs.push_back(f->v6 ? "fd00:19::50" : "198.19.0.50");
          std::vector<uint32_t> ids;
          for (const std::string& a : addrs) {
            add_backend(next_backend, v, a, 1 + ids.size(), be_port);
            ids.push_back(next_backend++);
            backends_.insert(addr_of(a));
            if (m.mode == XLB_MODE_L2DSR) l2dsr_macs_.insert(mac_of_neighbour(a));
          }
          for (uint32_t slot = 0; slot < 13; slot++)
            ASSERT_EQ(bpf_map_update_elem(ring_fds_[v], &slot, &ids[slot % ids.size()], BPF_ANY), 0);
          set_list(v, ids);
          (m.mode == XLB_MODE_L2DSR ? l2dsr_vips_ : vip_addrs_).insert(addr_of(vip));
          vips_.push_back({vip, port, proto, m.mode});
        }
      }
    }
    for (const Family* f : {&kV4, &kV6}) {
      clients_.insert(addr_of(f->client));
      clients_.insert(addr_of(f->client2));
      snat_.insert(addr_of(f->snat));
    }
    nat_config(kSnatMin, kSnatMax);
  }

  static Mac mac_of_neighbour(const std::string& a) {
    // Neighbours 10 and 11 of the fixture (kV4/kV6 backend, backend2).
    return fixture_neigh_mac(a == kV4.backend || a == kV6.backend ? 10 : 11);
  }

  void load_decap() {
    decap_ = decap_bpf__open();
    ASSERT_NE(decap_, nullptr);
    bpf_map* m;
    bpf_object__for_each_map(m, decap_->obj) bpf_map__set_pin_path(m, nullptr);
    ASSERT_EQ(decap_bpf__load(decap_), 0);
    for (const char* a : {kV4.backend, kV6.backend}) {
      xlb_decap_addr_key k;
      std::memset(&k, 0, sizeof k);
      k.addr = abi_addr(a);
      k.family = nat::is_v6(a) ? XLB_AF_INET6 : XLB_AF_INET;
      uint32_t one = 1;
      ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(decap_->maps.xlb_decap_addrs), &k, &one, BPF_ANY), 0);
      decap_addrs_.insert(addr_of(a));
    }
  }

  struct Vip {
    std::string addr;
    uint16_t port;
    uint8_t proto;
    uint8_t mode;
  };

  std::vector<Seed> make_seeds() {
    std::vector<Seed> s;
    auto add = [&](const std::string& name, Bytes b) { s.push_back({name, std::move(b)}); };
    for (const Vip& v : vips_) {
      const Family& f = nat::is_v6(v.addr) ? kV6 : kV4;
      std::string tag = std::string(f.name) + " " + nat::proto_name(v.proto) + " mode " + std::to_string(v.mode);
      bool tcp = v.proto == IPPROTO_TCP;
      for (uint8_t flags : {uint8_t(kTcpSyn), uint8_t(kTcpAck), uint8_t(kTcpAck | kTcpFin), uint8_t(kTcpRst)}) {
        if (!tcp && flags != kTcpSyn) continue;
        add(std::string(flags == kTcpSyn ? "to VIP (new) " : "to VIP (mid-flow) ") + tag,
            tcp_or_udp(f.client, 40000, v.addr, v.port, v.proto, flags));
      }
      add("to VIP (new) client2 " + tag, tcp_or_udp(f.client2, 40001, v.addr, v.port, v.proto));
      add("VIP unserved port " + tag, tcp_or_udp(f.client, 40000, v.addr, 8081, v.proto));
      // Replies and errors, as the backend and routers send them.
      bool nat = v.mode == XLB_MODE_NAT || v.mode == XLB_MODE_FULLNAT;
      uint16_t bp = tcp ? kNatBackendPort : v.port;
      // ICMP about our reply (VIP -> client), from a router: the DSR/PMTU case.
      Bytes reply = tcp_or_udp(v.addr, v.port, f.client, 40000, v.proto, kTcpSyn | kTcpAck);
      add("ICMP error about a reply " + tag,
          icmp_error(f.router, v.addr, reply, f.v6, f.v6 ? 2 : 3, f.v6 ? 0 : 4, 1280));
      add("ICMP time exceeded about a reply " + tag, icmp_error(f.router, v.addr, reply, f.v6, f.v6 ? 3 : 11, 0, 0));
      add("ICMP echo to VIP " + tag, icmp_echo(f.client, v.addr, f.v6));
      if (!nat) continue;
      for (const char* be : {f.backend, f.backend2}) {
        if (v.mode == XLB_MODE_NAT) {
          add("nat reply " + tag, tcp_or_udp(be, bp, f.client, 40000, v.proto, kTcpSyn | kTcpAck));
          add("nat reply FIN " + tag, tcp_or_udp(be, bp, f.client, 40000, v.proto, kTcpFin | kTcpAck));
          Bytes fwd = tcp_or_udp(f.client, 40000, be, bp, v.proto);
          add("ICMP from backend about nat flow " + tag,
              icmp_error(be, f.client, fwd, f.v6, f.v6 ? 1 : 3, f.v6 ? 4 : 3, 0));
          add("ICMP from router about nat flow " + tag,
              icmp_error(f.router, f.client, fwd, f.v6, f.v6 ? 2 : 3, f.v6 ? 0 : 4, 1400));
        } else {
          for (uint16_t p = kSnatMin; p <= kSnatMax; p++) {
            add("fullnat reply " + tag, tcp_or_udp(be, bp, f.snat, p, v.proto, kTcpSyn | kTcpAck));
            Bytes fwd = tcp_or_udp(f.snat, p, be, bp, v.proto);
            add("ICMP from backend about fullnat flow " + tag,
                icmp_error(be, f.snat, fwd, f.v6, f.v6 ? 2 : 3, f.v6 ? 0 : 4, 1400));
          }
        }
      }
    }
    for (const Family* f : {&kV4, &kV6}) {
      const Family& fam = *f;
      std::string vip = fam.v6 ? kModes[0].v6 : kModes[0].v4;
      Bytes to_vip = tcp_or_udp(fam.client, 40000, vip, 80, IPPROTO_TCP);
      add(std::string("not a VIP ") + fam.name, tcp_or_udp(fam.client, 40000, fam.v6 ? "fd00:55::5" : "198.18.55.5", 80, IPPROTO_TCP));
      add(std::string("backend to client, no flow ") + fam.name, tcp_or_udp(fam.backend, 9999, fam.client, 40000, IPPROTO_UDP));
      add(std::string("ICMP echo, not a VIP ") + fam.name, icmp_echo(fam.client, fam.backend2, fam.v6));
      Bytes tagged = to_vip;
      insert_at(tagged, 12, {0x81, 0x00, 0x00, 0x64});
      add(std::string("VLAN to VIP ") + fam.name, tagged);
      Bytes qinq = tagged;
      insert_at(qinq, 12, {0x88, 0xa8, 0x00, 0xc8});
      add(std::string("QinQ to VIP ") + fam.name, qinq);
      // IP-in-IP for decap: to the backend's own address, and to another.
      for (const Bytes& inner : {to_vip, tcp_or_udp(fam.client, 40000, vip, 53, IPPROTO_UDP)}) {
        add(std::string("4in4/6in4 decap ") + fam.name, encap_ipv4(inner, kV4.snat, kV4.backend));
        add(std::string("6in6/4in6 decap ") + fam.name, encap_ipv6(inner, kV6.snat, kV6.backend));
        add(std::string("IP-in-IP not ours ") + fam.name, encap_ipv4(inner, kV4.snat, "198.18.0.99"));
      }
      Bytes tagged_tunnel = encap_ipv4(tagged, kV4.snat, kV4.backend);
      add(std::string("VLAN IP-in-IP decap ") + fam.name, tagged_tunnel);
    }
    {
      // IPv4 with options, IPv4 fragments, and IPv6 extension headers, to VIPs.
      Ipv4 ip;
      ip.src = kV4.client;
      ip.dst = kModes[2].v4;
      ip.options = {0x94, 0x04, 0x00, 0x00};
      Tcp t;
      add("IPv4 options to nat VIP", Frame().eth(nat::kPeerMac, kFixtureMac).ipv4(ip).tcp(t).payload("x").build());
      ip.options.clear();
      ip.mf = true;
      ip.id = 77;
      add("IPv4 first fragment to VIP", Frame().eth(nat::kPeerMac, kFixtureMac).ipv4(ip).tcp(t).payload("frag").build());
      ip.mf = false;
      ip.frag_offset = 3;
      ip.proto = kTcp;
      add("IPv4 last fragment to VIP", Frame().eth(nat::kPeerMac, kFixtureMac).ipv4(ip).payload("tail of it").build());
      for (uint8_t kind : {kHopByHop, kDstOpts, kRouting, kFragment}) {
        Bytes f6 = tcp_or_udp(kV6.client, 40000, kModes[kind % 4].v6, 80, IPPROTO_TCP);
        Bytes ext = kind == kFragment ? Bytes{kTcp, 0, 0, 1, 0, 0, 0, 9}  // first fragment, M set
                                      : Bytes{kTcp, 0, 1, 4, 0, 0, 0, 0};  // PadN
        if (kind == kRouting) ext = {kTcp, 0, 0, 0, 0, 0, 0, 0};          // type 0, segments left 0
        f6[14 + 6] = kind;
        insert_at(f6, 14 + 40, ext);
        wr16(f6, 14 + 4, uint16_t(rd16(f6, 14 + 4) + 8));
        add("IPv6 extension header " + std::to_string(kind) + " to VIP", f6);
      }
      // The rest of the datagrams whose first fragments are seeds (frag.h):
      // a later fragment follows its first to the flow's backend when the
      // first ran before it, and is dropped otherwise.
      for (int m : {0, 1}) {
        Ipv4 fr;
        fr.src = kV4.client;
        fr.dst = kModes[m].v4;
        fr.id = uint16_t(78 + m);
        fr.mf = true;
        add(std::string("IPv4 first fragment to ") + kModes[m].v4,
            Frame().eth(nat::kPeerMac, kFixtureMac).ipv4(fr).tcp(t).payload("frag").build());
        fr.mf = false;
        fr.frag_offset = 3;
        fr.proto = kTcp;
        add(std::string("IPv4 later fragment to ") + kModes[m].v4,
            Frame().eth(nat::kPeerMac, kFixtureMac).ipv4(fr).payload("tail of it").build());
      }
      Bytes later6 = tcp_or_udp(kV6.client, 40000, kModes[0].v6, 80, IPPROTO_TCP);
      later6[14 + 6] = kFragment;
      later6.resize(14 + 40 + 8);  // 8 bytes of data after the fragment header
      insert_at(later6, 14 + 40, Bytes{kTcp, 0, 0, 24, 0, 0, 0, 9});  // offset 24, last; id 9
      wr16(later6, 14 + 4, 16);
      add("IPv6 later fragment to VIP", later6);
    }
    add("ARP", Frame().eth(nat::kPeerMac, kFixtureMac).ethertype(0x0806).payload(Bytes(28, 1)).build());
    return s;
  }

  // ---- the oracle -------------------------------------------------------------------

  // Clients the lb knows of: the seed clients, plus the sources of every
  // flow entry and nat reply entry (a mutated packet to a nat VIP makes a
  // new client whose replies are translated too). Only consulted when the
  // seed clients do not match.
  bool known_client(const Addr& a) const {
    if (clients_.count(a)) return true;
    bool v6 = a[0] == '6';
    auto matches = [&](const xlb_flow_key& k) {
      return (k.family == XLB_AF_INET6) == v6 &&
             std::memcmp(&k.src, a.data() + 1, v6 ? 16 : 4) == 0;
    };
    int fd = bpf_map__fd(skel_->maps.xlb_flows);
    xlb_flow_key cur, next;
    void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      if (matches(next)) return true;
      cur = next;
      prev = &cur;
    }
    for (const auto& [k, v] : nat_revs())
      if (matches(v.fwd)) return true;
    return false;
  }

  bool lb_answers_for(const Addr& dst) const {
    return vip_addrs_.count(dst) || l2dsr_vips_.count(dst) || snat_.count(dst) || known_client(dst);
  }

  static bool is_neighbour_mac(const uint8_t* m) {
    for (int n = 2; n <= 20; n++) {
      Mac x = fixture_neigh_mac(n);
      if (std::memcmp(m, x.data(), 6) == 0) return true;
    }
    return false;
  }

  // "" when the lb's handling of in is right, else why not.
  std::string check_lb(const Bytes& in, const RunResult& r) const {
    if (r.error) return std::string("prog-run failed: ") + std::strerror(r.error);
    if (r.verdict == XDP_ABORTED) return "XDP_ABORTED";
    if (r.verdict != XDP_DROP && r.verdict != XDP_PASS && r.verdict != XDP_TX && r.verdict != XDP_REDIRECT)
      return "unknown verdict " + std::to_string(r.verdict);
    L2 l2;
    Ip ip;
    bool parsed = parse_outer(in, &l2, &ip);
    bool untouched = r.verdict == XDP_PASS && r.out == in;
    // known_client() walks the maps: only asked when the answer matters.
    if (!untouched && !(parsed && lb_answers_for(ip.dst)))
      return "a packet for no VIP did not leave unchanged with XDP_PASS";
    if (r.verdict == XDP_PASS && r.out != in) return "XDP_PASS with a changed frame";
    if (r.verdict == XDP_TX || r.verdict == XDP_REDIRECT) return check_forwarded(in, r.out);
    return "";
  }

  std::string check_forwarded(const Bytes& in, const Bytes& out) const {
    L2 l2, il2;
    Ip ip, iip;
    if (!parse_l2(out, &l2)) return "output has no Ethernet header";
    if (l2.type != kEthIp && l2.type != kEthIpv6) return "output ethertype is not IP";
    if (!parse_ip(out, l2.l3, out.size(), l2.type == kEthIp ? 4 : 6, &ip))
      return "output IP version does not match the ethertype, or header cut";
    if (!ip.hdr_complete || !ip.len_ok) return "output IP length inconsistent with the frame";
    bool in_ip = parse_outer(in, &il2, &iip) && iip.len_ok;
    long trailing_in = in_ip ? long(in.size() - il2.l3 - iip.len) : 0;
    long trailing_out = long(out.size() - l2.l3 - ip.len);
    if (trailing_out > std::max(trailing_in, 0L)) return "output carries more bytes after the IP packet than the input";

    // MACs: to a neighbour (or back to the sender), from us.
    if (!is_neighbour_mac(&out[0]) && std::memcmp(&out[0], &in[6], 6) != 0) return "destination MAC is no neighbour's";
    if (std::memcmp(&out[6], kFixtureMac.data(), 6) != 0 && std::memcmp(&out[6], &in[0], 6) != 0)
      return "source MAC is not ours";

    Sums si = sums_of(in), so = sums_of(out);
    bool encapsulated = (ip.proto == kIpip || ip.proto == kIpv6) &&
                        !(in_ip && iip.proto == ip.proto && iip.dst == ip.dst);
    const Ip* inner = &ip;
    Ip enc_inner;
    if (encapsulated) {
      if (!backends_.count(ip.dst)) return "encapsulated to no backend";
      if (!ip.v6 && inet_checksum(&out[l2.l3], ip.hlen) != 0) return "outer IPv4 header checksum wrong";
      if (!parse_ip(out, l2.l3 + ip.hlen, l2.l3 + ip.len, ip.proto == kIpip ? 4 : 6, &enc_inner))
        return "inner IP version does not match the outer protocol";
      if (!enc_inner.len_ok || enc_inner.len != ip.len - ip.hlen)
        return "outer length is not the inner packet's length";
      if (!in_ip || !std::equal(out.begin() + l2.l3 + ip.hlen, out.begin() + l2.l3 + ip.len, in.begin() + il2.l3,
                                in.begin() + il2.l3 + iip.len) || iip.len != enc_inner.len)
        return "inner packet differs from the input's IP packet";
      inner = &enc_inner;
    } else {
      bool to_sender = (ip.proto == kIcmp || ip.proto == kIcmp6) && in_ip && ip.dst == iip.src;
      bool l2dsr = l2dsr_vips_.count(ip.dst) && l2dsr_macs_.count(mac_at(out, 0));
      if (!backends_.count(ip.dst) && !to_sender && !l2dsr && !known_client(ip.dst))
        return "destination is neither a backend nor a client";
      // An ICMP message made from a packet that was no ICMP (an echo reply is
      // ICMP in, a translated error too: their checksums follow the input's).
      if (to_sender && si.icmp == Sum::kNone && so.icmp != Sum::kOk)
        return "ICMP message made for the sender has a wrong checksum";
    }
    // The forwarded TCP/UDP header lies inside the IP length.
    if ((inner->proto == kTcp || inner->proto == kUdp) && !inner->frag &&
        inner->len - inner->hlen < (inner->proto == kTcp ? 20u : 8u))
      return "TCP/UDP header beyond the IP length";
    if (si.v4_headers && !si.v4_bad && so.v4_bad) return "an IPv4 header checksum went wrong";
    if (si.l4 == Sum::kOk && so.l4 != Sum::kOk) return "the TCP/UDP checksum or lengths went wrong";
    if (si.icmp == Sum::kOk && so.icmp == Sum::kBad) return "the ICMP checksum went wrong";
    return "";
  }

  // What a forwarded frame is, for the summary: how much each path was hit.
  static std::string forward_kind(const Bytes& in, const Bytes& out) {
    L2 l2;
    Ip ip;
    if (!parse_outer(out, &l2, &ip)) return "other";
    if (out.size() > in.size()) return "encapsulated";
    if (ip.proto == kIcmp || ip.proto == kIcmp6) return "icmp";
    if (std::equal(out.begin() + 12, out.end(), in.begin() + 12, in.end())) return "l2dsr";
    return "rewritten";
  }

  static Mac mac_at(const Bytes& f, size_t off) {
    Mac m;
    std::copy(f.begin() + off, f.begin() + off + 6, m.begin());
    return m;
  }

  std::string check_decap(const Bytes& in, const RunResult& r) const {
    if (r.error) return std::string("decap prog-run failed: ") + std::strerror(r.error);
    if (r.verdict != XDP_PASS && r.verdict != XDP_DROP)
      return "decap verdict " + xdp_verdict_name(r.verdict);
    L2 l2;
    Ip ip;
    bool ours = parse_outer(in, &l2, &ip) && decap_addrs_.count(ip.dst);
    if (!ours && (r.verdict != XDP_PASS || r.out != in)) return "decap: not ours, but not passed unchanged";
    if (r.verdict != XDP_PASS || r.out == in) return "";
    // Decapsulated: the input minus its outer header.
    const Bytes& out = r.out;
    if (out.size() >= in.size()) return "decap: changed but not shorter";
    size_t strip = in.size() - out.size();
    if (!ip.v6 && strip != ip.hlen) return "decap: stripped other than the outer IPv4 header";
    if (ip.v6 && (strip < 40 || strip % 8)) return "decap: stripped other than an IPv6 header";
    int inner_v = ip.proto == kIpip ? 4 : ip.proto == kIpv6 ? 6 : 0;
    Bytes want(in.begin(), in.begin() + l2.l3);
    want.insert(want.end(), in.begin() + l2.l3 + strip, in.end());
    wr16(want, l2.l3 - 2, inner_v == 4 ? kEthIp : kEthIpv6);
    if (!inner_v || want.size() < l2.l3 + 20 || (want[l2.l3] >> 4) != inner_v) return "decap: inner is not IPv4/IPv6 as announced";
    // RFC 6040: only the inner ECN field may change, to CE under an outer CE.
    auto ecn = [&](const Bytes& f, size_t l3, bool v6) {
      return v6 ? (f[l3 + 1] >> 4) & 3 : f[l3 + 1] & 3;
    };
    Bytes a = want, b = out;
    int want_ecn = ecn(want, l2.l3, inner_v == 6), got_ecn = ecn(out, l2.l3, inner_v == 6);
    if (want_ecn != got_ecn) {
      if (got_ecn != 3 || want_ecn == 0 || ecn(in, l2.l3, ip.v6) != 3) return "decap: inner ECN changed against RFC 6040";
    }
    // The ECN bits sit in byte 1 of either header (IPv6: with flow label bits).
    size_t ecn_byte = l2.l3 + 1;
    a[ecn_byte] = b[ecn_byte] = 0;
    if (inner_v == 4) a[l2.l3 + 10] = a[l2.l3 + 11] = b[l2.l3 + 10] = b[l2.l3 + 11] = 0;
    if (a != b) return "decap: output is not the input minus its outer header";
    if (inner_v == 4) {
      size_t ihl = (want[l2.l3] & 0x0f) * 4u;
      if (ihl >= 20 && l2.l3 + ihl <= want.size() && inet_checksum(&want[l2.l3], ihl) == 0 &&
          inet_checksum(&out[l2.l3], ihl) != 0)
        return "decap: inner IPv4 checksum went wrong";
    }
    return "";
  }

  // Clears flows, nat reply entries and connection counts, then runs the
  // seeds once (checked like any packet) so replies find their flows.
  void reset_state(const std::function<void(const Seed&, const Bytes&)>& run_one) {
    for (bpf_map* m : {skel_->maps.xlb_flows, skel_->maps.xlb_nat_rev, skel_->maps.xlb_frags}) {
      int fd = bpf_map__fd(m);
      std::vector<uint8_t> key(bpf_map__key_size(m)), next(key.size());
      while (bpf_map_get_next_key(fd, nullptr, next.data()) == 0) bpf_map_delete_elem(fd, next.data());
    }
    int cfd = bpf_map__fd(skel_->maps.xlb_conns);
    xlb_backend_key k, nk;
    void* prev = nullptr;
    while (bpf_map_get_next_key(cfd, prev, &nk) == 0) {
      xlb_conn_count zero{};
      bpf_map_update_elem(cfd, &nk, &zero, BPF_EXIST);
      k = nk;
      prev = &k;
    }
    for (const Seed& s : seeds_) run_one(s, s.frame);
  }

  decap_bpf* decap_ = nullptr;
  std::vector<Vip> vips_;
  std::vector<Seed> seeds_;
  std::vector<Addr> interesting_;
  std::set<Addr> vip_addrs_, l2dsr_vips_, snat_, clients_, backends_, decap_addrs_;
  std::set<Mac> l2dsr_macs_;
};

TEST_F(Fuzz, MutatedPackets) {
  // A fixed seed by default, so the ctest run judges the same packets every
  // time (docs/testing.md: no chance in a verdict); XLB_FUZZ_SEED=random
  // explores.
  const char* seed_env = std::getenv("XLB_FUZZ_SEED");
  const uint64_t seed = seed_env && std::string(seed_env) == "random"
                            ? mix(uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()))
                            : env_u64("XLB_FUZZ_SEED", kDefaultSeed);
  const uint64_t packets = env_u64("XLB_FUZZ_PACKETS", kDefaultPackets);
  const uint64_t max_failures = env_u64("XLB_FUZZ_MAX_FAILURES", 5);
  std::cout << "[ fuzz     ] XLB_FUZZ_SEED=" << seed << " XLB_FUZZ_PACKETS=" << packets << " ("
            << seeds_.size() << " seed frames)" << std::endl;
  PinnedToOneCpu pin;
  Stats st;
  uint64_t failures = 0;
  int decap_fd = bpf_program__fd(decap_->progs.xlb_decap);

  // Runs one frame through both programs and checks both; false on failure.
  auto run_one = [&](uint64_t index, const Seed& s, const std::string& how, const Bytes& in) {
    RunResult lb = run(in);
    RunResult dc = run_xdp(decap_fd, in);
    st.lb[xdp_verdict_name(lb.verdict)]++;
    st.decap[xdp_verdict_name(dc.verdict)]++;
    if (lb.verdict == XDP_TX || lb.verdict == XDP_REDIRECT) st.forwarded[forward_kind(in, lb.out)]++;
    std::string why = check_lb(in, lb);
    const RunResult* bad = &lb;
    if (why.empty()) {
      why = check_decap(in, dc);
      bad = &dc;
    }
    if (why.empty()) return true;
    failures++;
    ADD_FAILURE() << "fuzz failure: " << why << "\n  program: " << (bad == &lb ? "xlb_lb" : "xlb_decap")
                  << " -> " << xdp_verdict_name(bad->verdict) << "\n  replay: XLB_FUZZ_SEED=" << seed
                  << " XLB_FUZZ_PACKETS=" << index + 1 << " (packet index " << index << ")\n  seed frame: "
                  << s.name << "\n  mutations: " << how << "\n  input:\n"
                  << hexdump(in) << "  output:\n" << hexdump(bad->out);
    return false;
  };

  // The seeds themselves, unmutated: every packet to a VIP's served port
  // must be forwarded, or the configuration above tests nothing.
  reset_state([&](const Seed& s, const Bytes& in) { run_one(~0ull, s, "none (seed)", in); });
  for (const Seed& s : seeds_) {
    if (s.name.rfind("to VIP (new) ", 0) != 0) continue;
    RunResult r = run(s.frame);
    EXPECT_EQ(xdp_verdict_name(r.verdict), "XDP_TX") << s.name << "\n" << hexdump(s.frame);
  }

  auto t0 = std::chrono::steady_clock::now();
  uint64_t done = 0;
  for (uint64_t i = 0; i < packets && failures < max_failures; i++, done++) {
    if (i && i % kResetEvery == 0)
      reset_state([&](const Seed& s, const Bytes& in) { run_one(i, s, "none (seed, after reset)", in); });
    Rng rng(mix(seed ^ mix(i)));
    const Seed& s = rng.pick(seeds_);
    Bytes f = s.frame;
    Mutator mu(rng, seeds_, interesting_);
    std::string how;
    int n = 1 + int(rng.below(2)) + int(rng.chance(4)) + int(rng.chance(8));
    for (int k = 0; k < n; k++) how += (k ? " " : "") + mu.mutate(f);
    if (rng.chance(2)) {
      fix_sums(f);
      how += " +checksums";
    }
    if (run_one(i, s, how, f) && !f.empty()) {
      Sums si = sums_of(f);
      if (si.l4 == Sum::kOk && !si.v4_bad) st.checked_sums++;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::ostringstream os;
  os << "[ fuzz     ] " << done << " packets in " << secs << " s; xlb_lb:";
  for (auto& [k, v] : st.lb) os << " " << k << "=" << v;
  os << "; xlb_decap:";
  for (auto& [k, v] : st.decap) os << " " << k << "=" << v;
  os << "; forwarded:";
  for (auto& [k, v] : st.forwarded) os << " " << k << "=" << v;
  os << "; every checksum valid: " << st.checked_sums;
  os << "; fragments: first=" << gstat(XLB_STAT_FRAG_FIRST).packets
     << " forwarded=" << gstat(XLB_STAT_FRAG_FORWARDED).packets
     << " unknown=" << gstat(XLB_STAT_DROP_FRAG_UNKNOWN).packets << " nat=" << gstat(XLB_STAT_DROP_FRAG_NAT).packets
     << " short=" << gstat(XLB_STAT_DROP_FRAG_SHORT).packets << " passed=" << gstat(XLB_STAT_PASS_FRAGMENT).packets;
  std::cout << os.str() << std::endl;
  // The mix must reach every outcome, or the mutations have gone stale.
  if (packets >= 5000) {
    for (const char* v : {"XDP_TX", "XDP_PASS", "XDP_DROP"}) EXPECT_GT(st.lb[v], 0u) << v;
    EXPECT_GT(st.decap["XDP_PASS"], 0u);
    EXPECT_GT(gstat(XLB_STAT_FRAG_FORWARDED).packets, 0u) << "no later fragment reached its backend";
  }
}

}  // namespace
}  // namespace xlb::test::fuzz
