// All-or-nothing requests (issue 11): each operation is run once per map
// write it makes, with that write failing (FakeMaps::fail_after; a failing
// batch of ring slots writes its first half, as the kernel's batch update
// can). After every failure the maps must be exactly as before the request,
// verify() must find the model and the maps in agreement, a restarted lbd
// must list the same as this one, and the same request must then succeed.
// Then the undo itself fails, and so does re-reading the maps.
#include <gtest/gtest.h>

#include <functional>

#include "balancer_fixture.h"
#include "core/error.h"

namespace xlb::testing {
namespace {

// The maps the balancer owns, every byte that matters (flows, reply
// entries and statistics are not undoable and not compared).
std::string owned_maps(const FakeMaps& m) {
  Json j = Json::object();
  auto hex = [](const void* p, size_t n) {
    std::string s;
    char buf[3];
    for (size_t i = 0; i < n; i++) {
      std::snprintf(buf, sizeof buf, "%02x", static_cast<const unsigned char*>(p)[i]);
      s += buf;
    }
    return s;
  };
  for (const auto& [k, v] : m.vips) j["vips"][hex(&k, sizeof k)] = hex(&v, sizeof v);
  for (const auto& [k, n] : m.vip_addrs) j["addrs"][hex(&k, sizeof k)] = n;
  for (const auto& [id, r] : m.rings) j["rings"][std::to_string(id)] = r;
  for (uint32_t id = 0; id < m.backends.size(); id++)
    if (m.backends[id].flags) j["backends"][std::to_string(id)] = hex(&m.backends[id], sizeof m.backends[id]);
  for (const auto& [k, c] : m.conns) j["conns"][hex(&k, sizeof k)] = {c.active, c.half_open};
  for (const auto& [id, l] : m.lists)
    if (!l.ids.empty()) j["lists"][std::to_string(id)] = l.ids;
  j["config"] = hex(&m.config, sizeof m.config);
  return j.dump();
}

std::string listing(Balancer& lb) {
  Json j = Json::array();
  for (const auto& v : lb.list()) {
    Json vj = {v.vip.str(), v.proto, v.sched, v.mode, v.ring_size, v.id};
    for (const auto& b : v.backends)
      vj.push_back({b.address.str(), b.port, b.id, b.weight, static_cast<int>(b.state), b.ring_slots});
    j.push_back(vj);
  }
  return j.dump();
}

class AtomicTest : public BalancerTest {
 protected:
  // A running state to start from: an ipip maglev VIP with three
  // backends (one draining), a least-conn VIP, a nat VIP with two.
  void setup() {
    add_vip("198.18.100.1:80");
    add("198.18.100.1:80", "198.19.0.1");
    add("198.18.100.1:80", "198.19.0.2", 2);
    add("198.18.100.1:80", "198.19.0.3");
    lb->set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.3"), 0);
    add_vip("198.18.100.2:80", TCP, kSmallRing, XLB_SCHED_LEAST_CONN);
    add("198.18.100.2:80", "198.19.0.1");
    add("198.18.100.2:80", "198.19.0.4");
    VipSpec nat;
    nat.vip = ep("198.18.100.3:53");
    nat.proto = UDP;
    nat.ring_size = kSmallRing;
    nat.mode = XLB_MODE_NAT;
    lb->add_vip(nat);
    lb->add_backend(ep("198.18.100.3:53"), UDP, ip("198.19.0.5"), 1, 5353);
    lb->add_backend(ep("198.18.100.3:53"), UDP, ip("198.19.0.6"), 1);
    // Flows on the first VIP's backends, for the purge and del-vip.
    add_flow("198.18.0.2:40001", "198.18.100.1:80", TCP, id_of("198.18.100.1:80", "198.19.0.1"));
    add_flow("198.18.0.2:40002", "198.18.100.1:80", TCP, id_of("198.18.100.1:80", "198.19.0.2"));
    add_flow("198.18.0.2:40003", "198.18.100.1:80", TCP, id_of("198.18.100.1:80", "198.19.0.3"));
  }

  // lbd's model and the maps agree, and a restarted lbd lists the same.
  void expect_agreement() {
    EXPECT_EQ(lb->verify(), std::vector<std::string>{});
    auto restarted = make();
    EXPECT_EQ(listing(*restarted), listing(*lb));
  }

  void fresh() {
    maps = std::make_shared<FakeMaps>();
    lb = make();
    setup();
  }

