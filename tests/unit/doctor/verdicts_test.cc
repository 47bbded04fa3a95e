// lbctl doctor's verdicts over fake facts: each broken thing is named with
// its fix, and a healthy host has no problem.
#include "doctor/verdicts.h"

#include <gtest/gtest.h>

#include <string>

#include "core/stats_names.h"
#include "doctor/counter_advice.h"
#include "xlb/abi.h"

namespace xlb::doctor {
namespace {

// One interface in native mode with forwarding on, one ipip backend whose
// route and neighbour are fine and whose health check passes.
Facts healthy() {
  Facts f;
  f.ifaces.push_back({"eth0", "native", 1500, true});
  f.ipv6_forwarding = true;
  f.uses_v4 = true;
  BackendFacts b;
  b.vip = "198.18.100.1:80";
  b.proto = "tcp";
  b.mode = "ipip";
  b.address = "198.19.0.11";
  b.route = {true, "", "eth1", 9000, 0, "", "198.19.0.1"};
  b.next_hop_resolved = true;
  b.health = {true, "tcp", "up", "", ""};
  f.backends.push_back(b);
  f.counters = {{"rx", 100}, {"drop_no_backend", 0}};
  return f;
}

std::vector<Finding> of(const Report& r, const std::string& check) {
  std::vector<Finding> out;
  for (const auto& f : r.findings)
    if (f.check == check) out.push_back(f);
  return out;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(DoctorVerdicts, HealthyHostHasNoFindings) {
  Report r = diagnose(healthy());
  EXPECT_TRUE(r.healthy());
  EXPECT_TRUE(r.findings.empty());
  nlohmann::json j = report_json(r);
  EXPECT_TRUE(j["healthy"].get<bool>());
  ASSERT_EQ(j["checks"].size(), kCheckCount);
  for (const auto& c : j["checks"]) EXPECT_EQ(c["status"], "ok") << c["name"];
}

TEST(DoctorVerdicts, Ipv4ForwardingOffIsAProblemWithTheSysctl) {
  Facts f = healthy();
  f.ifaces[0].ipv4_forwarding = false;
  Report r = diagnose(f);
  EXPECT_FALSE(r.healthy());
  auto found = of(r, "forwarding");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(contains(found[0].what, "net.ipv4.conf.eth0.forwarding is 0"));
  EXPECT_TRUE(contains(found[0].fix, "sysctl -w net.ipv4.conf.all.forwarding=1"));
}

TEST(DoctorVerdicts, Ipv6ForwardingOnlyMattersWhenIpv6IsInUse) {
  Facts f = healthy();
  f.ipv6_forwarding = false;
  EXPECT_TRUE(diagnose(f).healthy());
  f.uses_v6 = true;
  auto found = of(diagnose(f), "forwarding");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].fix, "sysctl -w net.ipv6.conf.all.forwarding=1");
}

TEST(DoctorVerdicts, GenericXdpIsAProblemThatSaysHowToGetNative) {
  Facts f = healthy();
  f.ifaces[0].xdp_mode = "skb";
  auto found = of(diagnose(f), "xdp_mode");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(contains(found[0].what, "generic (skb) mode"));
  EXPECT_TRUE(contains(found[0].fix, "--xdp-mode native"));
}

TEST(DoctorVerdicts, IpipWithoutMtuHeadroomGivesLinkMtuAndMss) {
  Facts f = healthy();
  f.backends[0].route.dev_mtu = 1500;
  auto found = of(diagnose(f), "mtu");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(contains(found[0].fix, "ip link set dev eth1 mtu 1520"));
  EXPECT_TRUE(contains(found[0].fix, "advmss 1440"));  // 1500 - 20 - 40
  // Enough headroom: no finding; other modes add no header.
  f.backends[0].route.dev_mtu = 1520;
  EXPECT_TRUE(of(diagnose(f), "mtu").empty());
  f.backends[0].route.dev_mtu = 1500;
  f.backends[0].mode = "nat";
  EXPECT_TRUE(of(diagnose(f), "mtu").empty());
}

TEST(DoctorVerdicts, RouteMtuWinsOverTheDevicesAndIpv6OuterAdds40) {
  Facts f = healthy();
  f.backends[0].v6 = true;
  f.backends[0].address = "fd00:19::11";
  f.backends[0].route.route_mtu = 1500;
  auto found = of(diagnose(f), "mtu");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(contains(found[0].what, "the route's mtu 1500"));
  EXPECT_TRUE(contains(found[0].fix, "mtu 1540"));
  EXPECT_TRUE(contains(found[0].fix, "advmss 1420"));  // 1500 - 40 - 40 (IPv4 inner)
}

TEST(DoctorVerdicts, NoRouteIsAProblemForEveryMode) {
  for (std::string mode : {"ipip", "l2dsr", "nat", "fullnat"}) {
    Facts f = healthy();
    f.backends[0].mode = mode;
    f.backends[0].route = {};
    f.backends[0].route.error = "Network is unreachable";
    auto found = of(diagnose(f), "reachability");
    ASSERT_EQ(found.size(), 1u) << mode;
    EXPECT_TRUE(contains(found[0].what, "no route from the LB to 198.19.0.11: Network is unreachable")) << mode;
    EXPECT_TRUE(contains(found[0].fix, "ip route get 198.19.0.11")) << mode;
  }
}

TEST(DoctorVerdicts, L2dsrNeedsAResolvedNeighbourOnLink) {
  Facts f = healthy();
  f.backends[0].mode = "l2dsr";
  f.backends[0].next_hop_resolved = false;
  auto found = of(diagnose(f), "reachability");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].level, Level::kProblem);
  EXPECT_TRUE(contains(found[0].what, "no resolved neighbour entry for 198.19.0.11 on eth1"));
  EXPECT_TRUE(contains(found[0].fix, "ip neigh show 198.19.0.11 dev eth1"));
  // Through a gateway: not on link, whatever the neighbour.
  f.backends[0].route.gateway = "198.19.0.254";
  found = of(diagnose(f), "reachability");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(contains(found[0].what, "drop_not_on_link"));
}

