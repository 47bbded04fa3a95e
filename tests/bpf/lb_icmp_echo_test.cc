// Packet tests of echo requests to VIP addresses: the load balancer answers
// them itself with XDP_TX (bpf/lib/icmp_echo.h), unless the config turns
// that off. The expected reply is built from scratch by the kit (every
// checksum computed over the whole message, the ICMPv6 one over the
// pseudo-header of the reply's own addresses), so an incremental update
// that goes wrong cannot hide.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <optional>

#include "lb_fixture.h"

namespace xlb::test {
namespace {

const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};
constexpr const char* kBe4 = "198.18.0.10";
constexpr const char* kBe6 = "fd00:18::10";
constexpr const char* kVip4 = "198.18.100.1";
constexpr const char* kVip6 = "fd00:100::1";
constexpr const char* kClient4 = "198.18.1.7";
constexpr const char* kClient6 = "fd00:1::7";
constexpr uint32_t kIdSeq = 0x1234'0007;  // echo identifier 0x1234, sequence 7
const Bytes kBody = {'p', 'i', 'n', 'g', ' ', 'b', 'o', 'd', 'y', 0, 1, 2, 0xfe, 0xff};

struct Echo {
  bool v6 = false;
  std::string from, to;
  uint8_t type = 8;
  uint8_t ttl = 57;
  std::optional<uint16_t> vlan;
  Bytes options;  // IPv4 options
  Mac smac = kClientMac;
  Mac dmac = kFixtureMac;
  uint32_t id_seq = kIdSeq;
  Bytes body = kBody;
};

Bytes build(const Echo& e) {
  Frame f;
  f.eth(e.smac, e.dmac);
  if (e.vlan) f.vlan(*e.vlan);
  if (e.v6) {
    Ipv6 ip;
    ip.src = e.from;
    ip.dst = e.to;
    ip.next_header = 58;
    ip.hop_limit = e.ttl;
    ip.tclass = 0x20;
    ip.flow_label = 0x12345;
    return f.ipv6(ip).payload(icmp6_message(e.type, 0, e.id_seq, e.body, e.from, e.to)).build();
  }
  Ipv4 ip;
  ip.src = e.from;
  ip.dst = e.to;
  ip.proto = IPPROTO_ICMP;
  ip.ttl = e.ttl;
  ip.id = 0x4321;
  ip.tos = 0x20;
  ip.options = e.options;
  return f.ipv4(ip).payload(icmp4_message(e.type, 0, e.id_seq, e.body)).build();
}

Echo request4(const std::string& to = kVip4) {
  Echo e;
  e.from = kClient4;
  e.to = to;
  return e;
}

Echo request6(const std::string& to = kVip6) {
  Echo e;
  e.v6 = true;
  e.from = kClient6;
  e.to = to;
  e.type = 128;
  return e;
}

// The reply the load balancer must send for request e: MACs and addresses
// swapped, echo reply type, TTL / hop limit 64, all else as it came.
Bytes reply_to(Echo e) {
  std::swap(e.from, e.to);
  std::swap(e.smac, e.dmac);
  e.type = e.v6 ? 129 : 0;
  e.ttl = 64;
  return build(e);
}

class IcmpEcho : public LbFixture {
 protected:
  void SetUp() override {
    LbFixture::SetUp();
    uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
    add_backend(1, vip, kBe4);
    fill_ring(vip, 1);
    uint32_t vip6 = add_vip(kVip6, 443, IPPROTO_UDP);
    add_backend(2, vip6, kBe6);
    fill_ring(vip6, 2);
  }
};

TEST_F(IcmpEcho, RequestToAVipAddressIsAnsweredExactly) {
  Echo opts = request4();
  opts.options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL: the ICMP header moves
  Echo tagged = request4();
  tagged.vlan = 0x0005;
  struct Case {
    const char* description;
    Echo req;
  } cases[] = {
      {"IPv4", request4()},
      {"IPv4 with options", opts},
      {"IPv4 in a VLAN tag (kept: the reply goes back on it)", tagged},
      {"IPv6", request6()},
  };
  uint64_t n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.description);
    Bytes in = build(c.req), want = reply_to(c.req);
    RunResult r = run(in);
    EXPECT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    EXPECT_TRUE(icmp_checksum_ok(r.out));
    if (!c.req.v6) {
      EXPECT_TRUE(ipv4_header_checksum_ok(r.out));
    }
    n++;
    EXPECT_EQ(gstat(XLB_STAT_ICMP_ECHO_REPLY).packets, n);
    EXPECT_EQ(gstat(XLB_STAT_TX).packets, n);
  }
  EXPECT_EQ(flow_count(), 0u);
  EXPECT_EQ(gstat(XLB_STAT_PASS_ICMP).packets, 0u);
}

