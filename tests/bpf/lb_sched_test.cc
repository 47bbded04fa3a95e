// Packet tests of the schedulers and of connection counting: which backend a
// new flow gets, and how each client packet moves its backend's counts.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <map>
#include <set>

#include "lb_fixture.h"

namespace xlb::test {
namespace {

const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};
constexpr const char* kVip = "198.18.100.1";
const char* const kBackends[] = {"198.18.0.10", "198.18.0.11", "198.18.0.12", "198.18.0.13"};

Bytes tcp(const std::string& src, uint16_t sport, uint8_t flags) {
  Ipv4 ip;
  ip.src = src;
  ip.dst = kVip;
  Tcp t;
  t.sport = sport;
  t.dport = 80;
  t.flags = flags;
  return Frame().eth(kClientMac, kFixtureMac).ipv4(ip).tcp(t).build();
}

// The backend a forwarded frame went to: the outer IPv4 destination's last byte.
int backend_of(const RunResult& r) {
  if (r.verdict != XDP_TX || r.out.size() < 34) return -1;
  return r.out[33];
}

class Sched : public LbFixture {
 protected:
  // A VIP with `n` backends (ids 0..n-1, addresses kBackends) in its list,
  // every ring slot pointing at backend 0.
  uint32_t vip_with(uint8_t sched, int n, const std::vector<uint32_t>& weights = {}) {
    uint32_t vip = add_vip(kVip, 80, IPPROTO_TCP, 13, sched);
    std::vector<uint32_t> ids;
    for (int i = 0; i < n; i++) {
      add_backend(i, vip, kBackends[i], weights.empty() ? 1 : weights[i]);
      ids.push_back(i);
    }
    set_list(vip, ids);
    fill_ring(vip, 0);
    return vip;
  }
};

// ---- least-conn -----------------------------------------------------------

TEST_F(Sched, LeastConnPicksTheLeastLoadedBackend) {
  vip_with(XLB_SCHED_LEAST_CONN, 3);
  ASSERT_EQ(adjust(0, 5, 0), 0);
  ASSERT_EQ(adjust(1, 3, 0), 0);
  ASSERT_EQ(adjust(2, 4, 0), 0);
  RunResult r = run(tcp("198.18.1.1", 40000, kTcpSyn));
  EXPECT_EQ(backend_of(r), 11);
  EXPECT_EQ(conns(1).active, 4);
  EXPECT_EQ(conns(1).half_open, 1);
}

TEST_F(Sched, LeastConnFillsAnEmptyNewBackendUntilEven) {
  // The motivating case: 2 backends with 50 long-lived connections
  // each, a third joins; the next 50 connections must all go to it.
  vip_with(XLB_SCHED_LEAST_CONN, 3);
  ASSERT_EQ(adjust(0, 50, 0), 0);
  ASSERT_EQ(adjust(1, 50, 0), 0);
  std::map<int, int> got;
  for (uint16_t p = 0; p < 50; p++) got[backend_of(run(tcp("198.18.1.1", 40000 + p, kTcpSyn)))]++;
  EXPECT_EQ(got[12], 50);
  // Then even again: the next 30 spread 10/10/10.
  got.clear();
  for (uint16_t p = 100; p < 130; p++) got[backend_of(run(tcp("198.18.1.1", 40000 + p, kTcpSyn)))]++;
  EXPECT_EQ(got[10], 10);
  EXPECT_EQ(got[11], 10);
  EXPECT_EQ(got[12], 10);
}

TEST_F(Sched, LeastConnHonoursWeights) {
  vip_with(XLB_SCHED_LEAST_CONN, 2, {1, 3});
  std::map<int, int> got;
  for (uint16_t p = 0; p < 40; p++) got[backend_of(run(tcp("198.18.1.1", 40000 + p, kTcpSyn)))]++;
  EXPECT_EQ(got[10], 10);
  EXPECT_EQ(got[11], 30);
}

TEST_F(Sched, LeastConnBreaksTiesByFlowNotAlwaysTheFirst) {
  vip_with(XLB_SCHED_LEAST_CONN, 4);
  std::set<int> first_picks;
  for (uint16_t p = 0; p < 16; p++) {
    RunResult r = run(tcp("198.18.1.1", 40000 + p, kTcpSyn));
    first_picks.insert(backend_of(r));
    // Return the unit so every pick sees all backends tied at zero.
    ASSERT_EQ(run(tcp("198.18.1.1", 40000 + p, kTcpRst)).verdict, XDP_TX);
  }
  EXPECT_GT(first_picks.size(), 1u) << "ties always went to the same backend";
}

TEST_F(Sched, LeastConnSkipsDrainedAndForeignListEntries) {
  uint32_t vip = vip_with(XLB_SCHED_LEAST_CONN, 3);
  // Backend 0 drained (out of the ring), backend 2 belongs to another VIP.
  xlb_backend be{};
  uint32_t id = 0;
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_backends), &id, &be), 0);
  be.flags = XLB_BACKEND_F_USED;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_backends), &id, &be, BPF_ANY), 0);
  id = 2;
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_backends), &id, &be), 0);
  be.vip_id = vip + 1;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_backends), &id, &be, BPF_ANY), 0);
  ASSERT_EQ(adjust(1, 100, 0), 0);
  for (uint16_t p = 0; p < 8; p++) EXPECT_EQ(backend_of(run(tcp("198.18.1.1", 40000 + p, kTcpSyn))), 11);
}

