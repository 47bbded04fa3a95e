// The reaper's sweep of xlb_nat_rev over the fake maps: the staleness
// rules, the one-sweep grace, the second look before a delete, batching,
// reclaiming the reply entries of expired flows, and incomplete sweeps.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "balancer_fixture.h"
#include "core/nat_rev_reaper.h"
#include "core/reaper.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using testing::ep;
using testing::FakeMapIo;
using testing::ip;
using testing::kSmallRing;
using testing::TCP;

const char* kVip = "198.18.100.1:80";
constexpr uint64_t kS = 1000000000ull;

TEST(NatRevStale, Rules) {
  xlb_flow_key key{};
  key.dport = htons(1024);
  xlb_nat_rev rev{};
  rev.backend_id = 7;
  xlb_flow fwd{};
  fwd.backend_id = 7;
  EXPECT_TRUE(nat_rev_stale(key, rev, nullptr));  // no forward entry
  EXPECT_FALSE(nat_rev_stale(key, rev, &fwd));    // nat: no nat_port, any reply port
  fwd.nat_port = htons(1024);
  EXPECT_FALSE(nat_rev_stale(key, rev, &fwd));  // fullnat: its own port
  fwd.nat_port = htons(1025);
  EXPECT_TRUE(nat_rev_stale(key, rev, &fwd));  // holds another port now
  fwd.nat_port = 0;
  fwd.backend_id = 8;
  EXPECT_TRUE(nat_rev_stale(key, rev, &fwd));  // rescheduled to another backend
}

class NatReaperTest : public BalancerTest {
 protected:
  void SetUp() override {
    VipSpec s{ep(kVip), TCP, XLB_SCHED_MAGLEV, XLB_MODE_FULLNAT, kSmallRing};
    lb->add_vip(s);
    lb->add_backend(ep(kVip), TCP, ip("198.19.0.11"), 1, 8080);
    lb->add_backend(ep(kVip), TCP, ip("198.19.0.12"), 1, 8080);
    for (const auto& v : lb->list())
      for (const auto& b : v.backends) (b.address == ip("198.19.0.11") ? a : b_) = b.id;
  }
  static std::string client(uint16_t port) { return "198.18.0.2:" + std::to_string(port); }
  // A fullnat flow from client port `port`, given source port `nat_port`.
  void nat_flow(uint16_t port, uint32_t backend, uint16_t nat_port, double idle_s = 1) {
    add_flow(client(port), kVip, TCP, backend, now - static_cast<uint64_t>(idle_s * kS), XLB_FLOW_TCP_ESTABLISHED,
             XLB_FLOW_F_NAT);
    maps->flows.at(flow_key(client(port), kVip, TCP)).nat_port = htons(nat_port);
  }
  // The reply entry of that flow: backend:8080 -> S:nat_port.
  xlb_flow_key rev(uint16_t port, uint32_t backend, uint16_t nat_port) {
    xlb_nat_rev r{};
    r.fwd = flow_key(client(port), kVip, TCP);
    r.backend_id = backend;
    std::string be = backend == a ? "198.19.0.11:8080" : "198.19.0.12:8080";
    xlb_flow_key k = flow_key(be, "198.18.0.1:" + std::to_string(nat_port), TCP);
    maps->nat_rev[k] = r;
    return k;
  }
  bool has_rev(const xlb_flow_key& k) { return maps->nat_rev.count(k) > 0; }
  SweepResult sweep() { return reaper.sweep(lb->identities()); }

  uint64_t now = 100000 * kS;
  FakeMapIo io{maps};
  Reaper reaper{io, [this] { return now; }};
  uint32_t a = 0, b_ = 0;
};

TEST_F(NatReaperTest, LiveEntriesStay) {
  std::vector<xlb_flow_key> keys;
  for (uint16_t p = 1; p <= 10; p++) {
    nat_flow(p, p % 2 ? a : b_, 1023 + p);
    keys.push_back(rev(p, p % 2 ? a : b_, 1023 + p));
  }
  for (int i = 0; i < 3; i++) {
    SweepResult r = sweep();
    EXPECT_EQ(r.stats.nat_rev_entries, 10u);
    EXPECT_EQ(r.stats.nat_rev_reaped, 0u);
  }
  for (const auto& k : keys) EXPECT_TRUE(has_rev(k));
  EXPECT_EQ(maps->flow_lookups, 0u);  // the sweep's own view of the flows sufficed
}

TEST_F(NatReaperTest, AnOrphanGoesOnTheSecondSweep) {
  xlb_flow_key k = rev(1, a, 1024);  // no forward entry
  SweepResult r = sweep();
  EXPECT_EQ(r.stats.nat_rev_reaped, 0u);
  EXPECT_TRUE(has_rev(k));  // the grace: its flow may be on its way
  r = sweep();
  EXPECT_EQ(r.stats.nat_rev_reaped, 1u);
  EXPECT_FALSE(has_rev(k));
  EXPECT_EQ(sweep().stats.nat_rev_entries, 0u);
}

