// Races between CPUs on the data path: two threads, pinned to two CPUs, run
// the program on packets of the same flows at the same moment, and the flow
// table and connection counts must come out as if the packets had been
// serial. Every other packet test is single-threaded.
//
// Each flow is one step: both threads wait for each other at the start of
// the step (a spin barrier), then send their packets of that flow, so the
// two CPUs' packets of a flow overlap as closely as two syscalls can.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "lb_fixture.h"

namespace xlb::test {
namespace {

const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};
constexpr const char* kVip = "198.18.100.1";
constexpr uint32_t kFlows = 2000;
constexpr uint16_t kPortBase = 20000;

Bytes tcp(uint16_t sport, uint8_t flags) {
  Ipv4 ip;
  ip.src = "198.18.1.1";
  ip.dst = kVip;
  Tcp t;
  t.sport = sport;
  t.dport = 80;
  t.flags = flags;
  return Frame().eth(kClientMac, kFixtureMac).ipv4(ip).tcp(t).build();
}

// The backend a forwarded frame went to: the outer IPv4 destination's last
// byte (198.18.0.10 or .11); -1 if it was not forwarded.
int backend_of(const RunResult& r) {
  if (r.verdict != XDP_TX || r.out.size() < 34) return -1;
  return r.out[33];
}

// The first two CPUs this process may run on; empty if it has fewer.
std::vector<int> two_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; c++)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus.size() == 2 ? cpus : std::vector<int>{};
}

class Races : public LbFixture {
 protected:
  void SetUp() override {
    LbFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    cpus_ = two_cpus();
    if (cpus_.empty()) GTEST_SKIP() << "needs 2 CPUs to race on";
    // least-conn, two backends (ids 0 and 1: 198.18.0.10 and .11): the
    // pick depends on the counts, so a doubled or lost unit also moves
    // where later flows go.
    vip_ = add_vip(kVip, 80, IPPROTO_TCP, 13, XLB_SCHED_LEAST_CONN);
    add_backend(0, vip_, "198.18.0.10");
    add_backend(1, vip_, "198.18.0.11");
    set_list(vip_, {0, 1});
  }

  // Runs step(thread, i) for i in [0, steps) on two threads pinned to two
  // CPUs, both starting step i together. The threads inherit this thread's
  // network namespace (the fixture's), which the FIB lookups need.
  void on_two_cpus(uint32_t steps, const std::function<void(int thread, uint32_t i)>& step) {
    std::atomic<uint32_t> started[2] = {0, 0};
    std::atomic<bool> stuck{false};
    std::atomic<int> pinned{0};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto body = [&](int t) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpus_[t], &one);
      if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0) return;
      pinned++;
      for (uint32_t i = 0; i < steps; i++) {
        started[t].store(i + 1, std::memory_order_release);
        for (uint32_t spins = 0; started[1 - t].load(std::memory_order_acquire) < i + 1; spins++) {
          // The other thread may be descheduled (shared machine): yield
          // instead of burning its CPU, and give up rather than hang.
          if (spins > 100) sched_yield();
          if ((spins & 1023) == 1023 && std::chrono::steady_clock::now() > deadline) stuck = true;
          if (stuck) return;
        }
        step(t, i);
      }
    };
    std::thread a(body, 0), b(body, 1);
    a.join();
    b.join();
    ASSERT_EQ(pinned.load(), 2) << "could not pin a thread to CPU " << cpus_[0] << " or " << cpus_[1];
    ASSERT_FALSE(stuck.load()) << "a thread stopped making progress";
  }

  // Flow entries per backend id, and how many of them hold each unit.
  struct Held {
    int64_t flows = 0, counted = 0, half_open = 0;
  };
  std::map<uint32_t, Held> held_by_flows() const {
    std::map<uint32_t, Held> held;
    for (uint32_t i = 0; i < kFlows; i++) {
      xlb_flow f{};
      if (!flow(flow_key("198.18.1.1", kPortBase + i, kVip, 80, IPPROTO_TCP), &f)) continue;
      Held& h = held[f.backend_id];
      h.flows++;
      h.counted += (f.flags & XLB_FLOW_F_COUNTED) != 0;
      h.half_open += (f.flags & XLB_FLOW_F_HALF_OPEN) != 0;
    }
    return held;
  }

  std::vector<int> cpus_;
  uint32_t vip_ = 0;
};

// Both CPUs see the first SYN of the same new flow: one entry, one unit,
// and both copies of the SYN go to the backend that entry names; in nat and
// fullnat, one reply entry per flow (the loser's fullnat port given back).
class FirstSyn : public Races, public ::testing::WithParamInterface<uint8_t> {};

