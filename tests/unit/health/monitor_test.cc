// The health monitor over a real Balancer and fake maps: check results in,
// ring weights, steering targets and the state file out.
#include "health/monitor.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "balancer_fixture.h"
#include "core/config_diff.h"
#include "core/views_json.h"

namespace xlb::health {
namespace {

using namespace xlb::testing;
using Clock = std::chrono::steady_clock;

class FakeSteering : public Steering {
 public:
  std::map<uint32_t, xlb_hc_target> map;
  void put(uint32_t mark, const xlb_hc_target& t) override { map[mark] = t; }
  void erase(uint32_t mark) override { map.erase(mark); }
  std::map<uint32_t, xlb_hc_target> list() override { return map; }
};

const char* const kVip = "198.18.100.1:80";

class MonitorTest : public BalancerTest {
 protected:
  std::vector<Target> targets;
  FakeSteering steering;
  std::vector<std::string> lines;
  std::string state_path = ::testing::TempDir() + "xlb-monitor-" + std::to_string(getpid()) + ".json";
  TimeMs now = 1'800'000'000'000;
  std::unique_ptr<Monitor> mon = make_monitor();

  ~MonitorTest() override { std::remove(state_path.c_str()); }

  std::unique_ptr<Monitor> make_monitor() {
    MonitorHooks h;
    h.set_targets = [this](std::vector<Target> t) { targets = std::move(t); };
    h.steering = &steering;
    h.neighbours = [] {
      std::map<IpAddr, MacAddr> out;
      for (uint8_t i : {11, 12, 13}) out[ip("198.19.0." + std::to_string(i))] = MacAddr{2, 0, 0, 0, 0, i};
      return out;
    };
    h.log = h.warn = [this](const std::string& l) { lines.push_back(l); };
    return std::make_unique<Monitor>(*lb, h, state_path, 7);
  }

  // A VIP with three backends and a tcp check (rise 2, fall 2).
  void setup(const std::string& extra = "", uint8_t mode = XLB_MODE_IPIP) {
    VipSpec s;
    s.vip = ep(kVip);
    s.proto = TCP;
    s.ring_size = kSmallRing;
    s.mode = mode;
    lb->add_vip(s);
    for (const char* be : {"198.19.0.11", "198.19.0.12", "198.19.0.13"}) add(kVip, be, 2);
    mon->changed(now);
    set_checks(R"({"check": "tcp", "interval": "1s", "rise": 2, "fall": 2)" + extra + "}");
  }
  void set_checks(const std::string& json) { mon->set_checks(ep(kVip), TCP, std::nullopt, Json::parse(json), now); }

