// Packet tests of fullnat VIPs: C:cp -> VIP:vp becomes S:sp -> B:bp, with
// sp claimed from the configured range by inserting the reply tuple's
// reverse entry; replies B:bp -> S:sp become VIP:vp -> C:cp. The port is the
// program's choice (a hash of the flow and the backend, then probes): tests
// read it from the flow entry, check it against the range and the reverse
// table, and build the expected frames with it from scratch.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstring>
#include <set>
#include <vector>

#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

class FullNat : public NatFixture {};

bool key_eq(const xlb_flow_key& a, const xlb_flow_key& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

TEST_F(FullNat, ForwardAndReplyAreTranslatedBothWays) {
  nat_config(20000, 29999);
  uint32_t id = 0;
  for (const Family* f : {&kV4, &kV6}) {
    for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
      for (uint16_t be_port : {uint16_t{0}, uint16_t{8080}}) {
        SCOPED_TRACE(std::string(f->name) + " " + proto_name(proto) + " backend port " + std::to_string(be_port));
        uint16_t vport = 80 + id;
        uint32_t vip = vip_with_backend(f->vip, vport, proto, XLB_MODE_FULLNAT, ++id, f->backend, be_port);
        uint16_t bp = be_port ? be_port : vport;
        Pkt in = client_packet(*f, 40000 + id, vport, proto);

        RunResult r = run(build(in));
        ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
        uint16_t sp = port_of(in);
        EXPECT_GE(sp, 20000);
        EXPECT_LE(sp, 29999);
        Bytes want = build(rewritten(in, f->snat, sp, f->backend, bp, 10));
        EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
        EXPECT_TRUE(l4_checksum_ok(r.out));
        if (!f->v6) {
          EXPECT_TRUE(ipv4_header_checksum_ok(r.out));
        }
        xlb_flow fl{};
        ASSERT_TRUE(flow(flow_key(f->client, in.sport, f->vip, vport, proto), &fl));
        EXPECT_EQ(fl.flags & XLB_FLOW_F_NAT, XLB_FLOW_F_NAT);
        EXPECT_EQ(conns(id).active, 1);
        xlb_nat_rev rev{};
        ASSERT_TRUE(nat_rev(flow_key(f->backend, bp, f->snat, sp, proto), &rev));
        EXPECT_TRUE(key_eq(rev.fwd, flow_key(f->client, in.sport, f->vip, vport, proto)));
        EXPECT_EQ(rev.backend_id, id);

        // Later packets keep the port.
        in.flags = kTcpAck;
        in.payload = "more data";
        r = run(build(in));
        ASSERT_EQ(r.verdict, XDP_TX);
        want = build(rewritten(in, f->snat, sp, f->backend, bp, 10));
        EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);

        // The backend answers S:sp; the client gets it from the VIP.
        Pkt reply;
        reply.src = f->backend;
        reply.sport = bp;
        reply.dst = f->snat;
        reply.dport = sp;
        reply.proto = proto;
        reply.flags = kTcpAck;
        reply.payload = "the answer";
        r = run(build(reply));
        ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
        want = build(rewritten(reply, f->vip, vport, f->client, in.sport, 2));
        EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
        EXPECT_TRUE(l4_checksum_ok(r.out));
        EXPECT_EQ(counter(skel_->maps.xlb_vstats, vip).packets, 2u);
      }
    }
  }
  EXPECT_EQ(gstat(XLB_STAT_NAT_REPLY).packets, 8u);
}

// The snat source is also where the fixture's own traffic goes: a reply to
// it must not be taken for local traffic, and local traffic must still pass.
TEST_F(FullNat, TrafficToTheSourceAddressThatIsNoReplyPasses) {
  nat_config(20000, 29999);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  ASSERT_EQ(run(build(client_packet(kV4, 40000, 80))).verdict, XDP_TX);
  Pkt ssh;
  ssh.src = kV4.backend;
  ssh.sport = 50000;
  ssh.dst = kV4.snat;
  ssh.dport = 22;
  Bytes b = build(ssh);
  RunResult r = run(b);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, b);
}

TEST_F(FullNat, FlowsToOneBackendGetDistinctPortsInTheRange) {
  nat_config(20000, 20099);  // more than XLB_SNAT_PORT_TRIES: scattered probes
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  std::set<uint16_t> ports;
  for (uint16_t i = 0; i < 50; i++) {
    Pkt in = client_packet(kV4, 41000 + i, 80);
    ASSERT_EQ(run(build(in)).verdict, XDP_TX);
    uint16_t sp = port_of(in);
    EXPECT_GE(sp, 20000);
    EXPECT_LE(sp, 20099);
    EXPECT_TRUE(ports.insert(sp).second) << "port " << sp << " given twice";
  }
  EXPECT_EQ(nat_revs().size(), 50u);
  EXPECT_EQ(conns(1).active, 50);
}

