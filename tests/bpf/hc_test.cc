// Packet tests of bpf/hc.bpf.c (xlb_hc, tc egress) through BPF_PROG_TEST_RUN:
// table-driven {description, mark, input frame, expected verdict, expected
// output, expected counter}. A tc program takes a struct __sk_buff as ctx_in,
// which is how the test sets skb->mark (the checker's SO_MARK). The skeleton
// is loaded with pinning off and never attached.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "bpf_test.h"
#include "hc.skel.h"
#include "kit/packet.h"
#include "kit/percpu_counters.h"
#include "xlb/abi.h"

namespace xlb::test {
namespace {

constexpr const char* kLb4 = "198.18.0.1";
constexpr const char* kLb6 = "fd00:18::1";
constexpr const char* kBe4 = "198.18.0.12";
constexpr const char* kBe6 = "fd00:18::12";
constexpr const char* kVip4 = "198.18.100.1";
constexpr const char* kVip6 = "fd00:100::1";

const Mac kLbMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const Mac kGwMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0xfa};  // the VIP route's next hop
const Mac kBeMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0c};

// Marks in the map (see SetUp) and one that is not.
constexpr __u32 kMarkIpip4 = 0x100;   // ipip, IPv4 backend
constexpr __u32 kMarkIpip6 = 0x101;   // ipip, IPv6 backend
constexpr __u32 kMarkL2 = 0x102;      // l2dsr
constexpr __u32 kMarkNat = 0x103;     // a nat-mode entry: not steerable
constexpr __u32 kMarkUnknown = 0x1ff;

// The checker's TCP SYN from the LB's address to the VIP, as the LB's stack
// sends it to the VIP route's next hop.
Bytes syn4(size_t payload = 0) {
  Ipv4 ip;
  ip.src = kLb4;
  ip.dst = kVip4;
  ip.tos = 0x28;
  ip.id = 0x4321;
  ip.df = true;
  Tcp tcp;
  tcp.sport = 41000;
  tcp.dport = 80;
  tcp.flags = kTcpSyn;
  return Frame().eth(kLbMac, kGwMac).ipv4(ip).tcp(tcp).payload(Bytes(payload, 0x61)).build();
}

Bytes syn6() {
  Ipv6 ip;
  ip.src = kLb6;
  ip.dst = kVip6;
  ip.tclass = 0xb8;
  ip.flow_label = 0x54321;
  Tcp tcp;
  tcp.sport = 41000;
  tcp.dport = 80;
  return Frame().eth(kLbMac, kGwMac).ipv6(ip).tcp(tcp).build();
}

Bytes udp4() {
  Ipv4 ip;
  ip.src = kLb4;
  ip.dst = kVip4;
  Udp udp;
  udp.sport = 41001;
  udp.dport = 53;
  return Frame().eth(kLbMac, kGwMac).ipv4(ip).udp(udp).payload("check").build();
}

Bytes with_dst_mac(Bytes b, const Mac& m) {
  std::memcpy(b.data(), m.data(), m.size());
  return b;
}

struct TcResult {
  int verdict = -1;
  Bytes out;
  __u32 mark = 0;  // skb->mark as the program left it
  int error = 0;
};

// Runs the tc program once with skb->mark = mark (and skb->dev = ifindex
// when given, for the MTU check).
TcResult run_tc(int prog_fd, const Bytes& in, __u32 mark, int ifindex = 0) {
  TcResult r;
  r.out.resize(in.size() + 256);
  struct __sk_buff ctx {};
  ctx.mark = mark;
  ctx.ifindex = static_cast<__u32>(ifindex);
  struct __sk_buff ctx_out {};
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = in.data();
  opts.data_size_in = static_cast<__u32>(in.size());
  opts.data_out = r.out.data();
  opts.data_size_out = static_cast<__u32>(r.out.size());
  opts.ctx_in = &ctx;
  opts.ctx_size_in = sizeof ctx;
  opts.ctx_out = &ctx_out;
  opts.ctx_size_out = sizeof ctx_out;
  opts.repeat = 1;
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    r.error = errno;
    r.out.clear();
    return r;
  }
  r.verdict = static_cast<int>(opts.retval);
  r.out.resize(opts.data_size_out);
  r.mark = ctx_out.mark;
  return r;
}

