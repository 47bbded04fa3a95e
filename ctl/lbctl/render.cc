#include "lbctl/render.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/stats_names.h"
#include "lbctl/table.h"

namespace xlb::lbctl {
namespace {

using Align = Table::Align;

std::string text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "-";
  return value.dump();
}

std::string count(const Json& object, const char* key) { return std::to_string(object.at(key).get<uint64_t>()); }

// A count an answer may lack: "-" then. Counts are signed in lbd (int64).
std::string optional_count(const Json& object, const char* key) {
  if (!object.contains(key) || object.at(key).is_null()) return "-";
  return std::to_string(object.at(key).get<int64_t>());
}

// Does any backend of any VIP carry this field? (A VIP without a backends
// array is left for the renderer to report.)
bool any_backend_has(const Json& vips, const char* key) {
  for (const Json& vip : vips) {
    if (!vip.is_object() || !vip.contains("backends") || !vip["backends"].is_array()) continue;
    for (const Json& backend : vip["backends"])
      if (backend.is_object() && backend.contains(key)) return true;
  }
  return false;
}

// A backend's address, with its port when it has one of its own (nat and
// fullnat): "198.19.0.11:8080", "[fd00:19::11]:8080".
std::string backend_text(const Json& object, const char* address_key, const char* port_key) {
  std::string address = text(object.at(address_key));
  if (!object.contains(port_key) || object.at(port_key).is_null() || object.at(address_key).is_null()) return address;
  std::string port = std::to_string(object.at(port_key).get<uint64_t>());
  return address.find(':') == std::string::npos ? address + ":" + port : "[" + address + "]:" + port;
}

std::string vip_name(const Json& vip) {
  return vip.at("vip").get<std::string>() + "/" + vip.at("proto").get<std::string>();
}

std::string percent(double part, double whole) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", whole > 0 ? 100.0 * part / whole : 0.0);
  return buf;
}

// 120ms, 4.5s, 3m20s, 2h05m: exact when small, short when large.
std::string idle_text(uint64_t ms) {
  char buf[32];
  uint64_t s = ms / 1000;
  if (ms < 1000)
    std::snprintf(buf, sizeof(buf), "%llums", static_cast<unsigned long long>(ms));
  else if (s < 60)
    std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(ms) / 1000.0);
  else if (s < 3600)
    std::snprintf(buf, sizeof(buf), "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  else
    std::snprintf(buf, sizeof(buf), "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60));
  return buf;
}

// lbd's objects carry no key order, so the renderers impose one: the keys of
// preferred that object has, then any others (from a newer lbd) as they came.
std::vector<std::string> ordered_keys(const Json& object, const std::vector<std::string>& preferred) {
  std::vector<std::string> keys;
  for (const std::string& key : preferred)
    if (object.contains(key)) keys.push_back(key);
  for (const auto& item : object.items())
    if (std::find(keys.begin(), keys.end(), item.key()) == keys.end()) keys.push_back(item.key());
  return keys;
}

// The order docs/api.md lists them in; timeouts and reaper came with issue 3,
// ifaces and fullnat with the NAT modes.
// unserved, icmp_echo and flood_threshold came with issue 10.
const std::vector<std::string> kStatusOrder = {
    "iface",    "ifindex",   "xdp_mode",        "prog_id",  "ifaces",  "pin_dir", "in_sync", "verify", "vips",
    "backends", "flows",     "flow_table_size", "uptime_s", "version", "encap",   "fullnat",
    "unserved", "icmp_echo", "flood_threshold", "hash_seed", "fingerprints", "timeouts", "reaper", "program",
    "announce"};

// The same for the nested status objects, by their dotted key.
const std::map<std::string, std::vector<std::string>> kNestedStatusOrder = {
    {"encap", {"source_v4", "source_v6"}},
    {"fullnat", {"source_v4", "source_v6", "port_min", "port_max"}},
    {"timeouts", {"tcp_established", "tcp_half_open", "tcp_closing", "udp"}},
    {"verify", {"ok", "differences"}},
    {"program", {"abi_version", "lbd_abi_version", "build_id", "lbd_build_id", "build_matches"}},
    {"reaper",
     {"running", "interval_ms", "sweeps", "last_sweep", "expired_total", "reconciled_total", "backends_freed",
      "nat_rev_reaped_total", "error"}},
    {"reaper.last_sweep",
     {"unix_ms", "age_ms", "duration_ms", "scanned", "expired", "restored", "reconciled", "nat_rev_entries",
      "nat_rev_reaped", "complete"}},
};

// The data path's order, enum xlb_stat: received, passed, flow events, dropped, sent.
const std::vector<std::string> kCounterOrder(xlb_stat_names, xlb_stat_names + XLB_STAT_MAX);

// The interfaces on one line: "eth0 (native, prog 41), eth1 (skb, prog 41)".
std::string ifaces_text(const Json& ifaces) {
  std::string out;
  for (const Json& i : ifaces) {
    if (!out.empty()) out += ", ";
    out += text(i.at("name")) + " (" + text(i.at("xdp_mode")) + ", prog " + text(i.at("prog_id")) + ")";
  }
  return out.empty() ? "-" : out;
}

// A nested object (encap, timeouts, reaper) becomes dotted keys: "encap.source_v4".
void flatten(const std::string& key, const Json& value, std::vector<std::pair<std::string, std::string>>& lines) {
  if (key == "ifaces" && value.is_array()) {
    lines.emplace_back(key, ifaces_text(value));
    return;
  }
  if (key == "announce" && value.is_object()) {
    lines.emplace_back(key, announce_text(value));
    return;
  }
  if (key == "fingerprints" && value.is_array()) {
    // One line per VIP, to compare between nodes: "198.18.100.1:80/tcp maglev ring 0123456789abcdef".
    if (value.empty()) lines.emplace_back("fingerprint", "none");
    for (const Json& v : value) {
      bool ring = v.contains("ring_fingerprint");
      lines.emplace_back("fingerprint", vip_name(v) + " " + text(v.at("sched")) + (ring ? " ring " : " backends ") +
                                            text(v.at(ring ? "ring_fingerprint" : "backends_fingerprint")));
    }
    return;
  }
  if (key == "verify.differences" && value.is_array()) {
    // One line per difference: they are sentences.
    if (value.empty()) lines.emplace_back(key, "none");
    for (const Json& d : value) lines.emplace_back("verify.difference", text(d));
    return;
  }
  if (!value.is_object()) {
    lines.emplace_back(key, text(value));
    return;
  }
  static const std::vector<std::string> kAsTheyCame;
  auto order = kNestedStatusOrder.find(key);
  const auto& preferred = order == kNestedStatusOrder.end() ? kAsTheyCame : order->second;
  for (const std::string& sub : ordered_keys(value, preferred)) flatten(key + "." + sub, value.at(sub), lines);
}

bool is_zero(const Json& counter) { return counter.at("packets") == 0 && counter.at("bytes") == 0; }

}  // namespace

