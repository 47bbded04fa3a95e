// Packet tests of nat reply-tuple takeover and refusal (bpf/lib/nat.h,
// bpf/lib/nat_refuse.h). Two VIP ports, 80 and 81, map to the same backend
// address and port (8080), so one client port toward both gives one reply
// tuple B:8080 -> C:cp. Linux reuses a local port toward another
// destination while the first connection is in TIME_WAIT, so:
//  - a SYN whose tuple is held by a finished flow (FIN both ways, a RST, or
//    a forward entry that is gone) takes the tuple over, and the old flow's
//    entry and count units are dealt with exactly once;
//  - a SYN whose tuple a live flow holds is refused with a RST (exact
//    bytes), counted as nat_conflict_rst, and leaves nothing behind; other
//    packets of such a flow, and UDP, are dropped as drop_nat_conflict.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstring>

#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

constexpr uint16_t kSport = 40000;
constexpr uint16_t kBePort = 8080;

class NatTakeover : public NatFixture {
 protected:
  // VIP:80 -> backend id a, VIP:81 -> backend id b, both at f.backend:8080.
  void two_vips(const Family& f) {
    a = f.v6 ? 3 : 1;
    b = a + 1;
    vip_with_backend(f.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, a, f.backend, kBePort);
    vip_with_backend(f.vip, 81, IPPROTO_TCP, XLB_MODE_NAT, b, f.backend, kBePort);
  }
  Bytes client(const Family& f, uint16_t vport, uint8_t flags) {
    return build(client_packet(f, kSport, vport, IPPROTO_TCP, flags));
  }
  Bytes server(const Family& f, uint8_t flags) {
    Pkt p;
    p.src = f.backend;
    p.sport = kBePort;
    p.dst = f.client;
    p.dport = kSport;
    p.flags = flags;
    return build(p);
  }
  xlb_flow_key fwd(const Family& f, uint16_t vport) {
    return flow_key(f.client, kSport, f.vip, vport, IPPROTO_TCP);
  }
  xlb_flow_key reply_tuple(const Family& f) { return flow_key(f.backend, kBePort, f.client, kSport, IPPROTO_TCP); }
  // The first connection, to VIP:80, opened (SYN, ACK).
  void open_first(const Family& f) {
    ASSERT_EQ(run(client(f, 80, kTcpSyn)).verdict, XDP_TX);
    ASSERT_EQ(run(client(f, 80, kTcpAck)).verdict, XDP_TX);
    ASSERT_EQ(conns(a).active, 1);
  }
  // A SYN to VIP:81 must take the tuple over: forwarded to the backend, the
  // reply entry names the new flow, the old flow's entry is gone, and each
  // identity holds exactly its own flow's units.
  void expect_takeover(const Family& f) {
    Pkt syn = client_packet(f, kSport, 81);
    RunResult r = run(build(syn));
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    Bytes want = build(rewritten(syn, f.client, kSport, f.backend, kBePort, 10));
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    xlb_nat_rev rev{};
    ASSERT_TRUE(nat_rev(reply_tuple(f), &rev));
    xlb_flow_key want_fwd = fwd(f, 81);
    EXPECT_EQ(std::memcmp(&rev.fwd, &want_fwd, sizeof want_fwd), 0) << "the tuple was not taken over";
    EXPECT_EQ(rev.backend_id, b);
    xlb_flow fl{};
    EXPECT_FALSE(flow(fwd(f, 80), &fl)) << "the old flow's entry stays";
    ASSERT_TRUE(flow(fwd(f, 81), &fl));
    EXPECT_EQ(fl.flags, XLB_FLOW_F_NAT | XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN);
    EXPECT_EQ(conns(a).active, 0);
    EXPECT_EQ(conns(a).half_open, 0);
    EXPECT_EQ(conns(b).active, 1);
    EXPECT_EQ(conns(b).half_open, 1);
    EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_CONFLICT).packets, 0u);
    EXPECT_EQ(gstat(XLB_STAT_NAT_CONFLICT_RST).packets, 0u);

    // The backend's SYN-ACK now comes from VIP:81.
    Pkt synack;
    synack.src = f.backend;
    synack.sport = kBePort;
    synack.dst = f.client;
    synack.dport = kSport;
    synack.flags = kTcpSyn | kTcpAck;
    r = run(build(synack));
    ASSERT_EQ(r.verdict, XDP_TX);
    want = build(rewritten(synack, f.vip, 81, f.client, kSport, 2));
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  }
  // A SYN to VIP:81 must be refused with a RST and leave nothing behind.
  void expect_refusal(const Family& f, uint64_t refusals_before = 0) {
    RunResult r = run(client(f, 81, kTcpSyn));
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    ASSERT_GE(r.out.size(), 14u + (f.v6 ? 40 : 20) + 20);
    EXPECT_EQ(r.out[14 + (f.v6 ? 40 : 20) + 13], kTcpRst | kTcpAck) << hexdump(r.out);
    EXPECT_EQ(gstat(XLB_STAT_NAT_CONFLICT_RST).packets, refusals_before + 1);
    xlb_nat_rev rev{};
    ASSERT_TRUE(nat_rev(reply_tuple(f), &rev));
    xlb_flow_key old_fwd = fwd(f, 80);
    EXPECT_EQ(std::memcmp(&rev.fwd, &old_fwd, sizeof old_fwd), 0) << "a live flow's tuple was taken";
    xlb_flow fl{};
    EXPECT_FALSE(flow(fwd(f, 81), &fl)) << "the refused flow's entry stays";
    EXPECT_TRUE(flow(fwd(f, 80), &fl));
    EXPECT_EQ(conns(b).active, 0);
    EXPECT_EQ(conns(b).half_open, 0);
  }

  uint32_t a = 0, b = 0;
};

