// A stateless VIP (XLB_VIP_F_STATELESS, issue 15; Katran's F_LRU_BYPASS):
// every packet, new or not, goes by the VIP's ring, and the flow table is
// neither read nor written. Exact frames, the flow table and the counters.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include "encap_ref.h"
#include "lb_fixture.h"

namespace xlb::test {
namespace {

const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x05};
constexpr const char* kVip4 = "198.18.100.1";
constexpr const char* kBeA = "198.18.0.10";
constexpr const char* kBeB = "198.18.0.11";

Bytes tcp_frame(uint16_t sport, uint8_t flags) {
  Ipv4 ip;
  ip.src = "198.18.1.9";
  ip.dst = kVip4;
  Tcp tcp;
  tcp.sport = sport;
  tcp.dport = 80;
  tcp.flags = flags;
  return Frame().eth(kClientMac, kFixtureMac).ipv4(ip).tcp(tcp).payload("x").build();
}

class StatelessVip : public LbFixture {
 protected:
  bool has_flow(const Bytes& frame) {
    xlb_flow entry{};
    return flow(client_key_of(frame), &entry);
  }
};

TEST_F(StatelessVip, EveryPacketGoesByTheRingAndNoEntryIsMade) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBeA);
  add_backend(2, vip, kBeB);
  fill_ring(vip, 1);
  set_vip_flags(vip, XLB_VIP_F_STATELESS);

  Bytes syn = tcp_frame(43000, kTcpSyn);
  RunResult r = run(syn);
  ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
  Bytes want = expect_encap4(syn, kBeA, 10);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_FALSE(has_flow(syn));
  EXPECT_EQ(gstat(XLB_STAT_STATELESS).packets, 1u);
  EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, 0u);
  EXPECT_EQ(conns(1).active, 0);  // no counts: nothing would ever return them

  // The ring decides every packet: after a ring change the connection's
  // next packet goes to the new slot owner (the price of no state).
  fill_ring(vip, 2);
  Bytes ack = tcp_frame(43000, kTcpAck);
  r = run(ack);
  ASSERT_EQ(r.verdict, XDP_TX);
  want = expect_encap4(ack, kBeB, 11);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_FALSE(has_flow(ack));
  EXPECT_EQ(gstat(XLB_STAT_STATELESS).packets, 2u);
}

// An entry the VIP had before it became stateless is not read: the ring
// wins. Turned off again, the VIP uses (and makes) entries as before.
TEST_F(StatelessVip, ExistingEntriesAreIgnoredUntilTheFlagGoes) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBeA);
  add_backend(2, vip, kBeB);
  fill_ring(vip, 1);
  Bytes syn = tcp_frame(43001, kTcpSyn);
  ASSERT_EQ(run(syn).verdict, XDP_TX);
  ASSERT_TRUE(has_flow(syn));  // stateful: the entry names backend 1

  fill_ring(vip, 2);
  set_vip_flags(vip, XLB_VIP_F_STATELESS);
  Bytes ack = tcp_frame(43001, kTcpAck);
  RunResult r = run(ack);
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = expect_encap4(ack, kBeB, 11);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);

  set_vip_flags(vip, 0);
  r = run(ack);
  ASSERT_EQ(r.verdict, XDP_TX);
  want = expect_encap4(ack, kBeA, 10);  // the entry again
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
}

}  // namespace
}  // namespace xlb::test