TEST_F(NatReaperTest, ANewFlowCompletesWithinTheGrace) {
  // The data plane created the reply entry; the forward entry follows
  // after the sweep looked.
  xlb_flow_key k = rev(1, a, 1024);
  sweep();
  nat_flow(1, a, 1024);
  sweep();
  sweep();
  EXPECT_TRUE(has_rev(k));
}

TEST_F(NatReaperTest, AFlowCreatedDuringTheReplyWalkIsLookedAt) {
  // The forward walk ran before the flow existed; by the time its reply
  // entry is judged a second time the flow is there: the second look keeps it.
  xlb_flow_key k = rev(1, a, 1024);
  sweep();
  maps->during_nat_rev_walk = [&](const xlb_flow_key& key) {
    if (std::memcmp(&key, &k, sizeof k) == 0 && !maps->flows.count(flow_key(client(1), kVip, TCP)))
      nat_flow(1, a, 1024);
  };
  SweepResult r = sweep();
  EXPECT_EQ(r.stats.nat_rev_reaped, 0u);
  EXPECT_EQ(maps->flow_lookups, 1u);
  EXPECT_TRUE(has_rev(k));
  maps->during_nat_rev_walk = nullptr;
  sweep();
  sweep();
  EXPECT_TRUE(has_rev(k));
  EXPECT_EQ(maps->flow_lookups, 1u);  // seen by the walk from then on
}

TEST_F(NatReaperTest, AnEntryOfAnotherBackendGoes) {
  nat_flow(1, b_, 1024);            // rescheduled to b
  xlb_flow_key old = rev(1, a, 1024);  // the reply entry of its time with a
  sweep();
  EXPECT_TRUE(has_rev(old));
  sweep();
  EXPECT_FALSE(has_rev(old));
}

TEST_F(NatReaperTest, AnEntryOfAnotherSourcePortGoes) {
  nat_flow(1, a, 1025);
  xlb_flow_key old = rev(1, a, 1024);  // the port it held before
  xlb_flow_key cur = rev(1, a, 1025);
  sweep();
  sweep();
  EXPECT_FALSE(has_rev(old));
  EXPECT_TRUE(has_rev(cur));
}

TEST_F(NatReaperTest, NatFlowsWithoutASourcePortKeepTheirEntries) {
  // nat (not fullnat): nat_port 0, the reply goes to the client's own port.
  nat_flow(1, a, 0);
  xlb_flow_key k = rev(1, a, 40000);
  sweep();
  sweep();
  EXPECT_TRUE(has_rev(k));
}

TEST_F(NatReaperTest, AnExpiredFlowsPortIsFreeTwoSweepsLater) {
  nat_flow(1, a, 1024, 1000);  // idle beyond tcp_established
  nat_flow(2, a, 1025, 1);
  xlb_flow_key gone = rev(1, a, 1024);
  xlb_flow_key live = rev(2, a, 1025);
  SweepResult r = sweep();
  EXPECT_EQ(r.stats.expired, 1u);
  EXPECT_TRUE(has_rev(gone));
  r = sweep();
  EXPECT_EQ(r.stats.nat_rev_reaped, 1u);
  EXPECT_FALSE(has_rev(gone));
  EXPECT_TRUE(has_rev(live));
}

TEST_F(NatReaperTest, AnEntryThatChangedStartsTheGraceAgain) {
  xlb_flow_key k = rev(1, a, 1024);
  sweep();
  // Deleted by the data plane (an error path) and made again for another
  // flow whose forward entry is on its way: a different entry.
  maps->nat_rev[k].fwd = flow_key(client(2), kVip, TCP);
  sweep();
  EXPECT_TRUE(has_rev(k));
  sweep();
  EXPECT_FALSE(has_rev(k));
}

TEST_F(NatReaperTest, DeletesGoOneByOneAndRestoreNothingUnchanged) {
  for (uint16_t p = 1; p <= 50; p++) rev(p, a, 1000 + p);
  sweep();
  maps->log.clear();
  SweepResult r = sweep();
  EXPECT_EQ(r.stats.nat_rev_reaped, 50u);
  EXPECT_TRUE(maps->nat_rev.empty());
  EXPECT_EQ(maps->logged("delete_nat_rev"), 50u);
  EXPECT_EQ(maps->logged("restore_nat_rev"), 0u);
}

