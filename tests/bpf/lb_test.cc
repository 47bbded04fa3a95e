// Packet tests of the xlb_lb XDP program: a frame in, the exact verdict and
// bytes out (BPF_PROG_TEST_RUN), in a netns whose routes and neighbours are
// fixed by setup_fib_fixture(). Expected frames come from the independent
// builder in packet.cc, including every checksum.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <set>

#include "lb_fixture.h"

namespace xlb::test {
namespace {

const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};

// Backends on the fixture's link: neighbour 10, 11 (IPv4 and IPv6 alike).
constexpr const char* kBe4 = "198.18.0.10";
constexpr const char* kBe4b = "198.18.0.11";
constexpr const char* kBe6 = "fd00:18::10";
constexpr const char* kVip4 = "198.18.100.1";
constexpr const char* kVip6 = "fd00:100::1";

Bytes tcp4(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport, uint8_t flags,
           const std::string& payload = "") {
  Ipv4 ip;
  ip.src = src;
  ip.dst = dst;
  Tcp tcp;
  tcp.sport = sport;
  tcp.dport = dport;
  tcp.flags = flags;
  return Frame().eth(kClientMac, kFixtureMac).ipv4(ip).tcp(tcp).payload(payload).build();
}

Bytes tcp6(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport, uint8_t flags) {
  Ipv6 ip;
  ip.src = src;
  ip.dst = dst;
  Tcp tcp;
  tcp.sport = sport;
  tcp.dport = dport;
  tcp.flags = flags;
  return Frame().eth(kClientMac, kFixtureMac).ipv6(ip).tcp(tcp).build();
}

Bytes udp4(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
           const std::string& payload = "q") {
  Ipv4 ip;
  ip.src = src;
  ip.dst = dst;
  Udp udp;
  udp.sport = sport;
  udp.dport = dport;
  return Frame().eth(kClientMac, kFixtureMac).ipv4(ip).udp(udp).payload(payload).build();
}

class Lb : public LbFixture {};

// ---- encapsulation: exact bytes -------------------------------------------

struct EncapCase {
  const char* description;
  Bytes in;
  const char* vip;
  uint16_t port;
  uint8_t proto;
  const char* backend;
  bool outer_v6;
};

TEST_F(Lb, EncapsulatesEachFamilyExactly) {
  Ipv4 v4opts;
  v4opts.src = "198.18.1.7";
  v4opts.dst = kVip4;
  v4opts.options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
  v4opts.tos = 0xb8;                          // DSCP EF: copied to the outer header
  Tcp syn;
  syn.dport = 81;
  Udp dns;
  dns.dport = 53;
  Ipv4 v4;
  v4.src = "198.18.1.8";
  v4.dst = kVip4;

  const std::vector<EncapCase> cases = {
      {"IPv4 TCP SYN in IPv4", tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn, "x"), kVip4, 80,
       IPPROTO_TCP, kBe4, false},
      {"IPv4 with options, TOS copied", Frame().eth(kClientMac, kFixtureMac).ipv4(v4opts).tcp(syn).build(),
       kVip4, 81, IPPROTO_TCP, kBe4, false},
      {"IPv4 UDP in IPv4", Frame().eth(kClientMac, kFixtureMac).ipv4(v4).udp(dns).payload("q").build(), kVip4,
       53, IPPROTO_UDP, kBe4, false},
      {"IPv6 TCP in IPv6", tcp6("fd00:1::5", 40001, kVip6, 80, kTcpSyn), kVip6, 80, IPPROTO_TCP, kBe6, true},
      {"IPv4 TCP in IPv6", tcp4("198.18.1.2", 40002, kVip4, 443, kTcpSyn), kVip4, 443, IPPROTO_TCP, kBe6,
       true},
  };
  uint32_t backend_id = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.description);
    uint32_t vip = add_vip(c.vip, c.port, c.proto);
    add_backend(++backend_id, vip, c.backend);
    fill_ring(vip, backend_id);

    RunResult r = run(c.in);
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    Bytes want = c.outer_v6 ? expect_encap6(c.in, c.backend, 10) : expect_encap4(c.in, c.backend, 10);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    EXPECT_TRUE(l4_checksum_ok(r.out));
    if (!c.outer_v6) {
      EXPECT_TRUE(ipv4_header_checksum_ok(r.out));
    }
  }
}

