// The balancer with nat, fullnat and l2dsr VIPs: backend ports as part of
// the identity, lookups by address and optional port, the family and port
// rules per mode, XLB_CFG_F_NAT and the fullnat settings in xlb_config,
// apply replacing a VIP whose mode changed, recovery, and the reply entries
// (xlb_nat_rev) purge and del-vip delete.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "balancer_fixture.h"
#include "core/error.h"
#include "core/views_json.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using testing::ep;
using testing::FakeMapIo;
using testing::FakeMaps;
using testing::ip;
using testing::kSmallRing;
using testing::TCP;
using Json = nlohmann::json;

const char* kVip = "198.18.100.1:80";

class NatBalancerTest : public BalancerTest {
 protected:
  void add_vip_mode(const std::string& vip, uint8_t mode) {
    VipSpec s;
    s.vip = ep(vip);
    s.proto = TCP;
    s.mode = mode;
    s.ring_size = kSmallRing;
    lb->add_vip(s);
  }
  void addp(const std::string& be, uint16_t port, uint32_t weight = 1, const std::string& vip = kVip) {
    lb->add_backend(ep(vip), TCP, ip(be), weight, port);
  }
  // backend_id of the backend with that address and stored port.
  uint32_t idp(const std::string& be, uint16_t port, const std::string& vip = kVip) {
    for (const auto& v : lb->list())
      if (v.vip == ep(vip))
        for (const auto& b : v.backends)
          if (b.address == ip(be) && b.port == port) return b.id;
    ADD_FAILURE() << "no backend " << be << " port " << port;
    return ~0u;
  }
  // A reply entry: the backend's reply to `to`, for the client flow
  // client -> vip, sent to backend_id.
  void add_rev(const std::string& backend, const std::string& to, const std::string& client, uint32_t backend_id,
               const std::string& vip = kVip) {
    xlb_nat_rev r{};
    r.fwd = flow_key(client, vip, TCP);
    r.backend_id = backend_id;
    maps->nat_rev[flow_key(backend, to, TCP)] = r;
  }
  bool flag() const { return maps->config.flags & XLB_CFG_F_NAT; }
  std::string error_of(const std::function<void()>& op) {
    try {
      op();
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }
};

// ---- identity and lookups

TEST_F(NatBalancerTest, BackendPortsMakeIdentities) {
  add_vip_mode(kVip, XLB_MODE_NAT);
  addp("198.19.0.11", 8080);
  addp("198.19.0.11", 8081, 2);
  addp("198.19.0.12", 80);  // the VIP's port: no port of its own
  uint32_t a = idp("198.19.0.11", 8080), b = idp("198.19.0.11", 8081), c = idp("198.19.0.12", 0);
  EXPECT_NE(a, b);
  EXPECT_EQ(ntohs(maps->backends.at(a).port), 8080);
  EXPECT_EQ(ntohs(maps->backends.at(b).port), 8081);
  EXPECT_EQ(maps->backends.at(c).port, 0);
  EXPECT_EQ(maps->backends.at(b).weight, 2u);
  // Each identity has its own count entry.
  auto vk = make_vip_key(ep(kVip), TCP);
  EXPECT_EQ(maps->conns.count(make_backend_key(vk, ip("198.19.0.11"), 8080)), 1u);
  EXPECT_EQ(maps->conns.count(make_backend_key(vk, ip("198.19.0.11"), 8081)), 1u);
  EXPECT_EQ(maps->conns.count(make_backend_key(vk, ip("198.19.0.12"), 0)), 1u);
  // And its own ring share.
  auto n = slot_counts(ring(kVip));
  EXPECT_GT(n[b], n[a]);
  EXPECT_GT(n[a], 0u);

  std::string snap = snapshot();
  EXPECT_EQ(error_of([&] { addp("198.19.0.11", 8080); }),
            "backend 198.19.0.11:8080 of VIP 198.18.100.1:80/tcp already exists");
  EXPECT_EQ(error_of([&] { addp("198.19.0.12", 0); }), "backend 198.19.0.12 of VIP 198.18.100.1:80/tcp already exists");
  EXPECT_EQ(snapshot(), snap);

  Json j = list_json(lb->list());
  EXPECT_EQ(j[0]["mode"], "nat");
  EXPECT_EQ(j[0]["backends"][0]["address"], "198.19.0.11");
  EXPECT_EQ(j[0]["backends"][0]["port"], 8080);
  EXPECT_EQ(j[0]["backends"][1]["port"], 8081);
  EXPECT_FALSE(j[0]["backends"][2].contains("port"));
}

TEST_F(NatBalancerTest, AnAddressAloneMustNameOneBackend) {
  add_vip_mode(kVip, XLB_MODE_FULLNAT);
  addp("198.19.0.11", 8080);
  addp("198.19.0.11", 8081);
  addp("198.19.0.12", 0);
  std::string snap = snapshot();
  uint64_t writes = maps->writes;
  const char* ambiguous =
      "VIP 198.18.100.1:80/tcp has 2 backends at 198.19.0.11 (ports 8080, 8081): give the port (lbctl: --port)";
  EXPECT_EQ(error_of([&] { lb->del_backend(ep(kVip), TCP, ip("198.19.0.11"), false); }), ambiguous);
  EXPECT_EQ(error_of([&] { lb->set_backend(ep(kVip), TCP, ip("198.19.0.11"), 0); }), ambiguous);
  EXPECT_EQ(error_of([&] { lb->del_backend(ep(kVip), TCP, {ip("198.19.0.11"), 9000}, false); }),
            "unknown backend 198.19.0.11:9000 of VIP 198.18.100.1:80/tcp");
  EXPECT_EQ(error_of([&] { lb->del_backend(ep(kVip), TCP, ip("198.19.0.13"), false); }),
            "unknown backend 198.19.0.13 of VIP 198.18.100.1:80/tcp");
  EXPECT_EQ(maps->writes, writes);
  EXPECT_EQ(snapshot(), snap);

  // With the port: that one only.
  uint32_t a = idp("198.19.0.11", 8080), b = idp("198.19.0.11", 8081);
  lb->set_backend(ep(kVip), TCP, {ip("198.19.0.11"), 8081}, 0);
  EXPECT_EQ(maps->backends.at(b).flags, XLB_BACKEND_F_USED);  // draining
  EXPECT_EQ(maps->backends.at(a).flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_IN_RING);
  lb->del_backend(ep(kVip), TCP, {ip("198.19.0.11"), 8081}, true);
  EXPECT_EQ(maps->backends.at(b).flags, 0);
  // Now the address names one backend again.
  lb->set_backend(ep(kVip), TCP, ip("198.19.0.11"), 5);
  EXPECT_EQ(maps->backends.at(a).weight, 5u);
  // The VIP's port names the backend without a port of its own.
  lb->set_backend(ep(kVip), TCP, {ip("198.19.0.12"), 80}, 3);
  EXPECT_EQ(maps->backends.at(idp("198.19.0.12", 0)).weight, 3u);
}

TEST_F(NatBalancerTest, AmbiguityCountsTheVipsPortForABackendWithoutOne) {
  add_vip_mode(kVip, XLB_MODE_NAT);
  addp("198.19.0.11", 0);
  addp("198.19.0.11", 8080);
  EXPECT_EQ(error_of([&] { lb->del_backend(ep(kVip), TCP, ip("198.19.0.11"), false); }),
            "VIP 198.18.100.1:80/tcp has 2 backends at 198.19.0.11 (ports 80, 8080): give the port (lbctl: --port)");
}

// ---- rules per mode

TEST_F(NatBalancerTest, OnlyNatAndFullnatRemapPorts) {
  add_vip_mode("198.18.100.1:80", XLB_MODE_IPIP);
  add_vip_mode("198.18.100.2:80", XLB_MODE_L2DSR);
  std::string snap = snapshot();
  uint64_t writes = maps->writes;
  EXPECT_EQ(error_of([&] { addp("198.19.0.11", 8080, 1, "198.18.100.1:80"); }),
            "port: mode ipip cannot remap ports: the backend gets the VIP's port (only nat and fullnat can)");
  EXPECT_EQ(error_of([&] { addp("198.19.0.11", 80, 1, "198.18.100.2:80"); }),
            "port: mode l2dsr cannot remap ports: the backend gets the VIP's port (only nat and fullnat can)");
  EXPECT_EQ(maps->writes, writes);
  EXPECT_EQ(snapshot(), snap);
}

TEST_F(NatBalancerTest, FamilyRulesPerMode) {
  add_vip_mode("198.18.100.1:80", XLB_MODE_NAT);
  add_vip_mode("[fd00:100::1]:80", XLB_MODE_L2DSR);
  add_vip_mode("198.18.100.3:80", XLB_MODE_IPIP);
  std::string snap = snapshot();
  EXPECT_EQ(error_of([&] { addp("fd00:19::11", 0, 1, "198.18.100.1:80"); }),
            "IPv6 backend fd00:19::11 cannot serve IPv4 VIP 198.18.100.1:80 (mode nat keeps the packet's family)");
  EXPECT_EQ(error_of([&] { addp("198.19.0.11", 0, 1, "[fd00:100::1]:80"); }),
            "IPv4 backend 198.19.0.11 cannot serve IPv6 VIP [fd00:100::1]:80 (mode l2dsr keeps the packet's family)");
  EXPECT_EQ(snapshot(), snap);
  addp("fd00:19::11", 0, 1, "198.18.100.3:80");  // ipip: IPv4 in IPv6
  addp("fd00:19::11", 0, 1, "[fd00:100::1]:80");
  addp("198.19.0.11", 8080, 1, "198.18.100.1:80");
}

// ---- XLB_CFG_F_NAT and the fullnat settings

TEST_F(NatBalancerTest, NatFlagIsSetBeforeTheFirstNatVipAndClearedAfterTheLast) {
  add_vip_mode("198.18.100.9:80", XLB_MODE_IPIP);
  add_vip_mode("198.18.100.8:80", XLB_MODE_L2DSR);
  EXPECT_FALSE(flag());
  maps->log.clear();
  add_vip_mode("198.18.100.1:80", XLB_MODE_NAT);
  EXPECT_TRUE(flag());
  EXPECT_LT(maps->first("write_config"), maps->first("put_vip"));
  add_vip_mode("198.18.100.2:80", XLB_MODE_FULLNAT);
  lb->del_vip(ep("198.18.100.1:80"), TCP);
  EXPECT_TRUE(flag());  // the fullnat VIP still needs it
  maps->log.clear();
  lb->del_vip(ep("198.18.100.2:80"), TCP);
  EXPECT_FALSE(flag());
  EXPECT_LT(maps->first("delete_vip"), maps->first("write_config"));
  // Only the flag changed.
  EXPECT_EQ(maps->config.snat_port_min, 1024);
  EXPECT_EQ(maps->config.encap_src_v4.v4, ip("172.16.0.0").addr.v4);  // the default prefix
}

TEST_F(NatBalancerTest, SnatFieldsComeFromTheInterfaceOrTheConfig) {
  // Fresh maps: the interface's addresses and the default range.
  EXPECT_EQ(maps->config.snat_src_v4.v4, ip("198.18.0.1").addr.v4);
  EXPECT_EQ(IpAddr::from_abi(XLB_AF_INET6, maps->config.snat_src_v6), ip("fd00::1"));
  EXPECT_EQ(maps->config.snat_port_min, 1024);
  EXPECT_EQ(maps->config.snat_port_max, 32767);

  ApplyResult r = lb->apply(parse_config_text(
      R"({"fullnat": {"source_v4": "198.18.3.1", "source_v6": "fd00:3::1", "port_min": 2000, "port_max": 2999}})"));
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(maps->config.snat_src_v4.v4, ip("198.18.3.1").addr.v4);
  EXPECT_EQ(IpAddr::from_abi(XLB_AF_INET6, maps->config.snat_src_v6), ip("fd00:3::1"));
  EXPECT_EQ(maps->config.snat_port_min, 2000);
  EXPECT_EQ(maps->config.snat_port_max, 2999);
  EXPECT_EQ(fullnat_json(lb->fullnat()), Json::parse(R"({"source_v4": "198.18.3.1", "source_v6": "fd00:3::1",
                                                         "port_min": 2000, "port_max": 2999})"));
  // Left out again: back to the defaults.
  r = lb->apply(parse_config_text("{}"));
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(maps->config.snat_src_v4.v4, ip("198.18.0.1").addr.v4);
  EXPECT_EQ(maps->config.snat_port_max, 32767);
}

TEST_F(NatBalancerTest, FullnatNeedsASourceOfTheVipsFamily) {
  maps = std::make_shared<FakeMaps>();
  lb = make(EncapDefaults{ip("198.18.0.1"), std::nullopt, {}});  // no IPv6 address on the interface
  std::string snap = snapshot();
  uint64_t writes = maps->writes;
  VipSpec s{ep("[fd00:100::1]:80"), TCP, XLB_SCHED_MAGLEV, XLB_MODE_FULLNAT, kSmallRing};
  const char* message =
      "VIP [fd00:100::1]:80/tcp: mode fullnat needs an IPv6 source address: set fullnat.source_v6 in the config "
      "(lbd's interfaces have none)";
  EXPECT_EQ(error_of([&] { lb->add_vip(s); }), message);
  EXPECT_EQ(error_of([&] {
              lb->apply(parse_config_text(R"({"vips": [{"vip": "[fd00:100::1]:80", "proto": "tcp",
                                                         "mode": "fullnat"}]})"));
            }),
            message);
  EXPECT_EQ(maps->writes, writes);
  EXPECT_EQ(snapshot(), snap);
  EXPECT_FALSE(flag());

  // nat needs no source; fullnat of IPv4 has the interface's; IPv6 with a configured one.
  add_vip_mode("[fd00:100::2]:80", XLB_MODE_NAT);
  add_vip_mode("198.18.100.1:80", XLB_MODE_FULLNAT);
  lb->apply(parse_config_text(R"({"fullnat": {"source_v6": "fd00:3::1"},
                                  "vips": [{"vip": "[fd00:100::1]:80", "proto": "tcp", "mode": "fullnat"}]})"));
  EXPECT_EQ(meta("[fd00:100::1]:80").mode, XLB_MODE_FULLNAT);
  EXPECT_TRUE(flag());
}