TEST_F(FullNat, ExhaustedRangeDropsAndAFreedPortIsReused) {
  nat_config(30000, 30003);
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    uint32_t id = f->v6 ? 2 : 1;
    vip_with_backend(f->vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, id, f->backend, 0);
    std::set<uint16_t> ports;
    for (uint16_t i = 0; i < 4; i++) {
      Pkt in = client_packet(*f, 42000 + i, 80);
      ASSERT_EQ(run(build(in)).verdict, XDP_TX) << "flow " << i;
      ports.insert(port_of(in));
    }
    EXPECT_EQ(ports, (std::set<uint16_t>{30000, 30001, 30002, 30003}));

    uint64_t drops = gstat(XLB_STAT_DROP_NAT_PORTS).packets;
    Pkt fifth = client_packet(*f, 42004, 80);
    EXPECT_EQ(run(build(fifth)).verdict, XDP_DROP);
    EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_PORTS).packets, drops + 1);
    xlb_flow fl{};
    EXPECT_FALSE(flow(flow_key(f->client, 42004, f->vip, 80, IPPROTO_TCP), &fl));
    EXPECT_EQ(conns(id).active, 4);
    EXPECT_EQ(conns(id).half_open, 4);

    // The reaper frees the port of flow 2 (its forward entry gone first).
    Pkt second = client_packet(*f, 42002, 80);
    uint16_t freed = port_of(second);
    delete_flow(flow_key(f->client, 42002, f->vip, 80, IPPROTO_TCP));
    delete_nat_rev(flow_key(f->backend, 80, f->snat, freed, IPPROTO_TCP));
    RunResult r = run(build(fifth));
    ASSERT_EQ(r.verdict, XDP_TX);
    EXPECT_EQ(port_of(fifth), freed);
    Bytes want = build(rewritten(fifth, f->snat, freed, f->backend, 80, 10));
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  }
}

// Another CPU's claims look like entries that were there first: allocation
// must skip every one of them and leave them as they were.
TEST_F(FullNat, PortsTakenElsewhereAreSkippedNeverOverwritten) {
  nat_config(30000, 30007);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  std::vector<std::pair<xlb_flow_key, xlb_flow_key>> taken;
  for (uint16_t p = 30000; p <= 30007; p++) {
    if (p == 30005) continue;
    xlb_flow_key rk = flow_key(kV4.backend, 80, kV4.snat, p, IPPROTO_TCP);
    xlb_flow_key fwd = flow_key(kV4.client2, p, kV4.vip, 80, IPPROTO_TCP);
    put_nat_rev(rk, fwd, 1);
    taken.emplace_back(rk, fwd);
  }
  for (int round = 0; round < 3; round++) {
    Pkt in = client_packet(kV4, 43000 + round, 80);
    RunResult r = run(build(in));
    if (round == 0) {
      ASSERT_EQ(r.verdict, XDP_TX);
      EXPECT_EQ(port_of(in), 30005);
    } else {
      EXPECT_EQ(r.verdict, XDP_DROP) << "round " << round;
    }
  }
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_PORTS).packets, 2u);
  for (const auto& [rk, fwd] : taken) {
    xlb_nat_rev rev{};
    ASSERT_TRUE(nat_rev(rk, &rev));
    EXPECT_TRUE(key_eq(rev.fwd, fwd)) << "port " << ntohs(rk.dport) << " was overwritten";
  }
  EXPECT_EQ(nat_revs().size(), taken.size() + 1);
}

// Ports are per backend tuple: one port serves a flow to each backend, as
// the 5-tuple each backend sees is still unique.
TEST_F(FullNat, OnePortServesEachBackendOnce) {
  nat_config(30000, 30000);
  vip_with_backend(kV6.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV6.backend, 0);
  vip_with_backend(kV6.vip, 81, IPPROTO_TCP, XLB_MODE_FULLNAT, 2, kV6.backend2, 0);
  Pkt a = client_packet(kV6, 44000, 80), b = client_packet(kV6, 44000, 81);
  ASSERT_EQ(run(build(a)).verdict, XDP_TX);
  RunResult r = run(build(b));
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(port_of(a), 30000);
  EXPECT_EQ(port_of(b), 30000);
  Bytes want = build(rewritten(b, kV6.snat, 30000, kV6.backend2, 81, 11));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(run(build(client_packet(kV6, 44001, 80))).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_PORTS).packets, 1u);
}

