// Packet tests of path MTU discovery through the load balancer.
//
// Client side: a client's packet that does not fit the path to its backend
// (the locked route MTU of the fixture, less the outer header in ipip mode)
// is answered with ICMP "fragmentation needed" / ICMPv6 "packet too big"
// from the VIP, quoting the client's packet, sent back with XDP_TX.
// Backend side: a router's ICMP error about a backend's DSR reply (it quotes
// VIP:vport -> client:cport, and is sent to the VIP, so it reaches the lb)
// goes to the flow's backend like the flow's packets: encapsulated (ipip)
// or with the backend's MAC (l2dsr), unchanged inside.
// Expected frames are built from scratch with the kit (full checksums).
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

class Pmtu : public NatFixture {};

Bytes ip_of(const Bytes& frame) { return Bytes(frame.begin() + l2_header_len(frame), frame.end()); }

// The error the lb must send for the client's frame `in` (a VLAN tag, if
// any, is kept): from the VIP to the client, MACs swapped, quoting the
// client's IP packet up to 576 (IPv4) / 1280 (IPv6) bytes in all, cut to
// an even length.
Bytes expected_too_big(const Pkt& in, uint32_t mtu) {
  Bytes q = ip_of(build(in));
  size_t max = is_v6(in.src) ? 1232 : 548;
  q.resize(std::min(q.size(), max) & ~size_t{1});
  Frame fr;
  fr.eth(in.dmac, in.smac);
  if (in.vlan) fr.vlan(*in.vlan);
  if (is_v6(in.src)) {
    Ipv6 ip;
    ip.src = in.dst;
    ip.dst = in.src;
    ip.next_header = 58;
    return fr.ipv6(ip).payload(icmp6_message(2, 0, mtu, q, in.dst, in.src)).build();
  }
  Ipv4 ip;
  ip.src = in.dst;
  ip.dst = in.src;
  ip.proto = 1;
  return fr.ipv4(ip).payload(icmp4_message(3, 4, mtu, q)).build();
}

// A client's TCP data packet of l3_len bytes in all.
Pkt data_packet(const Family& f, size_t l3_len, uint16_t sport = 40000) {
  Pkt in = client_packet(f, sport, 80, IPPROTO_TCP, kTcpAck);
  in.payload = std::string(l3_len - (f.v6 ? 40 : 20) - 20, 'a');
  return in;
}

void lock_mtu(const Family& f, const std::string& backend, int mtu) {
  std::string cmd = std::string(f.v6 ? "ip -6 route add " : "ip route add ") + backend + (f.v6 ? "/128" : "/32") +
                    " dev xlbt0 mtu lock " + std::to_string(mtu);
  ASSERT_EQ(run_cmd(cmd), 0) << cmd;
}

// ipip: the route's MTU 1400 less the outer header (20 / 40 bytes).
TEST_F(Pmtu, IpipAnnouncesTheMtuLessTheOuterHeader) {
  for (const Family* f : {&kV4, &kV6}) {
    for (bool vlan : {false, true}) {
      SCOPED_TRACE(std::string(f->name) + (vlan ? " VLAN" : ""));
      uint32_t id = (f->v6 ? 2 : 0) + (vlan ? 2 : 1);
      uint16_t vport = 80 + id;
      if (!vlan) lock_mtu(*f, f->backend, 1400);
      vip_with_backend(f->vip, vport, IPPROTO_TCP, XLB_MODE_IPIP, id, f->backend, 0);
      uint32_t path = 1400 - (f->v6 ? 40 : 20);
      uint64_t errors = gstat(f->v6 ? XLB_STAT_ICMP_PKT_TOO_BIG : XLB_STAT_ICMP_FRAG_NEEDED).packets;
      uint64_t tx = gstat(XLB_STAT_TX).packets;

      Pkt in = data_packet(*f, path + 1, 40000 + id);
      in.dport = vport;
      if (vlan) in.vlan = 0x0ffe;
      RunResult r = run(build(in));
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      Bytes want = expected_too_big(in, path);
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
      EXPECT_TRUE(icmp_checksum_ok(r.out));
      EXPECT_EQ(gstat(f->v6 ? XLB_STAT_ICMP_PKT_TOO_BIG : XLB_STAT_ICMP_FRAG_NEEDED).packets, errors + 1);
      EXPECT_EQ(gstat(XLB_STAT_TX).packets, tx + 1);
      EXPECT_EQ(gstat(XLB_STAT_DROP_MTU).packets, 0u);

      // One byte less fits, and is encapsulated as always (without the
      // tag: the fixture's xlbt0 is no VLAN device, lb_vlan_test.cc).
      in = data_packet(*f, path, 40000 + id);
      in.dport = vport;
      Bytes untagged = build(in);
      if (vlan) in.vlan = 0x0ffe;
      Bytes b = build(in);
      r = run(b);
      ASSERT_EQ(r.verdict, XDP_TX);
      Bytes enc = f->v6 ? expect_encap6(untagged, f->backend, 10) : expect_encap4(untagged, f->backend, 10);
      EXPECT_EQ(r.out, enc) << hexdump_diff(enc, r.out);
    }
  }
}

