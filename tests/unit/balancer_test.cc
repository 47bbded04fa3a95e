// The balancer over an in-memory MapIo: ids, rings, draining and purging,
// validation before writes, declarative apply, and recovery from the maps.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/balancer.h"
#include "core/error.h"
#include "core/maglev.h"
#include "core/views_json.h"
#include "balancer_fixture.h"
#include "pick/fingerprint.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using testing::FakeMapIo;
using testing::FakeMaps;
using testing::ep;
using testing::ip;
using testing::iface_defaults;
using testing::kSmallRing;
using testing::TCP;
using testing::UDP;
using Json = nlohmann::json;

// ---- ids

TEST(IdAllocator, LowestFreeWhateverTheOrder) {
  IdAllocator ids(8);
  for (uint32_t id : {5u, 0u, 2u}) ids.take(id);  // as recovery finds them
  EXPECT_EQ(ids.lowest_free(), 1u);
  EXPECT_EQ(ids.lowest_free(3), (std::vector<uint32_t>{1, 3, 4}));
  ids.take(1);
  EXPECT_EQ(ids.lowest_free(), 3u);
  ids.release(0);
  EXPECT_EQ(ids.lowest_free(), 0u);
  for (uint32_t id = 0; id < 8; id++) ids.take(id);
  EXPECT_FALSE(ids.lowest_free());
  EXPECT_EQ(ids.free_count(), 0u);
  ids.release(6);
  EXPECT_EQ(ids.lowest_free(), 6u);
  EXPECT_EQ(ids.free_count(), 1u);
}

// ---- VIPs

TEST_F(BalancerTest, AddVipWritesMetaEmptyRingAndAddressCount) {
  add_vip("198.18.100.1:80");
  const auto& m = meta("198.18.100.1:80");
  EXPECT_EQ(m.vip_id, 0u);
  EXPECT_EQ(m.ring_size, kSmallRing);
  EXPECT_EQ(m.mode, XLB_MODE_IPIP);
  EXPECT_EQ(m.sched, XLB_SCHED_MAGLEV);
  const auto& r = ring("198.18.100.1:80");
  ASSERT_EQ(r.size(), kSmallRing);
  EXPECT_TRUE(std::all_of(r.begin(), r.end(), [](uint32_t s) { return s == XLB_RING_EMPTY; }));
  EXPECT_EQ(maps->vip_addrs.at(make_vip_addr_key(ip("198.18.100.1"))), 1u);
}

TEST_F(BalancerTest, DefaultRingSize) {
  VipSpec s;
  s.vip = ep("198.18.100.1:80");
  s.proto = TCP;
  lb->add_vip(s);
  EXPECT_EQ(ring("198.18.100.1:80").size(), XLB_DEFAULT_RING_SIZE);
}

TEST_F(BalancerTest, VipIdsAreLowestFree) {
  add_vip("198.18.100.1:80");
  add_vip("198.18.100.2:80");
  add_vip("198.18.100.3:80");
  EXPECT_EQ(meta("198.18.100.2:80").vip_id, 1u);
  lb->del_vip(ep("198.18.100.2:80"), TCP);
  EXPECT_EQ(maps->rings.count(1), 0u);
  add_vip("198.18.100.4:80");
  EXPECT_EQ(meta("198.18.100.4:80").vip_id, 1u);
  add_vip("198.18.100.5:80");
  EXPECT_EQ(meta("198.18.100.5:80").vip_id, 3u);
}

TEST_F(BalancerTest, VipAddressRefcount) {
  auto key = make_vip_addr_key(ip("198.18.100.1"));
  add_vip("198.18.100.1:80");
  add_vip("198.18.100.1:443");
  add_vip("198.18.100.1:80", UDP);
  EXPECT_EQ(maps->vip_addrs.at(key), 3u);
  lb->del_vip(ep("198.18.100.1:80"), TCP);
  EXPECT_EQ(maps->vip_addrs.at(key), 2u);
  lb->del_vip(ep("198.18.100.1:443"), TCP);
  lb->del_vip(ep("198.18.100.1:80"), UDP);
  EXPECT_EQ(maps->vip_addrs.count(key), 0u);
  EXPECT_TRUE(maps->vips.empty());
}

// ---- backends and rings

TEST_F(BalancerTest, BackendsFillTheRingByWeight) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11", 1);
  add("198.18.100.1:80", "198.19.0.12", 1);
  add("198.18.100.1:80", "198.19.0.13", 2);
  auto n = slot_counts(ring("198.18.100.1:80"));
  uint32_t a = id_of("198.18.100.1:80", "198.19.0.11"), c = id_of("198.18.100.1:80", "198.19.0.13");
  EXPECT_EQ(n.count(XLB_RING_EMPTY), 0u);
  EXPECT_EQ(n.size(), 3u);
  EXPECT_NEAR(double(n[c]) / n[a], 2.0, 0.2);
  const xlb_backend& be = maps->backends.at(c);
  EXPECT_EQ(be.flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_IN_RING);
  EXPECT_EQ(be.weight, 2u);
  EXPECT_EQ(be.vip_id, 0u);
  EXPECT_EQ(be.family, XLB_AF_INET);
  EXPECT_EQ(be.port, 0);
  EXPECT_EQ(IpAddr::from_abi(be.family, be.addr), ip("198.19.0.13"));
  // The listing agrees with the ring.
  EXPECT_EQ(view("198.18.100.1:80", "198.19.0.13")->ring_slots, n[c]);
}