// An echo request whose identifier, sequence and payload are all zero: the
// reply's ICMP message is all zero but for its checksum, which must then be
// 0xffff (an incremental update gives 0x0000, which no receiver accepts).
// Found by the fuzzer.
TEST_F(IcmpEcho, AnAllZeroReplyGetsChecksum0xffff) {
  Echo zero = request4();
  zero.id_seq = 0;
  zero.body = Bytes(8, 0);
  Bytes in = build(zero), want = reply_to(zero);
  RunResult r = run(in);
  EXPECT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_TRUE(icmp_checksum_ok(r.out));
}

// While a nat VIP exists ICMP goes through the nat error path first; an
// echo request to a VIP address is still answered.
TEST_F(IcmpEcho, AnsweredWhileNatVipsExist) {
  set_nat(XLB_CFG_F_NAT);
  Echo req = request6();
  RunResult r = run(build(req));
  EXPECT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
  EXPECT_EQ(r.out, reply_to(req)) << hexdump_diff(reply_to(req), r.out);
  EXPECT_EQ(gstat(XLB_STAT_ICMP_ECHO_REPLY).packets, 1u);
}

TEST_F(IcmpEcho, OtherIcmpAndOtherAddressesPassAsBefore) {
  Echo reply = request4();
  reply.type = 0;  // an echo reply to a VIP address is no request
  Echo v6_reply = request6();
  v6_reply.type = 129;
  struct Case {
    const char* description;
    Echo e;
  } cases[] = {
      {"echo request to no VIP", request4("198.18.0.1")},
      {"ICMPv6 echo request to no VIP", request6("fd00:18::1")},
      {"echo reply to a VIP address", reply},
      {"ICMPv6 echo reply to a VIP address", v6_reply},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.description);
    Bytes in = build(c.e);
    xlb_counter before = gstat(XLB_STAT_PASS_ICMP);
    RunResult r = run(in);
    EXPECT_EQ(r.verdict, XDP_PASS) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(r.out, in) << hexdump_diff(in, r.out);
    EXPECT_EQ(gstat(XLB_STAT_PASS_ICMP).packets, before.packets + 1);
  }
  EXPECT_EQ(gstat(XLB_STAT_ICMP_ECHO_REPLY).packets, 0u);
}

// "icmp_echo": "off": a ping is then traffic no VIP serves, dropped by
// default, passed with "unserved": "pass".
TEST_F(IcmpEcho, SwitchedOffItIsUnservedTraffic) {
  set_nat(XLB_CFG_F_NO_ICMP_ECHO);
  for (const Echo& req : {request4(), request6()}) {
    SCOPED_TRACE(req.v6 ? "IPv6" : "IPv4");
    xlb_counter before = gstat(XLB_STAT_DROP_VIP_UNSERVED);
    RunResult r = run(build(req));
    EXPECT_EQ(r.verdict, XDP_DROP) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(gstat(XLB_STAT_DROP_VIP_UNSERVED).packets, before.packets + 1);
  }

  set_nat(XLB_CFG_F_NO_ICMP_ECHO | XLB_CFG_F_PASS_UNSERVED);
  for (const Echo& req : {request4(), request6()}) {
    SCOPED_TRACE(req.v6 ? "IPv6, unserved pass" : "IPv4, unserved pass");
    Bytes in = build(req);
    xlb_counter before = gstat(XLB_STAT_PASS_VIP_UNSERVED);
    RunResult r = run(in);
    EXPECT_EQ(r.verdict, XDP_PASS) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(r.out, in) << hexdump_diff(in, r.out);
    EXPECT_EQ(gstat(XLB_STAT_PASS_VIP_UNSERVED).packets, before.packets + 1);
  }
  EXPECT_EQ(gstat(XLB_STAT_ICMP_ECHO_REPLY).packets, 0u);
}

}  // namespace
}  // namespace xlb::test
