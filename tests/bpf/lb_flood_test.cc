// Packet tests of the new-flow flood guard (issue 10, section 3; bpf/lib/
// flood.h): past the per-CPU rate of new flows, ipip and l2dsr VIPs forward
// new flows by their ring with no entry, whatever their scheduler; nat and
// fullnat VIPs keep recording them; established flows are untouched; a
// connection forwarded without an entry keeps its backend once the flood is
// over; the guard can be turned off.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstring>
#include <vector>

#include "lb_fixture.h"

namespace xlb::test {
namespace {

const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};
constexpr const char* kClient4 = "198.18.1.1";
constexpr const char* kVip4 = "198.18.100.1";
constexpr const char* kBe1 = "198.18.0.10";  // the fixture's neighbour 10
constexpr const char* kBe2 = "198.18.0.11";  // neighbour 11

Bytes tcp4(uint16_t sport, uint8_t flags) {
  Ipv4 ip;
  ip.src = kClient4;
  ip.dst = kVip4;
  Tcp t;
  t.sport = sport;
  t.dport = 80;
  t.flags = flags;
  return Frame().eth(kClientMac, kFixtureMac).ipv4(ip).tcp(t).payload("data").build();
}

Bytes udp4(uint16_t sport) {
  Ipv4 ip;
  ip.src = kClient4;
  ip.dst = kVip4;
  Udp u;
  u.sport = sport;
  u.dport = 80;
  return Frame().eth(kClientMac, kFixtureMac).ipv4(ip).udp(u).payload("query").build();
}

xlb_flow_key key4(uint16_t sport, uint8_t proto = IPPROTO_TCP) {
  return flow_key(kClient4, sport, kVip4, 80, proto);
}

class Flood : public LbFixture {
 protected:
  void SetUp() override {
    LbFixture::SetUp();
    ASSERT_TRUE(pin_.ok()) << "cannot pin the test to one CPU";
  }
  // The guard's window is per CPU: every run of a test on one CPU.
  PinnedToOneCpu pin_;
  // The guard's rate (new flows per second per CPU), or off.
  void set_flood(uint32_t rate, bool off = false) {
    int fd = bpf_map__fd(skel_->maps.xlb_config);
    uint32_t zero = 0;
    xlb_config cfg;
    ASSERT_EQ(bpf_map_lookup_elem(fd, &zero, &cfg), 0);
    cfg.flood_rate = rate;
    cfg.flags = static_cast<uint16_t>(off ? cfg.flags | XLB_CFG_F_NO_FLOOD_GUARD
                                          : cfg.flags & ~XLB_CFG_F_NO_FLOOD_GUARD);
    ASSERT_EQ(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY), 0);
  }
  // Ends every CPU's window, as if a second had passed.
  void end_window() {
    int ncpu = libbpf_num_possible_cpus();
    ASSERT_GT(ncpu, 0);
    std::vector<xlb_flood_window> w(ncpu);  // start_ns 0: long ago
    uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_flood), &zero, w.data(), BPF_ANY), 0);
  }
  // A VIP of proto on kVip4:80 with backends 1 and 2 in its list, whose
  // ring holds only backend 2. Backend 2's identity has 100 active
  // connections, so least-conn picks backend 1 and the ring backend 2:
  // where a packet goes tells which chose it.
  uint32_t vip(uint8_t sched, uint8_t mode = XLB_MODE_IPIP, uint8_t proto = IPPROTO_TCP) {
    uint32_t v = add_vip(kVip4, 80, proto, 13, sched);
    set_mode(v, mode);
    add_backend(1, v, kBe1);
    add_backend(2, v, kBe2);
    set_list(v, {1, 2});
    fill_ring(v, 2);
    EXPECT_EQ(adjust(2, 100, 0), 0);
    return v;
  }
  // Runs frame and checks it left encapsulated to backend be (1 or 2).
  void expect_to(const Bytes& frame, int be) {
    RunResult r = run(frame);
    ASSERT_EQ(r.verdict, XDP_TX);
    EXPECT_EQ(r.out, be == 1 ? expect_encap4(frame, kBe1, 10) : expect_encap4(frame, kBe2, 11));
  }
};

// least-conn: the first `rate` SYNs of the window are scheduled by least-conn
// and recorded; the rest go by the ring, unrecorded and uncounted, and the
// window is counted once. An established flow keeps its backend meanwhile.
TEST_F(Flood, PastTheRateNewFlowsGoByTheRingWithoutEntries) {
  vip(XLB_SCHED_LEAST_CONN);
  set_flood(3);
  end_window();
  for (uint16_t p = 0; p < 3; p++) expect_to(tcp4(40000 + p, kTcpSyn), 1);
  for (uint16_t p = 3; p < 10; p++) expect_to(tcp4(40000 + p, kTcpSyn), 2);
  EXPECT_EQ(flow_count(), 3u);
  EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, 3u);
  EXPECT_EQ(gstat(XLB_STAT_FLOOD_STATELESS).packets, 7u);
  EXPECT_EQ(gstat(XLB_STAT_FLOOD_WINDOWS).packets, 1u);
  EXPECT_EQ(conns(1).active, 3);
  EXPECT_EQ(conns(2).active, 100) << "a stateless flow took a unit";
  EXPECT_EQ(conns(1).half_open + conns(2).half_open, 3);

  // The recorded flows go on to their backend; a hit is no new flow.
  expect_to(tcp4(40000, kTcpAck), 1);
  EXPECT_EQ(gstat(XLB_STAT_FLOW_HIT).packets, 1u);
  EXPECT_EQ(gstat(XLB_STAT_FLOOD_STATELESS).packets, 7u);

  // A new window: recorded again.
  end_window();
  expect_to(tcp4(40100, kTcpSyn), 1);
  EXPECT_EQ(flow_count(), 4u);
  EXPECT_EQ(gstat(XLB_STAT_FLOOD_WINDOWS).packets, 1u);
}