TEST_F(BalancerTest, RingIsIndependentOfAddOrderAndMatchesMaglev) {
  add_vip("198.18.100.1:80");
  for (auto* b : {"198.19.0.11", "198.19.0.12", "198.19.0.13"}) add("198.18.100.1:80", b);

  auto other_maps = std::make_shared<FakeMaps>();
  Balancer other(std::make_unique<FakeMapIo>(other_maps), iface_defaults());
  other.recover();
  VipSpec s{ep("198.18.100.1:80"), TCP, XLB_SCHED_MAGLEV, XLB_MODE_IPIP, kSmallRing};
  other.add_vip(s);
  // Another order, and a detour that binds different backend ids.
  other.add_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.99"), 1);
  for (auto* b : {"198.19.0.13", "198.19.0.11", "198.19.0.12"})
    other.add_backend(ep("198.18.100.1:80"), TCP, ip(b), 1);
  other.del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.99"), true);

  // Same slots -> same backend address on both.
  auto addr_of = [](const std::shared_ptr<FakeMaps>& m, uint32_t id) {
    const auto& b = m->backends.at(id);
    return IpAddr::from_abi(b.family, b.addr).str();
  };
  const auto& r1 = maps->rings.at(0);
  const auto& r2 = other_maps->rings.at(0);
  for (uint32_t i = 0; i < kSmallRing; i++) ASSERT_EQ(addr_of(maps, r1[i]), addr_of(other_maps, r2[i])) << i;

  // And it is exactly what maglev::build_ring gives for "addr:port" identities.
  std::vector<maglev::Endpoint> eps;
  for (auto* b : {"198.19.0.11", "198.19.0.12", "198.19.0.13"})
    eps.push_back({std::string(b) + ":0", id_of("198.18.100.1:80", b), 1});
  EXPECT_EQ(maglev::build_ring(eps, kSmallRing, kRingSeed), r1);
  EXPECT_EQ(Balancer::ring_identity(ip("198.19.0.11"), 0), "198.19.0.11:0");
}

TEST_F(BalancerTest, OnlyChangedSlotsAreWritten) {
  add_vip("198.18.100.1:80");
  for (auto* b : {"198.19.0.11", "198.19.0.12", "198.19.0.13"}) add("198.18.100.1:80", b);
  auto before = ring("198.18.100.1:80");
  uint64_t slots = maps->slot_writes, installs = maps->ring_installs;
  add("198.18.100.1:80", "198.19.0.14");
  auto after = ring("198.18.100.1:80");
  uint64_t differing = 0;
  for (uint32_t i = 0; i < kSmallRing; i++) differing += before[i] != after[i];
  EXPECT_EQ(maps->slot_writes - slots, differing);
  EXPECT_LT(differing, kSmallRing / 2);  // Maglev: ~1/4 of the slots move
  EXPECT_GT(differing, 0u);
  EXPECT_EQ(maps->ring_installs, installs);  // no new ring

  // A weight that does not change anything writes nothing.
  uint64_t writes = maps->writes;
  lb->set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.14"), 1);
  EXPECT_EQ(maps->writes, writes);
}

TEST_F(BalancerTest, GracefulDeleteDrainsAndReaddKeepsIdAndFlows) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  uint32_t id = id_of("198.18.100.1:80", "198.19.0.12");
  add_flow("198.18.0.2:40000", "198.18.100.1:80", TCP, id);

  EXPECT_EQ(lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.12"), false), 0u);
  const xlb_backend& be = maps->backends.at(id);
  EXPECT_EQ(be.flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED);  // kept, not IN_RING
  EXPECT_EQ(be.weight, 0u);
  EXPECT_EQ(IpAddr::from_abi(be.family, be.addr), ip("198.19.0.12"));
  EXPECT_EQ(slot_counts(ring("198.18.100.1:80")).count(id), 0u);
  EXPECT_EQ(maps->flows.size(), 1u);
  const BackendView* v = view("198.18.100.1:80", "198.19.0.12");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->state, BackendStatus::kRemoved);
  EXPECT_EQ(v->ring_slots, 0u);
  // Deleting again is harmless.
  EXPECT_EQ(lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.12"), false), 0u);

  // A new backend does not get the draining backend's id...
  add("198.18.100.1:80", "198.19.0.13");
  EXPECT_NE(id_of("198.18.100.1:80", "198.19.0.13"), id);
  // ...and re-adding the drained one returns it under its own id.
  add("198.18.100.1:80", "198.19.0.12", 3);
  EXPECT_EQ(id_of("198.18.100.1:80", "198.19.0.12"), id);
  EXPECT_EQ(maps->backends.at(id).flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_IN_RING);
  EXPECT_EQ(maps->backends.at(id).weight, 3u);
  EXPECT_GT(slot_counts(ring("198.18.100.1:80"))[id], 0u);
  EXPECT_EQ(maps->flows.size(), 1u);
}