// Tags follow the egress device (lb_vlan_test.cc): the fixture's xlbt0 is
// no VLAN device, so the ingress tag does not go on to the backend.
TEST_F(Lb, VlanTagIsNotCarriedToAnUntaggedEgress) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);
  Ipv4 ip;
  ip.dst = kVip4;
  Bytes in = Frame().eth(kClientMac, kFixtureMac).vlan(0x0064).ipv4(ip).tcp().build();
  Bytes untagged = Frame().eth(kClientMac, kFixtureMac).ipv4(ip).tcp().build();

  RunResult r = run(in);
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = expect_encap4(untagged, kBe4, 10);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
}

TEST_F(Lb, BackendBehindGatewayGetsTheGatewayMac) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, "198.19.0.5");  // fixture: 198.19.0.0/16 via neighbour 2
  fill_ring(vip, 1);
  Bytes in = tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn);

  RunResult r = run(in);
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = expect_encap4(in, "198.19.0.5", 2);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
}

TEST_F(Lb, CountsForwardedPacketsPerVipAndBackend) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(7, vip, kBe4);
  fill_ring(vip, 7);
  Bytes in = tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn);

  ASSERT_EQ(run(in).verdict, XDP_TX);
  ASSERT_EQ(run(in).verdict, XDP_TX);
  EXPECT_EQ(counter(skel_->maps.xlb_vstats, vip).packets, 2u);
  EXPECT_EQ(counter(skel_->maps.xlb_vstats, vip).bytes, 2 * in.size());
  EXPECT_EQ(counter(skel_->maps.xlb_bstats, 7).packets, 2u);
  EXPECT_EQ(gstat(XLB_STAT_TX).packets, 2u);
  EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, 1u);
  EXPECT_EQ(gstat(XLB_STAT_FLOW_HIT).packets, 1u);
  EXPECT_EQ(gstat(XLB_STAT_RX).packets, 2u);
}

// ---- not ours: XDP_PASS, untouched ------------------------------------------

struct PassCase {
  const char* description;
  Bytes in;
  xlb_stat counter;
};

