// Same choice on every node (issue 14): the balancer's ring fingerprints,
// its seed handling and its pick, over the fake maps.
#include <gtest/gtest.h>

#include "balancer_fixture.h"
#include "core/config.h"
#include "core/views_json.h"
#include "pick/fingerprint.h"
#include "xlb/flow_hash.h"

namespace xlb::testing {
namespace {

class BalancerPickTest : public BalancerTest {
 protected:
  VipFingerprint fp_of(Balancer& b, const std::string& vip) {
    for (const auto& v : b.fingerprints())
      if (v.vip == ep(vip)) return v.fingerprint;
    ADD_FAILURE() << "no VIP " << vip;
    return {};
  }
  PickView pick(const std::string& vip, const std::string& src, uint16_t sport, uint8_t proto = TCP) {
    Endpoint v = ep(vip);
    return lb->pick({v.ip, v.port, proto, ip(src), sport});
  }
};

// Two nodes that added the same backends in other orders bind other ids,
// and so hold rings with other ids: their fingerprints are equal.
TEST_F(BalancerPickTest, RingFingerprintIsOfIdentities) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  add("198.18.100.1:80", "198.19.0.13");

  auto other_maps = std::make_shared<FakeMaps>();
  auto other = std::make_unique<Balancer>(std::make_unique<FakeMapIo>(other_maps), iface_defaults());
  other->recover();
  VipSpec s;
  s.vip = ep("198.18.100.1:80");
  s.proto = TCP;
  s.ring_size = kSmallRing;
  other->add_vip(s);
  other->add_backend(s.vip, TCP, ip("198.19.0.99"), 1);  // takes id 0 there
  other->add_backend(s.vip, TCP, ip("198.19.0.13"), 1);
  other->add_backend(s.vip, TCP, ip("198.19.0.12"), 1);
  other->add_backend(s.vip, TCP, ip("198.19.0.11"), 1);
  other->del_backend(s.vip, TCP, ip("198.19.0.99"), true);
  ASSERT_NE(ring("198.18.100.1:80"), other_maps->rings.begin()->second);  // other ids

  VipFingerprint a = fp_of(*lb, "198.18.100.1:80"), b = fp_of(*other, "198.18.100.1:80");
  EXPECT_TRUE(a.of_ring);
  EXPECT_EQ(a.value, b.value);

  // A weight change moves slots: the fingerprint changes.
  other->set_backend(s.vip, TCP, ip("198.19.0.12"), 2);
  EXPECT_NE(fp_of(*other, "198.18.100.1:80").value, a.value);
}

// The fingerprint is kept from the ring's build, and a restarted lbd
// (recover) computes the same.
TEST_F(BalancerPickTest, FingerprintSurvivesRecover) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  uint64_t before = fp_of(*lb, "198.18.100.1:80").value;
  auto again = make();
  EXPECT_EQ(fp_of(*again, "198.18.100.1:80").value, before);
  Json listed = list_json(again->list());
  EXPECT_EQ(listed[0]["ring_fingerprint"], ::xlb::pick::hex16(before));
}

TEST_F(BalancerPickTest, ListSchedulersFingerprintTheirBackends) {
  add_vip("198.18.100.1:80", TCP, kSmallRing, XLB_SCHED_LEAST_CONN);
  add("198.18.100.1:80", "198.19.0.11");
  VipFingerprint one = fp_of(*lb, "198.18.100.1:80");
  EXPECT_FALSE(one.of_ring);
  add("198.18.100.1:80", "198.19.0.12");
  EXPECT_NE(fp_of(*lb, "198.18.100.1:80").value, one.value);
  Json listed = list_json(lb->list());
  EXPECT_TRUE(listed[0].contains("backends_fingerprint"));
  EXPECT_FALSE(listed[0].contains("ring_fingerprint"));
}

