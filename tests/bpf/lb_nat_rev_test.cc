// The nat reply table (xlb_nat_rev) losing entries while their flows live,
// and what brings them back:
//  - a fullnat flow whose forward entry was evicted keeps its source port:
//    the port is probed from a hash of the client flow and the backend, and
//    the claim finds the flow's own reverse entry;
//  - a nat/fullnat flow whose reverse entry was evicted gets it back on its
//    next client packet a second or more after the last refresh
//    (xlb_nat_rev_check), counted as nat_rev_restored; if another flow owns
//    the tuple by then, this flow ends (drop_nat_rev_lost) instead of the
//    two sharing it;
//  - the table is an LRU: a flood of new flows can't fill it, and live flows
//    keep translating.
// Entries are "evicted" by deleting them from user space, and a second is
// made to pass by writing last_seen_ns into the past.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstring>

#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

bool key_eq(const xlb_flow_key& a, const xlb_flow_key& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

constexpr uint64_t kTwoSeconds = 2'000'000'000ull;

class NatRev : public NatFixture {
 protected:
  // The backend's reply to the client flow `in` (nat: to the client's port;
  // fullnat: to the source address and port sp).
  static Pkt reply_to(const Family& f, const Pkt& in, uint16_t bp, uint16_t sp, const std::string& payload) {
    Pkt r;
    r.src = f.backend;
    r.sport = bp;
    r.dst = sp ? f.snat : in.src;
    r.dport = sp ? sp : in.sport;
    r.proto = in.proto;
    r.flags = kTcpAck;
    r.payload = payload;
    return r;
  }
  // Makes the flow of `in` look refreshed more than a second ago, so its
  // next packet runs the once-a-second checks.
  void age(const Pkt& in) {
    set_last_seen(flow_key(in.src, in.sport, in.dst, in.dport, in.proto), coarse_now_ns() - kTwoSeconds);
  }
};

// (a) The forward entry of a fullnat flow is evicted: its next packet is a
// new flow to the same backend, and leaves with the same source port, using
// the reverse entry that was there (no second one).
TEST_F(NatRev, FullnatFlowWhoseForwardEntryWasEvictedKeepsItsPort) {
  nat_config(20000, 29999);
  uint32_t id = 0;
  for (const Family* f : {&kV4, &kV6}) {
    for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
      SCOPED_TRACE(std::string(f->name) + " " + proto_name(proto));
      uint16_t vport = 80 + id;
      vip_with_backend(f->vip, vport, proto, XLB_MODE_FULLNAT, ++id, f->backend, 8080);
      Pkt in = client_packet(*f, 41000 + id, vport, proto);
      ASSERT_EQ(run(build(in)).verdict, XDP_TX);
      uint16_t sp = port_of(in);
      size_t revs = nat_revs().size();

      delete_flow(flow_key(f->client, in.sport, f->vip, vport, proto));
      in.flags = kTcpAck;
      in.payload = "after eviction";
      RunResult r = run(build(in));
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      Bytes want = build(rewritten(in, f->snat, sp, f->backend, 8080, 10));
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
      EXPECT_EQ(port_of(in), sp);
      EXPECT_EQ(nat_revs().size(), revs) << "a second reverse entry was claimed";
      xlb_nat_rev rev{};
      ASSERT_TRUE(nat_rev(flow_key(f->backend, 8080, f->snat, sp, proto), &rev));
      EXPECT_TRUE(key_eq(rev.fwd, flow_key(f->client, in.sport, f->vip, vport, proto)));
      EXPECT_EQ(rev.backend_id, id);

      // The reply still reaches the client.
      Pkt reply = reply_to(*f, in, 8080, sp, "reply");
      r = run(build(reply));
      ASSERT_EQ(r.verdict, XDP_TX);
      want = build(rewritten(reply, f->vip, vport, f->client, in.sport, 2));
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    }
  }
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_PORTS).packets, 0u);
}