std::string tc_verdict_name(int v) {
  switch (v) {
    case TC_ACT_OK: return "TC_ACT_OK";
    case TC_ACT_SHOT: return "TC_ACT_SHOT";
    case TC_ACT_REDIRECT: return "TC_ACT_REDIRECT";
    default: return "verdict " + std::to_string(v);
  }
}

struct Case {
  std::string description;
  __u32 mark;
  Bytes in;
  int verdict;
  Bytes out;   // expected output (ignored for TC_ACT_SHOT)
  __u32 stat;  // the one counter besides RX that must count the packet
};

std::vector<Case> cases() {
  std::vector<Case> c;
  const Bytes s4 = syn4(), s6 = syn6(), u4 = udp4();
  // -- steered --
  c.push_back({"IPv4 SYN, ipip to an IPv4 backend: exact outer header", kMarkIpip4, s4,
               TC_ACT_REDIRECT, encap_ipv4(s4, kLb4, kBe4), XLB_HC_STAT_IPIP4});
  c.push_back({"IPv4 UDP check, ipip", kMarkIpip4, u4, TC_ACT_REDIRECT,
               encap_ipv4(u4, kLb4, kBe4), XLB_HC_STAT_IPIP4});
  c.push_back({"IPv4 SYN with data, ipip", kMarkIpip4, syn4(200), TC_ACT_REDIRECT,
               encap_ipv4(syn4(200), kLb4, kBe4), XLB_HC_STAT_IPIP4});
  c.push_back({"IPv6 SYN, ipip to an IPv6 backend (IPv6-in-IPv6)", kMarkIpip6, s6,
               TC_ACT_REDIRECT, encap_ipv6(s6, kLb6, kBe6), XLB_HC_STAT_IPIP6});
  c.push_back({"IPv4 SYN to an IPv6 backend (IPv4-in-IPv6): ethertype 0x86dd", kMarkIpip6, s4,
               TC_ACT_REDIRECT, encap_ipv6(s4, kLb6, kBe6), XLB_HC_STAT_IPIP6});
  c.push_back({"l2dsr: destination MAC becomes the backend's, nothing else changes", kMarkL2,
               s4, TC_ACT_OK, with_dst_mac(s4, kBeMac), XLB_HC_STAT_L2DSR});
  c.push_back({"l2dsr IPv6", kMarkL2, s6, TC_ACT_OK, with_dst_mac(s6, kBeMac),
               XLB_HC_STAT_L2DSR});
  // -- untouched --
  c.push_back({"no mark", 0, s4, TC_ACT_OK, s4, XLB_HC_STAT_PASS});
  c.push_back({"unknown mark", kMarkUnknown, s4, TC_ACT_OK, s4, XLB_HC_STAT_PASS});
  c.push_back({"unknown mark, IPv6", kMarkUnknown, s6, TC_ACT_OK, s6, XLB_HC_STAT_PASS});
  {
    Bytes arp = Frame().eth(kLbMac, kGwMac).ethertype(0x0806).payload(Bytes(28, 0)).build();
    c.push_back({"ARP without a mark", 0, arp, TC_ACT_OK, arp, XLB_HC_STAT_PASS});
    // -- dropped: a marked check that cannot be steered never leaves unsteered --
    c.push_back({"ARP with a known mark", kMarkIpip4, arp, TC_ACT_SHOT, {},
                 XLB_HC_STAT_DROP_UNSUPPORTED});
  }
  c.push_back({"IPv6 into an IPv4 tunnel", kMarkIpip4, s6, TC_ACT_SHOT, {},
               XLB_HC_STAT_DROP_UNSUPPORTED});
  c.push_back({"a nat-mode target", kMarkNat, s4, TC_ACT_SHOT, {},
               XLB_HC_STAT_DROP_UNSUPPORTED});
  return c;
}