// The data plane gives a finished flow's reply tuple to a new flow by
// overwriting the entry (bpf/lib/nat.h, takeover). The reaper judged the old
// value, stale twice; the new owner is live and must keep its entry.
TEST_F(NatReaperTest, AnEntryTakenOverAfterTheWalkReadItStays) {
  xlb_flow_key k = rev(1, a, 1024);  // no forward entry: stale
  sweep();                            // a candidate
  xlb_nat_rev taken{};
  taken.fwd = flow_key(client(2), kVip, TCP);
  taken.backend_id = a;
  // The walk has read the old value; the takeover lands before the delete.
  maps->during_nat_rev_walk = [&](const xlb_flow_key& key) {
    if (std::memcmp(&key, &k, sizeof k) == 0) maps->nat_rev[k] = taken;
  };
  SweepResult r = sweep();
  EXPECT_EQ(r.stats.nat_rev_reaped, 0u);
  ASSERT_TRUE(has_rev(k)) << "the new owner's entry was deleted";
  EXPECT_EQ(std::memcmp(&maps->nat_rev.at(k), &taken, sizeof taken), 0);
  EXPECT_EQ(maps->logged("delete_nat_rev"), 0u) << "never missing, not even for a moment";
}

// The same takeover, between the reaper's last look and its delete: the
// delete returns the new value, which goes straight back.
TEST_F(NatReaperTest, AnEntryTakenOverBetweenTheLookAndTheDeleteIsPutBack) {
  xlb_flow_key k = rev(1, a, 1024);
  sweep();
  xlb_nat_rev taken{};
  taken.fwd = flow_key(client(2), kVip, TCP);
  taken.backend_id = a;
  maps->before_nat_rev_delete = [&](const xlb_flow_key& key, xlb_nat_rev& value) {
    if (std::memcmp(&key, &k, sizeof k) == 0) value = taken;
  };
  SweepResult r = sweep();
  EXPECT_EQ(r.stats.nat_rev_reaped, 0u);
  ASSERT_TRUE(has_rev(k)) << "the new owner's entry was deleted";
  EXPECT_EQ(std::memcmp(&maps->nat_rev.at(k), &taken, sizeof taken), 0);
  EXPECT_EQ(maps->logged("restore_nat_rev"), 1u);
}

TEST_F(NatReaperTest, AnIncompleteForwardSweepSkipsTheReplyTableAndRestartsTheGrace) {
  xlb_flow_key k = rev(1, a, 1024);
  sweep();  // k is a candidate
  maps->batch = 100;
  for (uint16_t p = 100; p < 100 + 9000; p++) nat_flow(p, a, 0);
  uint64_t walks = maps->nat_rev_walks;
  SweepResult r = reaper.sweep(lb->identities(), [] { return true; });
  EXPECT_FALSE(r.stats.complete);
  EXPECT_EQ(maps->nat_rev_walks, walks);  // a partial view of the flows proves nothing
  EXPECT_TRUE(has_rev(k));
  sweep();
  EXPECT_TRUE(has_rev(k));  // a candidate afresh
  sweep();
  EXPECT_FALSE(has_rev(k));
}

TEST_F(NatReaperTest, NatRevReaperOnItsOwn) {
  NatRevReaper nr(io);
  xlb_flow_key orphan = rev(1, a, 1024);
  nat_flow(2, a, 1025);
  xlb_flow_key live = rev(2, a, 1025);
  nr.begin();
  nr.remember(flow_key(client(2), kVip, TCP), maps->flows.at(flow_key(client(2), kVip, TCP)));
  NatRevStats st = nr.sweep();
  EXPECT_EQ(st.entries, 2u);
  EXPECT_EQ(st.stale, 1u);
  EXPECT_EQ(st.reaped, 0u);
  nr.forget();
  nr.begin();
  nr.remember(flow_key(client(2), kVip, TCP), maps->flows.at(flow_key(client(2), kVip, TCP)));
  st = nr.sweep();
  EXPECT_EQ(st.reaped, 0u);  // forgotten: the grace again
  nr.begin();
  nr.remember(flow_key(client(2), kVip, TCP), maps->flows.at(flow_key(client(2), kVip, TCP)));
  st = nr.sweep();
  EXPECT_EQ(st.reaped, 1u);
  EXPECT_FALSE(has_rev(orphan));
  EXPECT_TRUE(has_rev(live));
  // A flow without XLB_FLOW_F_NAT is not remembered (it owns no reply
  // entry); its entry is then only kept after a look at the table, every
  // other sweep (a candidate, then looked at and kept).
  xlb_flow plain = maps->flows.at(flow_key(client(2), kVip, TCP));
  plain.flags = 0;
  maps->flows[flow_key(client(2), kVip, TCP)] = plain;
  uint64_t lookups = maps->flow_lookups;
  for (int i = 0; i < 3; i++) {
    nr.begin();
    nr.remember(flow_key(client(2), kVip, TCP), plain);
    nr.sweep();
  }
  EXPECT_TRUE(has_rev(live));
  EXPECT_EQ(maps->flow_lookups - lookups, 1u);
}

}  // namespace
}  // namespace xlb