TEST_F(FullNat, EmptyRangeDrops) {
  nat_config(30001, 30000);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  EXPECT_EQ(run(build(client_packet(kV4, 40000, 80))).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_PORTS).packets, 1u);
  EXPECT_EQ(flow_count(), 0u);
}

TEST_F(FullNat, NoSourceAddressOfTheFamilyDrops) {
  set_nat(XLB_CFG_F_NAT, kV4.snat, "", 20000, 29999);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  vip_with_backend(kV6.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 2, kV6.backend, 0);
  EXPECT_EQ(run(build(client_packet(kV6, 40000, 80))).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NO_SOURCE).packets, 1u);
  EXPECT_EQ(flow_count(), 0u);
  EXPECT_TRUE(nat_revs().empty());
  EXPECT_EQ(conns(2).active, 0);
  EXPECT_EQ(run(build(client_packet(kV4, 40000, 80))).verdict, XDP_TX);
}

TEST_F(FullNat, ServerRstReleasesTheCountOnce) {
  nat_config(20000, 29999);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  Pkt a = client_packet(kV4, 40000, 80), b = client_packet(kV4, 40001, 80);
  ASSERT_EQ(run(build(a)).verdict, XDP_TX);
  ASSERT_EQ(run(build(b)).verdict, XDP_TX);
  EXPECT_EQ(conns(1).active, 2);
  Pkt rst;
  rst.src = kV4.backend;
  rst.sport = 80;
  rst.dst = kV4.snat;
  rst.dport = port_of(a);
  rst.flags = kTcpRst;
  for (int i = 0; i < 2; i++) {
    RunResult r = run(build(rst));
    ASSERT_EQ(r.verdict, XDP_TX);
    Bytes want = build(rewritten(rst, kV4.vip, 80, kV4.client, 40000, 2));
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    EXPECT_EQ(conns(1).active, 1);
    EXPECT_EQ(conns(1).half_open, 1);
  }
}

TEST_F(FullNat, PurgedBackendsFlowGetsAFreshPort) {
  nat_config(30000, 30001);
  uint32_t vip = vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  add_backend(2, vip, kV4.backend2, 1, 0);
  Pkt in = client_packet(kV4, 40000, 80);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  uint16_t first = port_of(in);

  xlb_backend gone{};
  uint32_t id = 1;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_backends), &id, &gone, BPF_ANY), 0);
  fill_ring(vip, 2);
  in.flags = kTcpAck;
  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  uint16_t sp = port_of(in);
  Bytes want = build(rewritten(in, kV4.snat, sp, kV4.backend2, 80, 11));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  xlb_nat_rev rev{};
  ASSERT_TRUE(nat_rev(flow_key(kV4.backend2, 80, kV4.snat, sp, IPPROTO_TCP), &rev));
  EXPECT_EQ(rev.backend_id, 2u);
  // The old claim stays until the reaper sees the forward entry moved on.
  ASSERT_TRUE(nat_rev(flow_key(kV4.backend, 80, kV4.snat, first, IPPROTO_TCP), &rev));
  EXPECT_EQ(rev.backend_id, 1u);
  EXPECT_EQ(nat_revs().size(), 2u);
}

// A reply that reaches a port whose flow has since moved to another port
// (an orphan the reaper has not swept yet) is translated, but the flow's
// state and counts belong to its current port.
TEST_F(FullNat, OrphanReverseEntryDoesNotTouchTheFlow) {
  nat_config(30000, 30001);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  Pkt in = client_packet(kV4, 40000, 80);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  uint16_t sp = port_of(in), other = sp == 30000 ? 30001 : 30000;
  put_nat_rev(flow_key(kV4.backend, 80, kV4.snat, other, IPPROTO_TCP),
              flow_key(kV4.client, 40000, kV4.vip, 80, IPPROTO_TCP), 1);
  Pkt fin;
  fin.src = kV4.backend;
  fin.sport = 80;
  fin.dst = kV4.snat;
  fin.dport = other;
  fin.flags = kTcpFin | kTcpAck;
  RunResult r = run(build(fin));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = build(rewritten(fin, kV4.vip, 80, kV4.client, 40000, 2));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(conns(1).active, 1);
  xlb_flow fl{};
  ASSERT_TRUE(flow(flow_key(kV4.client, 40000, kV4.vip, 80, IPPROTO_TCP), &fl));
  EXPECT_EQ(fl.state, XLB_FLOW_TCP_SYN);
}

}  // namespace
}  // namespace xlb::test::nat