// ---- fixture -------------------------------------------------------------------

class HcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    if (!bpf_tests_can_run(&why)) return;
    skel_ = hc_bpf__open();
    if (!skel_) return;
    struct bpf_map* m;
    bpf_object__for_each_map(m, skel_->obj) bpf_map__set_pin_path(m, nullptr);
    if (hc_bpf__load(skel_) != 0) {
      hc_bpf__destroy(skel_);
      skel_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (skel_) hc_bpf__destroy(skel_);
    skel_ = nullptr;
  }

  void SetUp() override {
    XLB_REQUIRE_BPF();
    ASSERT_NE(skel_, nullptr) << "loading hc.bpf.o failed (run with LIBBPF debug output)";
    xlb_hc_target t;
    std::memset(&t, 0, sizeof t);
    t.mode = XLB_MODE_IPIP;
    t.family = XLB_AF_INET;
    ASSERT_EQ(inet_pton(AF_INET, kBe4, &t.backend.v4), 1);
    ASSERT_EQ(inet_pton(AF_INET, kLb4, &t.source.v4), 1);
    put(kMarkIpip4, t);

    std::memset(&t, 0, sizeof t);
    t.mode = XLB_MODE_IPIP;
    t.family = XLB_AF_INET6;
    ASSERT_EQ(inet_pton(AF_INET6, kBe6, t.backend.v6), 1);
    ASSERT_EQ(inet_pton(AF_INET6, kLb6, t.source.v6), 1);
    put(kMarkIpip6, t);

    std::memset(&t, 0, sizeof t);
    t.mode = XLB_MODE_L2DSR;
    std::memcpy(t.mac, kBeMac.data(), 6);
    put(kMarkL2, t);

    std::memset(&t, 0, sizeof t);
    t.mode = XLB_MODE_NAT;
    t.family = XLB_AF_INET;
    ASSERT_EQ(inet_pton(AF_INET, kBe4, &t.backend.v4), 1);
    put(kMarkNat, t);
  }

  static void put(__u32 mark, const xlb_hc_target& t) {
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_hc_targets), &mark, &t, BPF_ANY),
              0);
  }

  static int prog_fd() { return bpf_program__fd(skel_->progs.xlb_hc); }

  static void reset_stats() {
    ASSERT_TRUE(zero_percpu_counters(bpf_map__fd(skel_->maps.xlb_hc_stats), XLB_HC_STAT_MAX));
  }

  static xlb_counter stat(__u32 s) { return sum_percpu_counter(bpf_map__fd(skel_->maps.xlb_hc_stats), s); }

  static hc_bpf* skel_;
};

hc_bpf* HcTest::skel_ = nullptr;

TEST_F(HcTest, Table) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.description);
    reset_stats();
    TcResult r = run_tc(prog_fd(), c.in, c.mark);
    ASSERT_EQ(r.error, 0) << std::strerror(r.error);
    EXPECT_EQ(tc_verdict_name(r.verdict), tc_verdict_name(c.verdict));
    if (c.verdict != TC_ACT_SHOT) {
      EXPECT_EQ(r.out, c.out) << hexdump_diff(c.out, r.out);
      // The inner packet is untouched, so its checksums still hold.
      if (l2_ethertype(c.in) != 0x0806) {
        EXPECT_TRUE(l4_checksum_ok(r.out)) << hexdump(r.out);
      }
    }
    if (c.verdict == TC_ACT_REDIRECT) {
      EXPECT_TRUE(ipv4_header_checksum_ok(r.out) || l2_ethertype(r.out) == 0x86dd);
      // Cleared, so the redirected packet passes this hook untouched.
      EXPECT_EQ(r.mark, 0u);
    } else {
      EXPECT_EQ(r.mark, c.mark);
    }
    for (__u32 s = 0; s < XLB_HC_STAT_MAX; s++) {
      xlb_counter got = stat(s);
      bool want = s == XLB_HC_STAT_RX || s == c.stat;
      EXPECT_EQ(got.packets, want ? 1u : 0u) << "counter " << s;
      EXPECT_EQ(got.bytes, want ? c.in.size() : 0u) << "counter " << s;
    }
  }
}

