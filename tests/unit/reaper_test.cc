// The reaper over the fake maps: timeouts by state, units returned from the
// value at deletion time (one adjust per identity), entries touched
// meanwhile, reconciliation of stable drift, and freeing removed backends.
#include <gtest/gtest.h>

#include "balancer_fixture.h"
#include "core/reaper.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using testing::FakeMapIo;
using testing::ep;
using testing::ip;
using testing::TCP;
using testing::UDP;

const char* kVip = "198.18.100.1:80";
constexpr uint64_t kS = 1000000000ull;
constexpr uint32_t kBoth = XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN;

class ReaperTest : public BalancerTest {
 protected:
  void SetUp() override {
    add_vip(kVip, TCP, testing::kSmallRing, XLB_SCHED_LEAST_CONN);
    add(kVip, "198.19.0.11");
    add(kVip, "198.19.0.12");
    a = id_of(kVip, "198.19.0.11");
    b = id_of(kVip, "198.19.0.12");
    ka = key_of(kVip, "198.19.0.11");
    kb = key_of(kVip, "198.19.0.12");
  }
  SweepResult sweep() { return reaper.sweep(lb->identities()); }
  // A flow from client port `port`, idle for `idle_s` seconds.
  void flow(uint16_t port, uint32_t backend, double idle_s, uint8_t state, uint32_t flags,
            const char* vip = kVip, uint8_t proto = TCP) {
    add_flow("198.18.0.2:" + std::to_string(port), vip, proto, backend,
             now - static_cast<uint64_t>(idle_s * kS), state, flags);
  }
  bool has(uint16_t port, const char* vip = kVip, uint8_t proto = TCP) {
    return maps->flows.count(flow_key("198.18.0.2:" + std::to_string(port), vip, proto)) > 0;
  }
  xlb_conn_count conn(const xlb_backend_key& k) { return maps->conn(k); }

  uint64_t now = 100000 * kS;
  FakeMapIo io{maps};  // the reaper's own MapIo over the same maps
  Reaper reaper{io, [this] { return now; }};
  uint32_t a = 0, b = 0;
  xlb_backend_key ka{}, kb{};
};