TEST_F(BalancerTest, PurgeDeletesFlowsAndFreesTheId) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  uint32_t keep = id_of("198.18.100.1:80", "198.19.0.11");
  uint32_t gone = id_of("198.18.100.1:80", "198.19.0.12");
  add_flow("198.18.0.2:1", "198.18.100.1:80", TCP, gone);
  add_flow("198.18.0.2:2", "198.18.100.1:80", TCP, gone);
  add_flow("198.18.0.2:3", "198.18.100.1:80", TCP, keep);

  EXPECT_EQ(lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.12"), true), 2u);
  EXPECT_EQ(maps->flows.size(), 1u);
  EXPECT_EQ(maps->backends.at(gone).flags, 0);
  EXPECT_EQ(view("198.18.100.1:80", "198.19.0.12"), nullptr);
  EXPECT_EQ(slot_counts(ring("198.18.100.1:80")).count(gone), 0u);
  EXPECT_THROW(lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.12"), true), InputError);
  // Asking for the purged backend's flows answers "none" (the e2e scaling
  // test checks a purge this way).
  FlowQuery q;
  q.backend = ip("198.19.0.12");
  EXPECT_EQ(lb->flows(q, 0).total, 0u);
  // The freed id is the lowest free one again.
  add("198.18.100.1:80", "198.19.0.20");
  EXPECT_EQ(id_of("198.18.100.1:80", "198.19.0.20"), gone);
}

TEST_F(BalancerTest, PurgeOfADrainingBackend) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  uint32_t id = id_of("198.18.100.1:80", "198.19.0.11");
  add_flow("198.18.0.2:1", "198.18.100.1:80", TCP, id);
  lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.11"), false);
  EXPECT_EQ(lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.11"), true), 1u);
  EXPECT_TRUE(maps->flows.empty());
  EXPECT_EQ(maps->backends.at(id).flags, 0);
}

TEST_F(BalancerTest, WeightZeroDrainsAndWeightReturns) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  uint32_t id = id_of("198.18.100.1:80", "198.19.0.12");
  lb->set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.12"), 0);
  EXPECT_EQ(slot_counts(ring("198.18.100.1:80")).count(id), 0u);
  EXPECT_EQ(maps->backends.at(id).flags, XLB_BACKEND_F_USED);
  EXPECT_EQ(view("198.18.100.1:80", "198.19.0.12")->state, BackendStatus::kDraining);
  lb->set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.12"), 5);
  EXPECT_EQ(view("198.18.100.1:80", "198.19.0.12")->state, BackendStatus::kActive);
  EXPECT_EQ(maps->backends.at(id).weight, 5u);
  EXPECT_EQ(id_of("198.18.100.1:80", "198.19.0.12"), id);
}

TEST_F(BalancerTest, LastBackendLeavingEmptiesTheRing) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.11"), false);
  EXPECT_EQ(slot_counts(ring("198.18.100.1:80")), (std::map<uint32_t, uint32_t>{{XLB_RING_EMPTY, kSmallRing}}));
}

TEST_F(BalancerTest, DelVipDeletesItsFlowsBackendsAndRing) {
  add_vip("198.18.100.1:80");
  add_vip("198.18.100.2:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  add("198.18.100.2:80", "198.19.0.11");
  uint32_t a = id_of("198.18.100.1:80", "198.19.0.11"), b = id_of("198.18.100.1:80", "198.19.0.12");
  uint32_t other = id_of("198.18.100.2:80", "198.19.0.11");
  lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.12"), false);  // draining
  add_flow("198.18.0.2:1", "198.18.100.1:80", TCP, a);
  add_flow("198.18.0.2:2", "198.18.100.1:80", TCP, b);
  add_flow("198.18.0.2:3", "198.18.100.1:80", TCP, 4242);  // dst matches the VIP
  add_flow("198.18.0.2:4", "198.18.100.2:80", TCP, other);
  add_flow("198.18.0.2:5", "198.18.100.1:80", UDP, 4243);  // other protocol: not this VIP

  EXPECT_EQ(lb->del_vip(ep("198.18.100.1:80"), TCP), 3u);
  EXPECT_EQ(maps->flows.size(), 2u);
  EXPECT_EQ(maps->backends.at(a).flags, 0);
  EXPECT_EQ(maps->backends.at(b).flags, 0);
  EXPECT_EQ(maps->backends.at(other).flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_IN_RING);
  EXPECT_EQ(maps->rings.count(0), 0u);
  EXPECT_EQ(lb->backend_count(), 1u);
  // Both ids are free again.
  add_vip("198.18.100.3:80");
  add("198.18.100.3:80", "198.19.0.31");
  add("198.18.100.3:80", "198.19.0.32");
  EXPECT_EQ(id_of("198.18.100.3:80", "198.19.0.31"), std::min(a, b));
  EXPECT_EQ(id_of("198.18.100.3:80", "198.19.0.32"), std::max(a, b));
  EXPECT_EQ(meta("198.18.100.3:80").vip_id, 0u);
}

TEST_F(BalancerTest, NewIdsStartWithZeroCounters) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  maps->vstats[0] = {5, 500};
  maps->bstats[0] = {5, 500};
  lb->del_vip(ep("198.18.100.1:80"), TCP);
  add_vip("198.18.100.2:80");
  add("198.18.100.2:80", "198.19.0.11");
  EXPECT_EQ(maps->vstats[0].packets, 0u);
  EXPECT_EQ(maps->bstats[0].packets, 0u);
}

// ---- families