// The pick is the installed ring's slot at the data path's hash.
TEST_F(BalancerPickTest, MaglevPickIsTheRingSlotOfTheFlowHash) {
  lb->apply(parse_config(Json::parse(R"({"hash_seed": 77, "vips": [{"vip": "198.18.100.1:80", "proto": "tcp",
      "ring_size": 1009, "backends": [{"address": "198.19.0.11"}, {"address": "198.19.0.12"},
      {"address": "198.19.0.13"}]}]})")));
  std::map<uint32_t, std::string> by_id;
  for (const auto& v : lb->list())
    for (const auto& b : v.backends) by_id[b.id] = b.address.str();
  std::set<std::string> seen;
  for (uint16_t sport = 1000; sport < 1100; ++sport) {
    PickView p = pick("198.18.100.1:80", "198.18.1.2", sport);
    ASSERT_TRUE(p.stateless);
    EXPECT_EQ(p.hash_seed, 77u);
    xlb_flow_key k;
    std::memset(&k, 0, sizeof k);
    k.src = ip("198.18.1.2").addr;
    k.dst = ip("198.18.100.1").addr;
    k.sport = htons(sport);
    k.dport = htons(80);
    k.proto = TCP;
    k.family = XLB_AF_INET;
    uint32_t slot = xlb_flow_hash(&k, 77) % 1009;
    EXPECT_EQ(p.slot, slot);
    ASSERT_TRUE(p.backend);
    EXPECT_EQ(p.backend->address.str(), by_id.at(ring("198.18.100.1:80")[slot]));
    seen.insert(p.backend->address.str());
    EXPECT_FALSE(p.existing_flow);
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(BalancerPickTest, ReportsTheExistingFlow) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  add_flow("198.18.1.2:4000", "198.18.100.1:80", TCP, id_of("198.18.100.1:80", "198.19.0.12"));
  PickView p = pick("198.18.100.1:80", "198.18.1.2", 4000);
  EXPECT_TRUE(p.existing_flow);
  ASSERT_TRUE(p.existing_backend);
  EXPECT_EQ(p.existing_backend->address, ip("198.19.0.12"));
  Json j = pick_json(p, Endpoint{ip("198.18.1.2"), 4000});
  EXPECT_EQ(j["existing_flow"]["address"], "198.19.0.12");
}

TEST_F(BalancerPickTest, StatefulSchedulersDependOnState) {
  add_vip("198.18.100.1:80", TCP, kSmallRing, XLB_SCHED_RR);
  add("198.18.100.1:80", "198.19.0.11");
  PickView p = pick("198.18.100.1:80", "198.18.1.2", 4000);
  EXPECT_FALSE(p.stateless);
  EXPECT_FALSE(p.backend);
  Json j = pick_json(p, Endpoint{ip("198.18.1.2"), 4000});
  EXPECT_EQ(j["depends_on_state"], true);
  EXPECT_TRUE(j["backend"].is_null());
}

TEST_F(BalancerPickTest, SrcHashPicksByClientAddress) {
  add_vip("198.18.100.1:80", TCP, kSmallRing, XLB_SCHED_SRC_HASH);
  for (const char* be : {"198.19.0.11", "198.19.0.12", "198.19.0.13"}) add("198.18.100.1:80", be);
  PickView a = pick("198.18.100.1:80", "198.18.1.2", 4000);
  EXPECT_TRUE(a.stateless);
  for (uint16_t sport = 4001; sport < 4050; ++sport) {
    PickView b = pick("198.18.100.1:80", "198.18.1.2", sport);
    ASSERT_TRUE(b.backend);
    EXPECT_EQ(b.backend->address, a.backend->address);
  }
}

TEST_F(BalancerPickTest, VipWithoutPortAndErrors) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  PickView p = lb->pick({ip("198.18.100.1"), std::nullopt, TCP, ip("198.18.1.2"), 5});
  EXPECT_EQ(p.vip, ep("198.18.100.1:80"));
  add_vip("198.18.100.1:443");
  EXPECT_THROW(lb->pick({ip("198.18.100.1"), std::nullopt, TCP, ip("198.18.1.2"), 5}), InputError);
  EXPECT_THROW(lb->pick({ip("198.18.100.9"), 80, TCP, ip("198.18.1.2"), 5}), InputError);
  EXPECT_THROW(lb->pick({ip("198.18.100.1"), 80, TCP, ip("fd00::2"), 5}), InputError);
}

// hash_seed: unset keeps the running seed, explicit wins, and the running
// config (what `lbctl save` and the state file write) carries it.
TEST_F(BalancerPickTest, UnsetSeedKeepsTheRunningOne) {
  lb->set_hash_seed(0xabcdef);
  EXPECT_EQ(maps->config.hash_seed, 0xabcdefu);
  lb->apply(parse_config(Json::parse(R"({"vips": []})")));
  EXPECT_EQ(maps->config.hash_seed, 0xabcdefu);
  EXPECT_EQ(config_to_json(lb->current_config())["hash_seed"], 0xabcdef);
  lb->apply(parse_config(Json::parse(R"({"hash_seed": 5, "vips": []})")));
  EXPECT_EQ(maps->config.hash_seed, 5u);
  EXPECT_EQ(lb->hash_seed(), 5u);
  // A dry run of a config without it shows no seed change.
  Config c = lb->with_defaults(parse_config(Json::parse(R"({"vips": []})")));
  EXPECT_EQ(c.hash_seed, 5u);
}

TEST(ConfigSeed, UnsetStaysUnset) {
  Config c = parse_config(Json::parse(R"({"vips": []})"));
  EXPECT_FALSE(c.hash_seed);
  EXPECT_FALSE(config_to_json(c).contains("hash_seed"));
  Config zero = parse_config(Json::parse(R"({"hash_seed": 0, "vips": []})"));
  ASSERT_TRUE(zero.hash_seed);
  EXPECT_EQ(config_to_json(zero)["hash_seed"], 0);
}

}  // namespace
}  // namespace xlb::testing