// The same when the flow's first probed port was taken and it had to probe
// further: after the eviction the probes meet the taken port again, then
// the flow's own entry.
TEST_F(NatRev, FullnatFlowThatProbedPastATakenPortFindsItsOwnAgain) {
  nat_config(20000, 29999);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  Pkt in = client_packet(kV4, 40000, 80);
  xlb_flow_key fwd = flow_key(kV4.client, 40000, kV4.vip, 80, IPPROTO_TCP);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  uint16_t first = port_of(in);
  // Start over with the first port held by another client's flow.
  delete_flow(fwd);
  delete_nat_rev(flow_key(kV4.backend, 80, kV4.snat, first, IPPROTO_TCP));
  xlb_flow_key other = flow_key(kV4.client2, 50000, kV4.vip, 80, IPPROTO_TCP);
  put_nat_rev(flow_key(kV4.backend, 80, kV4.snat, first, IPPROTO_TCP), other, 1);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  uint16_t second = port_of(in);
  ASSERT_NE(second, first);

  delete_flow(fwd);
  in.flags = kTcpAck;
  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(port_of(in), second);
  Bytes want = build(rewritten(in, kV4.snat, second, kV4.backend, 80, 10));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(nat_revs().size(), 2u);
  xlb_nat_rev rev{};
  ASSERT_TRUE(nat_rev(flow_key(kV4.backend, 80, kV4.snat, first, IPPROTO_TCP), &rev));
  EXPECT_TRUE(key_eq(rev.fwd, other)) << "the other flow's port was taken";
}

// A TCP SYN does not look for its own entry among taken ports (a lookup
// would mark a flood's entries as used in the LRU, shielding them from
// eviction): a SYN whose forward entry is gone probes past the entry its
// flow left, and the old entry is left for the reaper.
TEST_F(NatRev, ASynProbesPastTakenPortsWithoutLookingAtThem) {
  nat_config(20000, 29999);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  Pkt in = client_packet(kV4, 40000, 80);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  uint16_t first = port_of(in);
  delete_flow(flow_key(kV4.client, 40000, kV4.vip, 80, IPPROTO_TCP));
  RunResult r = run(build(in));  // the SYN again
  ASSERT_EQ(r.verdict, XDP_TX);
  uint16_t second = port_of(in);
  EXPECT_NE(second, first);
  Bytes want = build(rewritten(in, kV4.snat, second, kV4.backend, 80, 10));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(nat_revs().size(), 2u);
}

// (b) The reverse entry of a live nat or fullnat flow is evicted: replies
// miss (they pass, as traffic for no VIP) until the flow's next client
// packet a second or more after its last refresh puts the entry back.
TEST_F(NatRev, LiveFlowsEvictedReverseEntryIsRestored) {
  nat_config(20000, 29999);
  uint32_t id = 0;
  for (uint8_t mode : {uint8_t{XLB_MODE_NAT}, uint8_t{XLB_MODE_FULLNAT}}) {
    for (const Family* f : {&kV4, &kV6}) {
      for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
        SCOPED_TRACE(std::string(mode == XLB_MODE_NAT ? "nat " : "fullnat ") + f->name + " " + proto_name(proto));
        uint16_t vport = 80 + id;
        vip_with_backend(f->vip, vport, proto, mode, ++id, f->backend, 8080);
        Pkt in = client_packet(*f, 42000 + id, vport, proto);
        ASSERT_EQ(run(build(in)).verdict, XDP_TX);
        in.flags = kTcpAck;
        ASSERT_EQ(run(build(in)).verdict, XDP_TX);
        uint16_t sp = mode == XLB_MODE_FULLNAT ? port_of(in) : 0;
        xlb_flow_key rk = flow_key(f->backend, 8080, sp ? f->snat : f->client, sp ? sp : in.sport, proto);
        delete_nat_rev(rk);
        Pkt reply = reply_to(*f, in, 8080, sp, "lost reply");
        EXPECT_EQ(run(build(reply)).verdict, XDP_PASS);

        // Within the second: no check, nothing restored.
        uint64_t restored = gstat(XLB_STAT_NAT_REV_RESTORED).packets;
        ASSERT_EQ(run(build(in)).verdict, XDP_TX);
        xlb_nat_rev rev{};
        EXPECT_FALSE(nat_rev(rk, &rev));
        EXPECT_EQ(gstat(XLB_STAT_NAT_REV_RESTORED).packets, restored);

        age(in);
        in.payload = "a second later";
        RunResult r = run(build(in));
        ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
        Bytes want = build(rewritten(in, sp ? f->snat : f->client, sp ? sp : in.sport, f->backend, 8080, 10));
        EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
        EXPECT_EQ(gstat(XLB_STAT_NAT_REV_RESTORED).packets, restored + 1);
        ASSERT_TRUE(nat_rev(rk, &rev));
        EXPECT_TRUE(key_eq(rev.fwd, flow_key(f->client, in.sport, f->vip, vport, proto)));
        EXPECT_EQ(rev.backend_id, id);

        reply.payload = "found reply";
        r = run(build(reply));
        ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
        want = build(rewritten(reply, f->vip, vport, f->client, in.sport, 2));
        EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
        EXPECT_EQ(conns(id).active, 1);
      }
    }
  }
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_REV_LOST).packets, 0u);
}

