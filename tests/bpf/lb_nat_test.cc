// Packet tests of nat VIPs (DNAT): the forward rewrite C:cp -> VIP:vp to
// C:cp -> B:bp, the reverse entry it owns, replies translated back to come
// from the VIP, the server's FIN/RST moving the counts, reply-tuple
// conflicts, and the UDP checksum rules. Exact verdicts and exact bytes;
// expected frames are built from scratch by the kit.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstring>
#include <vector>

#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

class Nat : public NatFixture {};

bool key_eq(const xlb_flow_key& a, const xlb_flow_key& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

struct FwdCase {
  const Family* f;
  uint8_t proto;
  uint16_t be_port;  // 0: the VIP's port
};

std::vector<FwdCase> forward_cases() {
  std::vector<FwdCase> cases;
  for (const Family* f : {&kV4, &kV6})
    for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}})
      for (uint16_t be_port : {uint16_t{0}, uint16_t{8080}}) cases.push_back({f, proto, be_port});
  return cases;
}

std::string describe(const FwdCase& c) {
  return std::string(c.f->name) + " " + proto_name(c.proto) + (c.be_port ? " port remapped" : " same port");
}

// ---- forward ------------------------------------------------------------------

TEST_F(Nat, ForwardRewritesTheDestinationToTheBackend) {
  nat_config();
  const auto cases = forward_cases();
  uint32_t id = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(describe(c));
    const Family& f = *c.f;
    uint16_t vport = 80 + id;  // a VIP per case
    uint32_t vip = vip_with_backend(f.vip, vport, c.proto, XLB_MODE_NAT, ++id, f.backend, c.be_port);
    uint16_t bp = c.be_port ? c.be_port : vport;

    Pkt in = client_packet(f, 40000 + id, vport, c.proto);
    in.tos = 0xb8;
    RunResult r = run(build(in));
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    Bytes want = build(rewritten(in, f.client, in.sport, f.backend, bp, 10));
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    EXPECT_TRUE(l4_checksum_ok(r.out));
    if (!f.v6) {
      EXPECT_TRUE(ipv4_header_checksum_ok(r.out));
    }

    // The reverse entry: the reply's tuple as it will arrive -> the client's flow.
    xlb_flow_key fwd = flow_key(f.client, in.sport, f.vip, vport, c.proto);
    xlb_nat_rev rev{};
    ASSERT_TRUE(nat_rev(flow_key(f.backend, bp, f.client, in.sport, c.proto), &rev));
    EXPECT_TRUE(key_eq(rev.fwd, fwd));
    EXPECT_EQ(rev.backend_id, id);
    EXPECT_EQ(rev.reserved, 0u);
    xlb_flow fl{};
    ASSERT_TRUE(flow(fwd, &fl));
    uint32_t units = XLB_FLOW_F_COUNTED | (c.proto == IPPROTO_TCP ? XLB_FLOW_F_HALF_OPEN : 0);
    EXPECT_EQ(fl.flags, XLB_FLOW_F_NAT | units);
    EXPECT_EQ(fl.nat_port, 0);
    EXPECT_EQ(fl.backend_id, id);
    EXPECT_EQ(conns(id).active, 1);
    EXPECT_EQ(counter(skel_->maps.xlb_vstats, vip).packets, 1u);
    EXPECT_EQ(counter(skel_->maps.xlb_bstats, id).packets, 1u);

    // Established: the same rewrite, no second entry.
    in.flags = kTcpAck;
    r = run(build(in));
    ASSERT_EQ(r.verdict, XDP_TX);
    want = build(rewritten(in, f.client, in.sport, f.backend, bp, 10));
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  }
  EXPECT_EQ(nat_revs().size(), cases.size());
  EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, cases.size());
  EXPECT_EQ(gstat(XLB_STAT_FLOW_HIT).packets, cases.size());
}

// Tags follow the egress device (lb_vlan_test.cc): the fixture's xlbt0 is
// no VLAN device, so the client's tag does not go on to the backend.
TEST_F(Nat, VlanTagIsNotCarriedToAnUntaggedEgress) {
  nat_config();
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 8080);
  Pkt in = client_packet(kV4);
  in.vlan = 0x0064;
  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  Pkt out = rewritten(in, kV4.client, in.sport, kV4.backend, 8080, 10);
  out.vlan.reset();
  Bytes want = build(out);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
}

