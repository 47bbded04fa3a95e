// What least-conn needs from the balancer: count entries keyed by identity
// (created, never overwritten, freed only with the identity), the removed
// state and its freeing, scheduling lists, and scheduler changes.
#include <gtest/gtest.h>

#include "balancer_fixture.h"
#include "core/error.h"
#include "core/views_json.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using testing::ep;
using testing::ip;
using testing::kSmallRing;
using testing::TCP;
using testing::UDP;
using Json = nlohmann::json;

const char* kVip = "198.18.100.1:80";

class ConnsTest : public BalancerTest {
 protected:
  void add_lc_vip(uint8_t sched = XLB_SCHED_LEAST_CONN) { add_vip(kVip, TCP, kSmallRing, sched); }
  void del(const std::string& be, bool purge = false) { lb->del_backend(ep(kVip), TCP, ip(be), purge); }
  void set(const std::string& be, uint32_t w) { lb->set_backend(ep(kVip), TCP, ip(be), w); }
  std::vector<uint32_t> list() { return maps->lists[meta(kVip).vip_id].ids; }
  uint32_t id(const std::string& be) { return id_of(kVip, be); }
  std::vector<bool> none_referenced() { return std::vector<bool>(XLB_MAX_BACKENDS, false); }
};

// ---- count entries

TEST_F(ConnsTest, NewBackendGetsAZeroCountEntryBeforeItCanTakeFlows) {
  add_lc_vip();
  maps->log.clear();
  add(kVip, "198.19.0.11");
  xlb_backend_key k = key_of(kVip, "198.19.0.11");
  ASSERT_EQ(maps->conns.count(k), 1u);
  EXPECT_EQ(maps->conn(k).active, 0);
  EXPECT_EQ(maps->conn(k).half_open, 0);
  // Created before the backend entry and the list make it selectable.
  EXPECT_LT(maps->first("create_conn"), maps->first("put_backend"));
  EXPECT_LT(maps->first("put_backend"), maps->first("write_vip_list"));

  // The key is the identity, padding zeroed: VIP key + address + port + family.
  xlb_backend_key want;
  std::memset(&want, 0, sizeof want);
  want.vip = make_vip_key(ep(kVip), TCP);
  want.addr = ip("198.19.0.11").addr;
  want.family = XLB_AF_INET;
  EXPECT_EQ(std::memcmp(&maps->conns.begin()->first, &want, sizeof want), 0);

  // Same address behind another VIP, or another protocol: another identity.
  add_vip("198.18.100.1:80", UDP);
  lb->add_backend(ep(kVip), UDP, ip("198.19.0.11"), 1);
  add_vip("[fd00:100::1]:80");
  add("[fd00:100::1]:80", "fd00:19::11");
  EXPECT_EQ(maps->conns.size(), 3u);
  EXPECT_EQ(maps->conns.count(key_of("[fd00:100::1]:80", "fd00:19::11")), 1u);
}

TEST_F(ConnsTest, CountsSurviveReaddsWeightChangesAndRestarts) {
  add_lc_vip();
  add(kVip, "198.19.0.11");
  xlb_backend_key k = key_of(kVip, "198.19.0.11");
  maps->conns[k] = {5, 2};  // the data plane counted flows
  maps->log.clear();

  set("198.19.0.11", 3);
  set("198.19.0.11", 0);  // drain
  set("198.19.0.11", 2);
  del("198.19.0.11");     // removed, draining
  add(kVip, "198.19.0.11", 4);
  lb = make();            // lbd restarted (kill -9 alike: nothing was shut down)
  lb->apply(parse_config_text(R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "sched": "least-conn",
      "ring_size": 1009, "backends": [{"address": "198.19.0.11", "weight": 7}]}]})"));
  lb = make();

  EXPECT_EQ(maps->conn(k).active, 5);
  EXPECT_EQ(maps->conn(k).half_open, 2);
  EXPECT_EQ(maps->logged("create_conn"), 0u);
  EXPECT_EQ(maps->logged("adjust"), 0u);
  EXPECT_EQ(maps->logged("delete_conn"), 0u);
}

