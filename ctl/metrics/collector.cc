#include "collector.h"

#include "families.h"
#include "json_read.h"

namespace xlb::metrics {

using Json = nlohmann::json;

namespace {

// Adds samples of declared families, skipping values a view lacks.
class Sink {
 public:
  explicit Sink(Exposition& out) : out_(out) {}
  void u64(const char* name, const Labels& l, std::optional<uint64_t> v) {
    if (v) out_.add(name, l, *v);
  }
  void i64(const char* name, const Labels& l, std::optional<int64_t> v) {
    if (v) out_.add(name, l, *v);
  }
  void num(const char* name, const Labels& l, std::optional<double> v) {
    if (v) out_.add(name, l, *v);
  }
  void flag(const char* name, const Labels& l, std::optional<bool> v) {
    if (v) out_.add(name, l, uint64_t(*v ? 1 : 0));
  }
  // A state set: one sample per possible state, 1 for the current one. A
  // state outside the set gets its own sample (1), so it still shows.
  void states(const char* name, Labels l, const std::vector<std::string>& all, std::optional<std::string> now) {
    if (!now) return;
    bool known = false;
    for (const auto& s : all) {
      l.push_back({"state", s});
      out_.add(name, l, uint64_t(s == *now ? 1 : 0));
      l.pop_back();
      known |= s == *now;
    }
    if (!known) {
      l.push_back({"state", *now});
      out_.add(name, l, uint64_t(1));
    }
  }