TEST_F(Nat, Ipv4UdpWithoutChecksumKeepsNone) {
  nat_config();
  vip_with_backend(kV4.vip, 53, IPPROTO_UDP, XLB_MODE_NAT, 1, kV4.backend, 5353);
  Pkt in = client_packet(kV4, 41000, 53, IPPROTO_UDP);
  in.udp_checksum = 0;
  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = build(rewritten(in, kV4.client, 41000, kV4.backend, 5353, 10));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);

  Pkt reply;
  reply.src = kV4.backend;
  reply.sport = 5353;
  reply.dst = kV4.client;
  reply.dport = 41000;
  reply.proto = IPPROTO_UDP;
  reply.udp_checksum = 0;
  r = run(build(reply));
  ASSERT_EQ(r.verdict, XDP_TX);
  want = build(rewritten(reply, kV4.vip, 53, kV4.client, 41000, 2));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
}

// A UDP checksum that computes to 0 is sent as 0xffff (0 would mean "none"
// over IPv4, and is invalid over IPv6). The payload is searched for so that
// the rewritten datagram's true checksum is 0: the kit then writes 0xffff.
TEST_F(Nat, UdpChecksumComputingToZeroIsSentAsAllOnes) {
  nat_config();
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    uint16_t vport = f->v6 ? 54 : 53;
    vip_with_backend(f->vip, vport, IPPROTO_UDP, XLB_MODE_NAT, f->v6 ? 2 : 1, f->backend, 5353);
    Pkt in = client_packet(*f, 41000, vport, IPPROTO_UDP);
    Pkt out = rewritten(in, f->client, 41000, f->backend, 5353, 10);
    bool found = false;
    for (uint32_t v = 0; v < 0x10000 && !found; v++) {
      out.payload = std::string{char(v >> 8), char(v & 0xff)};
      Bytes b = build(out);
      size_t csum = b.size() - 2 - 2;  // UDP checksum: 2 bytes before the 2-byte payload
      found = b[csum] == 0xff && b[csum + 1] == 0xff;
    }
    ASSERT_TRUE(found);
    in.payload = out.payload;
    RunResult r = run(build(in));
    ASSERT_EQ(r.verdict, XDP_TX);
    Bytes want = build(out);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  }
}

TEST_F(Nat, PathMtuTowardsTheBackendIsEnforced) {
  nat_config();
  // A route's MTU applies to forwarded packets when locked.
  ASSERT_EQ(run_cmd("ip route add 198.18.0.12/32 dev xlbt0 mtu lock 1400"), 0);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, "198.18.0.12", 0);
  Pkt in = client_packet(kV4);
  in.flags = kTcpAck;
  in.payload = std::string(1400 - 40 + 1, 'a');
  // Answered with "fragmentation needed" (bytes: lb_pmtu_test.cc).
  EXPECT_EQ(run(build(in)).verdict, XDP_TX);
  EXPECT_EQ(gstat(XLB_STAT_ICMP_FRAG_NEEDED).packets, 1u);
  in.payload.pop_back();  // 1400 bytes: fits (nat does not grow packets)
  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = build(rewritten(in, kV4.client, in.sport, "198.18.0.12", 80, 12));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
}

TEST_F(Nat, BackendOfTheOtherFamilyDrops) {
  nat_config();
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV6.backend, 0);
  Pkt in = client_packet(kV4);
  EXPECT_EQ(run(build(in)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_INTERNAL).packets, 1u);
  EXPECT_EQ(flow_count(), 0u);
  EXPECT_TRUE(nat_revs().empty());
  EXPECT_EQ(conns(1).active, 0);
}

// ---- replies --------------------------------------------------------------------

