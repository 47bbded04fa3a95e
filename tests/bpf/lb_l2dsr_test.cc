// Packet tests of l2dsr VIPs (direct routing): the client's packet leaves
// unchanged but for the Ethernet addresses (the backend's MAC, the egress
// device's), and only towards a backend that is a direct neighbour.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>

#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

class L2Dsr : public NatFixture {};


// The frame as the backend must get it: same bytes, new MACs.
Bytes readdressed(Bytes frame, int neigh) {
  set_macs(frame, fixture_neigh_mac(neigh), kFixtureMac);
  return frame;
}

TEST_F(L2Dsr, OnlyTheMacsChange) {
  uint32_t id = 0;
  for (const Family* f : {&kV4, &kV6}) {
    for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
      for (bool vlan : {false, true}) {
        SCOPED_TRACE(std::string(f->name) + " " + proto_name(proto) + (vlan ? " VLAN" : ""));
        uint16_t vport = 80 + id;
        uint32_t vip = vip_with_backend(f->vip, vport, proto, XLB_MODE_L2DSR, ++id, f->backend, 0);
        Pkt in = client_packet(*f, 40000 + id, vport, proto);
        in.tos = 0x28;
        if (vlan) in.vlan = 0x0ffe;
        Bytes b = build(in);
        RunResult r = run(b);
        ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
        // The fixture's xlbt0 is no VLAN device: the tag stays behind
        // (lb_vlan_test.cc).
        Pkt untagged = in;
        untagged.vlan.reset();
        Bytes want = readdressed(build(untagged), 10);
        EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);

        // Flows and counts as in every mode.
        xlb_flow fl{};
        ASSERT_TRUE(flow(flow_key(f->client, in.sport, f->vip, vport, proto), &fl));
        EXPECT_EQ(fl.backend_id, id);
        EXPECT_EQ(fl.flags & XLB_FLOW_F_NAT, 0u);
        EXPECT_EQ(conns(id).active, 1);
        in.flags = kTcpAck;
        untagged.flags = kTcpAck;
        b = build(in);
        r = run(b);
        ASSERT_EQ(r.verdict, XDP_TX);
        EXPECT_EQ(r.out, readdressed(build(untagged), 10));
        EXPECT_EQ(counter(skel_->maps.xlb_vstats, vip).packets, 2u);
        EXPECT_EQ(counter(skel_->maps.xlb_bstats, id).packets, 2u);
      }
    }
  }
  EXPECT_TRUE(nat_revs().empty());
}

// A backend behind a gateway cannot be reached by MAC. The answer is cached
// like any next hop: the route changing does not help until it expires.
TEST_F(L2Dsr, BackendBehindAGatewayIsNotOnLink) {
  PinnedToOneCpu pin;
  ASSERT_TRUE(pin.ok());
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    const char* backend = f->v6 ? "fd00:19::5" : "198.19.0.5";  // via neighbour 2
    uint32_t id = f->v6 ? 2 : 1;
    vip_with_backend(f->vip, 80, IPPROTO_TCP, XLB_MODE_L2DSR, id, backend, 0);
    Pkt in = client_packet(*f);
    uint64_t drops = gstat(XLB_STAT_DROP_NOT_ON_LINK).packets;
    EXPECT_EQ(run(build(in)).verdict, XDP_DROP);
    EXPECT_EQ(gstat(XLB_STAT_DROP_NOT_ON_LINK).packets, drops + 1);

    // Now it is on the link, but the cached answer holds for its TTL.
    std::string route = std::string(f->v6 ? "ip -6 route add " : "ip route add ") + backend +
                        (f->v6 ? "/128" : "/32") + " dev xlbt0 && ip neigh replace " + backend +
                        " lladdr 02:00:00:00:00:55 dev xlbt0 nud permanent";
    ASSERT_EQ(run_cmd(route), 0);
    in.flags = kTcpAck;
    EXPECT_EQ(run(build(in)).verdict, XDP_DROP);
    EXPECT_EQ(gstat(XLB_STAT_DROP_NOT_ON_LINK).packets, drops + 2);

    // As if XLB_NEXTHOP_TTL_NS had passed: the cached answer expires.
    ASSERT_EQ(expire_next_hop(id), 1) << "the answer was not cached on this CPU alone";
    Bytes b = build(in);
    RunResult r = run(b);
    ASSERT_EQ(r.verdict, XDP_TX);
    Bytes want = b;
    set_macs(want, parse_mac("02:00:00:00:00:55"), kFixtureMac);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  }
}

TEST_F(L2Dsr, PathMtuIsEnforced) {
  // A route's MTU applies to forwarded packets when locked.
  ASSERT_EQ(run_cmd("ip -6 route add fd00:18::12/128 dev xlbt0 mtu lock 1400"), 0);
  vip_with_backend(kV6.vip, 80, IPPROTO_TCP, XLB_MODE_L2DSR, 1, "fd00:18::12", 0);
  Pkt in = client_packet(kV6);
  in.flags = kTcpAck;
  in.payload = std::string(1400 - 60 + 1, 'a');
  // Answered with "packet too big" (bytes: lb_pmtu_test.cc).
  EXPECT_EQ(run(build(in)).verdict, XDP_TX);
  EXPECT_EQ(gstat(XLB_STAT_ICMP_PKT_TOO_BIG).packets, 1u);
  in.payload.pop_back();
  Bytes b = build(in);
  RunResult r = run(b);
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, readdressed(b, 12));
}

TEST_F(L2Dsr, BackendOfTheOtherFamilyDrops) {
  vip_with_backend(kV6.vip, 80, IPPROTO_TCP, XLB_MODE_L2DSR, 1, kV4.backend, 0);
  Pkt in = client_packet(kV6);
  EXPECT_EQ(run(build(in)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_INTERNAL).packets, 1u);
}

}  // namespace
}  // namespace xlb::test::nat