// ---- takeover -----------------------------------------------------------------

TEST_F(NatTakeover, AfterFinBothWaysClientFirst) {
  nat_config();
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    two_vips(*f);
    open_first(*f);
    ASSERT_EQ(run(client(*f, 80, kTcpFin | kTcpAck)).verdict, XDP_TX);
    ASSERT_EQ(run(server(*f, kTcpFin | kTcpAck)).verdict, XDP_TX);
    ASSERT_EQ(run(client(*f, 80, kTcpAck)).verdict, XDP_TX);  // the last ACK
    xlb_flow fl{};
    ASSERT_TRUE(flow(fwd(*f, 80), &fl));
    EXPECT_EQ(fl.flags, XLB_FLOW_F_NAT | XLB_FLOW_F_FIN_CLIENT | XLB_FLOW_F_FIN_SERVER);
    expect_takeover(*f);
  }
  EXPECT_EQ(gstat(XLB_STAT_NAT_TAKEOVER).packets, 2u);
}

TEST_F(NatTakeover, AfterFinBothWaysServerFirst) {
  nat_config();
  two_vips(kV4);
  open_first(kV4);
  ASSERT_EQ(run(server(kV4, kTcpFin | kTcpAck)).verdict, XDP_TX);
  ASSERT_EQ(run(client(kV4, 80, kTcpFin | kTcpAck)).verdict, XDP_TX);
  expect_takeover(kV4);
}

TEST_F(NatTakeover, AfterClientRst) {
  nat_config();
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    two_vips(*f);
    open_first(*f);
    ASSERT_EQ(run(client(*f, 80, kTcpRst)).verdict, XDP_TX);
    expect_takeover(*f);
  }
}

TEST_F(NatTakeover, AfterServerRst) {
  nat_config();
  two_vips(kV6);
  open_first(kV6);
  ASSERT_EQ(run(server(kV6, kTcpRst | kTcpAck)).verdict, XDP_TX);
  xlb_flow fl{};
  ASSERT_TRUE(flow(fwd(kV6, 80), &fl));
  EXPECT_TRUE(fl.flags & XLB_FLOW_F_RESET);
  expect_takeover(kV6);
}

// A forward entry that is gone (expired and reaped, or evicted) leaves its
// reply entry to the reaper; a new flow need not wait for it.
TEST_F(NatTakeover, AfterTheOldForwardEntryIsGone) {
  nat_config();
  two_vips(kV4);
  open_first(kV4);
  delete_flow(fwd(kV4, 80));
  ASSERT_EQ(adjust(a, -1, 0), 0);  // what the reaper's reconciliation does
  expect_takeover(kV4);
}