TEST_F(Nat, ReplyIsTranslatedToComeFromTheVip) {
  nat_config();
  uint32_t id = 0;
  for (const auto& c : forward_cases()) {
    SCOPED_TRACE(describe(c));
    const Family& f = *c.f;
    uint16_t vport = 80 + id;
    uint32_t vip = vip_with_backend(f.vip, vport, c.proto, XLB_MODE_NAT, ++id, f.backend, c.be_port);
    uint16_t bp = c.be_port ? c.be_port : vport;
    Pkt in = client_packet(f, 40000 + id, vport, c.proto);
    ASSERT_EQ(run(build(in)).verdict, XDP_TX);

    Pkt reply;
    reply.src = f.backend;
    reply.sport = bp;
    reply.dst = f.client;
    reply.dport = in.sport;
    reply.proto = c.proto;
    reply.flags = kTcpSyn | kTcpAck;
    reply.smac = fixture_neigh_mac(10);
    reply.payload = "response";
    uint64_t replies = gstat(XLB_STAT_NAT_REPLY).packets;
    RunResult r = run(build(reply));
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    // To the client through its gateway (neighbour 2).
    Bytes want = build(rewritten(reply, f.vip, vport, f.client, in.sport, 2));
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    EXPECT_TRUE(l4_checksum_ok(r.out));
    if (!f.v6) {
      EXPECT_TRUE(ipv4_header_checksum_ok(r.out));
    }
    EXPECT_EQ(gstat(XLB_STAT_NAT_REPLY).packets, replies + 1);
    // Replies are not forwarded client traffic of the VIP or backend.
    EXPECT_EQ(counter(skel_->maps.xlb_vstats, vip).packets, 1u);
    EXPECT_EQ(counter(skel_->maps.xlb_bstats, id).packets, 1u);
    // A SYN-ACK neither completes the handshake nor touches the counts.
    xlb_flow fl{};
    ASSERT_TRUE(flow(flow_key(f.client, in.sport, f.vip, vport, c.proto), &fl));
    EXPECT_EQ(fl.state, c.proto == IPPROTO_TCP ? XLB_FLOW_TCP_SYN : XLB_FLOW_UDP);
    EXPECT_EQ(conns(id).active, 1);
    EXPECT_EQ(conns(id).half_open, c.proto == IPPROTO_TCP ? 1 : 0);
  }
}

TEST_F(Nat, ReplyWithoutTheNatFlagPassesUntouched) {
  nat_config();
  std::vector<Bytes> replies;
  uint32_t id = 0;
  for (const Family* f : {&kV4, &kV6}) {
    for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
      uint16_t vport = 80 + id;
      vip_with_backend(f->vip, vport, proto, XLB_MODE_NAT, ++id, f->backend, 8080);
      Pkt in = client_packet(*f, 40000 + id, vport, proto);
      ASSERT_EQ(run(build(in)).verdict, XDP_TX);
      Pkt reply;
      reply.src = f->backend;
      reply.sport = 8080;
      reply.dst = f->client;
      reply.dport = in.sport;
      reply.proto = proto;
      reply.flags = kTcpSyn | kTcpAck;
      replies.push_back(build(reply));
    }
  }
  ASSERT_EQ(nat_revs().size(), 4u);

  set_nat(0, kV4.snat, kV6.snat, 20000, 29999);  // no nat VIP (as lbd would say)
  for (const Bytes& b : replies) {
    RunResult r = run(b);
    EXPECT_EQ(r.verdict, XDP_PASS);
    EXPECT_EQ(r.out, b) << hexdump_diff(b, r.out);
  }
  EXPECT_EQ(gstat(XLB_STAT_PASS_NOT_VIP).packets, 4u);
  EXPECT_EQ(gstat(XLB_STAT_NAT_REPLY).packets, 0u);
}

TEST_F(Nat, UnknownReplyTuplePassesUntouched) {
  nat_config();
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 8080);
  Pkt in = client_packet(kV4);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  Pkt other;  // the same backend, another client port
  other.src = kV4.backend;
  other.sport = 8080;
  other.dst = kV4.client;
  other.dport = in.sport + 1;
  Bytes b = build(other);
  RunResult r = run(b);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, b);
  EXPECT_EQ(gstat(XLB_STAT_PASS_NOT_VIP).packets, 1u);
}

