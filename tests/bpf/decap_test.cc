// Packet tests of bpf/decap.bpf.c (xlb_decap) through BPF_PROG_TEST_RUN:
// table-driven {description, input frame, expected verdict, expected output,
// expected counter}, Katran style. The skeleton is loaded with pinning turned
// off, so nothing appears under /sys/fs/bpf, and is never attached.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "decap.skel.h"
#include "kit/packet.h"
#include "kit/percpu_counters.h"
#include "bpf_test.h"
#include "xlb/abi.h"

namespace xlb::test {
namespace {

// The backend's own addresses (in xlb_decap_addrs) and others.
constexpr const char* kOurs4 = "198.18.0.10";
constexpr const char* kOurs6 = "fd00:18::10";
constexpr const char* kOther4 = "198.18.0.99";
constexpr const char* kOther6 = "fd00:18::99";
constexpr const char* kLb4 = "198.18.0.1";
constexpr const char* kLb6 = "fd00:18::1";

const Mac kBackendMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
const Mac kLbMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

// ---- frames ------------------------------------------------------------------

Bytes client_tcp4(std::optional<uint16_t> vlan = std::nullopt) {
  Frame f;
  f.eth(kLbMac, kBackendMac);
  if (vlan) f.vlan(*vlan);
  Ipv4 ip;
  ip.src = "198.18.200.7";
  ip.dst = "198.18.100.1";  // the VIP
  ip.tos = 0x28;
  ip.id = 0x1234;
  ip.df = true;
  Tcp tcp;
  tcp.sport = 51000;
  tcp.dport = 80;
  tcp.flags = kTcpSyn;
  return f.ipv4(ip).tcp(tcp).payload("GET / HTTP/1.0\r\n\r\n").build();
}

Bytes client_udp6(std::optional<uint16_t> vlan = std::nullopt) {
  Frame f;
  f.eth(kLbMac, kBackendMac);
  if (vlan) f.vlan(*vlan);
  Ipv6 ip;
  ip.src = "fd00:200::7";
  ip.dst = "fd00:100::1";  // the VIP
  ip.tclass = 0x10;
  ip.flow_label = 0x12345;
  Udp udp;
  udp.sport = 51000;
  udp.dport = 53;
  return f.ipv6(ip).udp(udp).payload("query").build();
}

Bytes truncate(Bytes b, size_t n) {
  b.resize(n);
  return b;
}

struct Case {
  std::string description;
  Bytes in;
  int verdict;
  Bytes out;      // expected output frame (ignored for XDP_DROP)
  __u32 stat;     // the one counter besides RX that must count the frame
};

std::vector<Case> cases() {
  std::vector<Case> c;
  const Bytes tcp4 = client_tcp4();
  const Bytes udp6 = client_udp6();
  const Bytes tcp4_vlan = client_tcp4(0x2064);  // PCP 1, VID 100
  const Bytes udp6_vlan = client_udp6(0x0065);

  // -- decapsulated --
  c.push_back({"IPv4-in-IPv4: inner frame out, MACs kept", encap_ipv4(tcp4, kLb4, kOurs4),
               XDP_PASS, tcp4, XLB_DECAP_STAT_DECAPPED});
  c.push_back({"IPv6-in-IPv6", encap_ipv6(udp6, kLb6, kOurs6), XDP_PASS, udp6,
               XLB_DECAP_STAT_DECAPPED});
  c.push_back({"IPv4-in-IPv6: ethertype becomes 0x0800", encap_ipv6(tcp4, kLb6, kOurs6),
               XDP_PASS, tcp4, XLB_DECAP_STAT_DECAPPED});
  c.push_back({"IPv6-in-IPv4: ethertype becomes 0x86dd", encap_ipv4(udp6, kLb4, kOurs4),
               XDP_PASS, udp6, XLB_DECAP_STAT_DECAPPED});
  c.push_back({"VLAN-tagged IPv4-in-IPv4: tag kept", encap_ipv4(tcp4_vlan, kLb4, kOurs4),
               XDP_PASS, tcp4_vlan, XLB_DECAP_STAT_DECAPPED});
  c.push_back({"VLAN-tagged IPv4-in-IPv6: tag kept, inner ethertype in the tag",
               encap_ipv6(tcp4_vlan, kLb6, kOurs6), XDP_PASS, tcp4_vlan,
               XLB_DECAP_STAT_DECAPPED});
  c.push_back({"VLAN-tagged IPv6-in-IPv6", encap_ipv6(udp6_vlan, kLb6, kOurs6), XDP_PASS,
               udp6_vlan, XLB_DECAP_STAT_DECAPPED});
  {
    Ipv4 o;
    o.src = kLb4;
    o.dst = kOurs4;
    o.df = true;
    o.options = {0x94, 0x04, 0x00, 0x00};  // router alert: IHL 6
    c.push_back({"outer IPv4 with options (IHL 6)", encap_ipv4(tcp4, o), XDP_PASS, tcp4,
                 XLB_DECAP_STAT_DECAPPED});
    o.options.assign(40, 0x01);  // 40 NOPs: IHL 15, the maximum
    c.push_back({"outer IPv4 with 40 bytes of options (IHL 15)", encap_ipv4(tcp4, o),
                 XDP_PASS, tcp4, XLB_DECAP_STAT_DECAPPED});
  }
  {
    // Ethernet padding after the inner packet is kept: the stack trims it.
    Bytes in = encap_ipv4(tcp4, kLb4, kOurs4);
    Bytes out = tcp4;
    in.insert(in.end(), 6, 0);
    out.insert(out.end(), 6, 0);
    c.push_back({"trailing padding survives", in, XDP_PASS, out, XLB_DECAP_STAT_DECAPPED});
  }

  // -- passed untouched --
  {
    Bytes in = encap_ipv4(tcp4, kLb4, kOther4);
    c.push_back({"IPv4 outer not to us", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    Bytes in = encap_ipv6(udp6, kLb6, kOther6);
    c.push_back({"IPv6 outer not to us", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    // Our IPv4 address as an IPv6 outer destination does not match (the key
    // carries the family), and vice versa.
    Bytes in = encap_ipv6(tcp4, kLb6, "::ffff:198.18.0.10");
    c.push_back({"IPv4-mapped IPv6 outer is not our IPv4 address", in, XDP_PASS, in,
                 XLB_DECAP_STAT_PASS});
  }
  {
    Ipv4 ip;
    ip.src = "198.18.200.7";
    ip.dst = kOurs4;
    Bytes in = Frame().eth(kLbMac, kBackendMac).ipv4(ip).tcp().payload("x").build();
    c.push_back({"plain TCP/IPv4 to us", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    Ipv6 ip;
    ip.src = "fd00:200::7";
    ip.dst = kOurs6;
    Bytes in = Frame().eth(kLbMac, kBackendMac).ipv6(ip).udp().payload("x").build();
    c.push_back({"plain UDP/IPv6 to us", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    Ipv4 ip;
    ip.src = "198.18.200.7";
    ip.dst = kOurs4;
    ip.proto = 47;  // GRE
    Bytes in = Frame().eth(kLbMac, kBackendMac).ipv4(ip).payload(Bytes(24, 0)).build();
    c.push_back({"GRE to us", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    Bytes in = Frame().eth(kLbMac, kBackendMac).ethertype(0x0806).payload(Bytes(28, 0)).build();
    c.push_back({"ARP", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    Bytes in = truncate(encap_ipv4(tcp4, kLb4, kOurs4), 14 + 19);
    c.push_back({"truncated outer IPv4 (19 bytes)", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    Bytes in = truncate(encap_ipv6(udp6, kLb6, kOurs6), 14 + 39);
    c.push_back({"truncated outer IPv6 (39 bytes)", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    Ipv4 o;
    o.src = kLb4;
    o.dst = kOurs4;
    o.options.assign(40, 0x01);
    Bytes in = truncate(encap_ipv4(tcp4, o), 14 + 40);  // IHL 15, only 40 bytes
    c.push_back({"outer IPv4 options cut off", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    Bytes in = truncate(encap_ipv4(tcp4_vlan, kLb4, kOurs4), 16);
    c.push_back({"VLAN tag cut off", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    Ipv4 o;
    o.src = kLb4;
    o.dst = kOurs4;
    o.mf = true;
    Bytes in = encap_ipv4(tcp4, o);
    c.push_back({"outer IPv4 first fragment (MF)", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
    o.mf = false;
    o.frag_offset = 100;
    in = encap_ipv4(tcp4, o);
    c.push_back({"outer IPv4 last fragment (offset)", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }
  {
    // Outer IPv6 whose next header is hop-by-hop options (0): extension
    // headers are not parsed, the frame goes up as is.
    Ipv6 o;
    o.src = kLb6;
    o.dst = kOurs6;
    o.next_header = 0;
    Bytes hbh = {41, 0, 0x01, 0x04, 0, 0, 0, 0};  // next: IPv6, PadN
    Bytes inner(udp6.begin() + 14, udp6.end());
    Bytes payload = hbh;
    payload.insert(payload.end(), inner.begin(), inner.end());
    Bytes in = Frame().eth(kLbMac, kBackendMac).ipv6(o).payload(payload).build();
    c.push_back({"outer IPv6 with an extension header", in, XDP_PASS, in,
                 XLB_DECAP_STAT_PASS});
  }
  {
    Ipv4 ip;
    ip.src = kLb4;
    ip.dst = kOurs4;
    ip.proto = 4;
    ip.options = {};
    Bytes in = Frame().eth(kLbMac, kBackendMac).ipv4(ip).payload(Bytes{}).build();
    in[14] = 0x44;  // IHL 4: not a valid IPv4 header
    c.push_back({"outer IPv4 with IHL < 5", in, XDP_PASS, in, XLB_DECAP_STAT_PASS});
  }

  // -- IP-in-IP for us, but nothing usable inside: dropped --
  c.push_back({"IPv4-in-IPv4, inner header truncated (19 bytes)",
               truncate(encap_ipv4(tcp4, kLb4, kOurs4), 14 + 20 + 19), XDP_DROP, {},
               XLB_DECAP_STAT_MALFORMED});
  c.push_back({"IPv4-in-IPv4, no inner header at all",
               truncate(encap_ipv4(tcp4, kLb4, kOurs4), 14 + 20), XDP_DROP, {},
               XLB_DECAP_STAT_MALFORMED});
  c.push_back({"IPv6-in-IPv6, inner header truncated (39 bytes)",
               truncate(encap_ipv6(udp6, kLb6, kOurs6), 14 + 40 + 39), XDP_DROP, {},
               XLB_DECAP_STAT_MALFORMED});
  c.push_back({"IPv4-in-IPv6, inner header truncated (10 bytes)",
               truncate(encap_ipv6(tcp4, kLb6, kOurs6), 14 + 40 + 10), XDP_DROP, {},
               XLB_DECAP_STAT_MALFORMED});
  {
    Ipv4 o;
    o.src = kLb4;
    o.dst = kOurs4;
    o.options = {0x94, 0x04, 0x00, 0x00};
    c.push_back({"IPv4-in-IPv4 with outer options, inner truncated",
                 truncate(encap_ipv4(tcp4, o), 14 + 24 + 12), XDP_DROP, {},
                 XLB_DECAP_STAT_MALFORMED});
  }
  {
    // Outer says IPv4 inside (proto 4) but an IPv6 header follows.
    Ipv4 o;
    o.src = kLb4;
    o.dst = kOurs4;
    o.proto = 4;
    Bytes in = encap_ipv4(udp6, o);
    c.push_back({"IPv4-in-IPv4 whose inner header is IPv6", in, XDP_DROP, {},
                 XLB_DECAP_STAT_MALFORMED});
  }
  return c;
}

// ---- fixture -------------------------------------------------------------------

class DecapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    if (!bpf_tests_can_run(&why)) return;
    skel_ = decap_bpf__open();
    if (!skel_) return;
    // Tests never pin: the maps live and die with the skeleton.
    struct bpf_map* m;
    bpf_object__for_each_map(m, skel_->obj) bpf_map__set_pin_path(m, nullptr);
    if (decap_bpf__load(skel_) != 0) {
      decap_bpf__destroy(skel_);
      skel_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (skel_) decap_bpf__destroy(skel_);
    skel_ = nullptr;
  }

  void SetUp() override {
    XLB_REQUIRE_BPF();
    ASSERT_NE(skel_, nullptr) << "loading decap.bpf.o failed (run with LIBBPF debug output)";
    for (const char* a : {kOurs4, kOurs6, "198.18.0.11"}) add_addr(a);
    set_allow({});  // the skeleton is shared: every test starts without a list
  }

  // Writes the allow list the way xlb-decap does: the prefixes, then the
  // flag on; an empty list clears the flag and the trie ("no list").
  static void set_allow(const std::vector<std::pair<std::string, unsigned>>& prefixes) {
    int allow_fd = bpf_map__fd(skel_->maps.xlb_decap_allow);
    xlb_decap_allow_key k, next;
    while (bpf_map_get_next_key(allow_fd, nullptr, &next) == 0) {
      k = next;
      ASSERT_EQ(bpf_map_delete_elem(allow_fd, &k), 0);
    }
    for (const auto& [text, len] : prefixes) {
      std::memset(&k, 0, sizeof k);
      bool v4 = text.find(':') == std::string::npos;
      ASSERT_EQ(inet_pton(v4 ? AF_INET : AF_INET6, text.c_str(), k.addr), 1);
      k.family = v4 ? XLB_AF_INET : XLB_AF_INET6;
      k.prefixlen = 8 + len;
      __u32 one = 1;
      ASSERT_EQ(bpf_map_update_elem(allow_fd, &k, &one, BPF_ANY), 0);
    }
    xlb_decap_config cfg{};
    cfg.flags = prefixes.empty() ? 0 : XLB_DECAP_F_ALLOW_LIST;
    __u32 zero = 0;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_decap_config), &zero, &cfg, BPF_ANY), 0);
  }

  static void add_addr(const std::string& text) {
    xlb_decap_addr_key k;
    std::memset(&k, 0, sizeof k);
    if (text.find(':') == std::string::npos) {
      ASSERT_EQ(inet_pton(AF_INET, text.c_str(), &k.addr.v4), 1);
      k.family = XLB_AF_INET;
    } else {
      ASSERT_EQ(inet_pton(AF_INET6, text.c_str(), &k.addr), 1);
      k.family = XLB_AF_INET6;
    }
    __u32 one = 1;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_decap_addrs), &k, &one, BPF_ANY),
              0);
  }

  static int prog_fd() { return bpf_program__fd(skel_->progs.xlb_decap); }

  static void reset_stats() {
    ASSERT_TRUE(zero_percpu_counters(bpf_map__fd(skel_->maps.xlb_decap_stats), XLB_DECAP_STAT_MAX));
  }

  static xlb_counter stat(__u32 s) { return sum_percpu_counter(bpf_map__fd(skel_->maps.xlb_decap_stats), s); }

  static decap_bpf* skel_;
};

decap_bpf* DecapTest::skel_ = nullptr;

TEST_F(DecapTest, Table) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.description);
    reset_stats();
    RunResult r = run_xdp(prog_fd(), c.in);
    ASSERT_EQ(r.error, 0) << std::strerror(r.error);
    EXPECT_EQ(xdp_verdict_name(r.verdict), xdp_verdict_name(c.verdict));
    if (c.verdict != XDP_DROP) {
      EXPECT_EQ(r.out, c.out) << hexdump_diff(c.out, r.out);
    }
    if (c.verdict == XDP_PASS && c.stat == XLB_DECAP_STAT_DECAPPED) {
      // The inner packet is untouched, so its checksums still hold.
      EXPECT_TRUE(l4_checksum_ok(r.out)) << hexdump(r.out);
    }
    for (__u32 s = 0; s < XLB_DECAP_STAT_MAX; s++) {
      xlb_counter got = stat(s);
      bool want = s == XLB_DECAP_STAT_RX || s == c.stat;
      EXPECT_EQ(got.packets, want ? 1u : 0u) << "counter " << s;
      EXPECT_EQ(got.bytes, want ? c.in.size() : 0u) << "counter " << s;
    }
  }
}

TEST_F(DecapTest, AddressRemovedStopsDecap) {
  Bytes in = encap_ipv4(client_tcp4(), kLb4, "198.18.0.11");
  RunResult r = run_xdp(prog_fd(), in);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, client_tcp4()) << hexdump_diff(client_tcp4(), r.out);

  xlb_decap_addr_key k;
  std::memset(&k, 0, sizeof k);
  ASSERT_EQ(inet_pton(AF_INET, "198.18.0.11", &k.addr.v4), 1);
  k.family = XLB_AF_INET;
  ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.xlb_decap_addrs), &k), 0);
  r = run_xdp(prog_fd(), in);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, in) << hexdump_diff(in, r.out);
}

TEST_F(DecapTest, WithIngressIfindex) {
  // The program does not depend on the ingress device; running it "on" the
  // fixture veth exercises the ctx_in path of run_xdp().
  TestNetns ns;
  ASSERT_TRUE(ns.ok()) << ns.why();
  std::string why;
  int ifindex = setup_fib_fixture(&why);
  ASSERT_GT(ifindex, 0) << why;
  Bytes inner = client_udp6();
  RunResult r = run_xdp(prog_fd(), encap_ipv6(inner, kLb6, kOurs6), ifindex);
  ASSERT_EQ(r.error, 0) << std::strerror(r.error);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, inner) << hexdump_diff(inner, r.out);
}

// ---- ECN (RFC 6040) ------------------------------------------------------------

enum : uint8_t { kNotEct = 0, kEct1 = 1, kEct0 = 2, kCe = 3 };
const char* const kEcnName[] = {"Not-ECT", "ECT(1)", "ECT(0)", "CE"};

// RFC 6040 section 4.2, figure 4, written out as the table it is (rows:
// inner; columns: outer Not-ECT, ECT(1), ECT(0), CE in codepoint order).
// -1: drop.
constexpr int kRfc6040[4][4] = {
    /* inner Not-ECT */ {kNotEct, kNotEct, kNotEct, -1},
    /* inner ECT(1)  */ {kEct1, kEct1, kEct1, kCe},
    /* inner ECT(0)  */ {kEct0, kEct1, kEct0, kCe},
    /* inner CE      */ {kCe, kCe, kCe, kCe},
};

// The client's TCP packet with DSCP AF11 (0x28) and the given ECN field.
Bytes tcp4_ecn(uint8_t ecn) {
  Ipv4 ip;
  ip.src = "198.18.200.7";
  ip.dst = "198.18.100.1";
  ip.tos = static_cast<uint8_t>(0x28 | ecn);
  ip.id = 0x1234;
  ip.df = true;
  Tcp tcp;
  tcp.sport = 51000;
  tcp.flags = kTcpAck;
  return Frame().eth(kLbMac, kBackendMac).ipv4(ip).tcp(tcp).payload("data").build();
}

Bytes udp6_ecn(uint8_t ecn) {
  Ipv6 ip;
  ip.src = "fd00:200::7";
  ip.dst = "fd00:100::1";
  ip.tclass = static_cast<uint8_t>(0x28 | ecn);
  ip.flow_label = 0x12345;
  Udp udp;
  udp.sport = 51000;
  return Frame().eth(kLbMac, kBackendMac).ipv6(ip).udp(udp).payload("query").build();
}

// Every inner x outer combination, IPv4-in-IPv4 and IPv6-in-IPv6: the exact
// frame handed to the stack (the inner IPv4 checksum is the builder's, so a
// wrong incremental update shows), or a drop counted as ecn_drop.
TEST_F(DecapTest, EcnFollowsRfc6040) {
  for (bool v6 : {false, true}) {
    for (uint8_t inner = 0; inner < 4; inner++) {
      for (uint8_t outer = 0; outer < 4; outer++) {
        SCOPED_TRACE(std::string(v6 ? "IPv6-in-IPv6" : "IPv4-in-IPv4") + ", inner " + kEcnName[inner] +
                     ", outer " + kEcnName[outer]);
        reset_stats();
        Bytes in;
        if (v6) {
          Ipv6 o;
          o.src = kLb6;
          o.dst = kOurs6;
          o.tclass = static_cast<uint8_t>(0x28 | outer);
          in = encap_ipv6(udp6_ecn(inner), o);
        } else {
          Ipv4 o;
          o.src = kLb4;
          o.dst = kOurs4;
          o.tos = static_cast<uint8_t>(0x28 | outer);
          o.df = true;
          in = encap_ipv4(tcp4_ecn(inner), o);
        }
        RunResult r = run_xdp(prog_fd(), in);
        ASSERT_EQ(r.error, 0) << std::strerror(r.error);
        int want = kRfc6040[inner][outer];
        if (want < 0) {
          EXPECT_EQ(xdp_verdict_name(r.verdict), xdp_verdict_name(XDP_DROP));
          EXPECT_EQ(stat(XLB_DECAP_STAT_ECN_DROP).packets, 1u);
          EXPECT_EQ(stat(XLB_DECAP_STAT_DECAPPED).packets, 0u);
          continue;
        }
        Bytes out = v6 ? udp6_ecn(static_cast<uint8_t>(want)) : tcp4_ecn(static_cast<uint8_t>(want));
        EXPECT_EQ(xdp_verdict_name(r.verdict), xdp_verdict_name(XDP_PASS));
        EXPECT_EQ(r.out, out) << hexdump_diff(out, r.out);
        if (!v6) {
          EXPECT_TRUE(ipv4_header_checksum_ok(r.out)) << hexdump(r.out);
        }
        EXPECT_EQ(stat(XLB_DECAP_STAT_DECAPPED).packets, 1u);
        EXPECT_EQ(stat(XLB_DECAP_STAT_ECN_DROP).packets, 0u);
      }
    }
  }
}

// The mixed families follow the same table: outer IPv6 CE over inner IPv4
// ECT(0) gives inner CE with a valid checksum; over inner IPv4 Not-ECT, a drop.
TEST_F(DecapTest, EcnAcrossFamilies) {
  Ipv6 o;
  o.src = kLb6;
  o.dst = kOurs6;
  o.tclass = kCe;
  RunResult r = run_xdp(prog_fd(), encap_ipv6(tcp4_ecn(kEct0), o));
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, tcp4_ecn(kCe)) << hexdump_diff(tcp4_ecn(kCe), r.out);
  reset_stats();
  r = run_xdp(prog_fd(), encap_ipv6(tcp4_ecn(kNotEct), o));
  EXPECT_EQ(r.verdict, XDP_DROP);
  EXPECT_EQ(stat(XLB_DECAP_STAT_ECN_DROP).packets, 1u);
}

// ---- allowed outer sources (xlb-decap --allow) ----------------------------------

struct AllowCase {
  std::string description;
  Bytes in;
  int verdict;
  Bytes out;   // expected frame for XDP_PASS
  __u32 stat;  // the counter besides RX
};

// With the list {198.18.0.0/24, fd00:18::/64, 203.0.113.7/32}: listed outer
// sources are decapsulated exactly as without a list, others are dropped and
// counted as denied, and a packet that is not for us passes untouched
// whatever its source (the list only guards decapsulation).
TEST_F(DecapTest, AllowListAcceptsListedSourcesOnly) {
  set_allow({{"198.18.0.0", 24}, {"fd00:18::", 64}, {"203.0.113.7", 32}});
  const Bytes tcp4 = client_tcp4();
  const Bytes udp6 = client_udp6();
  std::vector<AllowCase> cases = {
      {"IPv4 outer from the LB's /24", encap_ipv4(tcp4, kLb4, kOurs4), XDP_PASS, tcp4,
       XLB_DECAP_STAT_DECAPPED},
      {"IPv4 outer, last address of the /24", encap_ipv4(tcp4, "198.18.0.255", kOurs4), XDP_PASS, tcp4,
       XLB_DECAP_STAT_DECAPPED},
      {"IPv4 outer from a listed /32", encap_ipv4(tcp4, "203.0.113.7", kOurs4), XDP_PASS, tcp4,
       XLB_DECAP_STAT_DECAPPED},
      {"IPv6 outer from the LB's /64", encap_ipv6(udp6, kLb6, kOurs6), XDP_PASS, udp6,
       XLB_DECAP_STAT_DECAPPED},
      {"IPv4-in-IPv6 from the LB's /64", encap_ipv6(tcp4, "fd00:18::abcd", kOurs6), XDP_PASS, tcp4,
       XLB_DECAP_STAT_DECAPPED},
      {"IPv4 outer from just outside the /24", encap_ipv4(tcp4, "198.18.1.1", kOurs4), XDP_DROP, {},
       XLB_DECAP_STAT_DENIED},
      {"IPv4 outer next to the listed /32", encap_ipv4(tcp4, "203.0.113.8", kOurs4), XDP_DROP, {},
       XLB_DECAP_STAT_DENIED},
      {"IPv6 outer from another /64", encap_ipv6(udp6, "fd00:19::1", kOurs6), XDP_DROP, {},
       XLB_DECAP_STAT_DENIED},
      {"IPv4-mapped IPv6 source of a listed IPv4 address", encap_ipv6(udp6, "::ffff:198.18.0.1", kOurs6),
       XDP_DROP, {}, XLB_DECAP_STAT_DENIED},
      {"IPv4 outer to another host, unlisted source: not ours", encap_ipv4(tcp4, "198.18.1.1", kOther4),
       XDP_PASS, encap_ipv4(tcp4, "198.18.1.1", kOther4), XLB_DECAP_STAT_PASS},
  };
  for (const AllowCase& c : cases) {
    SCOPED_TRACE(c.description);
    reset_stats();
    RunResult r = run_xdp(prog_fd(), c.in);
    ASSERT_EQ(r.error, 0) << std::strerror(r.error);
    EXPECT_EQ(xdp_verdict_name(r.verdict), xdp_verdict_name(c.verdict));
    if (c.verdict == XDP_PASS) {
      EXPECT_EQ(r.out, c.out) << hexdump_diff(c.out, r.out);
    }
    for (__u32 s = 0; s < XLB_DECAP_STAT_MAX; s++) {
      bool want = s == XLB_DECAP_STAT_RX || s == c.stat;
      EXPECT_EQ(stat(s).packets, want ? 1u : 0u) << "counter " << s;
    }
  }
}

// Only one family listed: the other family's tunnels are all denied (an
// IPv4-only list does not open IPv6).
TEST_F(DecapTest, AllowListOfOneFamilyDeniesTheOther) {
  set_allow({{"198.18.0.0", 24}});
  reset_stats();
  RunResult r = run_xdp(prog_fd(), encap_ipv6(client_udp6(), kLb6, kOurs6));
  EXPECT_EQ(r.verdict, XDP_DROP);
  EXPECT_EQ(stat(XLB_DECAP_STAT_DENIED).packets, 1u);
  r = run_xdp(prog_fd(), encap_ipv4(client_tcp4(), kLb4, kOurs4));
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(stat(XLB_DECAP_STAT_DECAPPED).packets, 1u);
}

// No list (the state after load, and what xlb-decap writes without
// --allow): every source is decapsulated, nothing is denied. Entries left in
// the trie do not matter while the flag is off.
TEST_F(DecapTest, NoAllowListAcceptsAnySource) {
  for (const char* src : {"198.18.1.1", "203.0.113.99", "10.1.2.3"}) {
    SCOPED_TRACE(src);
    reset_stats();
    RunResult r = run_xdp(prog_fd(), encap_ipv4(client_tcp4(), src, kOurs4));
    EXPECT_EQ(r.verdict, XDP_PASS);
    EXPECT_EQ(r.out, client_tcp4()) << hexdump_diff(client_tcp4(), r.out);
    EXPECT_EQ(stat(XLB_DECAP_STAT_DENIED).packets, 0u);
  }
  RunResult r = run_xdp(prog_fd(), encap_ipv6(client_udp6(), "fd00:99::1", kOurs6));
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, client_udp6()) << hexdump_diff(client_udp6(), r.out);

  set_allow({{"198.18.0.0", 24}});
  xlb_decap_config off{};
  __u32 zero = 0;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_decap_config), &zero, &off, BPF_ANY), 0);
  reset_stats();
  r = run_xdp(prog_fd(), encap_ipv4(client_tcp4(), "10.1.2.3", kOurs4));
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(stat(XLB_DECAP_STAT_DENIED).packets, 0u);
}

}  // namespace
}  // namespace xlb::test