TEST_F(Lb, EverythingElsePassesUntouched) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);

  // Fragments for no VIP address (a VIP address's fragments follow their
  // flow or are dropped: lb_frag_test.cc).
  Ipv4 frag;
  frag.dst = "198.18.0.99";
  frag.mf = true;
  Ipv4 later_frag;
  later_frag.dst = "198.18.0.99";
  later_frag.frag_offset = 10;
  later_frag.proto = IPPROTO_TCP;
  Ipv4 icmp;
  icmp.dst = kVip4;
  icmp.proto = IPPROTO_ICMP;
  Ipv4 gre;
  gre.dst = "198.18.0.1";
  gre.proto = 47;
  Ipv6 icmp6;
  icmp6.dst = kVip6;
  icmp6.next_header = 58;
  Ipv6 frag6;
  frag6.dst = kVip6;  // no VIP of this test on it
  frag6.next_header = 44;
  // UDP, offset 0, M set, id 7, then 8 bytes of the UDP header.
  Bytes frag6_payload = {17, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0};
  Ipv4 bad_len;
  bad_len.dst = kVip4;
  bad_len.total_len = 400;  // longer than the frame
  Ipv4 bad_ihl;
  bad_ihl.dst = kVip4;
  Bytes ihl4 = Frame().eth(kClientMac, kFixtureMac).ipv4(bad_ihl).tcp().build();
  ihl4[14] = 0x44;  // IHL 4 < 5
  Bytes trunc_tcp = tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn);
  trunc_tcp.resize(14 + 20 + 10);
  // The IP header must still claim what is there, so only the TCP header is short.
  trunc_tcp[16] = 0;
  trunc_tcp[17] = 30;
  Bytes trunc_ip = tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn);
  trunc_ip.resize(14 + 12);
  // BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header, so the
  // shortest frame to try is a bare Ethernet header announcing IPv4.
  Bytes eth_only = Frame().eth(kClientMac, kFixtureMac).ethertype(0x0800).build();
  Bytes trunc_vlan = Frame().eth(kClientMac, kFixtureMac).vlan(5).ipv4().tcp().build();
  trunc_vlan.resize(16);

  const std::vector<PassCase> cases = {
      {"ARP", Frame().eth(kClientMac, kFixtureMac).ethertype(0x0806).payload(Bytes(28, 1)).build(),
       XLB_STAT_PASS_NOT_IP},
      {"not a VIP", tcp4("198.18.1.1", 40000, "198.18.0.1", 22, kTcpSyn), XLB_STAT_PASS_NOT_VIP},
      {"IPv4 first fragment", Frame().eth(kClientMac, kFixtureMac).ipv4(frag).tcp().build(),
       XLB_STAT_PASS_FRAGMENT},
      {"IPv4 later fragment", Frame().eth(kClientMac, kFixtureMac).ipv4(later_frag).payload("abcdefgh").build(),
       XLB_STAT_PASS_FRAGMENT},
      {"ICMP echo to VIP", Frame().eth(kClientMac, kFixtureMac).ipv4(icmp).payload(Bytes(8, 0)).build(),
       XLB_STAT_PASS_ICMP},
      {"ICMPv6 to VIP", Frame().eth(kClientMac, kFixtureMac).ipv6(icmp6).payload(Bytes(8, 0)).build(),
       XLB_STAT_PASS_ICMP},
      {"IPv6 fragment header", Frame().eth(kClientMac, kFixtureMac).ipv6(frag6).payload(frag6_payload).build(),
       XLB_STAT_PASS_FRAGMENT},
      {"GRE to no VIP", Frame().eth(kClientMac, kFixtureMac).ipv4(gre).payload(Bytes(8, 0)).build(),
       XLB_STAT_PASS_OTHER_L4},
      {"Ethernet header only", eth_only, XLB_STAT_PASS_MALFORMED},
      {"truncated VLAN tag", trunc_vlan, XLB_STAT_PASS_MALFORMED},
      {"truncated IPv4 header", trunc_ip, XLB_STAT_PASS_MALFORMED},
      {"IHL below 5", ihl4, XLB_STAT_PASS_MALFORMED},
      {"total length beyond the frame", Frame().eth(kClientMac, kFixtureMac).ipv4(bad_len).tcp().build(),
       XLB_STAT_PASS_MALFORMED},
      {"truncated TCP header", trunc_tcp, XLB_STAT_PASS_MALFORMED},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.description);
    xlb_counter before = gstat(c.counter);
    RunResult r = run(c.in);
    EXPECT_EQ(r.verdict, XDP_PASS) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(r.out, c.in) << hexdump_diff(c.in, r.out);
    EXPECT_EQ(gstat(c.counter).packets, before.packets + 1);
  }
  EXPECT_EQ(flow_count(), 0u);
}

// ---- a VIP address on a port or protocol no VIP serves -----------------------

// Every kind of unserved packet to a VIP address (port, protocol, family's
// VIP on another port), as the "unserved" setting has them.
struct FrameCase {
  const char* description;
  Bytes in;
};

std::vector<FrameCase> unserved_cases() {
  Ipv4 udp80;
  udp80.dst = kVip4;
  Udp to80;
  to80.dport = 80;
  Ipv4 gre;
  gre.dst = kVip4;
  gre.proto = 47;
  Ipv6 udp6;
  udp6.dst = kVip6;
  Udp to443;
  to443.dport = 443;
  return {
      {"VIP address, unserved port", tcp4("198.18.1.1", 40000, kVip4, 8080, kTcpSyn)},
      {"VIP address and port, but UDP", Frame().eth(kClientMac, kFixtureMac).ipv4(udp80).udp(to80).build()},
      {"GRE to a VIP address", Frame().eth(kClientMac, kFixtureMac).ipv4(gre).payload(Bytes(8, 0)).build()},
      {"IPv6 VIP address, unserved UDP port", Frame().eth(kClientMac, kFixtureMac).ipv6(udp6).udp(to443).build()},
  };
}

TEST_F(Lb, UnservedPortOfAVipAddressIsDroppedByDefault) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);
  uint32_t vip6 = add_vip(kVip6, 80, IPPROTO_TCP);
  add_backend(2, vip6, kBe6);
  fill_ring(vip6, 2);

  for (const auto& c : unserved_cases()) {
    SCOPED_TRACE(c.description);
    xlb_counter before = gstat(XLB_STAT_DROP_VIP_UNSERVED);
    RunResult r = run(c.in);
    EXPECT_EQ(r.verdict, XDP_DROP) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(gstat(XLB_STAT_DROP_VIP_UNSERVED).packets, before.packets + 1);
  }
  EXPECT_EQ(gstat(XLB_STAT_PASS_VIP_UNSERVED).packets, 0u);
  EXPECT_EQ(flow_count(), 0u);
}