// A present entry is left alone by the check: nothing restored, no write.
TEST_F(NatRev, PresentReverseEntryIsLeftAlone) {
  nat_config();
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 0);
  Pkt in = client_packet(kV4);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  age(in);
  in.flags = kTcpAck;
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  EXPECT_EQ(gstat(XLB_STAT_NAT_REV_RESTORED).packets, 0u);
  EXPECT_EQ(nat_revs().size(), 1u);
}

// While a fullnat flow's reverse entry was gone, another client flow took
// its port (the other flow's claim found it free). The two must not share
// the reply tuple: the old flow ends on its next checked packet (entry and
// units gone, packet dropped), the other flow's entry stays, and the old
// flow's next packet starts afresh on a port of its own.
TEST_F(NatRev, FullnatFlowWhosePortWasTakenEndsInsteadOfSharingIt) {
  nat_config(20000, 29999);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_FULLNAT, 1, kV4.backend, 0);
  Pkt in = client_packet(kV4, 40000, 80);
  xlb_flow_key fwd = flow_key(kV4.client, 40000, kV4.vip, 80, IPPROTO_TCP);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  in.flags = kTcpAck;
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  EXPECT_EQ(conns(1).active, 1);
  uint16_t sp = port_of(in);
  xlb_flow_key rk = flow_key(kV4.backend, 80, kV4.snat, sp, IPPROTO_TCP);
  xlb_flow_key other = flow_key(kV4.client2, 50000, kV4.vip, 80, IPPROTO_TCP);
  delete_nat_rev(rk);
  put_nat_rev(rk, other, 1);

  age(in);
  EXPECT_EQ(run(build(in)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_REV_LOST).packets, 1u);
  xlb_flow fl{};
  EXPECT_FALSE(flow(fwd, &fl));
  EXPECT_EQ(conns(1).active, 0);
  EXPECT_EQ(conns(1).half_open, 0);
  xlb_nat_rev rev{};
  ASSERT_TRUE(nat_rev(rk, &rev));
  EXPECT_TRUE(key_eq(rev.fwd, other));

  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  uint16_t fresh = port_of(in);
  EXPECT_NE(fresh, sp);
  Bytes want = build(rewritten(in, kV4.snat, fresh, kV4.backend, 80, 10));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(gstat(XLB_STAT_FLOW_RESCHEDULED).packets, 1u);
}

// nat: the same for a client flow whose reply tuple another client flow
// (another VIP port, same client port, same backend port) took meanwhile.
TEST_F(NatRev, NatFlowWhoseTupleWasTakenEndsInsteadOfSharingIt) {
  nat_config();
  vip_with_backend(kV6.vip, 80, IPPROTO_UDP, XLB_MODE_NAT, 1, kV6.backend, 5353);
  Pkt in = client_packet(kV6, 40000, 80, IPPROTO_UDP);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  xlb_flow_key rk = flow_key(kV6.backend, 5353, kV6.client, 40000, IPPROTO_UDP);
  xlb_flow_key other = flow_key(kV6.client, 40000, kV6.vip, 81, IPPROTO_UDP);
  delete_nat_rev(rk);
  put_nat_rev(rk, other, 1);
  age(in);
  EXPECT_EQ(run(build(in)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_REV_LOST).packets, 1u);
  EXPECT_EQ(flow_count(), 0u);
  EXPECT_EQ(conns(1).active, 0);
  xlb_nat_rev rev{};
  ASSERT_TRUE(nat_rev(rk, &rev));
  EXPECT_TRUE(key_eq(rev.fwd, other));
}