TEST_F(ConnsTest, PurgeDeletesFlowsThenZeroesCountsThenFrees) {
  add_lc_vip();
  add(kVip, "198.19.0.11");
  add(kVip, "198.19.0.12");
  uint32_t gone = id("198.19.0.12");
  xlb_backend_key k = key_of(kVip, "198.19.0.12");
  add_flow("198.18.0.2:1", kVip, TCP, gone, 0, XLB_FLOW_TCP_SYN, XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN);
  add_flow("198.18.0.2:2", kVip, TCP, gone, 0, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_COUNTED);
  maps->conns[k] = {2, 1};
  maps->log.clear();

  EXPECT_EQ(lb->del_backend(ep(kVip), TCP, ip("198.19.0.12"), true), 2u);
  EXPECT_EQ(maps->conns.count(k), 0u);
  EXPECT_EQ(maps->backends.at(gone).flags, 0);
  EXPECT_EQ(list(), (std::vector<uint32_t>{id("198.19.0.11")}));
  // Out of the list, flows gone, counts to zero through the adjust program,
  // then the entry, then the backend.
  long list_w = maps->first("write_vip_list"), flows = maps->first("delete_flow"),
       adjust = maps->first("adjust"), del_conn = maps->first("delete_conn"),
       clear = maps->first("clear_backend");
  EXPECT_LT(list_w, flows);
  EXPECT_LT(flows, adjust);
  EXPECT_LT(adjust, del_conn);
  EXPECT_LT(del_conn, clear);
  EXPECT_EQ(maps->adjust_calls, 1u);

  // Added again: a new identity life, from zero.
  add(kVip, "198.19.0.12");
  EXPECT_EQ(maps->conn(k).active, 0);
}

TEST_F(ConnsTest, PurgeOfAnIdleBackendNeedsNoAdjust) {
  add_lc_vip();
  add(kVip, "198.19.0.11");
  del("198.19.0.11", true);
  EXPECT_EQ(maps->adjust_calls, 0u);
  EXPECT_TRUE(maps->conns.empty());
}

TEST_F(ConnsTest, DelVipFreesEveryIdentity) {
  add_lc_vip();
  add(kVip, "198.19.0.11");
  add(kVip, "198.19.0.12");
  del("198.19.0.12");  // removed backends too
  add_vip("198.18.100.2:80");
  add("198.18.100.2:80", "198.19.0.11");
  maps->conns[key_of(kVip, "198.19.0.11")] = {3, 0};
  uint32_t vip_id = meta(kVip).vip_id;
  ASSERT_FALSE(list().empty());

  lb->del_vip(ep(kVip), TCP);
  EXPECT_EQ(maps->conns.size(), 1u);
  EXPECT_EQ(maps->conns.count(key_of("198.18.100.2:80", "198.19.0.11")), 1u);
  EXPECT_TRUE(maps->lists[vip_id].ids.empty());  // a reused vip_id starts with no list
  EXPECT_EQ(lb->backend_count(), 1u);
}

// ---- states: active, draining, removed

TEST_F(ConnsTest, DeleteRemovesDrainDrainsReaddRestores) {
  add_lc_vip();
  add(kVip, "198.19.0.11");
  add(kVip, "198.19.0.12");
  add(kVip, "198.19.0.13");
  uint32_t b = id("198.19.0.12"), c = id("198.19.0.13");

  set("198.19.0.12", 0);  // drain-backend
  EXPECT_EQ(maps->backends.at(b).flags, XLB_BACKEND_F_USED);
  EXPECT_EQ(maps->backends.at(b).weight, 0u);
  del("198.19.0.13");
  EXPECT_EQ(maps->backends.at(c).flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED);
  EXPECT_EQ(view(kVip, "198.19.0.12")->state, BackendStatus::kDraining);
  EXPECT_EQ(view(kVip, "198.19.0.13")->state, BackendStatus::kRemoved);
  EXPECT_EQ(list(), (std::vector<uint32_t>{id("198.19.0.11")}));

  // Deleting a drained backend removes it; deleting again changes nothing.
  del("198.19.0.12");
  EXPECT_EQ(maps->backends.at(b).flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED);
  uint64_t writes = maps->writes;
  del("198.19.0.12");
  EXPECT_EQ(maps->writes, writes);

  // A removed backend is not brought back by a weight: only by add-backend.
  EXPECT_THROW(set("198.19.0.13", 5), InputError);
  EXPECT_THROW(set("198.19.0.13", 0), InputError);
  EXPECT_EQ(maps->writes, writes);
  add(kVip, "198.19.0.13", 2);
  EXPECT_EQ(id("198.19.0.13"), c);
  EXPECT_EQ(maps->backends.at(c).flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_IN_RING);
  EXPECT_EQ(view(kVip, "198.19.0.13")->state, BackendStatus::kActive);
  EXPECT_EQ(list(), (std::vector<uint32_t>{id("198.19.0.11"), c}));
}