// l2dsr and nat do not grow the packet: the route's MTU as it is.
TEST_F(Pmtu, L2dsrAndNatAnnounceTheRouteMtu) {
  nat_config();
  uint32_t id = 0;
  for (const Family* f : {&kV4, &kV6}) {
    lock_mtu(*f, f->backend, 1400);
    for (uint8_t mode : {uint8_t{XLB_MODE_L2DSR}, uint8_t{XLB_MODE_NAT}}) {
      SCOPED_TRACE(std::string(f->name) + (mode == XLB_MODE_NAT ? " nat" : " l2dsr"));
      ++id;
      vip_with_backend(f->vip, 80 + id, IPPROTO_TCP, mode, id, f->backend, 0);
      Pkt in = data_packet(*f, 1401, 40000 + id);
      in.dport = 80 + id;
      RunResult r = run(build(in));
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      Bytes want = expected_too_big(in, 1400);
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    }
  }
}

// IPv6 never announces less than 1280, its minimum link MTU.
TEST_F(Pmtu, Ipv6AnnouncesAtLeast1280) {
  lock_mtu(kV6, kV6.backend, 1300);  // 1260 inside the tunnel
  vip_with_backend(kV6.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV6.backend, 0);
  Pkt in = data_packet(kV6, 1400);
  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = expected_too_big(in, 1280);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
}

// A short packet is quoted whole (odd lengths cut by one byte).
TEST_F(Pmtu, ShortPacketIsQuotedWhole) {
  lock_mtu(kV4, kV4.backend, 300);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV4.backend, 0);
  for (size_t len : {size_t{301}, size_t{302}}) {
    SCOPED_TRACE(len);
    Pkt in = data_packet(kV4, len);
    RunResult r = run(build(in));
    ASSERT_EQ(r.verdict, XDP_TX);
    Bytes want = expected_too_big(in, 280);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    EXPECT_EQ(r.out.size(), 14u + 28u + (len & ~size_t{1}));
  }
}

// IPv4 without DF may be fragmented by a router; XDP cannot, and no error
// is due: dropped and counted as drop_mtu.
TEST_F(Pmtu, Ipv4WithoutDfIsDropped) {
  lock_mtu(kV4, kV4.backend, 1400);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV4.backend, 0);
  Ipv4 ip;
  ip.src = kV4.client;
  ip.dst = kV4.vip;
  Tcp t;
  t.flags = kTcpAck;
  Bytes b = Frame().eth(kPeerMac, kFixtureMac).ipv4(ip).tcp(t).payload(std::string(1400, 'a')).build();
  EXPECT_EQ(run(b).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_MTU).packets, 1u);
  EXPECT_EQ(gstat(XLB_STAT_ICMP_FRAG_NEEDED).packets, 0u);
}

// ---- backend side ----------------------------------------------------------

