// diff_configs: what `apply --dry-run` prints, from two configs.
#include "core/config_diff.h"

#include <gtest/gtest.h>

#include "balancer_fixture.h"

namespace xlb::testing {
namespace {

Config cfg(const std::string& text) { return parse_config(Json::parse(text)); }

// A running config always has a seed (Balancer::current_config).
const char* const kBase = R"({"hash_seed": 0, "vips": [
  {"vip": "198.18.100.1:80", "proto": "tcp", "backends": [
     {"address": "198.19.0.11"}, {"address": "198.19.0.12"}, {"address": "198.19.0.13", "weight": 2}]},
  {"vip": "198.18.100.2:53", "proto": "udp", "backends": [{"address": "198.19.0.21"}]}]})";

TEST(ConfigDiff, TheSameConfigChangesNothing) {
  ConfigDiff d = diff_configs(cfg(kBase), cfg(kBase));
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.added + d.removed + d.changed, 0u);
}

TEST(ConfigDiff, SaysWhatIsAddedRemovedAndChangedWithTheConnectionsAtStake) {
  Config wanted = cfg(R"({"hash_seed": 7, "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "sched": "least-conn", "backends": [
       {"address": "198.19.0.11", "weight": 3}, {"address": "198.19.0.13", "weight": 0},
       {"address": "198.19.0.14"}],
     "health": {"check": "tcp"}},
    {"vip": "198.18.100.3:80", "proto": "tcp", "mode": "nat", "backends": [{"address": "198.19.0.31"}]}]})");
  ConnectionsOf conns = [](const Endpoint& vip, uint8_t, const std::optional<std::pair<IpAddr, uint16_t>>& b)
      -> std::optional<uint64_t> {
    if (vip == ep("198.18.100.2:53")) return 4;
    if (b && b->first == ip("198.19.0.12")) return 5;
    if (b && b->first == ip("198.19.0.13")) return 1;
    return std::nullopt;
  };
  ConfigDiff d = diff_configs(cfg(kBase), wanted, conns);
  std::vector<std::string> want = {
      "~ hash_seed: 0 -> 7",
      "~ VIP 198.18.100.1:80/tcp: sched maglev -> least-conn",
      R"(~ VIP 198.18.100.1:80/tcp: health none -> {"check":"tcp"})",
      "~ backend 198.19.0.11 of VIP 198.18.100.1:80/tcp: weight 1 -> 3",
      "~ backend 198.19.0.13 of VIP 198.18.100.1:80/tcp: weight 2 -> 0 (1 connection drain)",
      "+ backend 198.19.0.14 of VIP 198.18.100.1:80/tcp (weight 1)",
      "- backend 198.19.0.12 of VIP 198.18.100.1:80/tcp (5 connections drain)",
      "+ VIP 198.18.100.3:80/tcp (maglev, nat, 1 backend)",
      "- VIP 198.18.100.2:53/udp (4 connections cut)",
  };
  EXPECT_EQ(d.lines, want);
  EXPECT_EQ(d.added, 3u);    // a backend, a VIP and its backend
  EXPECT_EQ(d.removed, 3u);  // a backend, a VIP and its backend
  EXPECT_EQ(d.changed, 5u);
}

TEST(ConfigDiff, AModeChangeReplacesTheVip) {
  Config wanted = cfg(kBase);
  wanted.vips[1].mode = XLB_MODE_NAT;
  ConfigDiff d = diff_configs(cfg(kBase), wanted);
  ASSERT_EQ(d.lines.size(), 2u);
  EXPECT_EQ(d.lines[0], "- VIP 198.18.100.2:53/udp: replaced, mode ipip -> nat");
  EXPECT_EQ(d.lines[1], "+ VIP 198.18.100.2:53/udp (maglev, nat, 1 backend)");
  EXPECT_EQ(d.removed, 2u);
  EXPECT_EQ(d.added, 2u);
}

TEST(ConfigDiff, ABackendOnTheVipsPortIsTheSameBackend) {
  Config running = cfg(kBase);
  Config wanted = cfg(kBase);
  wanted.vips[0].mode = running.vips[0].mode;
  wanted.vips[0].backends[0].port = 80;  // the VIP's own port: the same identity
  EXPECT_TRUE(diff_configs(running, wanted).empty());
}

}  // namespace
}  // namespace xlb::testing

namespace xlb::testing {
namespace {

// apply X, then a dry run of X: nothing to change (the running config
// compares with the applied one once the defaults are filled in).
TEST_F(BalancerTest, ADryRunOfTheAppliedConfigChangesNothing) {
  Config c = parse_config(Json::parse(R"({"flood_threshold": 5000, "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "ring_size": 1009, "backends": [
       {"address": "198.19.0.11"}, {"address": "198.19.0.12", "weight": 0}]},
    {"vip": "198.18.100.3:80", "proto": "tcp", "mode": "fullnat", "ring_size": 1009, "sched": "least-conn",
     "backends": [{"address": "198.19.0.31", "port": 8080}]}]})"));
  lb->apply(c);
  ConfigDiff d = diff_configs(lb->current_config(), lb->with_defaults(c));
  EXPECT_TRUE(d.empty()) << ::testing::PrintToString(d.lines);
  c.vips[0].backends[1].weight = 1;
  d = diff_configs(lb->current_config(), lb->with_defaults(c));
  EXPECT_EQ(d.lines, std::vector<std::string>{"~ backend 198.19.0.12 of VIP 198.18.100.1:80/tcp: weight 0 -> 1"});
}

}  // namespace
}  // namespace xlb::testing