TEST_F(BalancerTest, FamilyRules) {
  add_vip("198.18.100.1:80");
  add_vip("[fd00:100::1]:80");
  add("198.18.100.1:80", "fd00:19::11");  // IPv4 in IPv6: fine
  EXPECT_EQ(maps->backends.at(id_of("198.18.100.1:80", "fd00:19::11")).family, XLB_AF_INET6);
  add("[fd00:100::1]:80", "fd00:19::11");  // a second backend id for the other VIP
  std::string snap = snapshot();
  try {
    add("[fd00:100::1]:80", "198.19.0.11");
    FAIL() << "IPv6 VIP with IPv4 backend accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("IPv4 backend 198.19.0.11 cannot serve IPv6 VIP [fd00:100::1]:80"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(snapshot(), snap);
}

// ---- validation: an error changes nothing

TEST_F(BalancerTest, InvalidOperationsChangeNothing) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.12"), false);
  std::string snap = snapshot();
  uint64_t writes = maps->writes;
  auto vip = [](const std::string& v, uint32_t ring, uint8_t sched = XLB_SCHED_MAGLEV,
                uint8_t mode = XLB_MODE_IPIP) {
    return VipSpec{ep(v), TCP, sched, mode, ring};
  };
  struct Case {
    const char* what;
    std::function<void()> op;
    const char* message;  // substring
  };
  std::vector<Case> cases = {
      {"duplicate VIP", [&] { lb->add_vip(vip("198.18.100.1:80", kSmallRing)); },
       "VIP 198.18.100.1:80/tcp already exists"},
      {"non-prime ring", [&] { lb->add_vip(vip("198.18.100.9:80", 1000)); }, "ring_size: must be a prime"},
      {"ring too big", [&] { lb->add_vip(vip("198.18.100.9:80", 2097143)); }, "at most 1048573"},
      {"sched", [&] { lb->add_vip(vip("198.18.100.9:80", kSmallRing, 42)); },
       "unsupported scheduler 'sched42'"},
      {"mode", [&] { lb->add_vip(vip("198.18.100.9:80", kSmallRing, XLB_SCHED_MAGLEV, 42)); },
       "unsupported mode 'mode42' (supported: ipip, nat, fullnat, l2dsr)"},
      {"unknown VIP del", [&] { lb->del_vip(ep("198.18.100.9:80"), TCP); }, "unknown VIP 198.18.100.9:80/tcp"},
      {"unknown VIP proto", [&] { lb->del_vip(ep("198.18.100.1:80"), UDP); }, "unknown VIP 198.18.100.1:80/udp"},
      {"unknown VIP add-backend", [&] { lb->add_backend(ep("198.18.100.9:80"), TCP, ip("198.19.0.1"), 1); },
       "unknown VIP"},
      {"duplicate backend", [&] { add("198.18.100.1:80", "198.19.0.11"); },
       "backend 198.19.0.11 of VIP 198.18.100.1:80/tcp already exists"},
      {"weight 0", [&] { add("198.18.100.1:80", "198.19.0.13", 0); }, "weight: must be 1..65535"},
      {"weight big", [&] { add("198.18.100.1:80", "198.19.0.13", 65536); }, "weight: must be 1..65535"},
      {"weight big readd", [&] { add("198.18.100.1:80", "198.19.0.12", 65536); }, "weight: must be 1..65535"},
      {"set weight big", [&] { lb->set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.11"), 65536); },
       "weight: must be 0..65535"},
      {"unknown backend del", [&] { lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.99"), false); },
       "unknown backend 198.19.0.99 of VIP 198.18.100.1:80/tcp"},
      {"unknown backend set", [&] { lb->set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.99"), 1); },
       "unknown backend 198.19.0.99"},
      {"bad apply", [&] {
         Config c;
         c.vips.push_back({ep("198.18.100.5:80"), TCP, XLB_SCHED_MAGLEV, XLB_MODE_IPIP, 1000, {}});
         lb->apply(c);
       }, "must be a prime"},
  };
  for (const auto& c : cases) {
    try {
      c.op();
      ADD_FAILURE() << c.what << ": no error";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << c.what << ": " << e.what();
    }
    EXPECT_EQ(maps->writes, writes) << c.what;
    EXPECT_EQ(snapshot(), snap) << c.what;
  }
}

// ---- apply

Config config_of(const std::string& text) { return parse_config_text(text); }

TEST_F(BalancerTest, UnservedSettingIsAConfigFlag) {
  const char* vips = R"("vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "mode": "nat", "ring_size": 1009,
     "backends": [{"address": "198.19.0.11"}]}])";
  lb->apply(config_of(std::string("{") + vips + "}"));
  EXPECT_EQ(maps->config.flags, XLB_CFG_F_NAT);  // drop: no flag
  EXPECT_FALSE(lb->pass_unserved());

  ApplyResult r = lb->apply(config_of(std::string(R"({"unserved": "pass", )") + vips + "}"));
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(maps->config.flags, XLB_CFG_F_NAT | XLB_CFG_F_PASS_UNSERVED);
  EXPECT_TRUE(lb->current_config().pass_unserved);

  // Kept by a restarted lbd (recovered from the map), and dropped again by a
  // config without it.
  auto again = make();
  EXPECT_TRUE(again->pass_unserved());
  r = again->apply(config_of(std::string("{") + vips + "}"));
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(maps->config.flags, XLB_CFG_F_NAT);
}

