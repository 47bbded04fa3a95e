// The balancer test fixture: a Balancer over a FakeMapIo, with helpers to
// add VIPs, backends and flows and to look at the fake maps. Shared by the
// balancer, counts and reaper tests.
#pragma once
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <map>
#include <memory>
#include <string>

#include "core/balancer.h"
#include "fake_map_io.h"

namespace xlb::testing {

using Json = nlohmann::json;

inline constexpr uint32_t kSmallRing = 1009;  // prime; keeps tests fast
inline constexpr uint8_t TCP = IPPROTO_TCP;
inline constexpr uint8_t UDP = IPPROTO_UDP;

inline Endpoint ep(const std::string& s) { return Endpoint::parse(s); }
inline IpAddr ip(const std::string& s) { return IpAddr::parse(s); }

// As lbd passes them: the interface's first addresses, and all of them as
// the load balancer's own (refused as VIPs and backends).
inline EncapDefaults iface_defaults() {
  return {ip("198.18.0.1"), ip("fd00::1"), {ip("198.18.0.1"), ip("fd00::1")}};
}

class BalancerTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeMaps> maps = std::make_shared<FakeMaps>();
  std::unique_ptr<Balancer> lb = make();

  std::unique_ptr<Balancer> make(EncapDefaults d = iface_defaults()) {
    auto b = std::make_unique<Balancer>(std::make_unique<FakeMapIo>(maps), d);
    b->recover();
    return b;
  }

  void add_vip(const std::string& vip, uint8_t proto = TCP, uint32_t ring = kSmallRing,
               uint8_t sched = XLB_SCHED_MAGLEV) {
    VipSpec s;
    s.vip = ep(vip);
    s.proto = proto;
    s.ring_size = ring;
    s.sched = sched;
    lb->add_vip(s);
  }
  void add(const std::string& vip, const std::string& be, uint32_t weight = 1) {
    lb->add_backend(ep(vip), TCP, ip(be), weight);
  }

  const xlb_vip_meta& meta(const std::string& vip, uint8_t proto = TCP) {
    return maps->vips.at(make_vip_key(ep(vip), proto));
  }
  const std::vector<uint32_t>& ring(const std::string& vip, uint8_t proto = TCP) {
    return maps->rings.at(meta(vip, proto).vip_id);
  }
  // backend_id of a backend, from the listing.
  uint32_t id_of(const std::string& vip, const std::string& be) {
    for (const auto& v : lb->list())
      if (v.vip == ep(vip))
        for (const auto& b : v.backends)
          if (b.address == ip(be)) return b.id;
    ADD_FAILURE() << "no backend " << be;
    return ~0u;
  }
  const BackendView* view(const std::string& vip, const std::string& be) {
    static std::vector<VipView> last;
    last = lb->list();
    for (const auto& v : last)
      if (v.vip == ep(vip))
        for (const auto& b : v.backends)
          if (b.address == ip(be)) return &b;
    return nullptr;
  }
  static std::map<uint32_t, uint32_t> slot_counts(const std::vector<uint32_t>& r) {
    std::map<uint32_t, uint32_t> n;
    for (uint32_t id : r) n[id]++;
    return n;
  }
  static xlb_flow_key flow_key(const std::string& src, const std::string& dst, uint8_t proto) {
    Endpoint s = ep(src), d = ep(dst);
    xlb_flow_key k;
    std::memset(&k, 0, sizeof k);
    k.src = s.ip.addr;
    k.dst = d.ip.addr;
    k.sport = htons(s.port);
    k.dport = htons(d.port);
    k.proto = proto;
    k.family = d.ip.family;
    return k;
  }
  // The count identity of a backend (port 0: the VIP's).
  static xlb_backend_key key_of(const std::string& vip, const std::string& be, uint8_t proto = TCP) {
    return make_backend_key(make_vip_key(ep(vip), proto), ip(be), 0);
  }
  void add_flow(const std::string& src, const std::string& dst, uint8_t proto, uint32_t backend_id,
                uint64_t last_seen = 0, uint8_t state = XLB_FLOW_TCP_ESTABLISHED, uint32_t flags = 0) {
    Endpoint s = ep(src), d = ep(dst);
    xlb_flow_key k;
    std::memset(&k, 0, sizeof k);
    k.src = s.ip.addr;
    k.dst = d.ip.addr;
    k.sport = htons(s.port);
    k.dport = htons(d.port);
    k.proto = proto;
    k.family = d.ip.family;
    xlb_flow f{};
    f.backend_id = backend_id;
    f.last_seen_ns = last_seen;
    f.state = state;
    f.flags = flags;
    maps->flows[k] = f;
  }
  // Everything the maps hold, for "nothing changed" comparisons.
  std::string snapshot() {
    Json j;
    for (const auto& [k, v] : maps->vips)
      j["vips"].push_back({v.vip_id, v.ring_size, v.mode, v.sched, make_vip_key_str(k)});
    for (const auto& [k, n] : maps->vip_addrs) j["addrs"].push_back(n);
    for (const auto& [id, r] : maps->rings) j["rings"][std::to_string(id)] = r;
    for (uint32_t id = 0; id < 64; id++) {
      const auto& b = maps->backends[id];
      j["backends"].push_back({b.vip_id, b.weight, b.flags, b.family, b.addr.v6[0], b.addr.v6[3]});
    }
    j["flows"] = maps->flows.size();
    j["config"] = {maps->config.hash_seed, maps->config.encap_src_v4.v4};
    return j.dump();
  }
  static std::string make_vip_key_str(const xlb_vip_key& k) {
    return IpAddr::from_abi(k.family, k.addr).str() + ":" + std::to_string(ntohs(k.port)) + "/" +
           std::to_string(k.proto);
  }
};

}  // namespace xlb::testing