std::string announce_text(const Json& a) {
  bool drained = a.value("drained", false);
  if (!a.contains("table") || a["table"].is_null())
    return std::string("off (lbd runs without --announce-table)") + (drained ? "; node drained" : "");
  std::string out = "table " + text(a["table"]);
  if (drained) out += ", node drained";
  std::string vips;
  for (const Json& v : a.value("announced", Json::array())) vips += (vips.empty() ? "" : " ") + text(v);
  out += vips.empty() ? ": nothing announced" : ": " + vips;
  if (a.contains("error") && a["error"].is_string()) out += "; last write failed: " + text(a["error"]);
  return out;
}

void render_json(const Json& answer, std::ostream& out) {
  Json shown = answer;
  shown.erase("ok");
  out << shown.dump(2) << '\n';
}

void render_status(const Json& answer, std::ostream& out) {
  std::vector<std::pair<std::string, std::string>> lines;
  for (const std::string& key : ordered_keys(answer, kStatusOrder)) {
    if (key == "ok") continue;
    flatten(key, answer.at(key), lines);
  }
  size_t width = 0;
  for (const auto& line : lines) width = std::max(width, line.first.size());
  for (const auto& [key, value] : lines) out << key << ':' << std::string(width - key.size() + 1, ' ') << value << '\n';
}