// A finished flow holds no units; should its entry still hold one (state
// written by an older program, say), the takeover returns it, once.
TEST_F(NatTakeover, UnitsStillHeldByTheOldEntryAreReturnedOnce) {
  nat_config();
  two_vips(kV4);
  open_first(kV4);
  xlb_flow fl{};
  ASSERT_TRUE(flow(fwd(kV4, 80), &fl));
  fl.flags |= XLB_FLOW_F_RESET;  // finished, but still COUNTED
  xlb_flow_key k = fwd(kV4, 80);
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_flows), &k, &fl, BPF_EXIST), 0);
  // A third flow on identity a holds a unit that a double release would take.
  ASSERT_EQ(run(build(client_packet(kV4, kSport + 1, 80, IPPROTO_TCP, kTcpSyn))).verdict, XDP_TX);
  ASSERT_EQ(run(build(client_packet(kV4, kSport + 1, 80, IPPROTO_TCP, kTcpAck))).verdict, XDP_TX);
  ASSERT_EQ(conns(a).active, 2);
  {
    RunResult r = run(client(kV4, 81, kTcpSyn));
    ASSERT_EQ(r.verdict, XDP_TX);
    EXPECT_EQ(conns(a).active, 1);
    EXPECT_EQ(conns(a).half_open, 0);
    EXPECT_EQ(conns(b).active, 1);
    EXPECT_EQ(conns(b).half_open, 1);
    // Its SYN retransmitted: a flow hit, nothing counted again.
    ASSERT_EQ(run(client(kV4, 81, kTcpSyn)).verdict, XDP_TX);
    EXPECT_EQ(conns(b).active, 1);
    EXPECT_EQ(conns(b).half_open, 1);
    EXPECT_EQ(gstat(XLB_STAT_NAT_TAKEOVER).packets, 1u);
  }
}

// A late packet of the old connection, after the takeover, meets the new
// owner on the new-flow path: dropped, nothing counted, the owner untouched.
TEST_F(NatTakeover, LatePacketOfTheOldConnectionIsDroppedAfterwards) {
  nat_config();
  two_vips(kV4);
  open_first(kV4);
  ASSERT_EQ(run(client(kV4, 80, kTcpRst)).verdict, XDP_TX);
  expect_takeover(kV4);
  EXPECT_EQ(run(client(kV4, 80, kTcpAck)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_CONFLICT).packets, 1u);
  EXPECT_EQ(conns(a).active, 0);
  EXPECT_EQ(conns(b).active, 1);
  xlb_nat_rev rev{};
  ASSERT_TRUE(nat_rev(reply_tuple(kV4), &rev));
  EXPECT_EQ(rev.backend_id, b);
}

// ---- live clash: refused ----------------------------------------------------------

TEST_F(NatTakeover, OpenFlowIsNotTakenOver) {
  nat_config();
  two_vips(kV4);
  open_first(kV4);
  expect_refusal(kV4);
}

// Half-closed connections still carry data the other way.
TEST_F(NatTakeover, HalfClosedFlowIsNotTakenOver) {
  nat_config();
  for (uint8_t side : {0, 1}) {
    SCOPED_TRACE(side ? "server FIN only" : "client FIN only");
    const Family& f = side ? kV6 : kV4;
    two_vips(f);
    open_first(f);
    if (side)
      ASSERT_EQ(run(server(f, kTcpFin | kTcpAck)).verdict, XDP_TX);
    else
      ASSERT_EQ(run(client(f, 80, kTcpFin | kTcpAck)).verdict, XDP_TX);
    expect_refusal(f, side);
  }
}

// A new connection on the old 5-tuple (a SYN to VIP:80 after both FINs)
// is open again: its tuple is not free.
TEST_F(NatTakeover, ANewConnectionOnTheOldTupleIsLive) {
  nat_config();
  two_vips(kV4);
  open_first(kV4);
  ASSERT_EQ(run(client(kV4, 80, kTcpFin | kTcpAck)).verdict, XDP_TX);
  ASSERT_EQ(run(server(kV4, kTcpFin | kTcpAck)).verdict, XDP_TX);
  ASSERT_EQ(run(client(kV4, 80, kTcpSyn)).verdict, XDP_TX);
  xlb_flow fl{};
  ASSERT_TRUE(flow(fwd(kV4, 80), &fl));
  EXPECT_EQ(fl.flags, XLB_FLOW_F_NAT | XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN);
  expect_refusal(kV4);
}