TEST_F(ReaperTest, TimeoutsByState) {
  Timeouts t;  // 900 / 10 / 30 / 120
  EXPECT_EQ(reaper.timeouts(), t);
  flow(1, a, 9, XLB_FLOW_TCP_SYN, kBoth);
  flow(2, a, 11, XLB_FLOW_TCP_SYN, kBoth);
  flow(3, a, 899, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  flow(4, a, 901, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  flow(5, a, 29, XLB_FLOW_TCP_CLOSING, 0);
  flow(6, a, 31, XLB_FLOW_TCP_CLOSING, 0);
  flow(7, a, 31, XLB_FLOW_TCP_RESET, 0);
  flow(8, a, 119, XLB_FLOW_UDP, XLB_FLOW_F_COUNTED, kVip, UDP);
  flow(9, a, 121, XLB_FLOW_UDP, XLB_FLOW_F_COUNTED, kVip, UDP);
  flow(10, a, -5, XLB_FLOW_TCP_SYN, kBoth);  // stamped after the sweep began
  flow(11, a, 9, XLB_FLOW_TCP_MIDSTREAM, XLB_FLOW_F_HALF_OPEN);  // unproven: half-open timeout
  flow(12, a, 11, XLB_FLOW_TCP_MIDSTREAM, XLB_FLOW_F_HALF_OPEN);
  SweepResult r = sweep();
  EXPECT_TRUE(r.stats.complete);
  EXPECT_EQ(r.stats.scanned, 12u);
  EXPECT_EQ(r.stats.expired, 6u);
  for (uint16_t p : {1, 3, 5, 10, 11}) EXPECT_TRUE(has(p)) << p;
  for (uint16_t p : {2, 4, 6, 7, 12}) EXPECT_FALSE(has(p)) << p;
  EXPECT_TRUE(has(8, kVip, UDP));
  EXPECT_FALSE(has(9, kVip, UDP));

  // Configurable.
  t.tcp_half_open = 1;
  t.tcp_established = 100;
  reaper.set_timeouts(t);
  sweep();
  EXPECT_FALSE(has(1));
  EXPECT_FALSE(has(3));
  EXPECT_TRUE(has(10));
}

TEST_F(ReaperTest, ExpiredUnitsReturnWithOneAdjustPerIdentity) {
  for (uint16_t p = 1; p <= 3; p++) flow(p, a, 60, XLB_FLOW_TCP_SYN, kBoth);          // expired half-open
  for (uint16_t p = 4; p <= 5; p++) flow(p, a, 1000, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  flow(6, a, 40, XLB_FLOW_TCP_CLOSING, 0);                                             // holds nothing
  flow(7, a, 1, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);                         // alive
  flow(8, b, 20, XLB_FLOW_TCP_SYN, kBoth);
  maps->conns[ka] = {6, 3};
  maps->conns[kb] = {1, 1};
  maps->log.clear();

  SweepResult r = sweep();
  EXPECT_EQ(r.stats.expired, 7u);
  EXPECT_EQ(r.stats.returned, 2u);
  EXPECT_EQ(maps->adjust_calls, 2u);  // one per identity, whatever the number of entries
  EXPECT_EQ(conn(ka).active, 1);
  EXPECT_EQ(conn(ka).half_open, 0);
  EXPECT_EQ(conn(kb).active, 0);
  EXPECT_EQ(conn(kb).half_open, 0);
  EXPECT_EQ(maps->flows.size(), 1u);
  EXPECT_EQ(r.stats.reconciled, 0u);
  // Deletions come first, the adjusts after the walk.
  EXPECT_LT(maps->first("delete_flow"), maps->first("adjust"));
}

TEST_F(ReaperTest, TheValueAtDeletionTimeDecides) {
  flow(1, a, 60, XLB_FLOW_TCP_SYN, kBoth);
  maps->conns[ka] = {1, 1};
  // Between the read and the delete the data plane completed the handshake
  // (within the same second, so last_seen did not move): half-open gone.
  maps->before_delete = [&](const xlb_flow_key&, xlb_flow& f) {
    f.flags &= ~XLB_FLOW_F_HALF_OPEN;
    f.state = XLB_FLOW_TCP_ESTABLISHED;
    maps->conns[ka].half_open--;
  };
  sweep();
  EXPECT_EQ(conn(ka).active, 0);
  EXPECT_EQ(conn(ka).half_open, 0);  // not returned twice
}

TEST_F(ReaperTest, AnEntryTouchedMeanwhileIsPutBack) {
  flow(1, a, 1000, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  maps->conns[ka] = {1, 0};
  maps->before_delete = [&](const xlb_flow_key&, xlb_flow& f) { f.last_seen_ns = now; };
  SweepResult r = sweep();
  EXPECT_EQ(r.stats.restored, 1u);
  EXPECT_EQ(r.stats.expired, 0u);
  EXPECT_TRUE(has(1));
  EXPECT_EQ(maps->flows.begin()->second.last_seen_ns, now);
  EXPECT_EQ(conn(ka).active, 1);  // its unit stays with it
  EXPECT_TRUE(r.referenced[a]);
}

TEST_F(ReaperTest, ANewEntryWinsOverTheRestore) {
  flow(1, a, 1000, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  maps->conns[ka] = {1, 0};
  maps->before_delete = [&](const xlb_flow_key&, xlb_flow& f) { f.last_seen_ns = now; };
  // The data plane saw no entry and rescheduled the flow to b, counting it.
  maps->after_delete = [&](const xlb_flow_key& k) {
    xlb_flow f{};
    f.backend_id = b;
    f.last_seen_ns = now;
    f.state = XLB_FLOW_TCP_ESTABLISHED;
    f.flags = XLB_FLOW_F_COUNTED;
    maps->flows[k] = f;
    maps->conns[kb].active++;
  };
  SweepResult r = sweep();
  EXPECT_EQ(r.stats.restored, 0u);
  EXPECT_EQ(r.stats.expired, 1u);
  EXPECT_EQ(maps->flows.begin()->second.backend_id, b);
  EXPECT_EQ(conn(ka).active, 0);  // the old entry's unit came back
  EXPECT_EQ(conn(kb).active, 1);
}

TEST_F(ReaperTest, EntriesOfUnboundIdsAreJustDeleted) {
  flow(1, 4242, 1000, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  flow(2, 4243, 1, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);  // alive: left to the data plane
  SweepResult r = sweep();
  EXPECT_EQ(r.stats.expired, 1u);
  EXPECT_EQ(maps->adjust_calls, 0u);
  EXPECT_TRUE(has(2));
  EXPECT_TRUE(r.referenced[4243]);
}

TEST_F(ReaperTest, IdentityComesFromTheFlowsDestination) {
  // An entry of backend a whose destination is another VIP (an id reused
  // between the entry's creation and now): the data plane counted it under
  // (its destination, a's address), and that is what is given back.
  add_vip("198.18.100.2:80");
  add("198.18.100.2:80", "198.19.0.11");
  xlb_backend_key other = key_of("198.18.100.2:80", "198.19.0.11");
  flow(1, a, 1000, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED, "198.18.100.2:80");
  maps->conns[other] = {1, 0};
  maps->conns[ka] = {1, 0};
  sweep();
  EXPECT_EQ(conn(other).active, 0);
  EXPECT_EQ(conn(ka).active, 1);
}

TEST_F(ReaperTest, WalksEveryBatchWhileDeleting) {
  maps->batch = 7;
  for (uint16_t p = 1; p <= 200; p++)
    flow(p, p % 2 ? a : b, p % 4 < 2 ? 2000 : 5, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  maps->conns[ka] = {100, 0};
  maps->conns[kb] = {100, 0};
  SweepResult r = sweep();
  EXPECT_EQ(r.stats.scanned, 200u);
  EXPECT_EQ(r.stats.expired, 100u);
  EXPECT_EQ(maps->flows.size(), 100u);
  EXPECT_EQ(conn(ka).active + conn(kb).active, 100);
  EXPECT_EQ(r.stats.reconciled, 0u);
}

TEST_F(ReaperTest, StableDriftIsCorrectedChangingDriftIsNot) {
  for (uint16_t p = 1; p <= 3; p++) flow(p, a, 1, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  flow(4, a, 1, XLB_FLOW_TCP_SYN, kBoth);
  maps->conns[ka] = {6, 1};  // truth: 4 active, 1 half-open -> +2 drift (LRU evictions)
  maps->conns[kb] = {0, 0};

  EXPECT_EQ(sweep().stats.reconciled, 0u);  // seen once: could be in flight
  EXPECT_EQ(conn(ka).active, 6);
  SweepResult r = sweep();                  // seen again: drift
  EXPECT_EQ(r.stats.reconciled, 1u);
  EXPECT_EQ(conn(ka).active, 4);
  EXPECT_EQ(conn(ka).half_open, 1);
  EXPECT_EQ(sweep().stats.reconciled, 0u);  // and no overcorrection after

  // A difference that moves between sweeps is traffic: left alone.
  maps->conns[ka].active = 6;
  sweep();
  maps->conns[ka].active = 5;
  sweep();
  EXPECT_EQ(conn(ka).active, 5);
  sweep();  // 5 again: now it is drift
  EXPECT_EQ(conn(ka).active, 4);

  // Below the truth (a unit returned twice, clamped): raised back.
  maps->conns[kb] = {0, 0};
  flow(10, b, 1, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  flow(11, b, 1, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  sweep();
  sweep();
  EXPECT_EQ(conn(kb).active, 2);
}

TEST_F(ReaperTest, IdentitiesWithoutEntriesOrUnknownAreLeftAlone) {
  maps->conns.erase(kb);
  flow(1, b, 1, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  xlb_backend_key orphan = key_of("198.18.100.9:80", "198.19.0.99");
  maps->conns[orphan] = {3, 0};
  sweep();
  sweep();
  EXPECT_EQ(maps->conns.count(kb), 0u);  // the reaper never creates entries
  EXPECT_EQ(conn(orphan).active, 3);
  EXPECT_EQ(maps->adjust_calls, 0u);
}

TEST_F(ReaperTest, StoppedEarlyReturnsUnitsButProvesNothing) {
  maps->batch = 100;
  for (uint16_t p = 1; p <= 20000; p++) flow(p, a, 2000, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  maps->conns[ka] = {20000, 0};
  SweepResult r = reaper.sweep(lb->identities(), [] { return true; });
  EXPECT_FALSE(r.stats.complete);
  EXPECT_LT(r.stats.scanned, 20000u);
  EXPECT_TRUE(r.referenced.empty());
  EXPECT_EQ(conn(ka).active, int64_t(20000 - r.stats.expired));
}

TEST_F(ReaperTest, RemovedBackendIsFreedOnceItsLastFlowExpires) {
  flow(1, b, 20, XLB_FLOW_TCP_CLOSING, 0);
  flow(2, b, 5, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  maps->conns[kb] = {1, 0};
  lb->del_backend(ep(kVip), TCP, ip("198.19.0.12"), false);

  uint64_t gen = lb->removal_generation();
  SweepResult r = sweep();
  EXPECT_TRUE(r.referenced[b]);
  EXPECT_TRUE(lb->free_removed(r.referenced, gen).empty());

  now += 1000 * kS;  // the established flow idles out
  gen = lb->removal_generation();
  r = sweep();
  EXPECT_FALSE(r.referenced[b]);
  EXPECT_TRUE(r.referenced.size() == XLB_MAX_BACKENDS);
  EXPECT_EQ(lb->free_removed(r.referenced, gen).size(), 1u);
  EXPECT_EQ(maps->conns.count(kb), 0u);
  EXPECT_EQ(maps->backends.at(b).flags, 0);
  EXPECT_TRUE(maps->flows.empty());
  EXPECT_EQ(conn(ka).active, 0);
}

TEST(ReaperClock, IsTheCoarseMonotonicClock) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  uint64_t want = uint64_t(ts.tv_sec) * kS + uint64_t(ts.tv_nsec);
  uint64_t got = monotonic_coarse_ns();
  EXPECT_GE(got, want);
  EXPECT_LT(got - want, kS);
}

}  // namespace
}  // namespace xlb
