#include "monitor.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/rules.h"
#include "persist.h"
#include "policy.h"
#include "spec_json.h"
#include "view.h"

namespace xlb::health {

using Json = nlohmann::json;

namespace {

constexpr int kStateVersion = 1;

BackendKey key_of(const VipView& v, const BackendView& b) { return {b.address, own_port(v.vip, b.port)}; }

std::string identity_of(const VipView& v, const BackendView& b) {
  return backend_identity(v.vip, v.proto, b.address, b.port);
}

// The port that names a backend in requests: its own, or the VIP's.
BackendRef ref_of(const Endpoint& vip, const IpAddr& address, uint16_t port) {
  return BackendRef(address, port ? port : vip.port);
}

bool steered_mode(uint8_t mode) { return mode == XLB_MODE_IPIP || mode == XLB_MODE_L2DSR; }

// The outer source of steered ipip checks: the encap prefix's first host
// address (the prefix itself when it is one address), which xlb-decap's
// allow list accepts like every encapsulated client packet.
IpAddr check_source(const IpPrefix& prefix) {
  IpAddr a = prefix.ip;
  uint8_t full = a.is_v4() ? 32 : 128;
  if (prefix.len < full) {
    auto* bytes = reinterpret_cast<uint8_t*>(&a.addr);
    bytes[a.is_v4() ? 3 : 15] |= 1;
  }
  return a;
}

bool same_target(const xlb_hc_target& a, const xlb_hc_target& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

Monitor::Monitor(Balancer& lb, MonitorHooks hooks, std::string state_path, uint32_t data_path)
    : lb_(lb), hooks_(std::move(hooks)), state_path_(std::move(state_path)), data_path_(data_path) {}

void Monitor::log(const std::string& line) const {
  if (hooks_.log) hooks_.log(line);
}
void Monitor::warn(const std::string& line) const {
  if (hooks_.warn) hooks_.warn(line);
}

// ---- the state file

std::string Monitor::state_text() const {
  Json vips = Json::array();
  for (const auto& [key, c] : checks_) {
    Json backends = Json::array();
    for (const auto& [bk, obj] : c.overrides)
      backends.push_back({{"address", bk.first.str()}, {"port", bk.second}, {"health", obj}});
    vips.push_back({{"vip", key.first.str()},
                    {"proto", proto_name(key.second)},
                    {"health", c.json},
                    {"backends", backends}});
  }
  Json out = {{"version", kStateVersion},
              {"data_path", data_path_},
              {"vips", vips},
              {"states", encode_states(registry_.save())}};
  return out.dump(1) + "\n";
}

void Monitor::save() {
  if (state_path_.empty()) return;
  std::string text = state_text();
  if (text == saved_text_) return;
  try {
    write_file_atomically(state_path_, text, 0600);
    saved_text_ = std::move(text);
    if (!save_error_.empty()) log("health state file " + state_path_ + " written again");
    save_error_.clear();
  } catch (const std::exception& e) {
    // Health goes on; only a restart would lose the states. Said once.
    if (save_error_.empty()) warn(std::string("health state file: ") + e.what());
    save_error_ = e.what();
  }
}

void Monitor::load(TimeMs now) {
  if (!state_path_.empty()) {
    std::ifstream in(state_path_);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      try {
        Json j = Json::parse(ss.str());
        if (j.value("version", 0) != kStateVersion) throw InputError("unknown version");
        if (j.value("data_path", 0u) != data_path_) {
          log("health state file " + state_path_ + " is for other maps (a data path since detached): ignored");
        } else {
          for (const auto& v : j.at("vips")) {
            VipKey key{Endpoint::parse(v.at("vip").get<std::string>()), parse_proto(v.at("proto").get<std::string>())};
            VipChecks c = parse_vip_checks(v.at("health"), "health");
            for (const auto& b : v.at("backends"))
              c.overrides[{IpAddr::parse(b.at("address").get<std::string>()), b.at("port").get<uint16_t>()}] =
                  b.at("health");
            check_overrides(c, "health");
            checks_[key] = std::move(c);
          }
          saved_ = decode_states(j.at("states").get<std::string>());
          registry_.restore(saved_);
          saved_text_ = ss.str();
          log("health: restored the checks of " + std::to_string(checks_.size()) + " VIPs and " +
              std::to_string(saved_.size()) + " backends' states from " + state_path_);
        }
      } catch (const std::exception& e) {
        checks_.clear();
        saved_.clear();
        warn("health state file " + state_path_ + " unreadable (" + e.what() + "): backends start unchecked");
      }
    }
  }
  try {
    sync(now);
  } catch (const std::exception& e) {
    warn(std::string("starting the checks failed: ") + e.what() + " (retried within a second)");
    last_reconcile_ = now - kReconcileMs;
  }
}

// ---- requests

ApplyResult Monitor::apply(const Config& config, const ChecksByVip& checks, TimeMs now,
                           const Balancer::ApplyProgress& progress) {
  // The weights that go into the rings: the config's, less what health
  // takes out, so a backend that is down never re-enters the ring.
  Config effective = config;
  for (VipConfig& v : effective.vips) {
    auto c = checks.find({v.vip, v.proto});
    if (c == checks.end()) continue;
    std::vector<PolicyBackend> backends;
    for (const BackendConfig& b : v.backends) {
      std::string id = backend_identity(v.vip, v.proto, b.address, b.port);
      HealthSpec spec = backend_spec(c->second, {b.address, own_port(v.vip, b.port)});
      State state = State::kUnchecked;
      if (spec.check != CheckKind::kNone) {
        if (const Tracked* t = registry_.find(id))
          state = t->tracker.state();
        else if (auto s = saved_.find(id); s != saved_.end())
          state = s->second.state;
      }
      backends.push_back({id, b.weight, b.weight ? Admin::kActive : Admin::kDraining, state, "", b.weight});
    }
    PolicyResult r = apply_policy(backends, c->second.spec.on_down, c->second.spec.all_down,
                                  all_down_[{v.vip, v.proto}]);
    for (const WeightChange& ch : r.changes)
      for (size_t i = 0; i < backends.size(); i++)
        if (backends[i].id == ch.id) v.backends[i].weight = ch.to;
  }
  ApplyResult res = lb_.apply(effective, progress);
  for (const VipConfig& v : config.vips) {
    auto c = checks.find({v.vip, v.proto});
    if (c == checks.end())
      checks_.erase({v.vip, v.proto});
    else
      checks_[{v.vip, v.proto}] = c->second;
    for (const BackendConfig& b : v.backends)
      pending_admin_[backend_identity(v.vip, v.proto, b.address, b.port)] = b.weight;
  }
  sync_after_change(now);
  return res;
}

void Monitor::set_checks(const Endpoint& vip, uint8_t proto, const std::optional<BackendRef>& backend,
                         const Json& obj, TimeMs now) {
  const VipView* view = nullptr;
  std::vector<VipView> views = lb_.list();
  for (const auto& v : views)
    if (v.vip == vip && v.proto == proto) view = &v;
  if (!view) throw InputError("no VIP " + vip_name(vip, proto));
  VipKey key{vip, proto};
  VipChecks c = checks_.count(key) ? checks_[key] : VipChecks{};
  if (backend) {
    const BackendView* found = nullptr;
    for (const auto& b : view->backends) {
      if (b.address != backend->address || b.state == BackendStatus::kRemoved) continue;
      uint16_t port = b.port ? b.port : vip.port;
      if (backend->port && *backend->port != port) continue;
      if (found) throw InputError("backend " + backend->address.str() + " of " + vip_name(vip, proto) +
                                  " is ambiguous: give its port");
      found = &b;
    }
    if (!found) throw InputError("no backend " + backend->address.str() + " in " + vip_name(vip, proto));
    BackendKey bk = key_of(*view, *found);
    if (obj.is_null())
      c.overrides.erase(bk);
    else
      c.overrides[bk] = obj;
    backend_spec(c, bk, "health");  // throws before anything changed
  } else {
    VipChecks fresh = parse_vip_checks(obj, "health");
    fresh.overrides = c.overrides;
    check_overrides(fresh, "health");
    c = std::move(fresh);
  }
  if (c.json.is_null() && c.overrides.empty())
    checks_.erase(key);
  else
    checks_[key] = std::move(c);
  sync_after_change(now);
}

void Monitor::note_admin_weight(const Endpoint& vip, uint8_t proto, const IpAddr& backend, uint16_t port,
                                uint32_t weight) {
  pending_admin_[backend_identity(vip, proto, backend, port)] = weight;
}

void Monitor::set_weight(const Endpoint& vip, uint8_t proto, const BackendRef& backend, uint32_t weight,
                         TimeMs now) {
  if (idle()) {
    lb_.set_backend(vip, proto, backend, weight);
    return;
  }
  std::string identity;
  for (const auto& v : lb_.list()) {
    if (!(v.vip == vip && v.proto == proto)) continue;
    for (const auto& b : v.backends) {
      uint16_t port = b.port ? b.port : vip.port;
      if (b.address == backend.address && (!backend.port || *backend.port == port) &&
          b.state != BackendStatus::kRemoved)
        identity = identity_of(v, b);
    }
  }
  Tracked* t = identity.empty() ? nullptr : registry_.find(identity);
  if (!t) {
    // Not checked: the ring weight is the operator's, as without health.
    lb_.set_backend(vip, proto, backend, weight);
    sync_after_change(now);
    return;
  }
  uint32_t before = t->admin_weight;
  t->admin_weight = weight;
  try {
    enforce_vip({vip, proto});
  } catch (...) {
    t->admin_weight = before;
    throw;
  }
  save();
}

// ---- keeping everything in step

std::optional<Probe> Monitor::probe_for(const std::string& identity, const Site& site, const HealthSpec& spec,
                                        std::string* why_not) {
  Probe p;
  p.id = probe_ids_[identity];
  if (!p.id) {
    p.id = probe_ids_[identity] = next_probe_id_++;
    by_probe_[p.id] = identity;
  }
  p.kind = spec.check == CheckKind::kHttp ? ProbeKind::kHttp
           : spec.check == CheckKind::kUdp ? ProbeKind::kUdp
                                           : ProbeKind::kTcp;
  p.timeout_ms = spec.timeout_ms;
  const Endpoint& vip = site.vip.first;
  if (steered_mode(site.mode)) {
    if (!hooks_.steering) {
      *why_not = hooks_.no_steering_reason;
      return std::nullopt;
    }
    p.dst = {vip.ip, check_port(spec, vip.port)};
    p.mark = kMarkBase | site.backend_id;
  } else {
    p.dst = {site.address, check_port(spec, site.port ? site.port : vip.port)};
  }
  p.http_path = spec.http.path;
  p.http_host = spec.http.host;
  p.http_status_min = spec.http.status_min;
  p.http_status_max = spec.http.status_max;
  p.https = spec.http.https;
  p.verify_cert = spec.http.https && spec.http.verify_cert;
  p.udp_payload = spec.udp.payload;
  if (spec.udp.expect) {
    p.udp_match = UdpMatch::kPrefix;
    p.udp_expect = *spec.udp.expect;
  }
  return p;
}

void Monitor::sync(TimeMs now) {
  std::vector<VipView> views = lb_.list();
  std::set<VipKey> present;
  for (const auto& v : views) present.insert({v.vip, v.proto});
  for (auto it = checks_.begin(); it != checks_.end();)
    it = present.count(it->first) ? std::next(it) : checks_.erase(it);

  std::map<std::string, Wanted> wanted;
  std::map<std::string, Site> sites;
  for (const auto& v : views) {
    auto c = checks_.find({v.vip, v.proto});
    if (c == checks_.end()) continue;
    for (const auto& b : v.backends) {
      if (b.state == BackendStatus::kRemoved) continue;
      std::string id = identity_of(v, b);
      HealthSpec spec;
      try {
        spec = backend_spec(c->second, key_of(v, b));
      } catch (const std::exception& e) {
        warn("health of " + id + ": " + e.what() + "; not checked");
        continue;
      }
      if (spec.check == CheckKind::kNone) continue;
      // The admin weight: an apply's, else the one already known, else the
      // ring's; a backend the maps show at 0 takes its saved one (down
      // before the restart) or stays drained.
      uint32_t admin = b.weight;
      if (auto p = pending_admin_.find(id); p != pending_admin_.end())
        admin = p->second;
      else if (const Tracked* t = registry_.find(id))
        admin = t->admin_weight;
      else if (auto s = saved_.find(id); s != saved_.end() && b.weight == 0)
        admin = s->second.admin_weight;
      wanted[id] = {spec, admin};
      sites[id] = {{v.vip, v.proto}, v.mode, b.address, b.port, b.id};
    }
  }
  pending_admin_.clear();

  // Backends that stop being checked get their admin weight back.
  for (const auto& [id, t] : registry_.all()) {
    if (wanted.count(id)) continue;
    auto s = sites_.find(id);
    if (s == sites_.end() || !present.count(s->second.vip)) continue;
    for (const auto& v : views)
      if (VipKey{v.vip, v.proto} == s->second.vip)
        for (const auto& b : v.backends)
          if (identity_of(v, b) == id && b.state != BackendStatus::kRemoved && b.weight != t.admin_weight) {
            try {
              lb_.set_backend(v.vip, v.proto, ref_of(v.vip, b.address, b.port), t.admin_weight);
              log(id + ": no longer checked, weight " + std::to_string(t.admin_weight));
            } catch (const std::exception& e) {
              warn(id + ": no longer checked, but restoring its weight failed: " + e.what());
            }
          }
  }
  registry_.sync(wanted, now);
  sites_ = std::move(sites);
  for (auto it = probe_ids_.begin(); it != probe_ids_.end();) {
    if (sites_.count(it->first)) {
      ++it;
      continue;
    }
    by_probe_.erase(it->second);
    it = probe_ids_.erase(it);
  }

  // Probes and steering targets.
  std::vector<Target> targets;
  std::map<uint32_t, xlb_hc_target> steer;
  std::map<std::string, std::string> not_run;
  EncapConfig encap = lb_.encap();
  // The neighbour table, read once and only if an l2dsr check needs it.
  std::optional<std::map<IpAddr, MacAddr>> macs;
  for (const auto& [id, site] : sites_) {
    const HealthSpec& spec = registry_.find(id)->spec;
    std::string why;
    std::optional<Probe> p = probe_for(id, site, spec, &why);
    if (p && p->mark) {
      HcTargetSpec ts;
      ts.mode = site.mode;
      ts.backend = site.address;
      if (site.mode == XLB_MODE_IPIP) {
        const auto& src = site.address.is_v4() ? encap.source_v4 : encap.source_v6;
        if (src)
          ts.source = check_source(*src);
        else
          why = std::string("no ") + (site.address.is_v4() ? "IPv4" : "IPv6") + " encap source to tunnel the check from";
      } else {
        if (!macs) {
          macs.emplace();
          try {
            if (hooks_.neighbours) macs = hooks_.neighbours();
          } catch (const std::exception& e) {
            warn(e.what());
          }
        }
        auto mac = macs->find(site.address);
        if (mac != macs->end())
          ts.mac = mac->second;
        else
          why = "the backend's MAC is not resolved yet";
      }
      if (why.empty()) {
        try {
          steer[p->mark] = make_hc_target(ts);
        } catch (const std::exception& e) {
          why = e.what();
        }
      }
      if (!why.empty()) p.reset();
    }
    if (!p) {
      not_run[id] = why;
      if (!not_run_.count(id) || not_run_[id] != why) warn(id + ": not checked: " + why);
      continue;
    }
    targets.push_back({*p, spec.interval_ms});
  }
  not_run_ = std::move(not_run);

  if (hooks_.steering) {
    try {
      if (!steering_listed_) {
        steered_ = hooks_.steering->list();  // a previous lbd's, to be replaced
        steering_listed_ = true;
      }
      for (auto it = steered_.begin(); it != steered_.end();) {
        if (steer.count(it->first)) {
          ++it;
          continue;
        }
        hooks_.steering->erase(it->first);
        it = steered_.erase(it);
      }
      for (const auto& [mark, t] : steer) {
        auto it = steered_.find(mark);
        if (it != steered_.end() && same_target(it->second, t)) continue;
        hooks_.steering->put(mark, t);
        steered_[mark] = t;
      }
    } catch (const std::exception& e) {
      warn(std::string("health-check steering: ") + e.what());
    }
  }

  std::vector<std::string> sig;
  for (const auto& t : targets) {
    const Probe& p = t.probe;
    sig.push_back(std::to_string(p.id) + " " + std::to_string(t.interval_ms) + " " + std::to_string(int(p.kind)) + " " +
                  p.dst.str() + " " + std::to_string(p.mark) + " " + std::to_string(p.timeout_ms) + " " +
                  p.http_path + " " + p.http_host + " " + std::to_string(p.http_status_min) + "-" +
                  std::to_string(p.http_status_max) + (p.https ? " s" : " -") + (p.verify_cert ? "v" : "-") + " " + to_hex(p.udp_payload) + " " +
                  std::to_string(int(p.udp_match)) + " " + to_hex(p.udp_expect));
  }
  if (sig != target_sig_ && hooks_.set_targets) {
    hooks_.set_targets(std::move(targets));
    target_sig_ = std::move(sig);
  }

  for (const auto& v : views) {
    if (!checks_.count({v.vip, v.proto})) continue;
    try {
      enforce(v);
    } catch (const std::exception& e) {
      warn(vip_name(v.vip, v.proto) + ": setting weights from health failed: " + e.what() +
           " (retried at the next reconcile)");
    }
  }
  for (auto it = all_down_.begin(); it != all_down_.end();)
    it = checks_.count(it->first) ? std::next(it) : all_down_.erase(it);
  last_reconcile_ = now;
  save();
}

void Monitor::sync_after_change(TimeMs now) {
  if (idle()) return;
  try {
    sync(now);
  } catch (const std::exception& e) {
    warn(std::string("updating the checks after a change failed: ") + e.what() + " (retried within a second)");
    last_reconcile_ = now - kReconcileMs;  // the next tick tries again
  }
}

void Monitor::enforce_vip(const VipKey& key) {
  for (const auto& v : lb_.list())
    if (VipKey{v.vip, v.proto} == key) enforce(v);
}

void Monitor::enforce(const VipView& v) {
  VipKey key{v.vip, v.proto};
  auto c = checks_.find(key);
  if (c == checks_.end()) return;
  std::vector<PolicyBackend> backends;
  std::vector<const BackendView*> of;
  for (const auto& b : v.backends) {
    if (b.state == BackendStatus::kRemoved) continue;
    std::string id = identity_of(v, b);
    if (const Tracked* t = registry_.find(id)) {
      // The ring weight of a checked backend is health's: its admin state
      // is its admin weight, not what the maps say.
      backends.push_back({id, t->admin_weight, t->admin_weight ? Admin::kActive : Admin::kDraining,
                          t->tracker.state(), t->tracker.reason(), b.weight});
    } else {
      backends.push_back({id, b.weight, b.weight ? Admin::kActive : Admin::kDraining, State::kUnchecked, "",
                          b.weight});
    }
    of.push_back(&b);
  }
  PolicyResult r = apply_policy(backends, c->second.spec.on_down, c->second.spec.all_down, all_down_[key]);
  if (!r.event.empty()) {
    warn(vip_name(v.vip, v.proto) + ": " + r.event);
    if (r.all_down) all_down_events_[key]++;
  }
  all_down_[key] = r.all_down;
  for (const WeightChange& ch : r.changes) {
    const BackendView* b = nullptr;
    for (size_t i = 0; i < backends.size(); i++)
      if (backends[i].id == ch.id) b = of[i];
    BackendRef ref = ref_of(v.vip, b->address, b->port);
    lb_.set_backend(v.vip, v.proto, ref, ch.to);
    std::string line = vip_name(v.vip, v.proto) + ": backend " + backend_name(b->address, b->port) + " weight " +
                       std::to_string(ch.from) + " -> " + std::to_string(ch.to) + " (" + ch.reason + ")";
    if (ch.purge) {
      try {
        uint64_t n = lb_.purge_flows(v.vip, v.proto, ref);
        line += ", " + std::to_string(n) + " flows purged";
      } catch (const std::exception& e) {
        warn(line + "; purging its flows failed: " + e.what());
      }
    }
    log(line);
  }
}

// ---- results

void Monitor::on_results(const std::vector<ProbeResult>& results, TimeMs now,
                         std::chrono::steady_clock::time_point steady_now) {
  for (const ProbeResult& r : results) {
    auto it = by_probe_.find(r.id);
    if (it == by_probe_.end()) continue;  // a target dropped since it started
    auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(steady_now - r.finished).count();
    std::string detail = r.reason;
    if (detail.empty()) {
      const Tracked* t = registry_.find(it->second);
      detail = !r.ok ? "failed" : t && t->spec.check == CheckKind::kUdp ? "udp reply" : "connected";
    }
    auto latency = r.latency.count();
    record(it->second, {r.ok, detail, static_cast<uint32_t>(latency < 0 ? 0 : std::min<int64_t>(latency, UINT32_MAX))},
           now - (ago > 0 ? ago : 0));
  }
}

void Monitor::record(const std::string& identity, const CheckResult& result, TimeMs at) {
  Tracked* t = registry_.find(identity);
  if (!t) return;
  if (auto tr = t->tracker.record(result, at)) after_transition(identity, *tr);
}

void Monitor::after_transition(const std::string& identity, const Transition& t) {
  transitions_++;
  auto s = sites_.find(identity);
  std::string who = s == sites_.end() ? identity : backend_label(s->second);
  (t.to == State::kDown ? warn(transition_line(who, t)) : log(transition_line(who, t)));
  if (t.serving_changed() && s != sites_.end()) {
    try {
      enforce_vip(s->second.vip);
    } catch (const std::exception& e) {
      warn(who + ": changing its weight failed: " + e.what() + " (retried within a second)");
      last_reconcile_ = t.at - kReconcileMs;  // the next tick reconciles
    }
  }
  save();
}

std::string Monitor::backend_label(const Site& site) const {
  return vip_name(site.vip.first, site.vip.second) + " " + backend_name(site.address, site.port);
}

void Monitor::tick(TimeMs now) {
  for (const auto& [id, t] : registry_.all()) {
    auto held = t.tracker.held_until();
    if (!held || *held > now) continue;
    Tracked* tracked = registry_.find(id);
    if (auto tr = tracked->tracker.poll(now)) after_transition(id, *tr);
  }
  // A check waiting for its MAC, and weights a failed change left behind
  // (nothing to do while no VIP has checks).
  if (!idle() && (now - last_reconcile_ >= kReconcileMs || now < last_reconcile_)) {
    try {
      sync(now);
    } catch (const std::exception& e) {
      warn(std::string("health reconcile: ") + e.what());
      last_reconcile_ = now;
    }
  }
}

// ---- views

Config Monitor::running_config() const {
  Config c = lb_.current_config();
  for (VipConfig& v : c.vips) {
    auto checks = checks_.find({v.vip, v.proto});
    if (checks != checks_.end()) v.health = checks->second.json;
    for (BackendConfig& b : v.backends) {
      if (const Tracked* t = registry_.find(backend_identity(v.vip, v.proto, b.address, b.port)))
        b.weight = t->admin_weight;
      if (checks == checks_.end()) continue;
      auto o = checks->second.overrides.find({b.address, own_port(v.vip, b.port)});
      if (o != checks->second.overrides.end()) b.health = o->second;
    }
  }
  return c;
}

void Monitor::annotate_list(const std::vector<VipView>& views, Json& vips, TimeMs now) const {
  for (size_t i = 0; i < views.size() && i < vips.size(); i++) {
    const VipView& v = views[i];
    VipKey key{v.vip, v.proto};
    auto c = checks_.find(key);
    vips[i]["health"] = c != checks_.end() && !c->second.json.is_null() ? health_to_json(c->second.spec) : Json(nullptr);
    auto ad = all_down_.find(key);
    vips[i]["all_down"] = ad != all_down_.end() && ad->second;
    Json& backends = vips[i]["backends"];
    for (size_t j = 0; j < v.backends.size() && j < backends.size(); j++) {
      const BackendView& b = v.backends[j];
      std::string id = identity_of(v, b);
      const Tracked* t = b.state == BackendStatus::kRemoved ? nullptr : registry_.find(id);
      backends[j]["admin_weight"] = t ? t->admin_weight : b.weight;
      // A checked backend's state is the operator's: health-down is not a
      // drain (its "weight" is the ring's, 0 while down).
      if (t) backends[j]["state"] = t->admin_weight ? "active" : "draining";
      if (!t) {
        backends[j]["health"] = nullptr;
        continue;
      }
      Json h = health_json(t->tracker, now);
      h["check"] = check_kind_name(t->spec.check);
      h["label"] = health_label(t->tracker, now);
      auto nr = not_run_.find(id);
      h["not_checked"] = nr == not_run_.end() ? Json(nullptr) : Json(nr->second);
      backends[j]["health"] = h;
    }
  }
}

void Monitor::annotate_stats(const StatsView& stats, Json& out, TimeMs now) const {
  Json& vips = out["vips"];
  for (size_t i = 0; i < stats.vips.size() && i < vips.size(); i++) {
    const VipStats& v = stats.vips[i];
    VipKey key{v.vip, v.proto};
    auto ev = all_down_events_.find(key);
    vips[i]["all_down_events"] = ev == all_down_events_.end() ? 0 : ev->second;
    Json& backends = vips[i]["backends"];
    for (size_t j = 0; j < v.backends.size() && j < backends.size(); j++) {
      const BackendStats& b = v.backends[j];
      const Tracked* t = registry_.find(backend_identity(v.vip, v.proto, b.address, b.port));
      backends[j]["health"] = t ? health_json(t->tracker, now) : Json(nullptr);
    }
  }
}

Json Monitor::status() const {
  uint64_t up = 0, down = 0, unchecked = 0, all_down = 0;
  for (const auto& [id, t] : registry_.all()) {
    State s = t.tracker.state();
    (s == State::kUp ? up : s == State::kDown ? down : unchecked)++;
  }
  for (const auto& [key, v] : all_down_) all_down += v;
  return {{"checked", registry_.all().size()},
          {"up", up},
          {"down", down},
          {"unchecked", unchecked},
          {"not_run", not_run_.size()},
          {"vips_all_down", all_down},
          {"steered", steered_.size()},
          {"transitions", transitions_},
          {"state_file", state_path_.empty() ? Json(nullptr) : Json(state_path_)},
          {"state_file_error", save_error_.empty() ? Json(nullptr) : Json(save_error_)}};
}

}  // namespace xlb::health