// ---- apply

TEST_F(NatBalancerTest, ApplyReplacesAVipWhoseModeChanged) {
  const char* ipip = R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "ring_size": 1009,
      "backends": [{"address": "198.19.0.11"}, {"address": "198.19.0.12"}]},
      {"vip": "198.18.100.2:80", "proto": "tcp", "ring_size": 1009, "backends": [{"address": "198.19.0.21"}]}]})";
  lb->apply(parse_config_text(ipip));
  uint32_t other = id_of("198.18.100.2:80", "198.19.0.21");
  add_flow("198.18.0.2:1", kVip, TCP, id_of(kVip, "198.19.0.11"));
  add_flow("198.18.0.2:2", kVip, TCP, id_of(kVip, "198.19.0.12"));
  add_flow("198.18.0.2:3", "198.18.100.2:80", TCP, other);
  maps->conns[key_of(kVip, "198.19.0.11")] = {1, 0};
  EXPECT_FALSE(flag());

  const char* nat = R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "mode": "nat", "ring_size": 1009,
      "backends": [{"address": "198.19.0.11", "port": 8080}, {"address": "198.19.0.12"}]},
      {"vip": "198.18.100.2:80", "proto": "tcp", "ring_size": 1009, "backends": [{"address": "198.19.0.21"}]}]})";
  maps->log.clear();
  ApplyResult r = lb->apply(parse_config_text(nat));
  EXPECT_EQ(r.removed, 3u);  // the VIP and its two backends
  EXPECT_EQ(r.added, 3u);    // and again, in mode nat
  EXPECT_EQ(r.changed, 0u);
  EXPECT_EQ(meta(kVip).mode, XLB_MODE_NAT);
  EXPECT_TRUE(flag());
  // Its flows are gone (as del-vip does), the other VIP's stay.
  EXPECT_EQ(maps->flows.size(), 1u);
  EXPECT_EQ(maps->flows.begin()->second.backend_id, other);
  EXPECT_EQ(id_of("198.18.100.2:80", "198.19.0.21"), other);
  // The old identities' counts went with them; the new ones start at zero.
  EXPECT_EQ(maps->conns.count(key_of(kVip, "198.19.0.11")), 0u);
  EXPECT_EQ(maps->conn(make_backend_key(make_vip_key(ep(kVip), TCP), ip("198.19.0.11"), 8080)).active, 0);
  // The flag came first, before the nat VIP was visible again.
  EXPECT_LT(maps->first("write_config"), maps->first("put_vip"));

  // Applying it again changes nothing.
  uint64_t writes = maps->writes;
  r = lb->apply(parse_config_text(nat));
  EXPECT_EQ(r.added + r.removed + r.changed, 0u);
  EXPECT_EQ(maps->writes, writes);
  r = lb->apply(lb->current_config());
  EXPECT_EQ(r.added + r.removed + r.changed, 0u);
  EXPECT_EQ(maps->writes, writes);

  // Back to ipip: replaced again, and no nat VIP is left.
  r = lb->apply(parse_config_text(ipip));
  EXPECT_EQ(r.removed, 3u);
  EXPECT_EQ(meta(kVip).mode, XLB_MODE_IPIP);
  EXPECT_FALSE(flag());
}