// The server closing moves the state and returns the units, once: each
// close is sent twice, and a third flow holds a unit that a double release
// would take.
TEST_F(Nat, ServerFinAndRstReleaseTheCountOnce) {
  nat_config();
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    uint32_t id = f->v6 ? 2 : 1;
    vip_with_backend(f->vip, 80, IPPROTO_TCP, XLB_MODE_NAT, id, f->backend, 8080);
    auto client = [&](uint16_t sport, uint8_t flags) {
      Pkt p = client_packet(*f, sport);
      p.flags = flags;
      return build(p);
    };
    auto server = [&](uint16_t dport, uint8_t flags) {
      Pkt p;
      p.src = f->backend;
      p.sport = 8080;
      p.dst = f->client;
      p.dport = dport;
      p.flags = flags;
      return build(p);
    };
    // Flow 1 established, flows 2 and 3 half-open.
    ASSERT_EQ(run(client(1001, kTcpSyn)).verdict, XDP_TX);
    ASSERT_EQ(run(client(1001, kTcpAck)).verdict, XDP_TX);
    ASSERT_EQ(run(client(1002, kTcpSyn)).verdict, XDP_TX);
    ASSERT_EQ(run(client(1003, kTcpSyn)).verdict, XDP_TX);
    EXPECT_EQ(conns(id).active, 3);
    EXPECT_EQ(conns(id).half_open, 2);

    for (int i = 0; i < 2; i++) {
      ASSERT_EQ(run(server(1001, kTcpFin | kTcpAck)).verdict, XDP_TX);
      EXPECT_EQ(conns(id).active, 2) << "after server FIN #" << i + 1;
      EXPECT_EQ(conns(id).half_open, 2);
    }
    xlb_flow fl{};
    ASSERT_TRUE(flow(flow_key(f->client, 1001, f->vip, 80, IPPROTO_TCP), &fl));
    EXPECT_EQ(fl.state, XLB_FLOW_TCP_CLOSING);
    EXPECT_EQ(fl.flags, XLB_FLOW_F_NAT | XLB_FLOW_F_FIN_SERVER);

    for (int i = 0; i < 2; i++) {
      ASSERT_EQ(run(server(1002, kTcpRst)).verdict, XDP_TX);
      EXPECT_EQ(conns(id).active, 1) << "after server RST #" << i + 1;
      EXPECT_EQ(conns(id).half_open, 1);
    }
    ASSERT_TRUE(flow(flow_key(f->client, 1002, f->vip, 80, IPPROTO_TCP), &fl));
    EXPECT_EQ(fl.state, XLB_FLOW_TCP_RESET);

    // The client's last ACK after the server's FIN takes nothing back.
    ASSERT_EQ(run(client(1001, kTcpAck)).verdict, XDP_TX);
    EXPECT_EQ(conns(id).active, 1);
    ASSERT_TRUE(flow(flow_key(f->client, 1001, f->vip, 80, IPPROTO_TCP), &fl));
    EXPECT_EQ(fl.state, XLB_FLOW_TCP_CLOSING);
  }
}

TEST_F(Nat, ReplyRefreshesLastSeen) {
  nat_config();
  vip_with_backend(kV4.vip, 53, IPPROTO_UDP, XLB_MODE_NAT, 1, kV4.backend, 0);
  Pkt in = client_packet(kV4, 40000, 53, IPPROTO_UDP);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  xlb_flow_key key = flow_key(kV4.client, in.sport, kV4.vip, 53, IPPROTO_UDP);
  xlb_flow fl{};
  ASSERT_TRUE(flow(key, &fl));
  fl.last_seen_ns = 1;  // long ago
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_flows), &key, &fl, BPF_EXIST), 0);

  Pkt reply;
  reply.src = kV4.backend;
  reply.sport = 53;
  reply.dst = kV4.client;
  reply.dport = in.sport;
  reply.proto = IPPROTO_UDP;
  ASSERT_EQ(run(build(reply)).verdict, XDP_TX);
  ASSERT_TRUE(flow(key, &fl));
  EXPECT_GT(fl.last_seen_ns, 1u);
  EXPECT_EQ(conns(1).active, 1);
}