TEST_F(Lb, UnservedPortOfAVipAddressPassesWhenConfigured) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);
  uint32_t vip6 = add_vip(kVip6, 80, IPPROTO_TCP);
  add_backend(2, vip6, kBe6);
  fill_ring(vip6, 2);
  set_nat(XLB_CFG_F_PASS_UNSERVED);

  for (const auto& c : unserved_cases()) {
    SCOPED_TRACE(c.description);
    xlb_counter before = gstat(XLB_STAT_PASS_VIP_UNSERVED);
    RunResult r = run(c.in);
    EXPECT_EQ(r.verdict, XDP_PASS) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(r.out, c.in) << hexdump_diff(c.in, r.out);
    EXPECT_EQ(gstat(XLB_STAT_PASS_VIP_UNSERVED).packets, before.packets + 1);
  }
  EXPECT_EQ(gstat(XLB_STAT_DROP_VIP_UNSERVED).packets, 0u);
}

// ---- flows --------------------------------------------------------------------

TEST_F(Lb, KnownFlowStaysOnItsBackendAfterTheRingChanges) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  add_backend(2, vip, kBe4b);
  fill_ring(vip, 1);

  Bytes syn = tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn);
  ASSERT_EQ(run(syn).verdict, XDP_TX);
  fill_ring(vip, 2);  // every new flow now goes to backend 2

  Bytes ack = tcp4("198.18.1.1", 40000, kVip4, 80, kTcpAck, "GET /");
  RunResult r = run(ack);
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, expect_encap4(ack, kBe4, 10)) << "existing flow moved off backend 1";

  Bytes other = tcp4("198.18.1.1", 40001, kVip4, 80, kTcpSyn);
  r = run(other);
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, expect_encap4(other, kBe4b, 11)) << "new flow must follow the new ring";
}

TEST_F(Lb, TcpStateFollowsTheClientsFlags) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);
  xlb_flow_key key = flow_key("198.18.1.1", 40000, kVip4, 80, IPPROTO_TCP);
  xlb_flow f{};

  const std::vector<std::pair<uint8_t, uint8_t>> steps = {
      {kTcpSyn, XLB_FLOW_TCP_SYN},
      {kTcpAck, XLB_FLOW_TCP_ESTABLISHED},
      {kTcpAck | kTcpPsh, XLB_FLOW_TCP_ESTABLISHED},
      {kTcpAck | kTcpFin, XLB_FLOW_TCP_CLOSING},
      {kTcpAck, XLB_FLOW_TCP_CLOSING},
      {kTcpSyn, XLB_FLOW_TCP_SYN},  // tuple reused for a new connection
      {kTcpRst, XLB_FLOW_TCP_RESET},
  };
  for (const auto& [flags, state] : steps) {
    ASSERT_EQ(run(tcp4("198.18.1.1", 40000, kVip4, 80, flags)).verdict, XDP_TX);
    ASSERT_TRUE(flow(key, &f));
    EXPECT_EQ(f.state, state) << "after flags 0x" << std::hex << int(flags);
    EXPECT_EQ(f.backend_id, 1u);
    EXPECT_GT(f.last_seen_ns, 0u);
  }
}

TEST_F(Lb, NonSynWithoutEntryUsesTheRingAndIsRecorded) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(3, vip, kBe4);
  fill_ring(vip, 3);
  Bytes ack = tcp4("198.18.1.9", 41000, kVip4, 80, kTcpAck, "data");

  RunResult r = run(ack);
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, expect_encap4(ack, kBe4, 10));
  xlb_flow f{};
  ASSERT_TRUE(flow(flow_key("198.18.1.9", 41000, kVip4, 80, IPPROTO_TCP), &f));
  EXPECT_EQ(f.backend_id, 3u);
  EXPECT_EQ(f.state, XLB_FLOW_TCP_MIDSTREAM);  // unproven (lb_state_test.cc)
  EXPECT_EQ(gstat(XLB_STAT_FLOW_RESCHEDULED).packets, 1u);
}