TEST_F(BalancerTest, IcmpEchoOffIsAConfigFlag) {
  lb->apply(config_of("{}"));
  EXPECT_EQ(maps->config.flags, 0);  // reply: no flag
  EXPECT_TRUE(lb->icmp_echo());

  ApplyResult r = lb->apply(config_of(R"({"icmp_echo": "off", "unserved": "pass"})"));
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(maps->config.flags, XLB_CFG_F_NO_ICMP_ECHO | XLB_CFG_F_PASS_UNSERVED);
  EXPECT_FALSE(lb->current_config().icmp_echo);
  EXPECT_FALSE(make()->icmp_echo());  // kept across a restart

  r = lb->apply(config_of(R"({"unserved": "pass"})"));
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(maps->config.flags, XLB_CFG_F_PASS_UNSERVED);
}

// The flood threshold lives in xlb_config: a rate, or XLB_CFG_F_NO_FLOOD_GUARD
// for 0; a fresh map's zero rate reads as the default.
TEST_F(BalancerTest, FloodThresholdIsWrittenToTheConfigEntry) {
  EXPECT_EQ(lb->flood_threshold(), uint32_t(XLB_FLOOD_DEFAULT_RATE));  // fresh maps
  ApplyResult r = lb->apply(config_of(R"({"flood_threshold": 2000})"));
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(maps->config.flood_rate, 2000u);
  EXPECT_EQ(maps->config.flags & XLB_CFG_F_NO_FLOOD_GUARD, 0);
  EXPECT_EQ(make()->flood_threshold(), 2000u);  // kept across a restart
  EXPECT_EQ(lb->current_config().flood_threshold, 2000u);
  EXPECT_EQ(lb->apply(config_of(R"({"flood_threshold": 2000})")).changed, 0u);

  r = lb->apply(config_of(R"({"flood_threshold": 0})"));
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(maps->config.flags & XLB_CFG_F_NO_FLOOD_GUARD, XLB_CFG_F_NO_FLOOD_GUARD);
  EXPECT_EQ(lb->flood_threshold(), 0u);
  EXPECT_EQ(make()->current_config().flood_threshold, 0u);

  lb->apply(config_of("{}"));
  EXPECT_EQ(lb->flood_threshold(), uint32_t(XLB_FLOOD_DEFAULT_RATE));
  EXPECT_EQ(maps->config.flags & XLB_CFG_F_NO_FLOOD_GUARD, 0);
}

TEST_F(BalancerTest, ApplyAddsChangesRemovesAndIsIdempotent) {
  const char* v1 = R"({"hash_seed": 9, "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "ring_size": 1009,
     "backends": [{"address": "198.19.0.11", "weight": 2}, {"address": "198.19.0.12"}]},
    {"vip": "198.18.100.2:53", "proto": "udp", "ring_size": 1009,
     "backends": [{"address": "198.19.0.21"}]}]})";
  ApplyResult r = lb->apply(config_of(v1));
  EXPECT_EQ(r.added, 5u);  // 2 VIPs + 3 backends
  EXPECT_EQ(r.removed, 0u);
  EXPECT_EQ(r.changed, 1u);  // hash seed
  EXPECT_EQ(maps->config.hash_seed, 9u);
  EXPECT_EQ(lb->vip_count(), 2u);
  EXPECT_EQ(maps->backends.at(id_of("198.18.100.1:80", "198.19.0.11")).weight, 2u);
  // The VIP's ring was complete when it appeared: no slot writes after install.
  EXPECT_EQ(maps->slot_writes, 0u);
  EXPECT_EQ(slot_counts(ring("198.18.100.1:80")).count(XLB_RING_EMPTY), 0u);

  // Same config again: nothing to do, nothing written.
  uint64_t writes = maps->writes;
  r = lb->apply(config_of(v1));
  EXPECT_EQ(r.added + r.removed + r.changed, 0u);
  EXPECT_EQ(maps->writes, writes);

  uint32_t id12 = id_of("198.18.100.1:80", "198.19.0.12");
  const char* v2 = R"({"hash_seed": 9, "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "ring_size": 1009,
     "backends": [{"address": "198.19.0.11", "weight": 3}, {"address": "198.19.0.13"}]},
    {"vip": "198.18.100.3:80", "proto": "tcp", "ring_size": 1009}]})";
  r = lb->apply(config_of(v2));
  EXPECT_EQ(r.added, 2u);    // VIP .3, backend .13
  EXPECT_EQ(r.removed, 3u);  // VIP .2 (+ its backend), backend .12 drains
  EXPECT_EQ(r.changed, 1u);  // weight of .11
  EXPECT_EQ(maps->vips.count(make_vip_key(ep("198.18.100.2:53"), UDP)), 0u);
  const BackendView* drained = view("198.18.100.1:80", "198.19.0.12");
  ASSERT_TRUE(drained);
  EXPECT_EQ(drained->state, BackendStatus::kRemoved);
  EXPECT_EQ(maps->backends.at(id12).flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED);
  EXPECT_EQ(meta("198.18.100.3:80").vip_id, 1u);  // the freed id of .2

  // Back in the config: returns to the ring under its id.
  r = lb->apply(config_of(v1));
  EXPECT_EQ(id_of("198.18.100.1:80", "198.19.0.12"), id12);
  EXPECT_EQ(view("198.18.100.1:80", "198.19.0.12")->state, BackendStatus::kActive);

  // The running state as a config applies as a no-op.
  writes = maps->writes;
  r = lb->apply(lb->current_config());
  EXPECT_EQ(r.added + r.removed + r.changed, 0u);
  EXPECT_EQ(maps->writes, writes);
}