TEST_F(Nat, ReplyOfAFlowWithoutForwardEntryIsStillTranslated) {
  nat_config();
  vip_with_backend(kV6.vip, 443, IPPROTO_TCP, XLB_MODE_NAT, 1, kV6.backend, 8443);
  Pkt in = client_packet(kV6, 40000, 443);
  in.flags = kTcpAck;
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  delete_flow(flow_key(kV6.client, in.sport, kV6.vip, 443, IPPROTO_TCP));  // evicted

  Pkt reply;
  reply.src = kV6.backend;
  reply.sport = 8443;
  reply.dst = kV6.client;
  reply.dport = in.sport;
  reply.flags = kTcpFin | kTcpAck;
  RunResult r = run(build(reply));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = build(rewritten(reply, kV6.vip, 443, kV6.client, in.sport, 2));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(flow_count(), 0u) << "a reply never creates a flow";
  // The ACK made an unproven (midstream) entry: one half_open unit.
  EXPECT_EQ(conns(1).half_open, 1) << "counts of a missing entry are the reaper's";
  EXPECT_EQ(conns(1).active, 0);
  EXPECT_EQ(gstat(XLB_STAT_NAT_REPLY).packets, 1u);
}

TEST_F(Nat, ReplyTooBigForTheClientsRouteDrops) {
  nat_config();
  ASSERT_EQ(run_cmd("ip route add 198.19.8.0/24 via 198.18.0.2 dev xlbt0 mtu lock 1400"), 0);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 0);
  Pkt in;
  in.src = "198.19.8.8";
  in.dst = kV4.vip;
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  Pkt reply;
  reply.src = kV4.backend;
  reply.dst = "198.19.8.8";
  reply.dport = in.sport;
  reply.sport = 80;
  reply.flags = kTcpAck;
  reply.payload = std::string(1400 - 40 + 1, 'r');
  EXPECT_EQ(run(build(reply)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_MTU).packets, 1u);
  reply.payload.pop_back();
  EXPECT_EQ(run(build(reply)).verdict, XDP_TX);
}

// ---- reply-tuple ownership --------------------------------------------------------

// Two VIP ports sending the same client port to the same backend address and
// port would share one reply tuple: the second flow must not take it while
// the first is open. (A SYN gets a RST, lb_nat_takeover_test.cc; the ACKs
// here, of a connection the lb never saw open, are dropped.)
TEST_F(Nat, SecondFlowOntoAnOwnedReplyTupleIsDroppedAndUndone) {
  nat_config();
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    uint32_t a = f->v6 ? 3 : 1, b = a + 1;
    vip_with_backend(f->vip, 80, IPPROTO_TCP, XLB_MODE_NAT, a, f->backend, 8080);
    vip_with_backend(f->vip, 81, IPPROTO_TCP, XLB_MODE_NAT, b, f->backend, 8080);
    Pkt first = client_packet(*f, 40000, 80);
    ASSERT_EQ(run(build(first)).verdict, XDP_TX);

    Pkt second = first;
    second.dport = 81;
    second.flags = kTcpAck;
    uint64_t conflicts = gstat(XLB_STAT_DROP_NAT_CONFLICT).packets;
    for (int i = 0; i < 2; i++) {
      Bytes in = build(second);
      RunResult r = run(in);
      EXPECT_EQ(r.verdict, XDP_DROP);
      EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_CONFLICT).packets, conflicts + i + 1);
    }
    xlb_flow fl{};
    EXPECT_FALSE(flow(flow_key(f->client, 40000, f->vip, 81, IPPROTO_TCP), &fl)) << "forward entry not undone";
    EXPECT_EQ(conns(b).active, 0);
    EXPECT_EQ(conns(b).half_open, 0);
    EXPECT_EQ(conns(a).active, 1);
    xlb_nat_rev rev{};
    ASSERT_TRUE(nat_rev(flow_key(f->backend, 8080, f->client, 40000, IPPROTO_TCP), &rev));
    EXPECT_TRUE(key_eq(rev.fwd, flow_key(f->client, 40000, f->vip, 80, IPPROTO_TCP))) << "reply tuple stolen";
    EXPECT_EQ(rev.backend_id, a);
    EXPECT_EQ(counter(skel_->maps.xlb_bstats, b).packets, 0u);
  }
  EXPECT_EQ(flow_count(), 2u);
  EXPECT_EQ(nat_revs().size(), 2u);
}