 private:
  Exposition& out_;
};

std::optional<double> ms_to_s(std::optional<double> ms) {
  if (!ms) return std::nullopt;
  return *ms / 1000.0;
}

void daemon(const Json& st, Sink& s) {
  if (!st.is_object()) return;
  if (auto v = get_string(st, "version")) s.u64("xlb_build_info", {{"version", *v}}, 1);
  s.num("xlb_uptime_seconds", {}, get_number(st, "uptime_s"));
  s.flag("xlb_in_sync", {}, get_bool(st, "in_sync"));
  if (st.contains("data_path_error"))  // null: fine
    s.flag("xlb_data_path_ok", {}, !field(st, "data_path_error"));
  if (const Json* ifaces = field(st, "ifaces"); ifaces && ifaces->is_array())
    for (const Json& i : *ifaces) {
      auto name = get_string(i, "name");
      if (!name) continue;
      auto mode = get_string(i, "xdp_mode");
      s.flag("xlb_interface_attached", {{"interface", *name}}, mode.has_value());
      if (mode)
        s.u64("xlb_interface_xdp_info",
              {{"interface", *name}, {"xdp_mode", *mode}, {"prog_id", std::to_string(get_u64(i, "prog_id").value_or(0))}},
              1);
    }
  s.u64("xlb_vips", {}, get_u64(st, "vips"));
  s.u64("xlb_backends", {}, get_u64(st, "backends"));
  s.u64("xlb_flow_table_entries", {}, get_u64(st, "flows"));
  s.u64("xlb_flow_table_size", {}, get_u64(st, "flow_table_size"));
  if (const Json* t = field(st, "timeouts"); t && t->is_object())
    for (const auto& [state, secs] : t->items())
      if (secs.is_number()) s.num("xlb_flow_timeout_seconds", {{"state", state}}, secs.get<double>());
}

void global_counters(const Json& stats, Sink& s) {
  const Json* g = field(stats, "global");
  if (!g || !g->is_object()) return;
  for (const auto& [name, c] : g->items()) {
    s.u64("xlb_packets_total", {{"counter", name}}, get_u64(c, "packets"));
    s.u64("xlb_bytes_total", {{"counter", name}}, get_u64(c, "bytes"));
  }
}

// {vip, proto} of a VIP object; false if it lacks them.
bool vip_labels(const Json& v, Labels& l) {
  auto vip = get_string(v, "vip");
  auto proto = get_string(v, "proto");
  if (!vip || !proto) return false;
  l = {{"vip", *vip}, {"proto", *proto}};
  return true;
}

const Json& backends_of(const Json& v) {
  static const Json empty = Json::array();
  const Json* b = field(v, "backends");
  return b && b->is_array() ? *b : empty;
}

void vip_stats(const Json& stats, Sink& s) {
  const Json* vips = field(stats, "vips");
  if (!vips || !vips->is_array()) return;
  for (const Json& v : *vips) {
    Labels l;
    if (!vip_labels(v, l)) continue;
    s.u64("xlb_vip_packets_total", l, get_u64(v, "packets"));
    s.u64("xlb_vip_bytes_total", l, get_u64(v, "bytes"));
    s.u64("xlb_vip_all_down_events_total", l, get_u64(v, "all_down_events"));
    for (const Json& b : backends_of(v)) {
      if (!get_string(b, "address")) continue;
      Labels bl = l;
      bl.push_back({"backend", backend_label(b)});
      s.u64("xlb_backend_packets_total", bl, get_u64(b, "packets"));
      s.u64("xlb_backend_bytes_total", bl, get_u64(b, "bytes"));
    }
  }
}

void backend_health(const Json& h, const Labels& l, Sink& s) {
  s.states("xlb_backend_health_state", l, {"up", "down", "unchecked"}, get_string(h, "state"));
  s.num("xlb_backend_health_changed_timestamp_seconds", l, ms_to_s(get_number(h, "since_ms")));
  s.u64("xlb_backend_health_consecutive_successes", l, get_u64(h, "successes"));
  s.u64("xlb_backend_health_consecutive_failures", l, get_u64(h, "failures"));
  if (const Json* last = field(h, "last")) {
    s.flag("xlb_backend_health_last_check_ok", l, get_bool(*last, "ok"));
    auto us = get_number(*last, "latency_us");
    if (us) s.num("xlb_backend_health_last_check_latency_seconds", l, *us / 1e6);
  }
  if (h.is_object() && h.contains("not_checked"))  // null: the check runs
    s.flag("xlb_backend_health_check_running", l, !field(h, "not_checked"));
}

void vip_list(const Json& vips, Sink& s) {
  if (!vips.is_array()) return;
  for (const Json& v : vips) {
    Labels l;
    if (!vip_labels(v, l)) continue;
    auto sched = get_string(v, "sched");
    auto mode = get_string(v, "mode");
    if (sched && mode) {
      Labels il = l;
      il.push_back({"sched", *sched});
      il.push_back({"mode", *mode});
      s.u64("xlb_vip_info", il, 1);
    }
    s.u64("xlb_vip_ring_size", l, get_u64(v, "ring_size"));
    s.flag("xlb_vip_all_down", l, get_bool(v, "all_down"));
    for (const Json& b : backends_of(v)) {
      if (!get_string(b, "address")) continue;
      Labels bl = l;
      bl.push_back({"backend", backend_label(b)});
      s.u64("xlb_backend_weight", bl, get_u64(b, "weight"));
      s.u64("xlb_backend_admin_weight", bl, get_u64(b, "admin_weight"));
      s.u64("xlb_backend_ring_slots", bl, get_u64(b, "ring_slots"));
      s.states("xlb_backend_state", bl, {"active", "draining", "removed"}, get_string(b, "state"));
      s.i64("xlb_backend_active_connections", bl, get_i64(b, "active"));
      s.i64("xlb_backend_half_open_connections", bl, get_i64(b, "half_open"));
      if (const Json* h = field(b, "health")) backend_health(*h, bl, s);
    }
  }
}

void health(const Json& st, Sink& s) {
  const Json* h = field(st, "health");
  if (!h) return;
  for (const char* state : {"up", "down", "unchecked"})
    s.u64("xlb_health_backends", {{"state", state}}, get_u64(*h, state));
  s.u64("xlb_health_checks_not_run", {}, get_u64(*h, "not_run"));
  s.u64("xlb_health_vips_all_down", {}, get_u64(*h, "vips_all_down"));
  s.u64("xlb_health_steered_targets", {}, get_u64(*h, "steered"));
  s.u64("xlb_health_transitions_total", {}, get_u64(*h, "transitions"));
  if (field(*h, "state_file"))  // only with a state file
    s.flag("xlb_health_state_file_ok", {}, !field(*h, "state_file_error"));
  s.u64("xlb_health_check_targets", {}, get_u64(*h, "targets"));
  s.u64("xlb_health_checks_in_flight", {}, get_u64(*h, "in_flight"));
  s.u64("xlb_health_checks_started_total", {}, get_u64(*h, "probes_started"));
  s.u64("xlb_health_checks_skipped_busy_total", {}, get_u64(*h, "skipped_busy"));
  s.num("xlb_health_checker_cpu_seconds_total", {}, ms_to_s(get_number(*h, "checker_cpu_ms")));
  if (const Json* sp = field(*h, "steering_packets"); sp && sp->is_object())
    for (const auto& [name, n] : sp->items())
      if (n.is_number_unsigned()) s.u64("xlb_health_steering_packets_total", {{"counter", name}}, n.get<uint64_t>());
}

void reaper(const Json& st, Sink& s) {
  const Json* r = field(st, "reaper");
  if (!r) return;
  s.num("xlb_reaper_interval_seconds", {}, ms_to_s(get_number(*r, "interval_ms")));
  s.u64("xlb_reaper_sweeps_total", {}, get_u64(*r, "sweeps"));
  s.flag("xlb_reaper_running", {}, get_bool(*r, "running"));
  if (r->contains("error")) s.flag("xlb_reaper_last_sweep_failed", {}, field(*r, "error") != nullptr);
  s.u64("xlb_reaper_expired_total", {}, get_u64(*r, "expired_total"));
  s.u64("xlb_reaper_reconciled_total", {}, get_u64(*r, "reconciled_total"));
  s.u64("xlb_reaper_backends_freed_total", {}, get_u64(*r, "backends_freed"));
  s.u64("xlb_reaper_nat_rev_reaped_total", {}, get_u64(*r, "nat_rev_reaped_total"));
  const Json* last = field(*r, "last_sweep");
  if (!last) return;
  s.num("xlb_reaper_last_sweep_timestamp_seconds", {}, ms_to_s(get_number(*last, "unix_ms")));
  s.num("xlb_reaper_last_sweep_duration_seconds", {}, ms_to_s(get_number(*last, "duration_ms")));
  s.u64("xlb_reaper_last_sweep_scanned_entries", {}, get_u64(*last, "scanned"));
  s.u64("xlb_reaper_last_sweep_expired_entries", {}, get_u64(*last, "expired"));
  s.u64("xlb_reaper_last_sweep_restored_entries", {}, get_u64(*last, "restored"));
  s.u64("xlb_reaper_last_sweep_nat_rev_entries", {}, get_u64(*last, "nat_rev_entries"));
  s.u64("xlb_reaper_last_sweep_nat_rev_reaped_entries", {}, get_u64(*last, "nat_rev_reaped"));
  s.flag("xlb_reaper_last_sweep_complete", {}, get_bool(*last, "complete"));
}

void announce(const Json& st, Sink& s) {
  const Json* a = field(st, "announce");
  if (!a) return;
  s.flag("xlb_node_drained", {}, get_bool(*a, "drained"));
  if (!field(*a, "table")) return;  // announcing is off
  s.flag("xlb_announce_write_ok", {}, !field(*a, "error"));
  if (const Json* list = field(*a, "announced"); list && list->is_array())
    for (const Json& vip : *list)
      if (vip.is_string()) s.u64("xlb_vip_announced", {{"vip", vip.get<std::string>()}}, 1);
}

}  // namespace

std::string backend_label(const Json& backend) {
  std::string addr = get_string(backend, "address").value_or("");
  auto port = get_u64(backend, "port");
  if (!port || !*port) return addr;
  bool v6 = addr.find(':') != std::string::npos;
  return (v6 ? "[" + addr + "]" : addr) + ":" + std::to_string(*port);
}

void collect(const Views& views, Exposition& out) {
  declare_families(out);
  Sink s(out);
  daemon(views.status, s);
  global_counters(views.stats, s);
  vip_stats(views.stats, s);
  vip_list(views.vips, s);
  health(views.status, s);
  reaper(views.status, s);
  announce(views.status, s);
}

std::string render(const Views& views) {
  Exposition out;
  collect(views, out);
  return out.render();
}

}  // namespace xlb::metrics