TEST_P(FirstSyn, OnTwoCpusMakesOneFlowCountedOnce) {
  const uint8_t mode = GetParam();
  if (mode != XLB_MODE_IPIP) {
    set_mode(vip_, mode);
    set_nat(XLB_CFG_F_NAT, kFixtureAddr4, "", 20000, 29999);
  }
  std::vector<int> sent_to[2] = {std::vector<int>(kFlows, -2), std::vector<int>(kFlows, -2)};
  on_two_cpus(kFlows, [&](int t, uint32_t i) { sent_to[t][i] = backend_of(run(tcp(kPortBase + i, kTcpSyn))); });
  if (HasFatalFailure()) return;

  EXPECT_EQ(flow_count(), kFlows);
  std::map<uint32_t, Held> held = held_by_flows();
  int64_t total = 0;
  for (uint32_t id : {0u, 1u}) {
    SCOPED_TRACE("backend " + std::to_string(id));
    EXPECT_EQ(held[id].counted, held[id].flows);
    EXPECT_EQ(conns(id).active, held[id].flows) << "units counted twice or lost";
    EXPECT_EQ(conns(id).half_open, held[id].flows);
    total += conns(id).active;
  }
  EXPECT_EQ(total, int64_t{kFlows});

  uint32_t astray = 0;
  for (uint32_t i = 0; i < kFlows; i++) {
    xlb_flow f{};
    ASSERT_TRUE(flow(flow_key("198.18.1.1", kPortBase + i, kVip, 80, IPPROTO_TCP), &f));
    int want = 10 + int(f.backend_id);
    for (int t : {0, 1})
      if (sent_to[t][i] != want) {
        if (astray++ < 5)
          ADD_FAILURE() << "flow " << i << ": CPU " << cpus_[t] << " sent its SYN to ." << sent_to[t][i]
                        << ", the entry names ." << want;
      }
  }
  EXPECT_EQ(astray, 0u) << "SYNs sent to another backend than their flow's";
  EXPECT_EQ(nat_revs().size(), mode == XLB_MODE_IPIP ? 0u : size_t{kFlows});
}

// backend_of reads the last byte of the forwarded IPv4 destination: the
// outer header's in ipip, the rewritten one's in nat and fullnat.
INSTANTIATE_TEST_SUITE_P(Races, FirstSyn,
                         ::testing::Values(uint8_t{XLB_MODE_IPIP}, uint8_t{XLB_MODE_NAT},
                                           uint8_t{XLB_MODE_FULLNAT}),
                         [](const ::testing::TestParamInfo<uint8_t>& info) {
                           switch (info.param) {
                             case XLB_MODE_NAT: return std::string("Nat");
                             case XLB_MODE_FULLNAT: return std::string("Fullnat");
                             default: return std::string("Ipip");
                           }
                         });

// Opens and closes of the same flow on two CPUs at once. Whatever the
// interleaving, each count must equal its baseline plus the units the flow
// entries hold, and flows whose both halves end with a close hold none.
// Run from zero (a unit released before it was counted would be clamped at
// zero and leak) and from a high baseline (one released twice would show).
struct Interleaving {
  const char* name;
  std::vector<uint8_t> seq[2];  // each CPU's packets of a flow, in order
  bool ends_closed;             // every serial order ends with a close
  int64_t base;
};
void PrintTo(const Interleaving& p, std::ostream* os) { *os << p.name; }

class OpenClose : public Races, public ::testing::WithParamInterface<Interleaving> {};

TEST_P(OpenClose, CountsEqualTheUnitsTheFlowsHold) {
  const Interleaving& p = GetParam();
  for (uint32_t id : {0u, 1u}) ASSERT_EQ(adjust(id, p.base, p.base), 0);
  std::atomic<uint32_t> dropped{0};
  on_two_cpus(kFlows, [&](int t, uint32_t i) {
    for (uint8_t flags : p.seq[t]) {
      int verdict = run(tcp(kPortBase + i, flags)).verdict;
      // A RST that finds no entry makes none, and least-conn's pick is
      // not the flow's, so it is dropped (lb_state_test.cc): allowed.
      if (verdict != XDP_TX && !(verdict == XDP_DROP && (flags & kTcpRst))) dropped++;
    }
  });
  if (HasFatalFailure()) return;
  EXPECT_EQ(dropped.load(), 0u);

  EXPECT_EQ(flow_count(), kFlows);
  std::map<uint32_t, Held> held = held_by_flows();
  for (uint32_t id : {0u, 1u}) {
    SCOPED_TRACE("backend " + std::to_string(id));
    if (p.ends_closed) {
      EXPECT_EQ(held[id].counted, 0) << "closed flows still hold units";
      EXPECT_EQ(held[id].half_open, 0);
    }
    EXPECT_EQ(conns(id).active, p.base + held[id].counted);
    EXPECT_EQ(conns(id).half_open, p.base + held[id].half_open);
  }
}

constexpr int64_t kHigh = int64_t{1} << 20;
INSTANTIATE_TEST_SUITE_P(
    Races, OpenClose,
    ::testing::Values(
        // CPU A opens, talks and closes; CPU B opens and resets.
        Interleaving{"FullVsReset", {{kTcpSyn, kTcpAck, kTcpAck | kTcpFin}, {kTcpSyn, kTcpRst}}, true, 0},
        Interleaving{"FullVsResetHighBaseline",
                     {{kTcpSyn, kTcpAck, kTcpAck | kTcpFin}, {kTcpSyn, kTcpRst}}, true, kHigh},
        // Both CPUs open and close the same flow again and again: a unit
        // taken on one CPU is released on the other at once.
        Interleaving{"Flapping",
                     {{kTcpSyn, kTcpAck, kTcpSyn, kTcpAck, kTcpAck | kTcpFin},
                      {kTcpSyn, kTcpRst, kTcpSyn, kTcpAck, kTcpRst}},
                     true, 0},
        Interleaving{"FlappingHighBaseline",
                     {{kTcpSyn, kTcpAck, kTcpSyn, kTcpAck, kTcpAck | kTcpFin},
                      {kTcpSyn, kTcpRst, kTcpSyn, kTcpAck, kTcpRst}},
                     true, kHigh},
        // The first packet of the flow is a SYN on one CPU and an RST on
        // the other: only the SYN creates the entry; a RST before it is
        // dropped, one after it resets the flow.
        Interleaving{"SynVsReset", {{kTcpSyn}, {kTcpRst}}, false, 0},
        Interleaving{"SynVsResetHighBaseline", {{kTcpSyn}, {kTcpRst}}, false, kHigh}),
    [](const ::testing::TestParamInfo<Interleaving>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace xlb::test