TEST_F(BalancerTest, ApplyResizesRing) {
  lb->apply(config_of(R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "ring_size": 1009,
                                    "backends": [{"address": "198.19.0.11"}]}]})"));
  ApplyResult r = lb->apply(config_of(R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp",
      "ring_size": 2003, "backends": [{"address": "198.19.0.11"}]}]})"));
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(meta("198.18.100.1:80").ring_size, 2003u);
  EXPECT_EQ(ring("198.18.100.1:80").size(), 2003u);
  EXPECT_EQ(slot_counts(ring("198.18.100.1:80")).size(), 1u);
}

TEST_F(BalancerTest, ApplyEncapSources) {
  // Fresh maps, filled in by recover(): IPv4 gets the per-flow default
  // prefix (not the interface's address), IPv6 the interface's address.
  EXPECT_EQ(maps->config.encap_src_v4.v4, ip("172.16.0.0").addr.v4);
  EXPECT_EQ(maps->config.encap_src_v4_plen, 16);
  EXPECT_EQ(maps->config.encap_src_v6_plen, 128);
  EXPECT_EQ(encap_json(lb->encap()), (Json{{"source_v4", "172.16.0.0/16"}, {"source_v6", "fd00::1"}}));
  lb->apply(config_of(R"({"encap": {"source_v4": "198.18.64.0/24"}})"));
  EXPECT_EQ(maps->config.encap_src_v4.v4, ip("198.18.64.0").addr.v4);
  EXPECT_EQ(maps->config.encap_src_v4_plen, 24);
  EXPECT_EQ(maps->config.encap_src_v6_plen, 128);  // default kept
  EXPECT_EQ(encap_json(lb->encap()), (Json{{"source_v4", "198.18.64.0/24"}, {"source_v6", "fd00::1"}}));
  // A /32 is one fixed source, as configured.
  lb->apply(config_of(R"({"encap": {"source_v4": "198.18.0.7/32"}})"));
  EXPECT_EQ(maps->config.encap_src_v4.v4, ip("198.18.0.7").addr.v4);
  EXPECT_EQ(maps->config.encap_src_v4_plen, 32);
  // Without interface addresses and without config: the IPv4 default prefix
  // still applies, IPv6 has no source.
  auto none = std::make_shared<FakeMaps>();
  Balancer b(std::make_unique<FakeMapIo>(none), EncapDefaults{});
  b.recover();
  EXPECT_EQ(none->config.encap_src_v4_plen, 16);
  EXPECT_EQ(none->config.encap_src_v6_plen, 0);
  EXPECT_EQ(encap_json(b.encap()), (Json{{"source_v4", "172.16.0.0/16"}}));
}

TEST_F(BalancerTest, ApplyOverCapacityChangesNothing) {
  Config c;
  for (uint32_t i = 0; i <= XLB_MAX_VIPS; i++) {
    VipConfig v;
    v.vip.ip = ip("198.18.100.1");
    v.vip.port = static_cast<uint16_t>(1 + i);
    v.proto = TCP;
    v.ring_size = 7;
    c.vips.push_back(v);
  }
  std::string snap = snapshot();
  uint64_t writes = maps->writes;
  EXPECT_THROW(lb->apply(c), InputError);
  EXPECT_EQ(maps->writes, writes);
  EXPECT_EQ(snapshot(), snap);
}

// ---- recovery

TEST_F(BalancerTest, RecoveryReproducesTheState) {
  lb->apply(config_of(R"({"hash_seed": 3, "encap": {"source_v4": "198.18.64.0/24"}, "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "ring_size": 1009,
     "backends": [{"address": "198.19.0.11", "weight": 2}, {"address": "198.19.0.12"},
                  {"address": "fd00:19::13"}]},
    {"vip": "[fd00:100::1]:443", "proto": "tcp", "ring_size": 2003,
     "backends": [{"address": "fd00:19::11"}]}]})"));
  lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.12"), false);
  lb->set_backend(ep("[fd00:100::1]:443"), TCP, ip("fd00:19::11"), 0);
  Json before = list_json(lb->list());
  Config config_before = lb->current_config();

  // A restarted lbd: new balancer over the same maps, other interface
  // defaults (the maps' config wins).
  uint64_t writes = maps->writes;
  auto again = make(EncapDefaults{ip("10.0.0.1"), std::nullopt, {}});
  EXPECT_EQ(maps->writes, writes);  // consistent maps: nothing to repair
  EXPECT_EQ(list_json(again->list()), before);
  EXPECT_EQ(config_to_json(again->current_config()), config_to_json(config_before));
  EXPECT_EQ(again->hash_seed(), 3u);

  // It carries on: ids continue, the draining backend comes back under its id.
  lb = std::move(again);
  uint32_t drained = id_of("198.18.100.1:80", "198.19.0.12");
  add("198.18.100.1:80", "198.19.0.12");
  EXPECT_EQ(id_of("198.18.100.1:80", "198.19.0.12"), drained);
  add("198.18.100.1:80", "198.19.0.14");
  EXPECT_EQ(id_of("198.18.100.1:80", "198.19.0.14"), 4u);  // ids 0-3 taken
  add_vip("198.18.100.7:80");
  EXPECT_EQ(meta("198.18.100.7:80").vip_id, 2u);
  EXPECT_EQ(lb->del_vip(ep("[fd00:100::1]:443"), TCP), 0u);
}