TEST_F(ConnsTest, ApplyRemovesLeftOutBackendsAndKeepsWeightZeroDraining) {
  lb->apply(parse_config_text(R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "ring_size": 1009,
      "backends": [{"address": "198.19.0.11"}, {"address": "198.19.0.12"}, {"address": "198.19.0.13"}]}]})"));
  ApplyResult r = lb->apply(parse_config_text(R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp",
      "ring_size": 1009, "backends": [{"address": "198.19.0.11"}, {"address": "198.19.0.12", "weight": 0}]}]})"));
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(view(kVip, "198.19.0.12")->state, BackendStatus::kDraining);
  EXPECT_EQ(view(kVip, "198.19.0.13")->state, BackendStatus::kRemoved);
  EXPECT_EQ(maps->backends.at(id("198.19.0.13")).flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED);
  // The running state, drained backend included, applies as a no-op.
  Json cfg = config_to_json(lb->current_config());
  EXPECT_EQ(cfg["vips"][0]["backends"],
            Json::parse(R"([{"address": "198.19.0.11", "weight": 1}, {"address": "198.19.0.12", "weight": 0}])"));
  uint64_t writes = maps->writes;
  r = lb->apply(lb->current_config());
  EXPECT_EQ(r.added + r.removed + r.changed, 0u);
  EXPECT_EQ(maps->writes, writes);
}

// ---- freeing removed backends

TEST_F(ConnsTest, FreeRemovedWaitsForFlowsAndForTheSweepGeneration) {
  add_lc_vip();
  add(kVip, "198.19.0.11");
  add(kVip, "198.19.0.12");
  uint32_t b = id("198.19.0.12");
  xlb_backend_key k = key_of(kVip, "198.19.0.12");
  uint64_t before = lb->removal_generation();
  del("198.19.0.12");
  EXPECT_GT(lb->removal_generation(), before);

  // A sweep that started before the removal proves nothing.
  EXPECT_TRUE(lb->free_removed(none_referenced(), before).empty());
  // One that still saw a flow of it: keep it.
  std::vector<bool> referenced = none_referenced();
  referenced[b] = true;
  EXPECT_TRUE(lb->free_removed(referenced, lb->removal_generation()).empty());
  EXPECT_EQ(view(kVip, "198.19.0.12")->state, BackendStatus::kRemoved);

  // No flows left: freed, counts zeroed through the adjust program first.
  maps->conns[k] = {1, 0};  // drift: no flow holds it
  auto notes = lb->free_removed(none_referenced(), lb->removal_generation());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("freed removed backend 198.19.0.12"), std::string::npos) << notes[0];
  EXPECT_EQ(view(kVip, "198.19.0.12"), nullptr);
  EXPECT_EQ(maps->conns.count(k), 0u);
  EXPECT_EQ(maps->backends.at(b).flags, 0);
  EXPECT_LT(maps->first("adjust"), maps->first("delete_conn"));
  // Active and draining backends are never freed.
  set("198.19.0.11", 0);
  EXPECT_TRUE(lb->free_removed(none_referenced(), lb->removal_generation()).empty());
  EXPECT_EQ(lb->backend_count(), 1u);
  // The id is free again.
  add(kVip, "198.19.0.20");
  EXPECT_EQ(id("198.19.0.20"), b);
}

TEST_F(ConnsTest, IdentitiesNameEveryBoundId) {
  add_lc_vip();
  add(kVip, "198.19.0.11");
  add(kVip, "fd00:19::12");
  del("fd00:19::12");
  IdentityTable t = lb->identities();
  ASSERT_EQ(t.size(), 2u);
  xlb_backend_key want = key_of(kVip, "198.19.0.11");
  EXPECT_EQ(std::memcmp(&t.at(id("198.19.0.11")), &want, sizeof want), 0);
  want = key_of(kVip, "fd00:19::12");
  EXPECT_EQ(std::memcmp(&t.at(id("fd00:19::12")), &want, sizeof want), 0);
  EXPECT_EQ(want.family, XLB_AF_INET6);
  EXPECT_EQ(want.vip.family, XLB_AF_INET);
}

// ---- scheduling lists

TEST_F(ConnsTest, LeastConnListIsTheActiveBackendsInIdentityOrder) {
  add_lc_vip();
  for (auto* b : {"198.19.0.13", "198.19.0.11", "fd00:19::1", "198.19.0.12"}) add(kVip, b);
  std::vector<uint32_t> want = {id("198.19.0.11"), id("198.19.0.12"), id("198.19.0.13"), id("fd00:19::1")};
  EXPECT_EQ(list(), want);
  // Every scheduler keeps its Maglev ring, so a switch is seamless.
  EXPECT_EQ(slot_counts(ring(kVip)).count(XLB_RING_EMPTY), 0u);

  // One update per change, the cursor kept.
  uint32_t vip_id = meta(kVip).vip_id;
  maps->lists[vip_id].cursor = 77;
  uint64_t lw = maps->list_writes;
  set("198.19.0.12", 0);
  EXPECT_EQ(maps->list_writes, lw + 1);
  EXPECT_EQ(list(), (std::vector<uint32_t>{want[0], want[2], want[3]}));
  EXPECT_EQ(maps->lists[vip_id].cursor, 77u);
  // A weight change does not change a least-conn list: no write.
  set("198.19.0.11", 9);
  EXPECT_EQ(maps->list_writes, lw + 1);
}