TEST_F(NatBalancerTest, ApplyKeysBackendsByAddressAndPort) {
  const char* v1 = R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "mode": "fullnat", "ring_size": 1009,
      "backends": [{"address": "198.19.0.11", "port": 8080}, {"address": "198.19.0.11", "port": 8081},
                   {"address": "198.19.0.12", "port": 80}]}]})";
  ApplyResult r = lb->apply(parse_config_text(v1));
  EXPECT_EQ(r.added, 4u);
  EXPECT_EQ(lb->backend_count(), 3u);
  uint32_t a = idp("198.19.0.11", 8080);
  EXPECT_EQ(maps->backends.at(idp("198.19.0.12", 0)).port, 0);  // "port": 80 on a VIP of port 80

  // 8081 leaves, 8082 comes, 8080 gets a weight: the others are untouched.
  const char* v2 = R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "mode": "fullnat", "ring_size": 1009,
      "backends": [{"address": "198.19.0.11", "port": 8080, "weight": 4}, {"address": "198.19.0.11", "port": 8082},
                   {"address": "198.19.0.12"}]}]})";
  r = lb->apply(parse_config_text(v2));
  EXPECT_EQ(r.added, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(idp("198.19.0.11", 8080), a);
  EXPECT_EQ(maps->backends.at(a).weight, 4u);
  EXPECT_EQ(maps->backends.at(idp("198.19.0.11", 8081)).flags, XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED);

  Config c = lb->current_config();
  Json backends = config_to_json(c)["vips"][0]["backends"];
  EXPECT_EQ(backends, Json::parse(R"([{"address": "198.19.0.11", "port": 8080, "weight": 4},
                                      {"address": "198.19.0.11", "port": 8082, "weight": 1},
                                      {"address": "198.19.0.12", "weight": 1}])"));
}

