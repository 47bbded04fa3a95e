#include "views_json.h"

#include "pick/fingerprint.h"
#include "rules.h"
#include "stats_names.h"

namespace xlb {

using Json = nlohmann::json;

Json list_json(const std::vector<VipView>& vips) {
  Json out = Json::array();
  for (const auto& v : vips) {
    Json backends = Json::array();
    for (const auto& b : v.backends) {
      Json be = {{"address", b.address.str()},
                 {"weight", b.weight},
                 {"state", backend_status_name(b.state)},
                 {"ring_slots", b.ring_slots},
                 {"active", b.conns_active},
                 {"half_open", b.conns_half_open}};
      if (b.port) be["port"] = b.port;  // only a backend with a port of its own
      backends.push_back(std::move(be));
    }
    Json vip = {{"vip", v.vip.str()},
                {"proto", proto_name(v.proto)},
                {"sched", sched_name(v.sched)},
                {"mode", mode_name(v.mode)},
                {"ring_size", v.ring_size},
                {"stateless", v.stateless},
                {"backends", backends}};
    add_fingerprint(vip, v.fingerprint);
    out.push_back(std::move(vip));
  }
  return out;
}

void add_fingerprint(Json& vip, const VipFingerprint& fp) {
  vip[fp.of_ring ? "ring_fingerprint" : "backends_fingerprint"] = pick::hex16(fp.value);
}

namespace {
Json backend_ref_json(const BackendRef& b) {
  Json out = {{"address", b.address.str()}};
  if (b.port) out["port"] = *b.port;  // only a backend with a port of its own
  return out;
}
}  // namespace

Json pick_json(const PickView& p, const Endpoint& src) {
  Json out = {{"vip", p.vip.str()},
              {"proto", proto_name(p.proto)},
              {"sched", sched_name(p.sched)},
              {"src", src.str()},
              {"hash_seed", p.hash_seed},
              {"depends_on_state", !p.stateless},
              {"backend", nullptr},
              {"existing_flow", nullptr}};
  if (p.stateless) {
    out["hash"] = p.hash;
    out["ring_size"] = p.ring_size;
    out["slot"] = p.slot;
    if (p.backend) out["backend"] = backend_ref_json(*p.backend);
  }
  if (p.existing_flow)
    out["existing_flow"] = p.existing_backend ? backend_ref_json(*p.existing_backend)
                                              : Json{{"backend_id", p.existing_backend_id}};
  add_fingerprint(out, p.fingerprint);
  return out;
}

Json fingerprints_json(const std::vector<VipView>& vips) {
  Json out = Json::array();
  for (const auto& v : vips) {
    Json vip = {{"vip", v.vip.str()}, {"proto", proto_name(v.proto)}, {"sched", sched_name(v.sched)}};
    add_fingerprint(vip, v.fingerprint);
    out.push_back(std::move(vip));
  }
  return out;
}

namespace {
Json counter_json(const Counter& c) { return {{"packets", c.packets}, {"bytes", c.bytes}}; }
}  // namespace

Json stats_json(const StatsView& stats) {
  Json global = Json::object();
  for (size_t i = 0; i < XLB_STAT_MAX; i++)
    global[xlb_stat_names[i]] = counter_json(i < stats.global.size() ? stats.global[i] : Counter{});
  Json vips = Json::array();
  for (const auto& v : stats.vips) {
    Json backends = Json::array();
    for (const auto& b : v.backends) {
      Json be = {{"address", b.address.str()}, {"packets", b.counter.packets}, {"bytes", b.counter.bytes}};
      if (b.port) be["port"] = b.port;
      backends.push_back(std::move(be));
    }
    vips.push_back({{"vip", v.vip.str()},
                    {"proto", proto_name(v.proto)},
                    {"packets", v.counter.packets},
                    {"bytes", v.counter.bytes},
                    {"backends", backends}});
  }
  return {{"global", global}, {"vips", vips}};
}

Json flows_json(const FlowsView& flows) {
  Json list = Json::array();
  for (const auto& f : flows.flows) {
    Json flow = {{"proto", proto_name(f.proto)},
                 {"src", f.src.str()},
                 {"dst", f.dst.str()},
                 {"backend", f.backend ? Json(f.backend->str()) : Json(nullptr)},
                 {"state", flow_state_name(f.state)},
                 {"idle_ms", f.idle_ms}};
    if (f.backend && f.backend_port) flow["backend_port"] = f.backend_port;
    if (f.nat_port) flow["nat_port"] = f.nat_port;  // fullnat flows only
    list.push_back(std::move(flow));
  }
  return {{"total", flows.total}, {"truncated", flows.truncated}, {"flows", list}};
}

Json encap_json(const EncapConfig& encap) {
  Json out = Json::object();
  if (encap.source_v4) out["source_v4"] = encap_source_str(*encap.source_v4);
  if (encap.source_v6) out["source_v6"] = encap_source_str(*encap.source_v6);
  return out;
}

}  // namespace xlb