namespace {

// " health http every 2s (rise 2, fall 3)", and the all-down state; "" for
// a VIP without checks (or an lbd without health checks).
std::string health_summary(const Json& vip) {
  const Json& h = vip.value("health", Json(nullptr));
  // Checks only in backends' overrides: no VIP settings, but it can still
  // be all down (and then fails open, the default).
  if (!h.is_object()) return vip.value("all_down", false) ? "  ALL DOWN: failing open" : "";
  std::string out = "  health " + text(h.at("check"));
  if (h.contains("path")) out += " " + text(h.at("path"));
  out += " every " + text(h.at("interval")) + " (rise " + text(h.at("rise")) + ", fall " + text(h.at("fall")) + ")";
  if (vip.value("all_down", false))
    out += "  ALL DOWN: " + std::string(text(h.at("all_down")) == "fail-closed" ? "failing closed" : "failing open");
  return out;
}

// "http status 200, 0.4 ms", "connect refused"; "-" before the first check.
std::string last_check(const Json& health) {
  const Json& last = health.value("last", Json(nullptr));
  if (!last.is_object()) return "-";
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.1f ms", last.at("latency_us").get<double>() / 1000.0);
  return text(last.at("detail")) + ", " + ms;
}

}  // namespace

void render_list(const Json& answer, std::ostream& out) {
  const Json& vips = answer.at("vips");
  if (vips.empty()) out << "no VIPs\n";
  // Connection counts came with least-conn (issue 3); an older lbd answers
  // without them, and then the table has no such columns.
  bool with_active = any_backend_has(vips, "active");
  bool with_half_open = any_backend_has(vips, "half_open");
  bool first = true;
  for (const Json& vip : vips) {
    if (!first) out << '\n';
    first = false;
    auto ring_size = vip.at("ring_size").get<uint64_t>();
    out << vip_name(vip) << "  sched " << text(vip.at("sched")) << "  mode " << text(vip.at("mode")) << "  ring "
        << ring_size;
    if (vip.value("stateless", false)) out << "  stateless";
    // Came with issue 14: compare between nodes.
    if (vip.contains("ring_fingerprint")) out << "  ring fingerprint " << text(vip.at("ring_fingerprint"));
    if (vip.contains("backends_fingerprint")) out << "  backends fingerprint " << text(vip.at("backends_fingerprint"));
    out << health_summary(vip) << '\n';
    const Json& backends = vip.at("backends");
    if (backends.empty()) {
      out << "  no backends\n";
      continue;
    }
    // Checked backends: WEIGHT is the operator's (admin) weight and STATE
    // the operator's state (lbd writes it so); HEALTH says whether the ring
    // has them.
    bool checked = false;
    for (const Json& b : backends) checked = checked || b.value("health", Json(nullptr)).is_object();
    std::vector<Table::Column> columns = {{"BACKEND"}, {"WEIGHT", Align::kRight}, {"STATE"}};
    if (checked) columns.push_back({"HEALTH"});
    if (with_active) columns.push_back({"ACTIVE", Align::kRight});
    if (with_half_open) columns.push_back({"HALF-OPEN", Align::kRight});
    columns.push_back({"RING SHARE", Align::kRight});
    if (checked) {
      columns.push_back({"LAST CHECK"});
      columns.push_back({"REASON"});
    }
    Table table(columns);
    for (const Json& backend : backends) {
      const Json& health = backend.value("health", Json(nullptr));
      bool h = health.is_object();
      std::vector<std::string> row = {backend_text(backend, "address", "port"),
                                      count(backend, h ? "admin_weight" : "weight"), text(backend.at("state"))};
      if (checked) row.push_back(h ? text(health.at("label")) : "-");
      if (with_active) row.push_back(optional_count(backend, "active"));
      if (with_half_open) row.push_back(optional_count(backend, "half_open"));
      row.push_back(percent(backend.at("ring_slots").get<double>(), static_cast<double>(ring_size)));
      if (checked) {
        row.push_back(h ? last_check(health) : "-");
        std::string reason = h ? text(health.at("reason")) : "";
        if (h && !health.value("not_checked", Json(nullptr)).is_null())
          reason = "not checked: " + text(health.at("not_checked"));
        row.push_back(reason.empty() ? "-" : reason);
      }
      table.add_row(std::move(row));
    }
    table.print(out, "  ");
  }
}

void render_stats(const Json& answer, std::ostream& out) {
  const Json& vips = answer.at("vips");
  if (vips.empty()) {
    out << "no VIPs\n";
  } else {
    Table table({{"VIP / BACKEND"}, {"PACKETS", Align::kRight}, {"BYTES", Align::kRight}});
    for (const Json& vip : vips) {
      table.add_row({vip_name(vip), count(vip, "packets"), count(vip, "bytes")});
      for (const Json& backend : vip.at("backends"))
        table.add_row({"  " + backend_text(backend, "address", "port"), count(backend, "packets"),
                       count(backend, "bytes")});
    }
    table.print(out);
  }

  // Only the counters that moved: a dozen zero drop reasons hide the one that matters.
  Table counters({{"COUNTER"}, {"PACKETS", Align::kRight}, {"BYTES", Align::kRight}});
  bool any = false;
  const Json& global = answer.at("global");
  for (const std::string& name : ordered_keys(global, kCounterOrder)) {
    const Json& counter = global.at(name);
    if (is_zero(counter)) continue;
    counters.add_row({name, count(counter, "packets"), count(counter, "bytes")});
    any = true;
  }
  out << '\n';
  if (any)
    counters.print(out);
  else
    out << "all global counters are zero\n";
}