TEST_F(NatBalancerTest, ApplyRefusesPortsAndDuplicatesInCodeBuiltConfigs) {
  Config c;
  VipConfig v;
  v.vip = ep(kVip);
  v.proto = TCP;
  v.ring_size = kSmallRing;
  v.backends.push_back({ip("198.19.0.11"), 1, 8080});
  c.vips.push_back(v);
  uint64_t writes = maps->writes;
  EXPECT_EQ(error_of([&] { lb->apply(c); }),
            "198.18.100.1:80/tcp backend 198.19.0.11:8080: mode ipip cannot remap ports: the backend gets the VIP's "
            "port (only nat and fullnat can)");
  c.vips[0].mode = XLB_MODE_NAT;
  c.vips[0].backends.push_back({ip("198.19.0.11"), 1, 8080});
  EXPECT_EQ(error_of([&] { lb->apply(c); }), "198.18.100.1:80/tcp: duplicate backend 198.19.0.11:8080");
  c.vips[0].backends.pop_back();
  c.fullnat.port_min = 9;
  c.fullnat.port_max = 8;
  EXPECT_EQ(error_of([&] { lb->apply(c); }), "fullnat.port_min: must not exceed port_max (9 > 8)");
  EXPECT_EQ(maps->writes, writes);
}

// ---- recovery