TEST_F(Sched, LeastConnWithEmptyListDrops) {
  uint32_t vip = vip_with(XLB_SCHED_LEAST_CONN, 2);
  set_list(vip, {});
  EXPECT_EQ(run(tcp("198.18.1.1", 40000, kTcpSyn)).verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_NO_BACKEND).packets, 1u);
}

// ---- counting ------------------------------------------------------------------

TEST_F(Sched, CountsFollowTheClientsHalfOfTheConnection) {
  vip_with(XLB_SCHED_LEAST_CONN, 1);
  const std::vector<std::tuple<uint8_t, int64_t, int64_t>> steps = {
      {kTcpSyn, 1, 1},             // counted from the first packet, half-open
      {kTcpSyn, 1, 1},             // SYN retransmission: no change
      {kTcpAck, 1, 0},             // handshake completed
      {kTcpAck | kTcpPsh, 1, 0},   // data
      {kTcpAck | kTcpFin, 0, 0},   // client closes: released
      {kTcpAck | kTcpFin, 0, 0},   // retransmitted FIN: not released twice
      {kTcpAck, 0, 0},             // last ACK
      {kTcpSyn, 1, 1},             // tuple reused for a new connection
      {kTcpRst, 0, 0},             // reset releases both units
      {kTcpRst, 0, 0},
  };
  for (const auto& [flags, active, half] : steps) {
    ASSERT_EQ(run(tcp("198.18.1.1", 40000, flags)).verdict, XDP_TX);
    EXPECT_EQ(conns(0).active, active) << "after flags 0x" << std::hex << int(flags);
    EXPECT_EQ(conns(0).half_open, half) << "after flags 0x" << std::hex << int(flags);
  }
}

// Half-open until it proves itself (lb_state_test.cc has the proof).
TEST_F(Sched, ConnectionWithoutEntryIsCountedAsHalfOpen) {
  vip_with(XLB_SCHED_LEAST_CONN, 1);
  ASSERT_EQ(run(tcp("198.18.1.1", 40000, kTcpAck)).verdict, XDP_TX);
  EXPECT_EQ(conns(0).active, 0);
  EXPECT_EQ(conns(0).half_open, 1);
}

// A RST opens no flow at all; least-conn's pick is not the flow's, so it
// is dropped (lb_state_test.cc).
TEST_F(Sched, RstWithoutEntryIsNotCounted) {
  vip_with(XLB_SCHED_LEAST_CONN, 1);
  ASSERT_EQ(run(tcp("198.18.1.1", 40000, kTcpRst)).verdict, XDP_DROP);
  EXPECT_EQ(conns(0).active, 0);
  EXPECT_EQ(conns(0).half_open, 0);
}