  uint64_t probe_of(const std::string& be) {
    for (const auto& t : targets) {
      bool steered = t.probe.mark != 0;
      uint32_t id = steered ? t.probe.mark & 0xffff : 0;
      if (steered ? id == id_of(kVip, be) : t.probe.dst.ip == ip(be)) return t.probe.id;
    }
    ADD_FAILURE() << "no probe for " << be;
    return 0;
  }
  // `n` results for one backend, a second apart.
  void results(const std::string& be, bool ok, int n = 1) {
    for (int i = 0; i < n; i++) {
      now += 1000;
      ProbeResult r;
      r.id = probe_of(be);
      r.ok = ok;
      r.reason = ok ? "" : "connect refused";
      r.finished = Clock::now();
      mon->on_results({r}, now, Clock::now());
    }
  }
  uint32_t weight(const std::string& be) { return view(kVip, be)->weight; }
  Json list_json_of() {
    std::vector<VipView> views = lb->list();
    Json vips = list_json(views);
    mon->annotate_list(views, vips, now);
    return vips;
  }
};

TEST_F(MonitorTest, SteeredChecksGoToTheVipWithTheBackendsMark) {
  setup();
  ASSERT_EQ(targets.size(), 3u);
  for (const auto& t : targets) {
    EXPECT_EQ(t.probe.dst, ep(kVip));
    EXPECT_EQ(t.interval_ms, 1000u);
    ASSERT_TRUE(steering.map.count(t.probe.mark));
    EXPECT_EQ(steering.map[t.probe.mark].mode, XLB_MODE_IPIP);
  }
  uint32_t mark = kMarkBase | id_of(kVip, "198.19.0.12");
  EXPECT_EQ(IpAddr::from_abi(XLB_AF_INET, steering.map.at(mark).backend), ip("198.19.0.12"));
  lb->del_backend(ep(kVip), TCP, ip("198.19.0.12"), true);
  mon->changed(now);
  EXPECT_EQ(targets.size(), 2u);
  EXPECT_FALSE(steering.map.count(mark)) << "a deleted backend's target stays";
}

TEST_F(MonitorTest, NatChecksGoToTheBackend) {
  setup("", XLB_MODE_NAT);
  for (const auto& t : targets) EXPECT_EQ(t.probe.mark, 0u);
  EXPECT_TRUE(steering.map.empty());
  EXPECT_EQ(probe_of("198.19.0.12") != 0, true);
}

TEST_F(MonitorTest, FallTakesABackendOutOfTheRingAndRiseBringsItBack) {
  setup();
  results("198.19.0.12", false);
  EXPECT_EQ(weight("198.19.0.12"), 2u) << "one failure of fall 2";
  results("198.19.0.12", false);
  EXPECT_EQ(weight("198.19.0.12"), 0u);
  EXPECT_EQ(view(kVip, "198.19.0.12")->ring_slots, 0u);
  Json b = list_json_of()[0]["backends"][1];
  EXPECT_EQ(b["health"]["state"], "down");
  EXPECT_EQ(b["admin_weight"], 2);
  EXPECT_EQ(b["health"]["reason"], "connect refused (2/2)");
  results("198.19.0.12", true);
  EXPECT_EQ(weight("198.19.0.12"), 0u) << "one success of rise 2";
  results("198.19.0.12", true);
  EXPECT_EQ(weight("198.19.0.12"), 2u);
  EXPECT_GT(view(kVip, "198.19.0.12")->ring_slots, 0u);
}

// Down takes the backend's slots away (Maglev moves a few others too, as
// for any removal); up gives back exactly the ring there was.
TEST_F(MonitorTest, UpRestoresTheRingAsItWas) {
  setup();
  std::vector<uint32_t> before = ring(kVip);
  uint32_t id = id_of(kVip, "198.19.0.12");
  results("198.19.0.12", false, 2);
  std::vector<uint32_t> down = ring(kVip);
  size_t others_moved = 0;
  for (size_t i = 0; i < before.size(); i++) {
    EXPECT_NE(down[i], id);
    others_moved += before[i] != id && down[i] != before[i];
  }
  EXPECT_LT(others_moved, before.size() / 10) << "down reshuffled the ring";
  results("198.19.0.12", true, 2);
  EXPECT_EQ(ring(kVip), before) << "up did not restore the ring as it was";
}

TEST_F(MonitorTest, AnOperatorsDrainWinsOverHealth) {
  setup();
  mon->set_weight(ep(kVip), TCP, ip("198.19.0.11"), 0, now);
  results("198.19.0.11", true, 3);
  EXPECT_EQ(weight("198.19.0.11"), 0u) << "health undrained it";
  // A weight set while down is kept for when it comes back.
  results("198.19.0.12", false, 2);
  mon->set_weight(ep(kVip), TCP, ip("198.19.0.12"), 5, now);
  EXPECT_EQ(weight("198.19.0.12"), 0u);
  EXPECT_EQ(list_json_of()[0]["backends"][1]["admin_weight"], 5);
  results("198.19.0.12", true, 2);
  EXPECT_EQ(weight("198.19.0.12"), 5u);
}

TEST_F(MonitorTest, AllDownFailsOpenByDefault) {
  setup();
  results("198.19.0.11", false, 2);
  results("198.19.0.12", false, 2);
  EXPECT_EQ(weight("198.19.0.13"), 2u);
  results("198.19.0.13", false, 2);
  for (const char* be : {"198.19.0.11", "198.19.0.12", "198.19.0.13"}) EXPECT_EQ(weight(be), 2u) << be;
  EXPECT_EQ(list_json_of()[0]["all_down"], true);
  results("198.19.0.13", true, 2);
  EXPECT_EQ(weight("198.19.0.11"), 0u);
  EXPECT_EQ(weight("198.19.0.13"), 2u);
  EXPECT_EQ(list_json_of()[0]["all_down"], false);
}

TEST_F(MonitorTest, AllDownFailClosedEmptiesTheRing) {
  setup(R"(, "all_down": "fail-closed")");
  for (const char* be : {"198.19.0.11", "198.19.0.12", "198.19.0.13"}) results(be, false, 2);
  for (const char* be : {"198.19.0.11", "198.19.0.12", "198.19.0.13"}) EXPECT_EQ(weight(be), 0u) << be;
  for (uint32_t slot : ring(kVip)) EXPECT_EQ(slot, XLB_RING_EMPTY);
}

TEST_F(MonitorTest, OnDownPurgeDropsTheBackendsFlowsAndTheirCounts) {
  setup(R"(, "on_down": "purge")");
  uint32_t id = id_of(kVip, "198.19.0.12");
  add_flow("198.51.100.1:1000", kVip, TCP, id, 0, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  add_flow("198.51.100.2:1000", kVip, TCP, id_of(kVip, "198.19.0.11"));
  maps->conns[key_of(kVip, "198.19.0.12")].active = 1;
  results("198.19.0.12", false, 2);
  EXPECT_EQ(maps->flows.size(), 1u);
  EXPECT_EQ(maps->conns[key_of(kVip, "198.19.0.12")].active, 0);
}

// The kernel refuses the weight change a transition asks for: the request
// is undone (the ring as it was, lbd and the maps agree) and the next tick
// makes it.
TEST_F(MonitorTest, ARefusedWeightChangeIsMadeByTheNextReconcile) {
  setup();
  results("198.19.0.12", false);
  maps->fail_after = 1;
  results("198.19.0.12", false);
  EXPECT_EQ(weight("198.19.0.12"), 2u) << "the failed change was not undone";
  EXPECT_TRUE(lb->verify().empty());
  EXPECT_EQ(list_json_of()[0]["backends"][1]["health"]["state"], "down");
  mon->tick(now + 100);
  EXPECT_EQ(weight("198.19.0.12"), 0u) << "the next tick did not make the change";
  EXPECT_TRUE(lb->verify().empty());
}

TEST_F(MonitorTest, KeepLeavesTheFlows) {
  setup();
  add_flow("198.51.100.1:1000", kVip, TCP, id_of(kVip, "198.19.0.12"));
  results("198.19.0.12", false, 2);
  EXPECT_EQ(maps->flows.size(), 1u);
}

TEST_F(MonitorTest, ARestartStartsFromTheSavedStates) {
  setup();
  results("198.19.0.12", false, 2);
  mon->set_weight(ep(kVip), TCP, ip("198.19.0.13"), 0, now);
  // lbd restarts: a new balancer recovers the maps, a new monitor reads the file.
  mon.reset();
  lb = make();
  mon = make_monitor();
  targets.clear();
  mon->load(now);
  EXPECT_EQ(weight("198.19.0.12"), 0u);
  Json b = list_json_of()[0]["backends"];
  EXPECT_EQ(b[1]["health"]["state"], "down") << "a restart forgot that it was down";
  EXPECT_EQ(b[1]["admin_weight"], 2);
  EXPECT_EQ(b[2]["admin_weight"], 0) << "a drain became health";
  EXPECT_EQ(targets.size(), 3u) << "the checks were not restored";
  results("198.19.0.12", true, 2);
  EXPECT_EQ(weight("198.19.0.12"), 2u);
  results("198.19.0.13", true, 2);
  EXPECT_EQ(weight("198.19.0.13"), 0u);
}

TEST_F(MonitorTest, AStateFileForOtherMapsIsIgnored) {
  setup();
  results("198.19.0.12", false, 2);
  std::string text = mon->state_text();
  mon.reset();
  Json j = Json::parse(text);
  j["data_path"] = 8;
  std::ofstream(state_path) << j.dump();
  mon = make_monitor();
  mon->load(now);
  EXPECT_EQ(list_json_of()[0]["health"], nullptr);
}

TEST_F(MonitorTest, AnApplyKeepsADownBackendOutOfTheRing) {
  setup();
  results("198.19.0.12", false, 2);
  Config c = parse_config(Json::parse(std::string(R"({"vips": [{"vip": ")") + kVip +
                                      R"(", "proto": "tcp", "ring_size": 1009,
      "health": {"check": "tcp", "interval": "1s", "rise": 2, "fall": 2},
      "backends": [{"address": "198.19.0.11", "weight": 3}, {"address": "198.19.0.12", "weight": 3},
                   {"address": "198.19.0.13", "weight": 3}]}]})"));
  mon->apply(c, config_checks(c), now);
  EXPECT_EQ(weight("198.19.0.11"), 3u);
  EXPECT_EQ(weight("198.19.0.12"), 0u);
  EXPECT_EQ(list_json_of()[0]["backends"][1]["admin_weight"], 3);
  results("198.19.0.12", true, 2);
  EXPECT_EQ(weight("198.19.0.12"), 3u);
}

// The running config is what the operator wrote: a down backend's admin
// weight, the checks; a dry run of the applied config changes nothing.
TEST_F(MonitorTest, TheRunningConfigIsTheOperatorsOne) {
  setup();
  mon->set_checks(ep(kVip), TCP, BackendRef(ip("198.19.0.12")), Json::parse(R"({"port": 8081})"), now);
  results("198.19.0.12", false, 2);
  Config running = mon->running_config();
  ASSERT_EQ(running.vips.size(), 1u);
  EXPECT_EQ(running.vips[0].backends[1].weight, 2u) << "the ring's 0 instead of the admin weight";
  EXPECT_EQ(running.vips[0].health.value("check", ""), "tcp");
  EXPECT_EQ(running.vips[0].backends[1].health, Json::parse(R"({"port": 8081})"));
  Config again = parse_config(config_to_json(running));
  EXPECT_TRUE(diff_configs(mon->running_config(), lb->with_defaults(again)).empty());
}

TEST_F(MonitorTest, RemovingTheChecksRestoresTheWeights) {
  setup();
  results("198.19.0.12", false, 2);
  set_checks(R"({"check": "none"})");
  EXPECT_EQ(weight("198.19.0.12"), 2u);
  EXPECT_TRUE(targets.empty());
  EXPECT_TRUE(steering.map.empty());
  EXPECT_EQ(list_json_of()[0]["backends"][1]["health"], nullptr);
}

TEST_F(MonitorTest, ABackendOverrideMustFitTheVipsCheck) {
  setup();
  mon->set_checks(ep(kVip), TCP, BackendRef(ip("198.19.0.12")), Json::parse(R"({"port": 8081})"), now);
  EXPECT_EQ(targets.size(), 3u);
  bool found = false;
  for (const auto& t : targets) found = found || t.probe.dst.port == 8081;
  EXPECT_TRUE(found);
  EXPECT_THROW(mon->set_checks(ep(kVip), TCP, BackendRef(ip("198.19.0.12")), Json::parse(R"({"path": "/x"})"), now),
               InputError);
  EXPECT_THROW(mon->set_checks(ep(kVip), TCP, BackendRef(ip("198.19.0.99")), Json::parse("{}"), now), InputError);
}

}  // namespace
}  // namespace xlb::health