TEST_F(BalancerTest, RecoveryRepairsLeftovers) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  // What a crashed lbd could leave behind:
  maps->backends.at(77) = make_backend(5, ip("198.19.0.77"), 0, 1, true);  // VIP 5 does not exist
  maps->rings[9] = std::vector<uint32_t>(7, XLB_RING_EMPTY);               // ring of no VIP
  maps->vip_addrs[make_vip_addr_key(ip("198.18.100.1"))] = 4;             // wrong count
  maps->vip_addrs[make_vip_addr_key(ip("198.18.100.99"))] = 1;            // stale address
  maps->rings.at(0)[17] = XLB_RING_EMPTY;                                  // half-written ring
  Json before = list_json(lb->list());

  auto again = make();
  EXPECT_EQ(maps->backends.at(77).flags, 0);
  EXPECT_EQ(maps->rings.count(9), 0u);
  EXPECT_EQ(maps->vip_addrs.size(), 1u);
  EXPECT_EQ(maps->vip_addrs.at(make_vip_addr_key(ip("198.18.100.1"))), 1u);
  EXPECT_NE(maps->rings.at(0)[17], XLB_RING_EMPTY);
  EXPECT_EQ(list_json(again->list()), before);
}

// ---- views

TEST_F(BalancerTest, ListJsonShape) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  add("198.18.100.1:80", "198.19.0.13");
  lb->set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.12"), 0);
  lb->del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.13"), false);
  // The data plane's counts.
  maps->conns[key_of("198.18.100.1:80", "198.19.0.11")] = {7, 2};
  maps->conns[key_of("198.18.100.1:80", "198.19.0.13")] = {1, 0};
  Json j = list_json(lb->list());
  Json want = Json::parse(R"([{"vip": "198.18.100.1:80", "proto": "tcp", "sched": "maglev", "mode": "ipip",
    "ring_size": 1009, "stateless": false, "backends": [
      {"address": "198.19.0.11", "weight": 1, "state": "active", "ring_slots": 1009, "active": 7, "half_open": 2},
      {"address": "198.19.0.12", "weight": 0, "state": "draining", "ring_slots": 0, "active": 0, "half_open": 0},
      {"address": "198.19.0.13", "weight": 0, "state": "removed", "ring_slots": 0, "active": 1, "half_open": 0}
    ]}])");
  // The ring as identities: every slot 198.19.0.11's (pick/fingerprint.h).
  want[0]["ring_fingerprint"] =
      pick::hex16(pick::ring_fingerprint(std::vector<uint32_t>(kSmallRing, 0), {{0, "198.19.0.11:0"}}));
  EXPECT_EQ(j, want);
}

TEST_F(BalancerTest, StatsJson) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  maps->gstats[XLB_STAT_RX] = {10, 740};
  maps->gstats[XLB_STAT_TX] = {9, 846};
  maps->vstats[0] = {9, 666};
  maps->bstats[0] = {9, 666};
  Json j = stats_json(lb->stats());
  EXPECT_EQ(j["global"].size(), size_t(XLB_STAT_MAX));
  EXPECT_EQ(j["global"]["rx"], (Json{{"packets", 10}, {"bytes", 740}}));
  EXPECT_EQ(j["global"]["tx"]["bytes"], 846);
  EXPECT_EQ(j["global"]["redirect"]["packets"], 0);
  EXPECT_TRUE(j["global"].contains("drop_no_neigh"));
  EXPECT_EQ(j["vips"], Json::parse(R"([{"vip": "198.18.100.1:80", "proto": "tcp", "packets": 9, "bytes": 666,
    "backends": [{"address": "198.19.0.11", "packets": 9, "bytes": 666}]}])"));
}