// A reverse entry naming this very flow is a leftover of the flow's earlier
// life (its forward entry was evicted): it is taken over, with the current
// backend id.
TEST_F(Nat, LeftoverReverseEntryOfTheSameFlowIsTakenOver) {
  nat_config();
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 8080);
  xlb_flow_key fwd = flow_key(kV4.client, 40000, kV4.vip, 80, IPPROTO_TCP);
  xlb_flow_key rk = flow_key(kV4.backend, 8080, kV4.client, 40000, IPPROTO_TCP);
  put_nat_rev(rk, fwd, 77);  // the id the backend had before a restart

  Pkt in = client_packet(kV4);
  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_CONFLICT).packets, 0u);
  xlb_nat_rev rev{};
  ASSERT_TRUE(nat_rev(rk, &rev));
  EXPECT_TRUE(key_eq(rev.fwd, fwd));
  EXPECT_EQ(rev.backend_id, 1u);
  EXPECT_EQ(nat_revs().size(), 1u);
}

// A full reverse table no longer drops new flows (it is an LRU): see
// lb_nat_rev_test.cc, NatRevFlood.

// ---- rescheduling -------------------------------------------------------------------

TEST_F(Nat, PurgedBackendsFlowGetsANewBackendAndReplyTuple) {
  nat_config();
  uint32_t vip = vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 8080);
  add_backend(2, vip, kV4.backend2, 1, 8080);
  Pkt in = client_packet(kV4);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);

  xlb_backend gone{};
  uint32_t id = 1;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_backends), &id, &gone, BPF_ANY), 0);
  fill_ring(vip, 2);
  in.flags = kTcpAck;
  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = build(rewritten(in, kV4.client, in.sport, kV4.backend2, 8080, 11));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(gstat(XLB_STAT_FLOW_STALE_BACKEND).packets, 1u);
  xlb_nat_rev rev{};
  ASSERT_TRUE(nat_rev(flow_key(kV4.backend2, 8080, kV4.client, in.sport, IPPROTO_TCP), &rev));
  EXPECT_EQ(rev.backend_id, 2u);
  xlb_flow fl{};
  ASSERT_TRUE(flow(flow_key(kV4.client, in.sport, kV4.vip, 80, IPPROTO_TCP), &fl));
  EXPECT_EQ(fl.backend_id, 2u);
  // Rescheduled by an ACK: the new backend never saw the connection, so
  // the entry starts unproven (midstream), like any non-SYN without one.
  EXPECT_EQ(fl.state, XLB_FLOW_TCP_MIDSTREAM);
  EXPECT_EQ(fl.flags, XLB_FLOW_F_NAT | XLB_FLOW_F_HALF_OPEN);
  EXPECT_EQ(conns(2).active, 0);
  EXPECT_EQ(conns(2).half_open, 1);
}

// An entry made while the VIP was ipip has no reply mapping: the flow is
// scheduled afresh as a nat flow, and its unit is returned, not doubled;
// rescheduled by an ACK, the new entry is unproven (midstream): half_open.
TEST_F(Nat, EntryFromBeforeTheModeChangeIsRescheduled) {
  nat_config();
  uint32_t vip = vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV4.backend, 0);
  Pkt in = client_packet(kV4);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);  // SYN
  in.flags = kTcpAck;
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  EXPECT_EQ(conns(1).active, 1);
  EXPECT_EQ(conns(1).half_open, 0);

  set_mode(vip, XLB_MODE_NAT);
  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = build(rewritten(in, kV4.client, in.sport, kV4.backend, 80, 10));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(conns(1).active, 0);
  EXPECT_EQ(conns(1).half_open, 1);
  xlb_flow fl{};
  ASSERT_TRUE(flow(flow_key(kV4.client, in.sport, kV4.vip, 80, IPPROTO_TCP), &fl));
  EXPECT_EQ(fl.flags, XLB_FLOW_F_NAT | XLB_FLOW_F_HALF_OPEN);
  EXPECT_EQ(nat_revs().size(), 1u);
}

}  // namespace
}  // namespace xlb::test::nat