// (c) A small reply table and a SYN flood from many sources, many times its
// size: every flood SYN is forwarded (the LRU evicts, nothing is dropped as
// drop_nat_table_full), and two live flows (nat and fullnat), whose replies
// keep coming during the flood, keep translating throughout: their
// entries are looked up, so the LRU evicts the flood's first.
class NatRevFlood : public NatRev {
 protected:
  NatRevFlood() { nat_rev_entries_ = 256; }
  // LRU free lists are per CPU: one CPU for the whole test makes its
  // evictions the same on every run.
  PinnedToOneCpu pin_;
};

TEST_F(NatRevFlood, FloodNeitherDropsNewFlowsNorBreaksLiveOnes) {
  nat_config(20000, 29999);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 0);
  vip_with_backend(kV4.vip, 443, IPPROTO_TCP, XLB_MODE_FULLNAT, 2, kV4.backend2, 0);
  Pkt nat_in = client_packet(kV4, 40000, 80), full_in = client_packet(kV4, 40001, 443);
  ASSERT_EQ(run(build(nat_in)).verdict, XDP_TX);
  ASSERT_EQ(run(build(full_in)).verdict, XDP_TX);
  uint16_t sp = port_of(full_in);
  Pkt nat_reply = reply_to(kV4, nat_in, 80, 0, "nat reply");
  Pkt full_reply = reply_to(kV4, full_in, 443, sp, "fullnat reply");
  full_reply.src = kV4.backend2;
  Bytes nat_want = build(rewritten(nat_reply, kV4.vip, 80, kV4.client, 40000, 2));
  Bytes full_want = build(rewritten(full_reply, kV4.vip, 443, kV4.client, 40001, 2));

  const int kFlood = 3000;  // > 11 times the table
  for (int i = 0; i < kFlood; i++) {
    Pkt syn = client_packet(kV4, 1024 + i % 50000, 80);
    syn.src = "198.19." + std::to_string(100 + i / 250) + "." + std::to_string(1 + i % 250);
    RunResult r = run(build(syn));
    ASSERT_EQ(r.verdict, XDP_TX) << "flood SYN " << i << ": " << xdp_verdict_name(r.verdict);
    if (i % 16 == 15) {
      r = run(build(nat_reply));
      ASSERT_EQ(r.verdict, XDP_TX) << "nat reply after flood SYN " << i;
      EXPECT_EQ(r.out, nat_want) << hexdump_diff(nat_want, r.out);
      r = run(build(full_reply));
      ASSERT_EQ(r.verdict, XDP_TX) << "fullnat reply after flood SYN " << i;
      EXPECT_EQ(r.out, full_want) << hexdump_diff(full_want, r.out);
    }
  }
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_TABLE_FULL).packets, 0u);
  EXPECT_LE(nat_revs().size(), 256u);
  EXPECT_EQ(gstat(XLB_STAT_NAT_REV_RESTORED).packets, 0u);
}

// And a live flow whose entry the flood did evict (no reply in the
// meantime) gets it back from its next client packet a second later.
TEST_F(NatRevFlood, QuietFlowsEntryEvictedByTheFloodIsRestored) {
  nat_config(20000, 29999);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 0);
  Pkt in = client_packet(kV4, 40000, 80);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  xlb_flow_key rk = flow_key(kV4.backend, 80, kV4.client, 40000, IPPROTO_TCP);
  for (int i = 0; i < 3000; i++) {
    Pkt syn = client_packet(kV4, 1024 + i, 80);
    syn.src = "198.19." + std::to_string(100 + i / 250) + "." + std::to_string(1 + i % 250);
    ASSERT_EQ(run(build(syn)).verdict, XDP_TX) << "flood SYN " << i;
  }
  EXPECT_EQ(gstat(XLB_STAT_DROP_NAT_TABLE_FULL).packets, 0u);
  xlb_nat_rev rev{};
  ASSERT_FALSE(nat_rev(rk, &rev)) << "the oldest entry, never looked up, was not evicted";

  age(in);
  in.flags = kTcpAck;
  RunResult r = run(build(in));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = build(rewritten(in, kV4.client, 40000, kV4.backend, 80, 10));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(gstat(XLB_STAT_NAT_REV_RESTORED).packets, 1u);
  ASSERT_TRUE(nat_rev(rk, &rev));
  Pkt reply = reply_to(kV4, in, 80, 0, "reply");
  r = run(build(reply));
  ASSERT_EQ(r.verdict, XDP_TX);
  want = build(rewritten(reply, kV4.vip, 80, kV4.client, 40000, 2));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
}

}  // namespace
}  // namespace xlb::test::nat