TEST_F(ConnsTest, WrrListFollowsWeights) {
  add_lc_vip(XLB_SCHED_WRR);
  add(kVip, "198.19.0.11", 5);
  add(kVip, "198.19.0.12", 1);
  add(kVip, "198.19.0.13", 1);
  uint32_t a = id("198.19.0.11"), b = id("198.19.0.12"), c = id("198.19.0.13");
  EXPECT_EQ(list(), (std::vector<uint32_t>{a, a, b, a, c, a, a}));
  set("198.19.0.11", 10);  // 10,1,1
  EXPECT_EQ(list().size(), 12u);
  set("198.19.0.12", 10);
  set("198.19.0.13", 10);  // 10,10,10 -> 1,1,1
  EXPECT_EQ(list(), (std::vector<uint32_t>{a, b, c}));
}

TEST_F(ConnsTest, MaglevVipsWriteNoList) {
  add_vip(kVip);
  add(kVip, "198.19.0.11");
  add_vip("198.18.100.2:80", TCP, kSmallRing, XLB_SCHED_RANDOM);
  add("198.18.100.2:80", "198.19.0.11");
  add_vip("198.18.100.3:80", TCP, kSmallRing, XLB_SCHED_SRC_HASH);
  add("198.18.100.3:80", "198.19.0.11");
  EXPECT_EQ(maps->list_writes, 0u);
  EXPECT_EQ(meta("198.18.100.2:80").sched, XLB_SCHED_RANDOM);
  EXPECT_EQ(meta("198.18.100.3:80").sched, XLB_SCHED_SRC_HASH);
}

TEST_F(ConnsTest, ListIsCompleteBeforeANewVipIsVisible) {
  lb->apply(parse_config_text(R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "sched": "rr",
      "ring_size": 1009, "backends": [{"address": "198.19.0.11"}, {"address": "198.19.0.12"}]}]})"));
  EXPECT_EQ(list().size(), 2u);
  EXPECT_LT(maps->first("write_vip_list"), maps->first("put_vip"));
}

TEST_F(ConnsTest, ApplyChangesTheSchedulerSeamlessly) {
  auto cfg = [](const std::string& sched) {
    return parse_config_text(R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "sched": ")" + sched +
                             R"(", "ring_size": 1009, "backends": [{"address": "198.19.0.11"},
                             {"address": "198.19.0.12", "weight": 3}]}]})");
  };
  lb->apply(cfg("maglev"));
  auto ring_before = ring(kVip);
  EXPECT_TRUE(list().empty());

  // To least-conn: the list is written before the meta names the scheduler.
  maps->log.clear();
  ApplyResult r = lb->apply(cfg("least-conn"));
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(meta(kVip).sched, XLB_SCHED_LEAST_CONN);
  EXPECT_EQ(list(), (std::vector<uint32_t>{id("198.19.0.11"), id("198.19.0.12")}));
  EXPECT_LT(maps->first("write_vip_list"), maps->first("put_vip"));
  EXPECT_EQ(ring(kVip), ring_before);  // untouched

  // least-conn -> rr: same list, only the meta.
  maps->log.clear();
  lb->apply(cfg("rr"));
  EXPECT_EQ(meta(kVip).sched, XLB_SCHED_RR);
  EXPECT_EQ(maps->logged("put_vip"), 1u);
  EXPECT_EQ(maps->first("write_vip_list"), -1);

  // rr -> wrr: the weighted sequence.
  lb->apply(cfg("wrr"));
  EXPECT_EQ(list().size(), 4u);

  // wrr -> src-hash: the meta first, then the unused list is cleared.
  maps->log.clear();
  lb->apply(cfg("src-hash"));
  EXPECT_EQ(meta(kVip).sched, XLB_SCHED_SRC_HASH);
  EXPECT_TRUE(list().empty());
  EXPECT_LT(maps->first("put_vip"), maps->first("write_vip_list"));
  EXPECT_EQ(ring(kVip), ring_before);

  // With a ring resize at the same time.
  Config c = cfg("least-conn");
  c.vips[0].ring_size = 2003;
  lb->apply(c);
  EXPECT_EQ(meta(kVip).sched, XLB_SCHED_LEAST_CONN);
  EXPECT_EQ(meta(kVip).ring_size, 2003u);
  EXPECT_EQ(list().size(), 2u);
  // Idempotent.
  uint64_t writes = maps->writes;
  r = lb->apply(c);
  EXPECT_EQ(r.added + r.removed + r.changed, 0u);
  EXPECT_EQ(maps->writes, writes);
}