TEST_F(NatBalancerTest, RecoveryRestoresModesPortsAndFullnatSettings) {
  lb->apply(parse_config_text(R"({"fullnat": {"source_v4": "198.18.3.1", "port_min": 5000, "port_max": 5999},
    "vips": [
      {"vip": "198.18.100.1:80", "proto": "tcp", "mode": "nat", "ring_size": 1009,
       "backends": [{"address": "198.19.0.11", "port": 8080}, {"address": "198.19.0.11", "port": 8081, "weight": 0}]},
      {"vip": "198.18.100.2:80", "proto": "tcp", "mode": "fullnat", "sched": "least-conn", "ring_size": 1009,
       "backends": [{"address": "198.19.0.21", "port": 9000}]},
      {"vip": "[fd00:100::1]:80", "proto": "tcp", "mode": "l2dsr", "ring_size": 1009,
       "backends": [{"address": "fd00:19::11"}]}]})"));
  lb->del_backend(ep("198.18.100.2:80"), TCP, {ip("198.19.0.21"), 9000}, false);
  Json before = list_json(lb->list());
  Json config_before = config_to_json(lb->current_config());
  EXPECT_EQ(config_before["fullnat"], Json::parse(R"({"source_v4": "198.18.3.1", "source_v6": "fd00::1",
                                                      "port_min": 5000, "port_max": 5999})"));

  uint64_t writes = maps->writes;
  auto again = make(EncapDefaults{ip("10.0.0.1"), ip("fd00:99::1"), {}});  // the maps' settings win
  EXPECT_EQ(maps->writes, writes);
  EXPECT_EQ(list_json(again->list()), before);
  EXPECT_EQ(config_to_json(again->current_config()), config_before);
  EXPECT_TRUE(again->nat_flag());
  EXPECT_EQ(again->fullnat().port_min, 5000);

  // It carries on: the address alone is still ambiguous, the port is not.
  lb = std::move(again);
  EXPECT_THROW(lb->set_backend(ep(kVip), TCP, ip("198.19.0.11"), 1), InputError);
  lb->set_backend(ep(kVip), TCP, {ip("198.19.0.11"), 8081}, 1);
  EXPECT_EQ(maps->backends.at(idp("198.19.0.11", 8081)).weight, 1u);
  lb->del_vip(ep(kVip), TCP);
  lb->del_vip(ep("198.18.100.2:80"), TCP);
  EXPECT_FALSE(flag());
}

