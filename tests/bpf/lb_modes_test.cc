// VIPs of every mode side by side in one program: each keeps its own
// forwarding, flows and counters while packets of the others interleave.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <vector>

#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

class Modes : public NatFixture {};

TEST_F(Modes, FourModesInterleaved) {
  nat_config(30000, 30999);
  const uint8_t modes[] = {XLB_MODE_IPIP, XLB_MODE_NAT, XLB_MODE_FULLNAT, XLB_MODE_L2DSR};
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    uint32_t base = f->v6 ? 10 : 0;
    std::vector<uint32_t> vips;
    for (uint32_t m = 0; m < 4; m++)
      vips.push_back(vip_with_backend(f->vip, 80 + m, IPPROTO_TCP, modes[m], base + m + 1, f->backend,
                                      modes[m] == XLB_MODE_NAT || modes[m] == XLB_MODE_FULLNAT ? 8080 : 0));

    // Two rounds: new flows, then established ones, the modes interleaved.
    for (uint8_t flags : {kTcpSyn, kTcpAck}) {
      for (uint32_t m = 0; m < 4; m++) {
        SCOPED_TRACE("mode " + std::to_string(modes[m]));
        Pkt in = client_packet(*f, 40000, 80 + m);
        in.flags = flags;
        Bytes b = build(in);
        RunResult r = run(b);
        ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
        Bytes want;
        switch (modes[m]) {
          case XLB_MODE_IPIP:
            want = f->v6 ? expect_encap6(b, f->backend, 10) : expect_encap4(b, f->backend, 10);
            break;
          case XLB_MODE_NAT:
            want = build(rewritten(in, f->client, 40000, f->backend, 8080, 10));
            break;
          case XLB_MODE_FULLNAT: {
            xlb_flow fl{};
            ASSERT_TRUE(flow(flow_key(f->client, 40000, f->vip, 80 + m, IPPROTO_TCP), &fl));
            want = build(rewritten(in, f->snat, ntohs(fl.nat_port), f->backend, 8080, 10));
            break;
          }
          default:
            want = b;
            set_macs(want, fixture_neigh_mac(10), kFixtureMac);
        }
        EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
      }
    }
    // The nat replies, between the others' packets.
    for (uint32_t m : {1u, 2u}) {
      xlb_flow fl{};
      ASSERT_TRUE(flow(flow_key(f->client, 40000, f->vip, 80 + m, IPPROTO_TCP), &fl));
      Pkt reply;
      reply.src = f->backend;
      reply.sport = 8080;
      reply.dst = m == 1 ? f->client : f->snat;
      reply.dport = m == 1 ? 40000 : ntohs(fl.nat_port);
      reply.flags = kTcpAck;
      RunResult r = run(build(reply));
      ASSERT_EQ(r.verdict, XDP_TX);
      Bytes want = build(rewritten(reply, f->vip, 80 + m, f->client, 40000, 2));
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    }
    for (uint32_t m = 0; m < 4; m++) {
      EXPECT_EQ(counter(skel_->maps.xlb_vstats, vips[m]).packets, 2u) << "mode " << int(modes[m]);
      EXPECT_EQ(conns(base + m + 1).active, 1) << "mode " << int(modes[m]);
      EXPECT_EQ(conns(base + m + 1).half_open, 0) << "mode " << int(modes[m]);
      xlb_flow fl{};
      ASSERT_TRUE(flow(flow_key(f->client, 40000, f->vip, 80 + m, IPPROTO_TCP), &fl));
      EXPECT_EQ(fl.state, XLB_FLOW_TCP_ESTABLISHED);
      bool nat = modes[m] == XLB_MODE_NAT || modes[m] == XLB_MODE_FULLNAT;
      EXPECT_EQ(fl.flags & XLB_FLOW_F_NAT, nat ? XLB_FLOW_F_NAT : 0u);
    }
  }
  EXPECT_EQ(nat_revs().size(), 4u);
  EXPECT_EQ(gstat(XLB_STAT_NAT_REPLY).packets, 4u);
  EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, 8u);
  EXPECT_EQ(gstat(XLB_STAT_FLOW_HIT).packets, 8u);
}

// least-conn counts the same in every mode: a nat VIP's new flows spread
// over its backends by their counts, and server closes feed back into it.
TEST_F(Modes, LeastConnCountsNatFlows) {
  nat_config();
  uint32_t vip = add_vip(kV4.vip, 80, IPPROTO_TCP, 13, XLB_SCHED_LEAST_CONN);
  set_mode(vip, XLB_MODE_NAT);
  add_backend(1, vip, kV4.backend, 1, 8080);
  add_backend(2, vip, kV4.backend2, 1, 8080);
  set_list(vip, {1, 2});
  for (uint16_t i = 0; i < 4; i++) {
    Pkt in = client_packet(kV4, 1000 + i);
    ASSERT_EQ(run(build(in)).verdict, XDP_TX);
  }
  EXPECT_EQ(conns(1).active, 2);
  EXPECT_EQ(conns(2).active, 2);
  // Backend 1's server closes both of its connections.
  for (uint16_t i = 0; i < 4; i++) {
    xlb_flow fl{};
    ASSERT_TRUE(flow(flow_key(kV4.client, 1000 + i, kV4.vip, 80, IPPROTO_TCP), &fl));
    if (fl.backend_id != 1) continue;
    Pkt fin;
    fin.src = kV4.backend;
    fin.sport = 8080;
    fin.dst = kV4.client;
    fin.dport = 1000 + i;
    fin.flags = kTcpFin | kTcpAck;
    ASSERT_EQ(run(build(fin)).verdict, XDP_TX);
  }
  EXPECT_EQ(conns(1).active, 0);
  // So the next two flows go to backend 1.
  for (uint16_t i = 4; i < 6; i++) {
    Pkt in = client_packet(kV4, 1000 + i);
    RunResult r = run(build(in));
    ASSERT_EQ(r.verdict, XDP_TX);
    EXPECT_EQ(r.out, build(rewritten(in, kV4.client, in.sport, kV4.backend, 8080, 10)));
  }
  EXPECT_EQ(conns(1).active, 2);
}

}  // namespace
}  // namespace xlb::test::nat