// The RST, byte for byte: from the VIP port to the client, MACs swapped,
// seq 0, ack = the SYN's seq + 1 (+ its data), RST|ACK, window 0, fresh IP
// header, options and data cut off, full checksums.
TEST_F(NatTakeover, RefusalRstExactBytes) {
  nat_config();
  for (const Family* f : {&kV4, &kV6}) {
    two_vips(*f);
    open_first(*f);
    for (bool with_data : {false, true}) {
      SCOPED_TRACE(std::string(f->name) + (with_data ? " SYN with data" : " plain SYN"));
      Frame in;
      in.eth(kPeerMac, kFixtureMac);
      if (f->v6) {
        Ipv6 ip;
        ip.src = f->client;
        ip.dst = f->vip;
        ip.tclass = 0x20;
        ip.flow_label = 0x12345;
        in.ipv6(ip);
      } else {
        Ipv4 ip;
        ip.src = f->client;
        ip.dst = f->vip;
        ip.tos = 0x20;
        ip.id = 0x4321;
        ip.ttl = 61;
        ip.options = {0x01, 0x01, 0x01, 0x00};  // NOPs, EOL: IHL 6
        in.ipv4(ip);
      }
      Tcp syn;
      syn.sport = kSport;
      syn.dport = 81;
      syn.seq = 0xfffffff0;  // the ack wraps with data
      syn.flags = kTcpSyn;
      syn.window = 64240;
      syn.options = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 1, 2, 3, 4, 0, 0, 0, 0, 0x01, 0x03, 0x03, 0x07};
      in.tcp(syn);
      if (with_data) in.payload(std::string(20, 'd'));
      uint64_t before = gstat(XLB_STAT_NAT_CONFLICT_RST).packets;
      uint64_t tx = gstat(XLB_STAT_TX).packets;

      RunResult r = run(in.build());
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);

      Frame want;
      want.eth(kFixtureMac, kPeerMac);
      if (f->v6) {
        Ipv6 ip;
        ip.src = f->vip;
        ip.dst = f->client;
        want.ipv6(ip);
      } else {
        Ipv4 ip;
        ip.src = f->vip;
        ip.dst = f->client;
        ip.df = true;
        want.ipv4(ip);
      }
      Tcp rst;
      rst.sport = 81;
      rst.dport = kSport;
      rst.seq = 0;
      rst.ack = 0xfffffff0 + 1 + (with_data ? 20 : 0);
      rst.flags = kTcpRst | kTcpAck;
      rst.window = 0;
      want.tcp(rst);
      Bytes wb = want.build();
      EXPECT_EQ(r.out, wb) << hexdump_diff(wb, r.out);
      EXPECT_TRUE(l4_checksum_ok(r.out));
      EXPECT_EQ(gstat(XLB_STAT_NAT_CONFLICT_RST).packets, before + 1);
      EXPECT_EQ(gstat(XLB_STAT_TX).packets, tx + 1);
      EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_CONFLICT).packets, 0u);
      xlb_flow fl{};
      EXPECT_FALSE(flow(fwd(*f, 81), &fl));
      EXPECT_EQ(conns(b).active, 0);
      EXPECT_EQ(conns(b).half_open, 0);
      // The VLAN case keeps its tag (only checked once).
      if (with_data && !f->v6) {
        Frame tagged;
        tagged.eth(kPeerMac, kFixtureMac).vlan(42);
        Ipv4 ip;
        ip.src = f->client;
        ip.dst = f->vip;
        tagged.ipv4(ip);
        Tcp t;
        t.sport = kSport;
        t.dport = 81;
        t.seq = 7;
        tagged.tcp(t);
        r = run(tagged.build());
        ASSERT_EQ(r.verdict, XDP_TX);
        Frame wt;
        wt.eth(kFixtureMac, kPeerMac).vlan(42);
        Ipv4 wip;
        wip.src = f->vip;
        wip.dst = f->client;
        wip.df = true;
        wt.ipv4(wip);
        Tcp wr;
        wr.sport = 81;
        wr.dport = kSport;
        wr.seq = 0;
        wr.ack = 8;
        wr.flags = kTcpRst | kTcpAck;
        wr.window = 0;
        wt.tcp(wr);
        Bytes wtb = wt.build();
        EXPECT_EQ(r.out, wtb) << hexdump_diff(wtb, r.out);
      }
    }
  }
}

// Only a SYN is answered: other TCP packets of a refused flow, and UDP,
// are dropped and counted, with nothing left behind.
TEST_F(NatTakeover, NonSynAndUdpClashesAreDroppedAndCounted) {
  nat_config();
  two_vips(kV4);
  open_first(kV4);
  EXPECT_EQ(run(client(kV4, 81, kTcpAck)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_CONFLICT).packets, 1u);
  EXPECT_EQ(conns(b).active, 0);

  vip_with_backend(kV4.vip, 53, IPPROTO_UDP, XLB_MODE_NAT, 5, kV4.backend, 5353);
  vip_with_backend(kV4.vip, 54, IPPROTO_UDP, XLB_MODE_NAT, 6, kV4.backend, 5353);
  ASSERT_EQ(run(build(client_packet(kV4, kSport, 53, IPPROTO_UDP))).verdict, XDP_TX);
  EXPECT_EQ(run(build(client_packet(kV4, kSport, 54, IPPROTO_UDP))).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_CONFLICT).packets, 2u);
  EXPECT_EQ(conns(6).active, 0);
  EXPECT_EQ(conns(5).active, 1);
  EXPECT_EQ(gstat(XLB_STAT_NAT_CONFLICT_RST).packets, 0u);
}

}  // namespace
}  // namespace xlb::test::nat