// The router's error about the backend's reply to `flow` (a client packet):
// "fragmentation needed" / "packet too big" with MTU 1400, quoting the
// reply's first 548 bytes, sent to `to` (the VIP: the reply's source).
Bytes router_error(const Family& f, const Pkt& flow, const std::string& to) {
  Pkt reply = flow;
  reply.src = flow.dst;
  reply.sport = flow.dport;
  reply.dst = flow.src;
  reply.dport = flow.sport;
  reply.flags = kTcpAck;
  reply.payload = std::string(1400, 'r');
  Bytes q = ip_of(build(reply));
  q.resize(548);
  if (f.v6) {
    Ipv6 ip;
    ip.src = f.router;
    ip.dst = to;
    ip.next_header = 58;
    ip.hop_limit = 63;
    return Frame().eth(kPeerMac, kFixtureMac).ipv6(ip).payload(icmp6_message(2, 0, 1400, q, f.router, to)).build();
  }
  Ipv4 ip;
  ip.src = f.router;
  ip.dst = to;
  ip.proto = 1;
  ip.ttl = 63;
  ip.tos = 0xc0;
  return Frame().eth(kPeerMac, kFixtureMac).ipv4(ip).payload(icmp4_message(3, 4, 1400, q)).build();
}

TEST_F(Pmtu, RouterErrorAboutADsrReplyGoesToTheBackend) {
  uint32_t id = 0;
  for (const Family* f : {&kV4, &kV6}) {
    for (uint8_t mode : {uint8_t{XLB_MODE_IPIP}, uint8_t{XLB_MODE_L2DSR}}) {
      SCOPED_TRACE(std::string(f->name) + (mode == XLB_MODE_IPIP ? " ipip" : " l2dsr"));
      ++id;
      uint16_t vport = 80 + id;
      vip_with_backend(f->vip, vport, IPPROTO_TCP, mode, id, f->backend, 0);
      Pkt syn = client_packet(*f, 40000 + id, vport);
      ASSERT_EQ(run(build(syn)).verdict, XDP_TX);
      uint64_t fwd = gstat(XLB_STAT_DSR_ICMP).packets;

      Bytes err = router_error(*f, syn, f->vip);
      RunResult r = run(err);
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      Bytes want = err;
      if (mode == XLB_MODE_IPIP) {
        want = f->v6 ? expect_encap6(err, f->backend, 10) : expect_encap4(err, f->backend, 10);
        // The error rides in the flow's tunnel: its outer IPv6 flow label
        // (bytes 1..3 of the outer header) is the flow's, not one of the
        // ICMP packet's own addresses.
        if (f->v6) {
          Bytes flow_out = expect_encap6(build(syn), f->backend, 10);
          std::copy(flow_out.begin() + 15, flow_out.begin() + 18, want.begin() + 15);
        }
      } else {
        set_macs(want, fixture_neigh_mac(10), kFixtureMac);
      }
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
      EXPECT_EQ(gstat(XLB_STAT_DSR_ICMP).packets, fwd + 1);
    }
  }
  EXPECT_EQ(gstat(XLB_STAT_PASS_ICMP).packets, 0u);
}

// Not about a flow of ours, or not sent to the quoted packet's source: the
// error passes as any other ICMP.
TEST_F(Pmtu, OtherErrorsPass) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    vip_with_backend(f->vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, f->v6 ? 2 : 1, f->backend, 0);
    Pkt syn = client_packet(*f);
    Bytes no_flow = router_error(*f, syn, f->vip);
    RunResult r = run(no_flow);
    EXPECT_EQ(r.verdict, XDP_PASS);
    EXPECT_EQ(r.out, no_flow);
    ASSERT_EQ(run(build(syn)).verdict, XDP_TX);
    Bytes elsewhere = router_error(*f, syn, f->client);
    EXPECT_EQ(run(elsewhere).verdict, XDP_PASS);
  }
  EXPECT_EQ(gstat(XLB_STAT_PASS_ICMP).packets, 4u);
  EXPECT_EQ(gstat(XLB_STAT_DSR_ICMP).packets, 0u);
}

}  // namespace
}  // namespace xlb::test::nat