TEST_F(NatBalancerTest, RecoveryRepairsTheNatFlagAndTheFullnatRange) {
  add_vip_mode(kVip, XLB_MODE_FULLNAT);
  maps->config.flags = 0;           // died between the flag and... the VIP
  maps->config.snat_port_min = 0;   // from maps of an older lbd
  maps->config.snat_port_max = 0;
  maps->config.snat_src_v4 = xlb_addr{};
  auto again = make();
  EXPECT_TRUE(flag());
  EXPECT_EQ(maps->config.snat_port_min, 1024);
  EXPECT_EQ(maps->config.snat_port_max, 32767);
  EXPECT_EQ(maps->config.snat_src_v4.v4, ip("198.18.0.1").addr.v4);

  again->del_vip(ep(kVip), TCP);
  maps->config.flags = XLB_CFG_F_NAT;  // and the other way round
  maps->config.snat_port_min = 40000;  // a broken range
  make();
  EXPECT_FALSE(flag());
  EXPECT_EQ(maps->config.snat_port_min, 1024);
}

// ---- reply entries

TEST_F(NatBalancerTest, PurgeDeletesTheReplyEntriesOfThePurgedFlows) {
  add_vip_mode(kVip, XLB_MODE_NAT);
  addp("198.19.0.11", 8080);
  addp("198.19.0.12", 8080);
  uint32_t gone = idp("198.19.0.11", 8080), keep = idp("198.19.0.12", 8080);
  add_flow("198.18.0.2:1", kVip, TCP, gone, 0, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_NAT);
  add_flow("198.18.0.2:2", kVip, TCP, gone, 0, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_NAT);
  add_flow("198.18.0.2:3", kVip, TCP, keep, 0, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_NAT);
  add_rev("198.19.0.11:8080", "198.18.0.2:1", "198.18.0.2:1", gone);
  add_rev("198.19.0.11:8080", "198.18.0.2:2", "198.18.0.2:2", gone);
  add_rev("198.19.0.12:8080", "198.18.0.2:3", "198.18.0.2:3", keep);

  maps->log.clear();
  EXPECT_EQ(lb->del_backend(ep(kVip), TCP, {ip("198.19.0.11"), 8080}, true), 2u);
  EXPECT_EQ(maps->flows.size(), 1u);
  ASSERT_EQ(maps->nat_rev.size(), 1u);
  EXPECT_EQ(maps->nat_rev.begin()->second.backend_id, keep);
  // The flows first, then their reply entries, then the id is freed.
  EXPECT_LT(maps->first("delete_flow"), maps->first("delete_nat_rev"));
  EXPECT_LT(maps->first("delete_nat_rev"), maps->first("clear_backend"));
}