TEST_F(Sched, MaglevVipsCountToo) {
  vip_with(XLB_SCHED_MAGLEV, 1);
  ASSERT_EQ(run(tcp("198.18.1.1", 40000, kTcpSyn)).verdict, XDP_TX);
  EXPECT_EQ(conns(0).active, 1);
}

TEST_F(Sched, BackendWithoutCountEntryStillForwards) {
  vip_with(XLB_SCHED_MAGLEV, 1);
  xlb_backend_key key = identity(0);
  ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.xlb_conns), &key), 0);
  EXPECT_EQ(backend_of(run(tcp("198.18.1.1", 40000, kTcpSyn))), 10);
  ASSERT_EQ(run(tcp("198.18.1.1", 40000, kTcpFin)).verdict, XDP_TX);
}

TEST_F(Sched, AdjustClampsAtZeroAndReportsUnknownIdentities) {
  vip_with(XLB_SCHED_LEAST_CONN, 1);
  ASSERT_EQ(adjust(0, 3, 2), 0);
  EXPECT_EQ(conns(0).active, 3);
  ASSERT_EQ(adjust(0, -10, -1), 0);
  EXPECT_EQ(conns(0).active, 0);
  EXPECT_EQ(conns(0).half_open, 1);
  xlb_backend_key key = identity(0);
  ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.xlb_conns), &key), 0);
  EXPECT_EQ(adjust(0, 1, 0), -2);
}

// ---- the other schedulers ---------------------------------------------------

TEST_F(Sched, RoundRobinRotatesExactly) {
  vip_with(XLB_SCHED_RR, 3);
  std::vector<int> order;
  for (uint16_t p = 0; p < 6; p++) order.push_back(backend_of(run(tcp("198.18.1.1", 40000 + p, kTcpSyn))));
  EXPECT_EQ(order, (std::vector<int>{10, 11, 12, 10, 11, 12}));
}

TEST_F(Sched, WeightedRoundRobinFollowsTheListSequence) {
  // lbd writes wrr lists as a smooth weighted sequence; the data path only
  // rotates through it.
  uint32_t vip = vip_with(XLB_SCHED_WRR, 2, {2, 1});
  set_list(vip, {0, 1, 0});
  std::map<int, int> got;
  for (uint16_t p = 0; p < 30; p++) got[backend_of(run(tcp("198.18.1.1", 40000 + p, kTcpSyn)))]++;
  EXPECT_EQ(got[10], 20);
  EXPECT_EQ(got[11], 10);
}

TEST_F(Sched, SourceHashKeepsAClientOnOneBackend) {
  uint32_t vip = vip_with(XLB_SCHED_SRC_HASH, 2);
  // Ring alternating between the two backends, so the slot matters.
  int fd = ring_fds_[vip];
  for (uint32_t slot = 0; slot < 13; slot++) {
    uint32_t id = slot % 2;
    ASSERT_EQ(bpf_map_update_elem(fd, &slot, &id, BPF_ANY), 0);
  }
  std::set<int> per_client[4];
  std::set<int> all;
  for (int c = 0; c < 4; c++)
    for (uint16_t p = 0; p < 10; p++) {
      int b = backend_of(run(tcp("198.18.1." + std::to_string(c + 1), 40000 + p, kTcpSyn)));
      per_client[c].insert(b);
      all.insert(b);
    }
  for (const auto& s : per_client) EXPECT_EQ(s.size(), 1u) << "a client's flows were split";
}

TEST_F(Sched, RandomUsesTheWeightedRing) {
  uint32_t vip = vip_with(XLB_SCHED_RANDOM, 2);
  int fd = ring_fds_[vip];
  for (uint32_t slot = 0; slot < 13; slot++) {
    uint32_t id = slot < 3 ? 1 : 0;  // backend 1 holds 3 of 13 slots
    ASSERT_EQ(bpf_map_update_elem(fd, &slot, &id, BPF_ANY), 0);
  }
  std::map<int, int> got;
  for (uint16_t p = 0; p < 1300; p++) got[backend_of(run(tcp("198.18.1.1", 1000 + p, kTcpSyn)))]++;
  // Expected 300 of 1300 on backend 1; allow generous randomness.
  EXPECT_GT(got[11], 200);
  EXPECT_LT(got[11], 400);
  EXPECT_EQ(got[10] + got[11], 1300);
}