TEST(DoctorVerdicts, ARoutedBackendNeedsItsGatewayResolved) {
  Facts f = healthy();
  f.backends[0].route.gateway = "198.19.0.254";
  f.backends[0].next_hop_resolved = false;
  auto found = of(diagnose(f), "reachability");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(contains(found[0].what, "the gateway 198.19.0.254"));
  EXPECT_TRUE(contains(found[0].fix, "ping -c 1 198.19.0.254"));
}

TEST(DoctorVerdicts, NatSaysWhatToCheckOnTheBackend) {
  Facts f = healthy();
  f.backends[0].mode = "nat";
  Report r = diagnose(f);
  EXPECT_TRUE(r.healthy());  // a note: the LB cannot see it
  auto found = of(r, "reachability");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].level, Level::kNote);
  EXPECT_TRUE(contains(found[0].fix, "ip route replace default via 198.19.0.1"));
}

TEST(DoctorVerdicts, DecapIsVerifiedOnlyByHealthChecks) {
  Facts f = healthy();
  f.backends[0].health = {};
  Report r = diagnose(f);
  EXPECT_TRUE(r.healthy());
  auto found = of(r, "decap");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].level, Level::kNote);
  EXPECT_TRUE(contains(found[0].fix, "lbctl set-health 198.18.100.1:80 --proto tcp --check tcp"));

  f.backends[0].health = {true, "tcp", "down", "", "connect: timed out"};
  found = of(diagnose(f), "decap");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].level, Level::kProblem);
  EXPECT_TRUE(contains(found[0].what, "connect: timed out"));
  EXPECT_TRUE(contains(found[0].fix, "xlb-decap attach"));

  f.backends[0].health = {true, "tcp", "unknown", "the health-check hook could not be attached", ""};
  found = of(diagnose(f), "decap");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].level, Level::kNote);
  EXPECT_TRUE(contains(found[0].what, "hook could not be attached"));
}

TEST(DoctorVerdicts, DaemonStateProblems) {
  Facts f = healthy();
  f.in_sync = false;
  f.verify_differences = {"VIP x: ring differs"};
  f.data_path_error = "the pinned maps vanished";
  f.reaper_error = "cannot read xlb_flows";
  f.health_state_file = "/var/lib/xlb/eth0.health.json";
  f.health_state_error = "No space left on device";
  Report r = diagnose(f);
  EXPECT_EQ(of(r, "sync").size(), 2u);
  EXPECT_EQ(of(r, "data_path").size(), 1u);
  EXPECT_EQ(of(r, "reaper").size(), 1u);
  auto hs = of(r, "health_state");
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_TRUE(contains(hs[0].fix, "ls -ld /var/lib/xlb"));
}

TEST(DoctorVerdicts, OnlyRisingDropCountersAreProblems) {
  Facts f = healthy();
  f.counters["drop_no_neigh"] = 10;
  f.counters["drop_mtu"] = 5;
  // One sample: notes.
  Report r = diagnose(f);
  EXPECT_TRUE(r.healthy());
  EXPECT_EQ(of(r, "drops").size(), 2u);
  // Two samples: drop_no_neigh rose, drop_mtu did not.
  f.baseline = Counters{{"drop_no_neigh", 4}, {"drop_mtu", 5}};
  r = diagnose(f);
  EXPECT_FALSE(r.healthy());
  auto found = of(r, "drops");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].subject, "drop_mtu");
  EXPECT_EQ(found[0].level, Level::kNote);
  EXPECT_EQ(found[1].subject, "drop_no_neigh");
  EXPECT_EQ(found[1].level, Level::kProblem);
  EXPECT_TRUE(contains(found[1].what, "+6"));
  EXPECT_TRUE(contains(found[1].fix, "ip neigh show"));
}

TEST(DoctorVerdicts, FindingsComeInCheckOrder) {
  Facts f = healthy();
  f.counters["drop_no_route"] = 1;
  f.ifaces[0].xdp_mode = "skb";
  f.ifaces[0].ipv4_forwarding = false;
  Report r = diagnose(f);
  ASSERT_EQ(r.findings.size(), 3u);
  EXPECT_EQ(r.findings[0].check, "forwarding");
  EXPECT_EQ(r.findings[1].check, "xdp_mode");
  EXPECT_EQ(r.findings[2].check, "drops");
  nlohmann::json j = report_json(r);
  EXPECT_EQ(j["checks"][0]["status"], "problem");
  EXPECT_EQ(j["checks"][kCheckCount - 1]["status"], "note");
}

// Every drop counter the data path has gets advice of its own (a new one
// must be added to counter_advice.cc and docs/troubleshooting.md).
TEST(DoctorCounterAdvice, EveryDropCounterHasAdvice) {
  std::string generic = counter_advice("drop_no_such_counter").cause;
  for (size_t i = 0; i < XLB_STAT_MAX; i++) {
    std::string name = xlb_stat_names[i];
    if (name.rfind("drop_", 0) != 0) continue;
    EXPECT_NE(counter_advice(name).cause, generic) << name;
  }
}

}  // namespace
}  // namespace xlb::doctor