TEST_F(NatBalancerTest, DelVipDeletesItsReplyEntries) {
  add_vip_mode(kVip, XLB_MODE_FULLNAT);
  add_vip_mode("198.18.100.2:80", XLB_MODE_FULLNAT);
  addp("198.19.0.11", 8080);
  addp("198.19.0.11", 8080, 1, "198.18.100.2:80");
  uint32_t a = idp("198.19.0.11", 8080), other = idp("198.19.0.11", 8080, "198.18.100.2:80");
  add_rev("198.19.0.11:8080", "198.18.0.1:1024", "198.18.0.2:1", a);
  add_rev("198.19.0.11:8080", "198.18.0.1:1025", "198.18.0.2:2", other, "198.18.100.2:80");
  lb->del_vip(ep(kVip), TCP);
  ASSERT_EQ(maps->nat_rev.size(), 1u);
  EXPECT_EQ(maps->nat_rev.begin()->second.backend_id, other);
}

TEST_F(NatBalancerTest, VipsThatDoNotTranslateLeaveTheReplyTableAlone) {
  add_vip_mode(kVip, XLB_MODE_IPIP);
  add(kVip, "198.19.0.11");
  uint32_t id = id_of(kVip, "198.19.0.11");
  add_rev("198.19.0.11:80", "198.18.0.2:1", "198.18.0.2:1", id);  // not ipip's: the reaper's business
  lb->del_backend(ep(kVip), TCP, ip("198.19.0.11"), true);
  EXPECT_EQ(maps->nat_rev.size(), 1u);
  EXPECT_EQ(maps->logged("delete_nat_rev"), 0u);
}

// ---- views

TEST_F(NatBalancerTest, FlowsShowBackendPortsAndNatPorts) {
  add_vip_mode(kVip, XLB_MODE_FULLNAT);
  add_vip_mode("198.18.100.2:8080", XLB_MODE_NAT);
  addp("198.19.0.11", 8080);
  addp("198.19.0.11", 8081);
  addp("198.19.0.11", 0, 1, "198.18.100.2:8080");  // the VIP's port: 8080 too
  uint32_t a = idp("198.19.0.11", 8080), b = idp("198.19.0.11", 8081);
  uint32_t c = idp("198.19.0.11", 0, "198.18.100.2:8080");
  add_flow("198.18.0.2:1", kVip, TCP, a, 0, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_NAT);
  maps->flows.begin()->second.nat_port = htons(1024);
  add_flow("198.18.0.2:2", kVip, TCP, b, 0, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_NAT);
  add_flow("198.18.0.2:3", "198.18.100.2:8080", TCP, c, 0, XLB_FLOW_TCP_ESTABLISHED, XLB_FLOW_F_NAT);

  FlowQuery q;
  q.backend = ip("198.19.0.11");
  EXPECT_EQ(lb->flows(q, 0).total, 3u);  // every port of the address
  q.backend_port = 8080;
  FlowsView v = lb->flows(q, 0);
  EXPECT_EQ(v.total, 2u);  // its own port 8080, and the VIP's port 8080
  q.backend_port = 8081;
  EXPECT_EQ(lb->flows(q, 0).total, 1u);
  q.vip = {ep(kVip), TCP};
  q.backend_port = 8080;
  Json j = flows_json(lb->flows(q, 0));
  EXPECT_EQ(j, Json::parse(R"({"total": 1, "truncated": false, "flows": [
    {"proto": "tcp", "src": "198.18.0.2:1", "dst": "198.18.100.1:80", "backend": "198.19.0.11",
     "backend_port": 8080, "nat_port": 1024, "state": "established", "idle_ms": 0}]})"));
  q = {};
  q.vip = {ep("198.18.100.2:8080"), TCP};
  j = flows_json(lb->flows(q, 0));
  EXPECT_FALSE(j["flows"][0].contains("backend_port"));
  EXPECT_FALSE(j["flows"][0].contains("nat_port"));
  q = {};
  q.backend_port = 8080;
  EXPECT_EQ(error_of([&] { lb->flows(q, 0); }), "backend_port: needs backend");
}

TEST_F(NatBalancerTest, StatsNameBackendPorts) {
  add_vip_mode(kVip, XLB_MODE_NAT);
  addp("198.19.0.11", 8080);
  addp("198.19.0.11", 0);
  Json j = stats_json(lb->stats());
  EXPECT_EQ(j["vips"][0]["backends"], Json::parse(R"([{"address": "198.19.0.11", "packets": 0, "bytes": 0},
    {"address": "198.19.0.11", "port": 8080, "packets": 0, "bytes": 0}])"));
}

}  // namespace
}  // namespace xlb