// The encapsulated packet leaves again through the hook (redirect to the
// device's egress) with its mark cleared: it must pass untouched.
TEST_F(HcTest, EncapsulatedPacketPassesTheSecondTime) {
  TcResult first = run_tc(prog_fd(), syn4(), kMarkIpip4);
  ASSERT_EQ(first.verdict, TC_ACT_REDIRECT);
  reset_stats();
  TcResult second = run_tc(prog_fd(), first.out, first.mark);
  EXPECT_EQ(second.verdict, TC_ACT_OK);
  EXPECT_EQ(second.out, first.out) << hexdump_diff(first.out, second.out);
  EXPECT_EQ(stat(XLB_HC_STAT_PASS).packets, 1u);
}

// A target removed from the map stops steering: its checks then fail, which
// is what the checker reports for a backend lbd no longer knows.
TEST_F(HcTest, TargetRemovedStopsSteering) {
  __u32 mark = kMarkIpip4;
  ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.xlb_hc_targets), &mark), 0);
  TcResult r = run_tc(prog_fd(), syn4(), kMarkIpip4);
  EXPECT_EQ(r.verdict, TC_ACT_OK);
  EXPECT_EQ(r.out, syn4());
}

// The outer header must fit the device the packet leaves by: a packet that
// would not is counted and dropped instead of vanishing in the device.
TEST_F(HcTest, MtuOfTheOutgoingDevice) {
  TestNetns ns;
  ASSERT_TRUE(ns.ok()) << ns.why();
  std::string out;
  ASSERT_EQ(run_cmd("ip link add xlbhc0 mtu 1500 type veth peer name xlbhc1 && ip link set xlbhc0 up",
                    &out), 0)
      << out;
  int ifindex = static_cast<int>(if_nametoindex("xlbhc0"));
  ASSERT_GT(ifindex, 0);

  // IPv4 + TCP headers are 40 bytes: 1460 of data is a 1500-byte packet.
  const Bytes fits = syn4(1480 - 40), too_big = syn4(1481 - 40);
  reset_stats();
  TcResult r = run_tc(prog_fd(), fits, kMarkIpip4, ifindex);
  ASSERT_EQ(r.error, 0) << std::strerror(r.error);
  EXPECT_EQ(tc_verdict_name(r.verdict), "TC_ACT_REDIRECT");
  EXPECT_EQ(r.out, encap_ipv4(fits, kLb4, kBe4));
  r = run_tc(prog_fd(), too_big, kMarkIpip4, ifindex);
  ASSERT_EQ(r.error, 0) << std::strerror(r.error);
  EXPECT_EQ(tc_verdict_name(r.verdict), "TC_ACT_SHOT");
  EXPECT_EQ(stat(XLB_HC_STAT_DROP_MTU).packets, 1u);
  EXPECT_EQ(stat(XLB_HC_STAT_IPIP4).packets, 1u);

  // An IPv6 outer header takes 40 bytes: 1460 of IPv4 fits, 1461 does not.
  const Bytes fits6 = syn4(1460 - 40), too_big6 = syn4(1461 - 40);
  reset_stats();
  r = run_tc(prog_fd(), fits6, kMarkIpip6, ifindex);
  EXPECT_EQ(tc_verdict_name(r.verdict), "TC_ACT_REDIRECT");
  EXPECT_EQ(r.out, encap_ipv6(fits6, kLb6, kBe6));
  r = run_tc(prog_fd(), too_big6, kMarkIpip6, ifindex);
  EXPECT_EQ(tc_verdict_name(r.verdict), "TC_ACT_SHOT");
  EXPECT_EQ(stat(XLB_HC_STAT_DROP_MTU).packets, 1u);
  EXPECT_EQ(stat(XLB_HC_STAT_IPIP6).packets, 1u);
}

}  // namespace
}  // namespace xlb::test