TEST_F(ConnsTest, ListSchedulersTakeAtMostAListOfBackends) {
  Config c;
  VipConfig v;
  v.vip = ep(kVip);
  v.proto = TCP;
  v.sched = XLB_SCHED_LEAST_CONN;
  v.ring_size = 7;
  for (uint32_t i = 0; i <= XLB_VIP_LIST_MAX; i++) {
    xlb_addr a{};
    a.v4 = htonl(0xc6130000u + i);
    v.backends.push_back({IpAddr::from_abi(XLB_AF_INET, a), 1});
  }
  c.vips.push_back(v);
  try {
    lb->apply(c);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("least-conn takes at most 2048 backends"), std::string::npos) << e.what();
  }
  EXPECT_EQ(maps->writes, 0u + maps->config_writes);
  // Draining ones do not count.
  c.vips[0].backends[0].weight = 0;
  EXPECT_NO_THROW(lb->apply(c));
}

// ---- recovery

TEST_F(ConnsTest, RecoveryKeepsStatesCountsAndRepairsCountsAndLists) {
  add_lc_vip();
  add(kVip, "198.19.0.11");
  add(kVip, "198.19.0.12");
  add(kVip, "198.19.0.13");
  del("198.19.0.13");
  add_vip("198.18.100.2:80");
  add("198.18.100.2:80", "198.19.0.21");
  maps->conns[key_of(kVip, "198.19.0.11")] = {4, 1};
  Json before = list_json(lb->list());

  // Left behind by a crash, or by an lbd without counts:
  xlb_backend_key orphan_zero = key_of("198.18.100.9:80", "198.19.0.99");
  xlb_backend_key orphan_busy = key_of("198.18.100.9:80", "198.19.0.98");
  maps->conns[orphan_zero] = {0, 0};
  maps->conns[orphan_busy] = {2, 0};
  maps->conns.erase(key_of(kVip, "198.19.0.12"));                   // missing entry
  maps->lists[meta(kVip).vip_id].ids = {id("198.19.0.12")};           // half-written list
  maps->lists[meta("198.18.100.2:80").vip_id].ids = {id_of("198.18.100.2:80", "198.19.0.21")};  // maglev VIP
  maps->log.clear();

  auto again = make();
  EXPECT_EQ(list_json(again->list()), before);
  EXPECT_EQ(maps->conn(key_of(kVip, "198.19.0.11")).active, 4);  // untouched
  EXPECT_EQ(maps->conns.count(orphan_zero), 0u);
  EXPECT_EQ(maps->conn(orphan_busy).active, 2);  // a unit may still come back
  EXPECT_EQ(maps->conn(key_of(kVip, "198.19.0.12")).active, 0);  // recreated
  EXPECT_EQ(list(), (std::vector<uint32_t>{id("198.19.0.11"), id("198.19.0.12")}));
  EXPECT_TRUE(maps->lists[meta("198.18.100.2:80").vip_id].ids.empty());
  EXPECT_EQ(maps->logged("adjust"), 0u);

  // The removed backend is still removed, and free once no flow needs it.
  lb = std::move(again);
  EXPECT_EQ(view(kVip, "198.19.0.13")->state, BackendStatus::kRemoved);
  EXPECT_EQ(lb->free_removed(none_referenced(), lb->removal_generation()).size(), 1u);

  // Consistent maps: a restart writes nothing.
  uint64_t writes = maps->writes;
  lb = make();
  EXPECT_EQ(maps->writes, writes);
}

TEST_F(ConnsTest, RecoveryRepairsContradictoryFlags) {
  add_lc_vip();
  add(kVip, "198.19.0.11");
  uint32_t b = id("198.19.0.11");
  maps->backends.at(b).flags |= XLB_BACKEND_F_REMOVED;  // REMOVED and IN_RING
  lb = make();
  EXPECT_EQ(maps->backends.at(b).flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED);
  EXPECT_EQ(view(kVip, "198.19.0.11")->state, BackendStatus::kRemoved);
  EXPECT_TRUE(list().empty());
}

}  // namespace
}  // namespace xlb