TEST_F(Lb, UdpFlowIsRecorded) {
  uint32_t vip = add_vip(kVip4, 53, IPPROTO_UDP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);
  ASSERT_EQ(run(udp4("198.18.1.1", 5353, kVip4, 53)).verdict, XDP_TX);
  xlb_flow f{};
  ASSERT_TRUE(flow(flow_key("198.18.1.1", 5353, kVip4, 53, IPPROTO_UDP), &f));
  EXPECT_EQ(f.state, XLB_FLOW_UDP);
}

// The reaper expires a flow that has been idle for its timeout, judged by
// last_seen_ns: a client packet of a known flow must refresh it (at most
// once per XLB_FLOW_TOUCH_NS, which a flow idle for 10 s is well past), or
// busy connections would be reaped.
TEST_F(Lb, ClientPacketsRefreshTheFlowsLastSeen) {
  uint32_t tcp_vip = add_vip(kVip4, 80, IPPROTO_TCP);
  uint32_t udp_vip = add_vip(kVip4, 53, IPPROTO_UDP);
  add_backend(1, tcp_vip, kBe4);
  add_backend(2, udp_vip, kBe4b);
  fill_ring(tcp_vip, 1);
  fill_ring(udp_vip, 2);
  constexpr uint64_t kIdle = 10'000'000'000ull;
  // bpf_ktime_get_coarse_ns() and clock_gettime() read the same coarse
  // clock; the slack only covers how the two readings are taken, and is
  // far below the 10 s a missed refresh would leave.
  constexpr uint64_t kSlack = 100'000'000ull;

  struct Case {
    const char* name;
    std::vector<Bytes> opening;  // packets that create the flow
    Bytes next;                  // a later client packet of it
    xlb_flow_key key;
    uint8_t state;               // the flow's state after `next`
  };
  const std::vector<Case> cases = {
      {"TCP established",
       {tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn), tcp4("198.18.1.1", 40000, kVip4, 80, kTcpAck)},
       tcp4("198.18.1.1", 40000, kVip4, 80, kTcpAck | kTcpPsh, "data"),
       flow_key("198.18.1.1", 40000, kVip4, 80, IPPROTO_TCP),
       XLB_FLOW_TCP_ESTABLISHED},
      {"UDP",
       {udp4("198.18.1.1", 5353, kVip4, 53)},
       udp4("198.18.1.1", 5353, kVip4, 53, "again"),
       flow_key("198.18.1.1", 5353, kVip4, 53, IPPROTO_UDP),
       XLB_FLOW_UDP},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    for (const Bytes& b : c.opening) ASSERT_EQ(run(b).verdict, XDP_TX);
    uint64_t idle_since = coarse_now_ns() - kIdle;
    set_last_seen(c.key, idle_since);

    uint64_t before = coarse_now_ns();
    ASSERT_EQ(run(c.next).verdict, XDP_TX);
    uint64_t after = coarse_now_ns();
    xlb_flow f{};
    ASSERT_TRUE(flow(c.key, &f));
    EXPECT_NE(f.last_seen_ns, idle_since) << "last_seen not refreshed";
    EXPECT_GE(f.last_seen_ns + kSlack, before) << "last_seen " << (before - f.last_seen_ns) << " ns before the packet";
    EXPECT_LE(f.last_seen_ns, after + kSlack) << "last_seen " << (f.last_seen_ns - after) << " ns after the packet";
    EXPECT_EQ(f.state, c.state);
    EXPECT_EQ(f.flags & XLB_FLOW_F_COUNTED, XLB_FLOW_F_COUNTED);
  }
  EXPECT_EQ(conns(1).active, 1);
  EXPECT_EQ(conns(2).active, 1);
}

TEST_F(Lb, PurgedBackendsFlowIsScheduledAfresh) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  add_backend(2, vip, kBe4b);
  fill_ring(vip, 1);
  ASSERT_EQ(run(tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn)).verdict, XDP_TX);

  // What lbd does for a purge when a stale entry survived: the id is freed.
  xlb_backend gone{};
  uint32_t id = 1;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_backends), &id, &gone, BPF_ANY), 0);
  fill_ring(vip, 2);

  Bytes ack = tcp4("198.18.1.1", 40000, kVip4, 80, kTcpAck);
  RunResult r = run(ack);
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, expect_encap4(ack, kBe4b, 11));
  EXPECT_EQ(gstat(XLB_STAT_FLOW_STALE_BACKEND).packets, 1u);
}