TEST_F(BalancerTest, FlowsFilterAndLimit) {
  add_vip("198.18.100.1:80");
  add_vip("[fd00:100::1]:80");
  add("198.18.100.1:80", "198.19.0.11");
  add("198.18.100.1:80", "198.19.0.12");
  add("[fd00:100::1]:80", "fd00:19::11");
  uint32_t a = id_of("198.18.100.1:80", "198.19.0.11"), b = id_of("198.18.100.1:80", "198.19.0.12");
  uint32_t c = id_of("[fd00:100::1]:80", "fd00:19::11");
  uint64_t now = 10'000'000'000;
  add_flow("198.18.0.2:40112", "198.18.100.1:80", TCP, a, now - 120'000'000);
  add_flow("198.18.0.3:1", "198.18.100.1:80", TCP, b, now, XLB_FLOW_TCP_SYN);
  add_flow("198.18.0.4:1", "198.18.100.1:80", TCP, b, now, XLB_FLOW_TCP_CLOSING);
  add_flow("[fd00::2]:5", "[fd00:100::1]:80", TCP, c, now + 5, XLB_FLOW_TCP_RESET);
  add_flow("198.18.0.5:1", "198.18.100.1:80", TCP, 999);  // id of no backend

  FlowsView all = lb->flows({}, now);
  EXPECT_EQ(all.total, 5u);
  EXPECT_FALSE(all.truncated);

  FlowQuery q;
  q.vip = {ep("198.18.100.1:80"), TCP};
  q.backend = ip("198.19.0.11");
  Json j = flows_json(lb->flows(q, now));
  EXPECT_EQ(j, Json::parse(R"({"total": 1, "truncated": false, "flows": [
    {"proto": "tcp", "src": "198.18.0.2:40112", "dst": "198.18.100.1:80",
     "backend": "198.19.0.11", "state": "established", "idle_ms": 120}]})"));

  q = {};
  q.backend = ip("198.19.0.12");
  q.limit = 1;
  FlowsView lim = lb->flows(q, now);
  EXPECT_EQ(lim.total, 2u);
  EXPECT_EQ(lim.flows.size(), 1u);
  EXPECT_TRUE(lim.truncated);

  q = {};
  q.vip = {ep("[fd00:100::1]:80"), TCP};
  j = flows_json(lb->flows(q, now));
  EXPECT_EQ(j["flows"][0]["src"], "[fd00::2]:5");
  EXPECT_EQ(j["flows"][0]["state"], "reset");
  EXPECT_EQ(j["flows"][0]["idle_ms"], 0);  // last_seen after now: clamped

  q = {};
  q.vip = {ep("198.18.100.1:80"), TCP};
  q.backend = ip("198.19.0.11");
  q.limit = 0;
  EXPECT_EQ(lb->flows(q, now).total, 1u);
  q.vip = {ep("198.18.100.9:80"), TCP};
  EXPECT_THROW(lb->flows(q, now), InputError);
  q = {};
  q.backend = ip("198.19.0.99");  // not a backend: no flows, not an error
  EXPECT_EQ(lb->flows(q, now).total, 0u);
  EXPECT_EQ(lb->flow_count(), 5u);
  Json unknown = flows_json(lb->flows({}, now));
  bool saw_null = false;
  for (const auto& f : unknown["flows"]) saw_null |= f["backend"].is_null();
  EXPECT_TRUE(saw_null);
}

}  // namespace
}  // namespace xlb

namespace xlb::testing {
namespace {

// A long apply reports where it is (lbd logs it): once before each VIP.
TEST_F(BalancerTest, ApplyReportsProgressBeforeEachVip) {
  Config c;
  for (int i = 1; i <= 4; i++) {
    VipConfig v;
    v.vip = ep("198.18.100." + std::to_string(i) + ":80");
    v.proto = TCP;
    v.ring_size = kSmallRing;
    c.vips.push_back(v);
  }
  std::vector<std::pair<size_t, size_t>> seen;
  lb->apply(c, [&](size_t done, size_t total) { seen.push_back({done, total}); });
  EXPECT_EQ(seen, (std::vector<std::pair<size_t, size_t>>{{0, 4}, {1, 4}, {2, 4}, {3, 4}}));
}

// A stateless VIP (issue 15): its meta carries XLB_VIP_F_STATELESS; only
// maglev and src-hash with ipip or l2dsr may be one; apply turns it on and
// off in place; a restarted lbd finds it in the map, and verify compares it.
TEST_F(BalancerTest, StatelessVipIsAMetaFlag) {
  VipSpec s{ep("198.18.100.1:80"), TCP, XLB_SCHED_MAGLEV, XLB_MODE_IPIP, kSmallRing, true};
  lb->add_vip(s);
  add("198.18.100.1:80", "198.19.0.11");
  EXPECT_EQ(meta("198.18.100.1:80").flags, XLB_VIP_F_STATELESS);
  EXPECT_TRUE(lb->verify().empty());
  EXPECT_TRUE(lb->list().at(0).stateless);
  EXPECT_TRUE(lb->current_config().vips.at(0).stateless);

  // Refused where the pick or the forwarding needs state: nothing written.
  for (auto [sched, mode] : {std::pair{XLB_SCHED_LEAST_CONN, XLB_MODE_IPIP}, {XLB_SCHED_RR, XLB_MODE_L2DSR},
                             {XLB_SCHED_MAGLEV, XLB_MODE_NAT}, {XLB_SCHED_SRC_HASH, XLB_MODE_FULLNAT}}) {
    VipSpec bad{ep("198.18.100.2:80"), TCP, static_cast<uint8_t>(sched), static_cast<uint8_t>(mode), kSmallRing, true};
    EXPECT_THROW(lb->add_vip(bad), InputError);
  }
  EXPECT_EQ(maps->vips.size(), 1u);

  // Recovered by a restarted lbd.
  auto again = make();
  EXPECT_TRUE(again->list().at(0).stateless);
  EXPECT_TRUE(again->verify().empty());

  // Off and on again by apply, in place: same id, same ring.
  Config c = lb->current_config();
  c.vips.at(0).stateless = false;
  uint32_t id = meta("198.18.100.1:80").vip_id;
  lb->apply(c);
  EXPECT_EQ(meta("198.18.100.1:80").flags, 0u);
  EXPECT_EQ(meta("198.18.100.1:80").vip_id, id);
  c.vips.at(0).stateless = true;
  lb->apply(c);
  EXPECT_EQ(meta("198.18.100.1:80").flags, XLB_VIP_F_STATELESS);
  c.vips.at(0).sched = XLB_SCHED_LEAST_CONN;
  EXPECT_THROW(lb->apply(c), InputError);
  EXPECT_EQ(meta("198.18.100.1:80").sched, XLB_SCHED_MAGLEV);

  // A map entry that disagrees is reported.
  maps->vips.at(make_vip_key(ep("198.18.100.1:80"), TCP)).flags = 0;
  EXPECT_FALSE(lb->verify().empty());
}

}  // namespace
}  // namespace xlb::testing