// A connection whose SYN went by the ring during the flood has no entry; its
// next packet, after the flood, goes where the ring put the SYN (not where
// least-conn would), and is recorded as an unproven mid-stream flow.
TEST_F(Flood, AConnectionForwardedStatelesslyKeepsItsBackendAfterTheFlood) {
  vip(XLB_SCHED_LEAST_CONN);
  set_flood(1);
  end_window();
  expect_to(tcp4(41000, kTcpSyn), 1);  // within the rate: least-conn
  expect_to(tcp4(41001, kTcpSyn), 2);  // past it: the ring
  end_window();
  expect_to(tcp4(41001, kTcpAck), 2);
  xlb_flow f{};
  ASSERT_TRUE(flow(key4(41001), &f));
  EXPECT_EQ(f.backend_id, 2u);
  EXPECT_EQ(f.state, XLB_FLOW_TCP_MIDSTREAM);
  // A SYN is a new connection: least-conn's again (in a window of its own:
  // the ACK above was this window's one new flow).
  end_window();
  expect_to(tcp4(41002, kTcpSyn), 1);
}

// Every scheduler of an ipip VIP, TCP and UDP: past the rate, the ring.
struct SchedCase {
  const char* name;
  uint8_t sched;
  uint8_t proto;
};
void PrintTo(const SchedCase& c, std::ostream* os) { *os << c.name; }
class FloodSched : public Flood, public ::testing::WithParamInterface<SchedCase> {};

TEST_P(FloodSched, PastTheRateEverySchedulerUsesTheRing) {
  const SchedCase& c = GetParam();
  vip(c.sched, XLB_MODE_IPIP, c.proto);
  set_flood(1);
  end_window();
  Bytes first = c.proto == IPPROTO_TCP ? tcp4(42000, kTcpSyn) : udp4(42000);
  ASSERT_EQ(run(first).verdict, XDP_TX);
  for (uint16_t p = 1; p < 6; p++) expect_to(c.proto == IPPROTO_TCP ? tcp4(42000 + p, kTcpSyn) : udp4(42000 + p), 2);
  EXPECT_EQ(flow_count(), 1u);
  EXPECT_EQ(gstat(XLB_STAT_FLOOD_STATELESS).packets, 5u);
}

INSTANTIATE_TEST_SUITE_P(Schedulers, FloodSched,
                         ::testing::Values(SchedCase{"maglev_tcp", XLB_SCHED_MAGLEV, IPPROTO_TCP},
                                           SchedCase{"least_conn_udp", XLB_SCHED_LEAST_CONN, IPPROTO_UDP},
                                           SchedCase{"rr_tcp", XLB_SCHED_RR, IPPROTO_TCP},
                                           SchedCase{"wrr_tcp", XLB_SCHED_WRR, IPPROTO_TCP},
                                           SchedCase{"random_tcp", XLB_SCHED_RANDOM, IPPROTO_TCP}),
                         [](const auto& info) { return std::string(info.param.name); });

// nat and fullnat VIPs need the reverse entry for the replies: they record
// every new flow, flood or not (the window is still counted).
class FloodNat : public Flood, public ::testing::WithParamInterface<uint8_t> {};

TEST_P(FloodNat, NatAndFullnatVipsKeepRecording) {
  vip(XLB_SCHED_LEAST_CONN, GetParam());
  set_nat(XLB_CFG_F_NAT, "198.18.0.1", "", 20000, 20100);
  set_flood(1);
  end_window();
  for (uint16_t p = 0; p < 5; p++) ASSERT_EQ(run(tcp4(43000 + p, kTcpSyn)).verdict, XDP_TX);
  EXPECT_EQ(flow_count(), 5u);
  EXPECT_EQ(nat_revs().size(), 5u);
  EXPECT_EQ(gstat(XLB_STAT_FLOOD_STATELESS).packets, 0u);
  EXPECT_EQ(gstat(XLB_STAT_FLOOD_WINDOWS).packets, 1u);
}

INSTANTIATE_TEST_SUITE_P(Modes, FloodNat, ::testing::Values(uint8_t(XLB_MODE_NAT), uint8_t(XLB_MODE_FULLNAT)),
                         [](const auto& info) { return std::string(info.param == XLB_MODE_NAT ? "nat" : "fullnat"); });

// "flood_threshold": 0 sets XLB_CFG_F_NO_FLOOD_GUARD: every new flow is
// recorded; and a zero rate means the default, not "always flooded".
TEST_F(Flood, TheGuardCanBeTurnedOffAndZeroMeansTheDefault) {
  vip(XLB_SCHED_LEAST_CONN);
  set_flood(1, /*off=*/true);
  end_window();
  for (uint16_t p = 0; p < 5; p++) expect_to(tcp4(44000 + p, kTcpSyn), 1);
  EXPECT_EQ(flow_count(), 5u);
  set_flood(0);
  for (uint16_t p = 5; p < 10; p++) expect_to(tcp4(44000 + p, kTcpSyn), 1);
  EXPECT_EQ(flow_count(), 10u);
  EXPECT_EQ(gstat(XLB_STAT_FLOOD_STATELESS).packets, 0u);
  EXPECT_EQ(gstat(XLB_STAT_FLOOD_WINDOWS).packets, 0u);
}

}  // namespace
}  // namespace xlb::test