  // Runs `op` failing at each of its map writes in turn; `accept` lists
  // the maps states a failed request may leave (the state before it, and
  // for a two-step request the one after its first step).
  void sweep(const std::function<void(Balancer&)>& op, const std::function<void(Balancer&)>& retry,
             std::vector<std::function<void(Balancer&)>> partial = {}) {
    fresh();
    uint64_t before_calls = maps->calls;
    op(*lb);
    uint64_t writes = maps->calls - before_calls;
    ASSERT_GT(writes, 0u);

    std::vector<std::string> acceptable_after_failure;
    for (size_t i = 0; i <= partial.size(); i++) {
      fresh();
      for (size_t k = 0; k < i; k++) partial[k](*lb);
      acceptable_after_failure.push_back(owned_maps(*maps));
    }

    for (uint64_t n = 1; n <= writes; n++) {
      SCOPED_TRACE("failing write " + std::to_string(n) + " of " + std::to_string(writes));
      fresh();
      maps->fail_after = n;
      EXPECT_THROW(op(*lb), SystemError);
      maps->fail_after = 0;
      std::string now = owned_maps(*maps);
      EXPECT_NE(std::find(acceptable_after_failure.begin(), acceptable_after_failure.end(), now),
                acceptable_after_failure.end())
          << "the maps are neither as before the request nor after a step of it";
      expect_agreement();
      // The request goes through once the kernel takes it.
      ASSERT_NO_THROW(retry(*lb));
      EXPECT_EQ(lb->verify(), std::vector<std::string>{});
    }
  }
};

void add_vip_op(Balancer& lb) {
  VipSpec s;
  s.vip = ep("198.18.100.9:443");
  s.proto = TCP;
  s.ring_size = kSmallRing;
  lb.add_vip(s);
}

TEST_F(AtomicTest, AddVip) { sweep(add_vip_op, add_vip_op); }

void add_nat_vip_op(Balancer& lb) {
  VipSpec s;
  s.vip = ep("198.18.100.9:80");
  s.proto = TCP;
  s.ring_size = kSmallRing;
  s.mode = XLB_MODE_NAT;
  lb.add_vip(s);
}

// Deleting the only nat VIP clears the NAT flag, adding one sets it again:
// each all or nothing.
TEST_F(AtomicTest, TheNatFlagGoesWithItsVips) {
  auto del_nat = [](Balancer& lb) { lb.del_vip(ep("198.18.100.3:53"), UDP); };
  auto op = [del_nat](Balancer& lb) {
    del_nat(lb);
    add_nat_vip_op(lb);
  };
  // Two requests: the first (del-vip) may have gone through alone.
  sweep(op, add_nat_vip_op, {del_nat});
}

TEST_F(AtomicTest, AddBackend) {
  auto op = [](Balancer& lb) { lb.add_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.9"), 3); };
  sweep(op, op);
}

TEST_F(AtomicTest, AddBackendToALeastConnVip) {
  auto op = [](Balancer& lb) { lb.add_backend(ep("198.18.100.2:80"), TCP, ip("198.19.0.9"), 1); };
  sweep(op, op);
}

TEST_F(AtomicTest, ReturnADrainingBackend) {
  auto op = [](Balancer& lb) { lb.set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.3"), 5); };
  sweep(op, op);
}

TEST_F(AtomicTest, DelBackend) {
  auto op = [](Balancer& lb) { lb.del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.2"), false); };
  sweep(op, op);
}

TEST_F(AtomicTest, PurgeIsRemovedFirstThenAllOrNothing) {
  auto del = [](Balancer& lb) { lb.del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.2"), false); };
  auto purge = [](Balancer& lb) { lb.del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.2"), true); };
  sweep(purge, purge, {del});
}

TEST_F(AtomicTest, DelVip) {
  auto op = [](Balancer& lb) { lb.del_vip(ep("198.18.100.1:80"), TCP); };
  sweep(op, [](Balancer& lb) {
    // Its flows may be gone already; the VIP itself is back, whole.
    lb.del_vip(ep("198.18.100.1:80"), TCP);
  });
}

// 20 VIPs: two kept and changed (weights, scheduler, ring size), the nat
// VIP replaced by an ipip one, the rest new, one in nat mode.
Config twenty_vips() {
  Config c;
  c.hash_seed = 7;
  for (int i = 0; i < 20; i++) {
    VipConfig v;
    v.vip = ep("198.18.100." + std::to_string(i + 1) + ":80");
    v.proto = TCP;
    v.ring_size = kSmallRing;
    if (i == 1) v.sched = XLB_SCHED_MAGLEV;  // was least-conn
    if (i == 0) v.ring_size = 1013;
    if (i == 7) v.mode = XLB_MODE_NAT;
    if (i == 2) {
      v.vip = ep("198.18.100.3:53");
      v.proto = UDP;
    }
    for (int b = 0; b < 3; b++)
      v.backends.push_back({ip("198.19." + std::to_string(i) + "." + std::to_string(b + 1)), uint32_t(b + 1), 0});
    c.vips.push_back(v);
  }
  return c;
}

TEST_F(AtomicTest, ApplyTwentyVips) {
  Config c = twenty_vips();
  auto op = [c](Balancer& lb) { lb.apply(c); };
  sweep(op, [c](Balancer& lb) {
    lb.apply(c);
    // Re-applying converges: nothing left to change.
    ApplyResult again = lb.apply(c);
    EXPECT_EQ(again.added + again.removed + again.changed, 0u);
  });
}

TEST_F(AtomicTest, FreeingRemovedBackends) {
  auto op = [](Balancer& lb) {
    lb.del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.1"), false);
    lb.del_backend(ep("198.18.100.2:80"), TCP, ip("198.19.0.4"), false);
    std::vector<bool> referenced(XLB_MAX_BACKENDS, false);
    lb.free_removed(referenced, lb.removal_generation());
  };
  auto del1 = [](Balancer& lb) { lb.del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.1"), false); };
  auto del2 = [](Balancer& lb) {
    lb.del_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.1"), false);
    lb.del_backend(ep("198.18.100.2:80"), TCP, ip("198.19.0.4"), false);
  };
  sweep(op, [](Balancer& lb) {
    std::vector<bool> referenced(XLB_MAX_BACKENDS, false);
    lb.free_removed(referenced, lb.removal_generation());
  }, {del1, del2});
}

TEST_F(AtomicTest, AFailedUndoRereadsTheMaps) {
  fresh();
  std::string before = listing(*lb);
  // The 3rd write of add-backend fails, and so does the first write of
  // its undo: the model is rebuilt from the maps (repairing them).
  uint64_t base = maps->calls;
  maps->fail_also = {base + 3, base + 4};
  try {
    lb->add_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.9"), 3);
    ADD_FAILURE() << "no error";
  } catch (const SystemError& e) {
    EXPECT_NE(std::string(e.what()).find("undoing it failed too"), std::string::npos) << e.what();
  }
  maps->fail_also.clear();
  EXPECT_FALSE(lb->out_of_sync());
  expect_agreement();
}

TEST_F(AtomicTest, WhenEvenRereadingFailsTheNextRequestRetriesIt) {
  fresh();
  uint64_t base = maps->calls;
  // The request's 3rd write, every undo step, and recovery's repairs fail.
  for (uint64_t n = 3; n < 40; n++) maps->fail_also.insert(base + n);
  EXPECT_THROW(lb->add_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.9"), 3), SystemError);
  ASSERT_TRUE(lb->out_of_sync());
  EXPECT_THROW(lb->list(), SystemError);  // shows nothing it is unsure of
  maps->fail_also.clear();
  EXPECT_NO_THROW(lb->list());
  EXPECT_FALSE(lb->out_of_sync());
  expect_agreement();
}

TEST_F(AtomicTest, VerifyNamesWhatDiffers) {
  fresh();
  EXPECT_EQ(lb->verify(), std::vector<std::string>{});
  // Behind lbd's back: a ring slot, a backend entry, a VIP entry, the config.
  uint32_t vid = meta("198.18.100.1:80").vip_id;
  maps->rings.at(vid)[0] = 4242;
  maps->backends.at(id_of("198.18.100.2:80", "198.19.0.4")).weight = 9;
  maps->vips.erase(make_vip_key(ep("198.18.100.3:53"), UDP));
  maps->config.hash_seed ^= 1;
  auto diffs = lb->verify();
  auto has = [&](const std::string& part) {
    for (const auto& d : diffs)
      if (d.find(part) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("the ring of 198.18.100.1:80/tcp has 1 slots naming backends that are not active")) << Json(diffs);
  EXPECT_TRUE(has("xlb_backends entry of backend id")) << Json(diffs);
  EXPECT_TRUE(has("VIP 198.18.100.3:53/udp is missing from xlb_vips")) << Json(diffs);
  EXPECT_TRUE(has("xlb_config differs")) << Json(diffs);
}

}  // namespace
}  // namespace xlb::testing