// ---- graceful removal ----------------------------------------------------------

// What lbd does to take a backend out of service without breaking its
// connections (ctl/core/balancer.h, "Backend states"): drain-backend leaves
// it USED with weight 0 and no IN_RING; del-backend marks it USED|REMOVED,
// weight 0. Either way the ring and list are rebuilt without it. Its known
// flows must stay on it until they end, and their units must go back to it
// (lbd frees a removed backend once its flows and counts are gone).
struct Removal {
  const char* name;
  uint8_t sched;
  uint8_t flags;  // the backend's flags once out of service
};
void PrintTo(const Removal& r, std::ostream* os) { *os << r.name; }

class GracefulRemoval : public Sched, public ::testing::WithParamInterface<Removal> {};

TEST_P(GracefulRemoval, KnownFlowsStayOnTheBackendUntilTheyEnd) {
  const Removal& p = GetParam();
  // Backend 0 (198.18.0.10) alone in the ring and list at first; backend 1
  // (198.18.0.11) takes over.
  uint32_t vip = vip_with(p.sched, 2);
  set_list(vip, {0});
  ASSERT_EQ(backend_of(run(tcp("198.18.1.1", 40000, kTcpSyn))), 10);  // established below
  ASSERT_EQ(backend_of(run(tcp("198.18.1.1", 40000, kTcpAck))), 10);
  ASSERT_EQ(backend_of(run(tcp("198.18.1.1", 40001, kTcpSyn))), 10);  // still half-open
  ASSERT_EQ(conns(0).active, 2);
  ASSERT_EQ(conns(0).half_open, 1);

  set_backend_state(0, p.flags, 0);
  set_list(vip, {1});
  fill_ring(vip, 1);

  EXPECT_EQ(backend_of(run(tcp("198.18.1.1", 40000, kTcpAck | kTcpPsh))), 10) << "established flow moved";
  EXPECT_EQ(backend_of(run(tcp("198.18.1.1", 40001, kTcpAck))), 10) << "half-open flow moved";
  EXPECT_EQ(conns(0).active, 2);
  EXPECT_EQ(conns(0).half_open, 0) << "the handshake completed on the drained backend";
  EXPECT_EQ(backend_of(run(tcp("198.18.1.1", 40002, kTcpSyn))), 11) << "a new flow went to the drained backend";
  for (uint16_t port : {40000, 40001}) {
    xlb_flow f{};
    ASSERT_TRUE(flow(flow_key("198.18.1.1", port, kVip, 80, IPPROTO_TCP), &f));
    EXPECT_EQ(f.backend_id, 0u) << "port " << port;
  }

  // The flows end on it and give their units back to it, not to backend 1.
  EXPECT_EQ(backend_of(run(tcp("198.18.1.1", 40000, kTcpAck | kTcpFin))), 10);
  EXPECT_EQ(backend_of(run(tcp("198.18.1.1", 40001, kTcpRst))), 10);
  EXPECT_EQ(conns(0).active, 0);
  EXPECT_EQ(conns(0).half_open, 0);
  EXPECT_EQ(conns(1).active, 1);
  EXPECT_EQ(gstat(XLB_STAT_FLOW_STALE_BACKEND).packets, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Sched, GracefulRemoval,
    ::testing::Values(Removal{"MaglevDraining", XLB_SCHED_MAGLEV, XLB_BACKEND_F_USED},
                      Removal{"MaglevRemoved", XLB_SCHED_MAGLEV, XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED},
                      Removal{"LeastConnDraining", XLB_SCHED_LEAST_CONN, XLB_BACKEND_F_USED},
                      Removal{"LeastConnRemoved", XLB_SCHED_LEAST_CONN,
                              XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED}),
    [](const ::testing::TestParamInfo<Removal>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace xlb::test