// ---- drops ----------------------------------------------------------------------

TEST_F(Lb, EmptyRingDrops) {
  add_vip(kVip4, 80, IPPROTO_TCP);
  RunResult r = run(tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn));
  EXPECT_EQ(r.verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NO_BACKEND).packets, 1u);
  EXPECT_EQ(flow_count(), 0u);
}

TEST_F(Lb, UnresolvedNeighbourDrops) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, "198.18.0.30");  // on-link, no neighbour entry
  fill_ring(vip, 1);
  EXPECT_EQ(run(tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NO_NEIGH).packets, 1u);
}

TEST_F(Lb, NoRouteDrops) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, "198.20.0.1");  // no route
  fill_ring(vip, 1);
  EXPECT_EQ(run(tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NO_ROUTE).packets, 1u);
}

TEST_F(Lb, PacketTooBigOnceEncapsulatedDrops) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);
  // 1500-byte IP packet: fits the 1500 MTU as is, not with 20 more bytes.
  Bytes big = tcp4("198.18.1.1", 40000, kVip4, 80, kTcpAck, std::string(1500 - 40, 'a'));
  EXPECT_EQ(run(big).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_MTU).packets, 1u);
  // 20 bytes less fits exactly.
  Bytes fits = tcp4("198.18.1.1", 40001, kVip4, 80, kTcpAck, std::string(1480 - 40, 'a'));
  EXPECT_EQ(run(fits).verdict, XDP_TX);
}

TEST_F(Lb, MissingEncapSourceDrops) {
  set_config("198.18.0.1", 32, "", 0);
  uint32_t vip = add_vip(kVip6, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe6);
  fill_ring(vip, 1);
  EXPECT_EQ(run(tcp6("fd00:1::5", 40001, kVip6, 80, kTcpSyn)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NO_SOURCE).packets, 1u);
}

TEST_F(Lb, ForwardingDisabledDrops) {
  ASSERT_EQ(run_cmd("sysctl -qw net.ipv4.conf.all.forwarding=0 net.ipv4.conf.xlbt0.forwarding=0"), 0);
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);
  EXPECT_EQ(run(tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_FWD_DISABLED).packets, 1u);
}

// ---- egress choices ----------------------------------------------------------------

TEST_F(Lb, OtherEgressInterfaceIsRedirectedThroughTheDevmap) {
  ASSERT_EQ(run_cmd("ip addr add 198.18.5.1/24 dev xlbt1 && "
                    "ip neigh replace 198.18.5.2 lladdr 02:00:00:00:05:02 dev xlbt1 nud permanent"),
            0);
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, "198.18.5.2");
  fill_ring(vip, 1);
  Bytes in = tcp4("198.18.1.1", 40000, kVip4, 80, kTcpSyn);

  // Without a devmap entry for the egress device: dropped and counted,
  // not counted as sent.
  EXPECT_EQ(run(in).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_EGRESS_NOT_XDP).packets, 1u);
  EXPECT_EQ(gstat(XLB_STAT_REDIRECT).packets, 0u);

  uint32_t peer = fixture_peer_ifindex();
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_tx_ports), &peer, &peer, BPF_ANY), 0);
  RunResult r = run(in);
  EXPECT_EQ(r.verdict, XDP_REDIRECT);
  EXPECT_EQ(gstat(XLB_STAT_REDIRECT).packets, 1u);
}

TEST_F(Lb, SourcePrefixSpreadsFlowsOverItsAddresses) {
  set_config("198.18.0.0", 24, "fd00:18::", 120);
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);
  std::set<uint32_t> sources;
  for (uint16_t port = 40000; port < 40032; port++) {
    RunResult r = run(tcp4("198.18.1.1", port, kVip4, 80, kTcpSyn));
    ASSERT_EQ(r.verdict, XDP_TX);
    ASSERT_TRUE(ipv4_header_checksum_ok(r.out));
    // Outer source: bytes 26..29 of the frame.
    EXPECT_EQ(r.out[26], 198);
    EXPECT_EQ(r.out[27], 18);
    EXPECT_EQ(r.out[28], 0);
    sources.insert(r.out[29]);
  }
  EXPECT_GT(sources.size(), 16u) << "32 flows should use many of the 256 sources";
}

}  // namespace
}  // namespace xlb::test
