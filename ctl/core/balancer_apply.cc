// Declarative reconcile: make the running state equal a config. VIPs not in
// the config are deleted, backends not in it are removed (their flows
// finish, then the reaper frees them), everything else is added or updated
// in place, schedulers included. Unchanged objects cause no map writes at
// all, so applying the same config twice is a no-op.
//
// A VIP whose forwarding mode differs from the config's is replaced: it is
// deleted like del-vip (its flows, reply entries and backend ids go) and
// added again. A mode is never changed in place, since the flows it
// created (encapsulated, or translated with reply entries) cannot be
// carried on by another mode: their connections break either way, and a
// clean start leaves no entry of the old mode behind.
#include <netinet/in.h>

#include <set>

#include "balancer.h"
#include "error.h"
#include "rules.h"

namespace xlb {

namespace {

// The rules parse_config enforces, checked again because a Config can also
// be built in code.
void validate(const Config& config, const std::vector<IpAddr>& local) {
  std::set<std::pair<Endpoint, uint8_t>> vips;
  for (const auto& v : config.vips) {
    std::string name = vip_name(v.vip, v.proto);
    if (!vips.insert({v.vip, v.proto}).second) throw InputError("duplicate VIP " + name);
    if (v.proto != IPPROTO_TCP && v.proto != IPPROTO_UDP)
      throw InputError(name + ": proto must be tcp or udp");
    if (v.vip.port == 0) throw InputError(name + ": port must be 1..65535");
    try {
      check_vip_address(v.vip.ip, local);
      check_sched(v.sched);
      check_mode(v.mode);
      if (v.stateless) check_stateless(v.sched, v.mode);
      check_ring_size(v.ring_size);
    } catch (const InputError& e) {
      throw InputError(name + ": " + e.what());
    }
    std::set<std::pair<IpAddr, uint16_t>> backends;
    size_t active = 0;
    for (const auto& b : v.backends) {
      std::string bname = backend_name(b.address, b.port);
      if (!backends.insert({b.address, b.port ? b.port : v.vip.port}).second)
        throw InputError(name + ": duplicate backend " + bname);
      try {
        check_weight(b.weight, true);
        check_backend_address(b.address, v.vip.ip, local);
        check_backend_family(v.mode, v.vip, b.address);
        check_backend_port(v.mode, b.port);
      } catch (const InputError& e) {
        throw InputError(name + " backend " + bname + ": " + e.what());
      }
      active += b.weight > 0;
    }
    try {
      check_list_capacity(v.sched, active);
    } catch (const InputError& e) {
      throw InputError(name + ": " + e.what());
    }
  }
  auto check_source = [](const std::optional<IpPrefix>& p, bool v4, const char* field) {
    if (!p) return;
    uint8_t full = v4 ? 32 : 128;
    if (p->ip.is_v4() != v4 || p->len == 0 || p->len > full)
      throw InputError(std::string("encap.") + field + ": must be an " + (v4 ? "IPv4" : "IPv6") +
                       " address or prefix");
  };
  check_source(config.encap.source_v4, true, "source_v4");
  check_source(config.encap.source_v6, false, "source_v6");
  check_fullnat(config.fullnat);
  check_reaper_settings(config.timeouts, config.reap_interval_ms);
}

// The settings of two config entries, XLB_CFG_F_NAT aside (it follows the
// VIPs, not the config's settings).
bool same_settings(xlb_config a, xlb_config b) {
  a.flags &= static_cast<uint16_t>(~XLB_CFG_F_NAT);
  b.flags &= static_cast<uint16_t>(~XLB_CFG_F_NAT);
  return config_equal(a, b);
}

}  // namespace

void Balancer::check(const Config& config) const { validate(config, defaults_.local); }

Config Balancer::with_defaults(const Config& config) const {
  Config c = config;
  if (!c.encap.source_v4) c.encap.source_v4 = IpPrefix::parse(kDefaultEncapSourceV4);
  if (!c.encap.source_v6 && defaults_.v6) c.encap.source_v6 = IpPrefix{*defaults_.v6, 128};
  if (!c.fullnat.source_v4) c.fullnat.source_v4 = defaults_.v4;
  if (!c.fullnat.source_v6) c.fullnat.source_v6 = defaults_.v6;
  if (!c.hash_seed) c.hash_seed = config_.hash_seed;  // unset: the running seed stays
  return c;
}

ApplyResult Balancer::apply(const Config& config, const ApplyProgress& progress) {
  ensure_in_sync();
  validate(config, defaults_.local);

  // The VIPs updated in place: in the config with the mode they have. All
  // others are deleted, and those of the config not kept (new, or with
  // another mode) are added.
  std::set<VipId> kept;
  bool want_nat = false;
  for (const auto& vc : config.vips) {
    auto it = vips_.find({vc.vip, vc.proto});
    if (it != vips_.end() && it->second.mode == vc.mode) kept.insert(it->first);
    want_nat = want_nat || mode_translates(vc.mode);
  }

  // The config entry to end with; fullnat VIPs need its source of their family.
  // A config without hash_seed keeps the running one (pick/seed.h).
  xlb_config cfg = desired_config(config.encap, config.fullnat, config.hash_seed.value_or(config_.hash_seed), want_nat, policy_flags(config),
                                  config.flood_threshold);
  set_reaper_settings(cfg, config.timeouts, config.reap_interval_ms);
  for (const auto& vc : config.vips) check_source(vc.mode, vc.vip, vc.proto, cfg);

  // Capacity, counted before anything is written: ids freed by deleted VIPs
  // are available to new ones, draining and removed backends keep theirs.
  uint32_t vips_freed = 0, backends_freed = 0, vips_needed = 0, backends_needed = 0;
  for (const auto& [id, v] : vips_)
    if (!kept.count(id)) {
      vips_freed++;
      backends_freed += static_cast<uint32_t>(v.backends.size());
    }
  for (const auto& vc : config.vips) {
    auto it = vips_.find({vc.vip, vc.proto});
    if (!kept.count({vc.vip, vc.proto})) {
      vips_needed++;
      backends_needed += static_cast<uint32_t>(vc.backends.size());
      continue;
    }
    const VipState& v = it->second;
    for (const auto& b : vc.backends) backends_needed += !v.backends.count({b.address, own_port(v, b.port)});
  }
  if (vips_needed > vip_ids_.free_count() + vips_freed)
    throw InputError("config has too many VIPs (at most " + std::to_string(XLB_MAX_VIPS) + ")");
  if (backends_needed > backend_ids_.free_count() + backends_freed)
    throw InputError("config has too many backends (at most " + std::to_string(XLB_MAX_BACKENDS) +
                     " including draining and removed ones)");

  ApplyResult result;
  atomically([&] {
    if (!same_settings(cfg, config_)) result.changed++;
    // XLB_CFG_F_NAT stays set until the last nat or fullnat VIP is gone, and
    // is set before the first one appears.
    xlb_config first = cfg;
    if (nat_flag()) first.flags |= XLB_CFG_F_NAT;
    if (!config_equal(first, config_)) write_config(first);

    for (auto it = vips_.begin(); it != vips_.end();) {
      auto next = std::next(it);
      if (!kept.count(it->first)) {
        result.removed++;
        for (const auto& [k, b] : it->second.backends) result.removed += b.in_ring;
        do_del_vip(it->second);
      }
      it = next;
    }

    size_t done = 0;
    for (const auto& vc : config.vips) {
      if (progress) progress(done++, config.vips.size());
      auto it = vips_.find({vc.vip, vc.proto});
      if (it == vips_.end()) {
        do_add_vip({vc.vip, vc.proto, vc.sched, vc.mode, vc.ring_size, vc.stateless}, vc.backends);
        result.added += 1 + static_cast<uint32_t>(vc.backends.size());
        continue;
      }
      VipState& v = it->second;
      std::set<BackendKey> listed;
      for (const auto& b : vc.backends) {
        BackendKey key{b.address, own_port(v, b.port)};
        listed.insert(key);
        auto bit = v.backends.find(key);
        bool was_active = bit != v.backends.end() && bit->second.in_ring;
        if (upsert_backend(v, key, b.weight)) (was_active ? result.changed : result.added)++;
      }
      for (auto& [key, b] : v.backends)
        if (!listed.count(key) && mark_removed(v, key)) result.removed++;

      // The mode is the same (kept). Turning stateless on leaves the VIP's
      // entries to age out; turning it off makes its flows new ones.
      bool meta_changed = v.sched != vc.sched || v.stateless != vc.stateless;
      result.changed += meta_changed;
      v.sched = vc.sched;
      v.stateless = vc.stateless;
      // A list the new scheduler reads is complete before the meta names
      // that scheduler; one it no longer reads is cleared after.
      if (sched_uses_list(v.sched)) sync_list(v);
      if (v.ring_size != vc.ring_size) {
        do_resize_ring(v, vc.ring_size);  // writes the meta
        result.changed++;
      } else {
        sync_ring(v);
        if (meta_changed) put_meta(v);
      }
      if (!sched_uses_list(v.sched)) sync_list(v);
    }
    write_nat_flag(want_nat);
  });
  return result;
}

}  // namespace xlb
