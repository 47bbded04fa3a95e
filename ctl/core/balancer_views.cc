// Read-only views of the balancer: list, stats and flows.
#include <arpa/inet.h>

#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "balancer.h"
#include "nat_clash.h"
#include "error.h"
#include "rules.h"

namespace xlb {

std::vector<VipView> Balancer::list() {
  ensure_in_sync();
  BackendKeyMap<xlb_conn_count> counts;
  for (const auto& [key, c] : io_->read_conns()) counts[key] = c;
  std::vector<VipView> out;
  for (const auto& [vid, v] : vips_) {
    VipView view = view_head(v);
    for (const auto& [key, b] : v.backends) {
      BackendView bv;
      bv.address = key.first;
      bv.port = key.second;
      bv.id = b.id;
      bv.weight = b.weight;
      bv.state = b.removed   ? BackendStatus::kRemoved
                 : b.in_ring ? BackendStatus::kActive
                             : BackendStatus::kDraining;
      bv.ring_slots = b.ring_slots;
      if (auto c = counts.find(identity(v, key)); c != counts.end()) {
        bv.conns_active = c->second.active;
        bv.conns_half_open = c->second.half_open;
      }
      view.backends.push_back(bv);
    }
    out.push_back(std::move(view));
  }
  return out;
}

StatsView Balancer::stats() {
  StatsView s;
  s.global = io_->read_global_stats();
  s.global.resize(XLB_STAT_MAX);
  for (const auto& [vid, v] : vips_) {
    VipStats vs;
    vs.vip = v.vip;
    vs.proto = v.proto;
    vs.counter = io_->read_vip_stats(v.id);
    for (const auto& [key, b] : v.backends)
      vs.backends.push_back({key.first, key.second, io_->read_backend_stats(b.id)});
    s.vips.push_back(std::move(vs));
  }
  return s;
}

uint64_t Balancer::flow_count() {
  uint64_t n = 0;
  io_->for_each_flow([&](const xlb_flow_key&, const xlb_flow&) {
    n++;
    return true;
  });
  return n;
}

FlowsView Balancer::flows(const FlowQuery& query, uint64_t now_ns) {
  std::optional<xlb_vip_key> vip_key;
  if (query.vip) {
    vip_or_throw(query.vip->first, query.vip->second);
    vip_key = make_vip_key(query.vip->first, query.vip->second);
  }
  if (query.backend_port && !query.backend) throw InputError("backend_port: needs backend");
  std::unordered_map<uint32_t, BackendKey> key_of;
  std::unordered_set<uint32_t> backend_ids;
  for (const auto& [vid, v] : vips_)
    for (const auto& [key, b] : v.backends) {
      key_of[b.id] = key;
      bool in_vip = !query.vip || vid == *query.vip;
      // The port a backend receives on: its own, or the VIP's.
      bool port_ok = !query.backend_port || *query.backend_port == (key.second ? key.second : v.vip.port);
      if (query.backend && key.first == *query.backend && port_ok && in_vip) backend_ids.insert(b.id);
    }
  // An address that is not (or no longer) a backend simply has no flows: the
  // question "does a purged backend still have flows?" must be answerable.

  FlowsView out;
  io_->for_each_flow([&](const xlb_flow_key& k, const xlb_flow& f) {
    if (vip_key && (k.family != vip_key->family || k.proto != vip_key->proto ||
                    k.dport != vip_key->port ||
                    std::memcmp(&k.dst, &vip_key->addr, sizeof k.dst) != 0))
      return true;
    if (query.backend && !backend_ids.count(f.backend_id)) return true;
    out.total++;
    if (out.flows.size() >= query.limit) return true;
    FlowView fv;
    try {
      fv.src = {IpAddr::from_abi(k.family, k.src), ntohs(k.sport)};
      fv.dst = {IpAddr::from_abi(k.family, k.dst), ntohs(k.dport)};
    } catch (const InputError&) {
      out.total--;
      return true;
    }
    fv.proto = k.proto;
    auto it = key_of.find(f.backend_id);
    if (it != key_of.end()) {
      fv.backend = it->second.first;
      fv.backend_port = it->second.second;
    }
    fv.nat_port = ntohs(f.nat_port);
    fv.state = f.state;
    fv.idle_ms = now_ns > f.last_seen_ns ? (now_ns - f.last_seen_ns) / 1000000 : 0;
    out.flows.push_back(fv);
    return true;
  });
  out.truncated = out.total > out.flows.size();
  return out;
}

std::vector<std::string> Balancer::nat_clash_warnings() const {
  std::vector<NatVipBackends> vips;
  for (const auto& [id, v] : vips_) {
    NatVipBackends n{v.vip, v.proto, v.mode, {}};
    for (const auto& [key, b] : v.backends) n.destinations.emplace_back(key.first, key.second ? key.second : v.vip.port);
    vips.push_back(std::move(n));
  }
  return xlb::nat_clash_warnings(vips);
}

std::vector<std::string> Balancer::ring_warnings() const {
  std::vector<std::string> out;
  for (const auto& [id, v] : vips_) {
    std::string w = ring_slot_warning(vip_name(v.vip, v.proto), v.sched, active_count(v), v.ring_size);
    if (!w.empty()) out.push_back(std::move(w));
  }
  return out;
}

}  // namespace xlb
