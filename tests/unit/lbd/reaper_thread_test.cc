// lbd's reaper thread (ctl/lbd/reaper_thread.h) over the fake maps: sweeps
// run in their own thread at the configured interval and expire idle flows
// with their count units, a removed backend is freed once a complete sweep
// finds no flow using it, and a failed sweep is reported and then recovers.
//
// The test thread plays lbd's main thread: it calls tick() until the status
// shows the condition, and reads the maps only after the reaper thread is
// gone (the fake maps, like the balancer, are not shared between threads
// while a sweep runs).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "balancer_fixture.h"
#include "core/reaper.h"
#include "lbd/reaper_thread.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using testing::FakeMapIo;
using testing::TCP;
using testing::ep;
using testing::ip;

const char* kVip = "198.18.100.1:80";
constexpr uint64_t kS = 1000000000ull;
constexpr uint32_t kIntervalMs = 10;

class ReaperThreadTest : public BalancerTest {
 protected:
  void SetUp() override {
    add_vip(kVip, TCP, testing::kSmallRing, XLB_SCHED_LEAST_CONN);
    add(kVip, "198.19.0.11");
    a = id_of(kVip, "198.19.0.11");
    ka = key_of(kVip, "198.19.0.11");
  }
  // Timeouts short enough that a flow stamped 10 s ago is long expired
  // (a monotonic clock just after boot can not go back much further).
  static Timeouts short_timeouts() {
    Timeouts t;
    t.tcp_established = 2;
    t.tcp_half_open = 1;
    t.tcp_closing = 1;
    t.udp = 2;
    return t;
  }
  // Ticks like lbd's main loop until done(status) holds; false after 20 s.
  bool tick_until(ReaperThread& rt, const std::function<bool(const ReaperStatus&)>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      rt.tick(*lb);
      if (done(rt.status())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }
  void flow(uint16_t port, uint64_t last_seen) {
    add_flow("198.18.0.2:" + std::to_string(port), kVip, TCP, a, last_seen, XLB_FLOW_TCP_ESTABLISHED,
             XLB_FLOW_F_COUNTED);
  }
  uint32_t a = 0;
  xlb_backend_key ka{};
};

TEST_F(ReaperThreadTest, ExpiresIdleFlowsAndReturnsTheirUnits) {
  uint64_t now = monotonic_coarse_ns();
  flow(1, now - 10 * kS);      // idle far longer than tcp_established
  flow(2, now + 3600 * kS);    // "seen" in the future: stays in every sweep
  maps->conns[ka] = {2, 0};
  {
    ReaperThread rt(std::make_unique<FakeMapIo>(maps));
    rt.configure(short_timeouts(), kIntervalMs);
    ASSERT_TRUE(tick_until(rt, [](const ReaperStatus& s) { return s.sweeps >= 1; }));
    ReaperStatus s = rt.status();
    EXPECT_EQ(s.last_error, "");
    ASSERT_TRUE(s.last.has_value());
    EXPECT_TRUE(s.last->complete);
    EXPECT_EQ(s.last->scanned, 2u);
    EXPECT_EQ(s.last->expired, 1u);
    EXPECT_EQ(s.expired_total, 1u);  // since start: the metrics' xlb_reaper_expired_total
    EXPECT_EQ(s.interval_ms, kIntervalMs);
    EXPECT_EQ(s.timeouts, short_timeouts());
  }
  EXPECT_EQ(maps->flows.size(), 1u);
  EXPECT_TRUE(maps->flows.count(flow_key("198.18.0.2:2", kVip, TCP)));
  EXPECT_EQ(maps->conn(ka).active, 1);
}

TEST_F(ReaperThreadTest, SweepsAgainEveryInterval) {
  ReaperThread rt(std::make_unique<FakeMapIo>(maps));
  rt.configure(short_timeouts(), kIntervalMs);
  EXPECT_TRUE(tick_until(rt, [](const ReaperStatus& s) { return s.sweeps >= 3; }));
}

TEST_F(ReaperThreadTest, FreesARemovedBackendOnceNoFlowUsesIt) {
  uint64_t now = monotonic_coarse_ns();
  flow(1, now - 10 * kS);  // the backend's last flow, expired
  maps->conns[ka] = {1, 0};
  lb->del_backend(ep(kVip), TCP, {ip("198.19.0.11"), std::nullopt}, false);  // removed, draining
  ASSERT_NE(maps->backends[a].flags, 0u);
  {
    ReaperThread rt(std::make_unique<FakeMapIo>(maps));
    rt.configure(short_timeouts(), kIntervalMs);
    ASSERT_TRUE(tick_until(rt, [](const ReaperStatus& s) { return s.backends_freed >= 1; }));
  }
  EXPECT_TRUE(maps->flows.empty());
  EXPECT_EQ(maps->backends[a].flags, 0u) << "the removed backend's entry is still there";
  EXPECT_FALSE(maps->conns.count(ka)) << "its count entry is still there";
}

TEST_F(ReaperThreadTest, AFailedSweepIsReportedAndTheNextOneRecovers) {
  uint64_t now = monotonic_coarse_ns();
  flow(1, now - 10 * kS);
  maps->conns[ka] = {1, 0};
  maps->fail_after = 1;  // the sweep's first map write (deleting the flow) fails
  {
    ReaperThread rt(std::make_unique<FakeMapIo>(maps));
    rt.configure(short_timeouts(), kIntervalMs);
    ASSERT_TRUE(tick_until(rt, [](const ReaperStatus& s) { return s.sweeps >= 1; }));
    // Only the sweep thread touches the maps now, and fail_after is spent.
    ReaperStatus first = rt.status();
    EXPECT_EQ(first.last_error, "injected map failure");
    EXPECT_FALSE(first.last.has_value());
    ASSERT_TRUE(tick_until(rt, [](const ReaperStatus& s) { return s.last_error.empty() && s.last; }));
    EXPECT_EQ(rt.status().last->expired, 1u);
  }
  EXPECT_TRUE(maps->flows.empty());
  EXPECT_EQ(maps->conn(ka).active, 0);
}

}  // namespace
}  // namespace xlb