void render_flows(const Json& answer, std::ostream& out) {
  const Json& flows = answer.at("flows");
  auto total = answer.at("total").get<uint64_t>();
  if (flows.empty()) {
    out << "no flows\n";
    return;
  }
  // fullnat flows have the source port they were given: a column only
  // when some flow has one.
  bool with_nat_port = false;
  for (const Json& flow : flows) with_nat_port = with_nat_port || flow.contains("nat_port");
  std::vector<Table::Column> columns = {{"PROTO"}, {"SRC"}, {"DST"}, {"BACKEND"}};
  if (with_nat_port) columns.push_back({"NAT PORT", Align::kRight});
  columns.push_back({"STATE"});
  columns.push_back({"IDLE", Align::kRight});
  Table table(columns);
  for (const Json& flow : flows) {
    std::vector<std::string> row = {text(flow.at("proto")), text(flow.at("src")), text(flow.at("dst")),
                                    backend_text(flow, "backend", "backend_port")};
    if (with_nat_port) row.push_back(flow.contains("nat_port") ? text(flow.at("nat_port")) : "-");
    row.push_back(text(flow.at("state")));
    row.push_back(idle_text(flow.at("idle_ms").get<uint64_t>()));
    table.add_row(std::move(row));
  }
  table.print(out);
  if (answer.at("truncated").get<bool>())
    out << "showing " << flows.size() << " of " << total << " flows (raise --limit to see more)\n";
  else
    out << total << (total == 1 ? " flow\n" : " flows\n");
}

void render_flows_removed(const Json& answer, std::ostream& out) {
  if (answer.contains("flows_removed")) out << "flows removed: " << text(answer["flows_removed"]) << '\n';
}

void render_apply(const Json& answer, std::ostream& out) {
  const char* separator = "";
  for (const char* key : {"added", "removed", "changed"}) {
    if (!answer.contains(key)) continue;
    out << separator << key << ' ' << text(answer[key]);
    separator = ", ";
  }
  if (*separator != '\0') out << '\n';
}

void render_dry_run(const Json& answer, std::ostream& out) {
  const Json& changes = answer.at("changes");
  for (const Json& line : changes) out << text(line) << '\n';
  if (changes.empty()) {
    out << "no changes\n";
    return;
  }
  out << "would add " << text(answer.at("added")) << ", remove " << text(answer.at("removed")) << ", change "
      << text(answer.at("changed")) << " (nothing was applied)\n";
}

// lbctl pick (pick_commands.cc).
void render_pick(const Json& a, std::ostream& out) {
  std::string tuple = text(a.at("src")) + " -> " + text(a.at("vip")) + "/" + text(a.at("proto"));
  out << tuple << "  sched " << text(a.at("sched")) << "  hash_seed " << text(a.at("hash_seed")) << '\n';
  if (a.value("depends_on_state", false)) {
    out << "  new flow: depends on state (" << text(a.at("sched"))
        << " picks by counts, a cursor or chance, not by the flow)\n";
  } else {
    const Json& b = a.at("backend");
    out << "  new flow: " << (b.is_object() ? backend_text(b, "address", "port") : std::string("no backend (empty slot)"))
        << "  (slot " << text(a.at("slot")) << " of " << text(a.at("ring_size")) << ", hash "
        << text(a.at("hash")) << ")\n";
  }
  const Json& e = a.at("existing_flow");
  if (e.is_object())
    out << "  existing flow to "
        << (e.contains("address") ? backend_text(e, "address", "port")
                                  : "backend id " + text(e.at("backend_id")) + " (bound to no backend)")
        << '\n';
  else
    out << "  no existing flow\n";
  if (a.contains("ring_fingerprint")) out << "  ring fingerprint " << text(a.at("ring_fingerprint")) << '\n';
  if (a.contains("backends_fingerprint"))
    out << "  backends fingerprint " << text(a.at("backends_fingerprint")) << '\n';
}

}  // namespace xlb::lbctl
