#include "api.h"

#include <time.h>

#include <algorithm>

#include "core/config_diff.h"
#include "core/error.h"
#include "core/json_fields.h"
#include "core/rules.h"
#include "core/views_json.h"
#include "log.h"
#include "upgrade/build_id.h"

#ifndef XLB_VERSION
#define XLB_VERSION "unknown"
#endif

namespace xlb {

using Json = nlohmann::json;
namespace jf = json_fields;

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

health::TimeMs wall_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return health::TimeMs(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

namespace {

constexpr int kApplyProgressSeconds = 2;

Endpoint req_vip(const Json& r) {
  std::string text = jf::req_string(r, "vip", "");
  return jf::at("vip", [&] { return Endpoint::parse(text); });
}

uint8_t req_proto(const Json& r) {
  std::string text = jf::req_string(r, "proto", "");
  return jf::at("proto", [&] { return parse_proto(text); });
}

IpAddr req_backend(const Json& r) {
  std::string text = jf::req_string(r, "backend", "");
  return jf::at("backend", [&] { return IpAddr::parse(text); });
}

std::optional<uint16_t> opt_port(const Json& r, const char* key) {
  auto p = jf::opt_uint(r, key, "", 1, 65535);
  return p ? std::optional<uint16_t>(static_cast<uint16_t>(*p)) : std::nullopt;
}

// "backend" and an optional "port": which backend of the VIP is meant.
BackendRef req_backend_ref(const Json& r) { return {req_backend(r), opt_port(r, "port")}; }

std::string ref_name(const BackendRef& b) { return backend_name(b.address, b.port.value_or(0)); }

// The request as one log line of at most ~200 bytes.
std::string log_excerpt(const std::string& request) {
  std::string out;
  for (char c : request.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  return request.size() > 200 ? out + "... (" + std::to_string(request.size()) + " bytes)" : out;
}

// Requests that change the maps.
bool changes_maps(const std::string& cmd) {
  return cmd == "add-vip" || cmd == "del-vip" || cmd == "add-backend" || cmd == "del-backend" ||
         cmd == "drain-backend" || cmd == "set-backend" || cmd == "apply" || cmd == "set-health";
}

Json ok(Json body = Json::object()) {
  Json out = {{"ok", true}};
  for (auto& [k, v] : body.items()) out[k] = v;
  return out;
}

}  // namespace

Api::Api(Balancer& balancer, DaemonInfo info, std::function<void()> detach, ReaperThread* reaper,
         health::Monitor* monitor)
    : lb_(balancer), info_(std::move(info)), detach_(std::move(detach)), reaper_(reaper), monitor_(monitor) {}

Json reaper_json(const ReaperStatus& s) {
  Json out = {{"interval_ms", s.interval_ms},
              {"sweeps", s.sweeps},
              {"running", s.running},
              {"error", s.last_error.empty() ? Json(nullptr) : Json(s.last_error)},
              {"expired_total", s.expired_total},
              {"reconciled_total", s.reconciled_total},
              {"backends_freed", s.backends_freed},
              {"nat_rev_reaped_total", s.nat_rev_reaped_total},
              {"last_sweep", nullptr}};
  if (s.last) {
    auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    out["last_sweep"] = {{"unix_ms", ms(s.last_end.time_since_epoch())},
                         {"age_ms", ms(std::chrono::system_clock::now() - s.last_end)},
                         {"duration_ms", s.last->duration_ms},
                         {"scanned", s.last->scanned},
                         {"expired", s.last->expired},
                         {"restored", s.last->restored},
                         {"reconciled", s.last->reconciled},
                         {"nat_rev_entries", s.last->nat_rev_entries},
                         {"nat_rev_reaped", s.last->nat_rev_reaped},
                         {"complete", s.last->complete}};
  }
  return out;
}

std::string Api::handle(const std::string& request) {
  Json answer;
  std::string cmd = "?";
  try {
    Json r;
    try {
      r = Json::parse(request);
    } catch (const Json::parse_error& e) {
      throw InputError(std::string("invalid JSON: ") + e.what());
    }
    if (r.is_object() && r.contains("cmd") && r["cmd"].is_string()) cmd = r["cmd"].get<std::string>();
    // Requests that can make two nat VIPs send to one backend port, or give
    // a VIP more active backends than ring slots: the answer carries every
    // such warning, and the log the new ones.
    bool may_clash = cmd == "add-backend" || cmd == "set-backend" || cmd == "apply";
    auto warnings = [this] {
      std::vector<std::string> w = lb_.nat_clash_warnings();
      for (auto& ring : lb_.ring_warnings()) w.push_back(std::move(ring));
      return w;
    };
    std::vector<std::string> before;
    if (may_clash) before = warnings();
    answer = dispatch(r);
    bool dry_run = r.contains("dry_run") && r["dry_run"] == true;
    if (changes_maps(cmd) && !dry_run && info_.after_change) info_.after_change();
    if (may_clash) {
      std::vector<std::string> after = warnings();
      for (const auto& w : after)
        if (std::find(before.begin(), before.end(), w) == before.end()) log_warn(w);
      if (!after.empty()) answer["warnings"] = after;
    }
  } catch (const InputError& e) {
    answer = {{"ok", false}, {"error", e.what()}};
  } catch (const SystemError& e) {
    answer = {{"ok", false}, {"error", e.what()}};
  } catch (const std::exception& e) {
    answer = {{"ok", false}, {"error", std::string("internal error: ") + e.what()}};
  }
  if (!answer.value("ok", false)) log_warn("request failed: " + log_excerpt(request) + ": " + answer["error"].get<std::string>());
  // Replace invalid UTF-8 (echoed from a bad request) instead of throwing.
  return answer.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json Api::dispatch(const Json& r) {
  if (!r.is_object()) throw InputError("request must be a JSON object");
  std::string cmd = jf::req_string(r, "cmd", "");
  if (changes_maps(cmd) && info_.health)
    if (std::string problem = info_.health(); !problem.empty()) throw SystemError(problem);

  if (cmd == "status") {
    jf::check_object(r, {"cmd", "verify"}, "");
    Json answer = status();
    if (jf::opt_bool(r, "verify", "").value_or(false)) {
      std::vector<std::string> diffs = lb_.verify();
      answer["verify"] = {{"ok", diffs.empty()}, {"differences", diffs}};
      if (!diffs.empty()) log_warn("status --verify: lbd and the maps disagree: " + diffs.front());
    }
    return answer;
  }
  if (cmd == "doctor") return doctor(r);
  if (cmd == "list") {
    jf::check_object(r, {"cmd"}, "");
    std::vector<VipView> views = lb_.list();
    Json vips = list_json(views);
    if (monitor_) monitor_->annotate_list(views, vips, wall_ms());
    return ok({{"vips", vips}});
  }
  if (cmd == "stats") {
    jf::check_object(r, {"cmd"}, "");
    StatsView stats = lb_.stats();
    Json out = stats_json(stats);
    if (monitor_) monitor_->annotate_stats(stats, out, wall_ms());
    return ok(out);
  }
  if (cmd == "pick") {
    // Which backend a new flow of this 5-tuple gets (balancer_pick.cc).
    jf::check_object(r, {"cmd", "vip", "proto", "src", "sport"}, "");
    std::string vip_text = jf::req_string(r, "vip", "");
    Endpoint vip = jf::at("vip", [&] { return Endpoint::parse(vip_text, true); });
    std::string src_text = jf::req_string(r, "src", "");
    auto sport = jf::opt_uint(r, "sport", "", 1, 65535);
    if (!sport) throw InputError("sport: missing");
    PickQuery q{vip.ip, vip.port ? std::optional<uint16_t>(vip.port) : std::nullopt, req_proto(r),
                jf::at("src", [&] { return IpAddr::parse(src_text); }), static_cast<uint16_t>(*sport)};
    return ok(pick_json(lb_.pick(q), Endpoint{q.src, q.sport}));
  }
  if (cmd == "add-vip") {
    jf::check_object(r, {"cmd", "vip", "proto", "sched", "mode", "ring_size", "stateless"}, "");
    VipSpec s;
    s.vip = req_vip(r);
    s.proto = req_proto(r);
    if (auto v = jf::opt_string(r, "sched", "")) s.sched = jf::at("sched", [&] { return parse_sched(*v); });
    if (auto v = jf::opt_string(r, "mode", "")) s.mode = jf::at("mode", [&] { return parse_mode(*v); });
    if (auto v = jf::opt_uint(r, "ring_size", "", 0, UINT32_MAX)) s.ring_size = static_cast<uint32_t>(*v);
    if (auto v = jf::opt_bool(r, "stateless", "")) s.stateless = *v;
    lb_.add_vip(s);
    if (monitor_) monitor_->changed(wall_ms());
    log_line("added VIP " + vip_name(s.vip, s.proto));
    return ok();
  }
  if (cmd == "del-vip") {
    jf::check_object(r, {"cmd", "vip", "proto"}, "");
    Endpoint vip = req_vip(r);
    uint8_t proto = req_proto(r);
    uint64_t flows = lb_.del_vip(vip, proto);
    if (monitor_) monitor_->changed(wall_ms());
    log_line("deleted VIP " + vip_name(vip, proto) + " (" + std::to_string(flows) + " flows removed)");
    return ok({{"flows_removed", flows}});
  }
  if (cmd == "add-backend") {
    jf::check_object(r, {"cmd", "vip", "proto", "backend", "port", "weight"}, "");
    Endpoint vip = req_vip(r);
    uint8_t proto = req_proto(r);
    IpAddr be = req_backend(r);
    uint16_t port = opt_port(r, "port").value_or(0);
    auto weight = static_cast<uint32_t>(jf::opt_uint(r, "weight", "", 1, kMaxWeight).value_or(1));
    lb_.add_backend(vip, proto, be, weight, port);
    if (monitor_) {
      monitor_->note_admin_weight(vip, proto, be, port, weight);
      monitor_->changed(wall_ms());
    }
    log_line("added backend " + backend_name(be, port) + " (weight " + std::to_string(weight) + ") to " +
             vip_name(vip, proto));
    return ok();
  }
  if (cmd == "del-backend") {
    jf::check_object(r, {"cmd", "vip", "proto", "backend", "port", "purge"}, "");
    Endpoint vip = req_vip(r);
    uint8_t proto = req_proto(r);
    BackendRef be = req_backend_ref(r);
    bool purge = jf::opt_bool(r, "purge", "").value_or(false);
    uint64_t flows = lb_.del_backend(vip, proto, be, purge);
    if (monitor_) monitor_->changed(wall_ms());
    log_line((purge ? "purged backend " : "draining backend ") + ref_name(be) + " of " + vip_name(vip, proto) +
             (purge ? " (" + std::to_string(flows) + " flows removed)" : ""));
    return ok({{"flows_removed", flows}});
  }
  if (cmd == "drain-backend") {
    jf::check_object(r, {"cmd", "vip", "proto", "backend", "port"}, "");
    Endpoint vip = req_vip(r);
    uint8_t proto = req_proto(r);
    BackendRef be = req_backend_ref(r);
    set_weight(vip, proto, be, 0);
    log_line("draining backend " + ref_name(be) + " of " + vip_name(vip, proto) + " (weight 0)");
    return ok();
  }
  if (cmd == "set-backend") {
    jf::check_object(r, {"cmd", "vip", "proto", "backend", "port", "weight"}, "");
    Endpoint vip = req_vip(r);
    uint8_t proto = req_proto(r);
    BackendRef be = req_backend_ref(r);
    auto weight = jf::opt_uint(r, "weight", "", 0, kMaxWeight);
    if (!weight) throw InputError("weight: missing");
    set_weight(vip, proto, be, static_cast<uint32_t>(*weight));
    log_line("set backend " + ref_name(be) + " of " + vip_name(vip, proto) + " to weight " +
             std::to_string(*weight));
    return ok();
  }
  if (cmd == "flows") {
    jf::check_object(r, {"cmd", "vip", "proto", "backend", "backend_port", "limit"}, "");
    FlowQuery q;
    if (r.contains("vip") || r.contains("proto")) q.vip = std::make_pair(req_vip(r), req_proto(r));
    if (r.contains("backend")) q.backend = req_backend(r);
    q.backend_port = opt_port(r, "backend_port");
    if (q.backend_port && !q.backend) throw InputError("backend_port: needs backend");
    q.limit = jf::opt_uint(r, "limit", "", 0, UINT32_MAX).value_or(1000);
    return ok(flows_json(lb_.flows(q, monotonic_ns())));
  }
  if (cmd == "apply") {
    jf::check_object(r, {"cmd", "config", "dry_run"}, "");
    if (!r.contains("config")) throw InputError("config: missing");
    if (!r["config"].is_object()) throw InputError("config: must be an object");
    Config config = parse_config(r["config"]);
    // The checks too are checked before anything changes.
    health::ChecksByVip checks = health::config_checks(config);
    if (jf::opt_bool(r, "dry_run", "").value_or(false)) return dry_run(config);
    // A long apply (large rings, many VIPs) logs where it is every few
    // seconds: lbd answers nothing else meanwhile.
    auto start = std::chrono::steady_clock::now();
    auto last = start;
    auto report = [&](size_t done, size_t total) {
      auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::seconds(kApplyProgressSeconds)) return;
      last = now;
      log_line("applying a config: " + std::to_string(done) + " of " + std::to_string(total) + " VIPs done, " +
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - start).count()) + " s");
    };
    ApplyResult res = monitor_ ? monitor_->apply(config, checks, wall_ms(), report) : lb_.apply(config, report);
    if (reaper_) reaper_->configure(config.timeouts, config.reap_interval_ms);
    log_line("applied a config: " + std::to_string(res.added) + " added, " + std::to_string(res.removed) +
             " removed, " + std::to_string(res.changed) + " changed");
    return ok({{"added", res.added}, {"removed", res.removed}, {"changed", res.changed}});
  }
  if (cmd == "config") {
    jf::check_object(r, {"cmd"}, "");
    return ok({{"config", config_to_json(running_config())}});
  }
  if (cmd == "set-health") {
    jf::check_object(r, {"cmd", "vip", "proto", "backend", "port", "health"}, "");
    Endpoint vip = req_vip(r);
    uint8_t proto = req_proto(r);
    std::optional<BackendRef> be;
    if (r.contains("backend")) be = req_backend_ref(r);
    else if (r.contains("port")) throw InputError("port: needs backend");
    if (!r.contains("health")) throw InputError("health: missing (null for no checks)");
    if (!r["health"].is_object() && !r["health"].is_null()) throw InputError("health: must be an object or null");
    if (!monitor_) throw InputError("health checks are not available in this lbd");
    monitor_->set_checks(vip, proto, be, r["health"], wall_ms());
    std::string what = be ? "backend " + ref_name(*be) + " of " : std::string();
    log_line("set the health checks of " + what + vip_name(vip, proto) + " to " +
             (r["health"].is_null() ? std::string(be ? "the VIP's" : "none") : r["health"].dump()));
    return ok();
  }
  if (cmd == "node") {
    jf::check_object(r, {"cmd", "action"}, "");
    std::string action = jf::req_string(r, "action", "");
    if (action != "drain" && action != "undrain")
      throw InputError("action: '" + action + "' is not drain or undrain");
    if (!info_.set_drained) throw SystemError("this lbd cannot drain the node");
    info_.set_drained(action == "drain");
    return ok({{"announce", info_.announce ? info_.announce() : Json(nullptr)}});
  }
  if (cmd == "detach") {
    jf::check_object(r, {"cmd"}, "");
    detach_();
    exit_requested_ = true;
    return ok();
  }
  throw InputError("unknown cmd '" + cmd + "'");
}

Config Api::running_config() { return monitor_ ? monitor_->running_config() : lb_.current_config(); }

Json Api::dry_run(const Config& config) {
  lb_.check(config);
  std::vector<VipView> views = lb_.list();
  ConnectionsOf connections = [&views](const Endpoint& vip, uint8_t proto,
                                        const std::optional<std::pair<IpAddr, uint16_t>>& backend)
      -> std::optional<uint64_t> {
    for (const auto& v : views) {
      if (!(v.vip == vip && v.proto == proto)) continue;
      int64_t n = 0;
      for (const auto& b : v.backends) {
        uint16_t own = b.port == vip.port ? 0 : b.port;
        if (!backend || (backend->first == b.address && backend->second == own)) n += std::max<int64_t>(0, b.conns_active);
      }
      return static_cast<uint64_t>(n);
    }
    return std::nullopt;
  };
  ConfigDiff d = diff_configs(running_config(), lb_.with_defaults(config), connections);
  return ok({{"dry_run", true},
             {"changes", d.lines},
             {"added", d.added},
             {"removed", d.removed},
             {"changed", d.changed}});
}

Json Api::health_status() {
  if (!monitor_) return nullptr;
  Json out = monitor_->status();
  if (info_.health_checks) {
    Json checker = info_.health_checks();
    for (auto& [k, v] : checker.items()) out[k] = v;
  }
  return out;
}

void Api::set_weight(const Endpoint& vip, uint8_t proto, const BackendRef& be, uint32_t weight) {
  if (monitor_)
    monitor_->set_weight(vip, proto, be, weight, wall_ms());
  else
    lb_.set_backend(vip, proto, be, weight);
}

// Which build of xlb_lb runs over the maps (recorded in xlb_meta by the lbd
// that attached it) and whether it is this lbd's: they differ only after
// `lbd --no-upgrade`, or under libxdp's dispatcher (docs/operations.md,
// "Upgrade").
Json Api::program_json() const {
  std::optional<xlb_meta> m = info_.meta ? info_.meta() : std::nullopt;
  bool known = m && m->magic == XLB_META_MAGIC;
  return {{"abi_version", known ? Json(m->abi_version) : Json(nullptr)},
          {"lbd_abi_version", XLB_ABI_VERSION},
          {"build_id", known && m->build_id ? Json(upgrade::build_id_hex(m->build_id)) : Json(nullptr)},
          {"lbd_build_id", upgrade::build_id_hex(info_.build_id)},
          {"build_matches", known && m->build_id == info_.build_id}};
}

Json Api::status(bool count_flows) {
  // iface, ifindex, xdp_mode and prog_id are the first interface's (as
  // before lbd took several); ifaces lists them all.
  Json ifaces = Json::array();
  for (const auto& i : info_.ifaces) {
    auto [mode, prog_id] = info_.attachment ? info_.attachment(i.ifindex) : std::make_pair(std::string(), 0u);
    ifaces.push_back({{"name", i.name},
                      {"ifindex", i.ifindex},
                      {"xdp_mode", mode.empty() ? Json(nullptr) : Json(mode)},
                      {"prog_id", prog_id}});
  }
  Json first = ifaces.empty() ? Json{{"name", ""}, {"ifindex", 0}, {"xdp_mode", nullptr}, {"prog_id", 0}}
                              : ifaces[0];
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - info_.started);
  std::optional<ReaperStatus> reaper;
  if (reaper_) reaper = reaper_->status();
  return ok({{"iface", first["name"]},
             {"ifindex", first["ifindex"]},
             {"xdp_mode", first["xdp_mode"]},
             {"prog_id", first["prog_id"]},
             {"ifaces", ifaces},
             {"pin_dir", info_.pin_dir},
             {"in_sync", !lb_.out_of_sync()},
             {"vips", lb_.vip_count()},
             {"backends", lb_.backend_count()},
             {"flows", count_flows ? Json(lb_.flow_count()) : Json(nullptr)},
             {"flow_table_size", lb_.flow_table_size()},
             {"uptime_s", uptime.count()},
             {"version", XLB_VERSION},
             {"program", program_json()},
             {"encap", encap_json(lb_.encap())},
             {"fullnat", fullnat_json(lb_.fullnat())},
             {"unserved", unserved_name(lb_.pass_unserved())},
             {"icmp_echo", icmp_echo_name(lb_.icmp_echo())},
             {"flood_threshold", lb_.flood_threshold()},
             // Same choice on every node (docs/operations.md): compare these.
             {"hash_seed", lb_.hash_seed()},
             {"fingerprints", fingerprints_json(lb_.fingerprints())},
             {"timeouts", timeouts_json(reaper ? reaper->timeouts : Timeouts{})},
             {"reaper", reaper ? reaper_json(*reaper) : Json(nullptr)},
             {"health", health_status()},
             {"neighbours", info_.neighbours ? info_.neighbours() : Json(nullptr)},
             {"announce", info_.announce ? info_.announce() : Json(nullptr)},
             {"data_path_error", info_.health && !info_.health().empty() ? Json(info_.health()) : Json(nullptr)}});
}

}  // namespace xlb
