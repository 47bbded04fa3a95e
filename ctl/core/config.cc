#include "config.h"

#include <set>
#include <utility>

#include "json_fields.h"
#include "rules.h"

namespace xlb {

namespace jf = json_fields;
using Json = nlohmann::json;

namespace {

IpPrefix parse_source(const Json& obj, const char* key, const std::string& path, bool want_v4) {
  std::string field = jf::join(path, key);
  std::string text = jf::req_string(obj, key, path);
  IpPrefix prefix = jf::at(field, [&] { return IpPrefix::parse(text); });
  if (prefix.ip.is_v4() != want_v4 || prefix.len == 0)
    throw InputError(field + ": must be an " + (want_v4 ? "IPv4" : "IPv6") + " address or prefix");
  return prefix;
}

EncapConfig parse_encap(const Json& obj, const std::string& path) {
  jf::check_object(obj, {"source_v4", "source_v6"}, path);
  EncapConfig encap;
  if (obj.contains("source_v4")) encap.source_v4 = parse_source(obj, "source_v4", path, true);
  if (obj.contains("source_v6")) encap.source_v6 = parse_source(obj, "source_v6", path, false);
  return encap;
}

FullnatConfig parse_fullnat(const Json& obj, const std::string& path) {
  jf::check_object(obj, {"source_v4", "source_v6", "port_min", "port_max"}, path);
  FullnatConfig f;
  auto source = [&](const char* key) {
    std::string text = jf::req_string(obj, key, path);
    return jf::at(jf::join(path, key), [&] { return IpAddr::parse(text); });
  };
  if (obj.contains("source_v4")) f.source_v4 = source("source_v4");
  if (obj.contains("source_v6")) f.source_v6 = source("source_v6");
  if (auto v = jf::opt_uint(obj, "port_min", path, 1, 65535)) f.port_min = static_cast<uint16_t>(*v);
  if (auto v = jf::opt_uint(obj, "port_max", path, 1, 65535)) f.port_max = static_cast<uint16_t>(*v);
  check_fullnat(f);
  return f;
}

// "health": an object, kept as written; its keys are ctl/health's to check.
Json health_object(const Json& obj, const std::string& path) {
  if (!obj.contains("health") || obj["health"].is_null()) return nullptr;
  if (!obj["health"].is_object()) throw InputError(jf::join(path, "health") + ": must be an object");
  return obj["health"];
}

BackendConfig parse_backend(const Json& obj, const std::string& path, const VipConfig& vip) {
  jf::check_object(obj, {"address", "port", "weight", "health"}, path);
  BackendConfig be;
  std::string field = jf::join(path, "address");
  std::string text = jf::req_string(obj, "address", path);
  be.address = jf::at(field, [&] { return IpAddr::parse(text); });
  jf::at(field, [&] { check_backend_address(be.address, vip.vip.ip, {}); });
  jf::at(field, [&] { check_backend_family(vip.mode, vip.vip, be.address); });
  if (auto p = jf::opt_uint(obj, "port", path, 1, 65535)) {
    be.port = static_cast<uint16_t>(*p);
    jf::at(jf::join(path, "port"), [&] { check_backend_port(vip.mode, be.port); });
  }
  // 0 keeps the backend draining, as set-backend weight 0 / drain-backend do.
  be.weight = static_cast<uint32_t>(jf::opt_uint(obj, "weight", path, 0, kMaxWeight).value_or(1));
  be.health = health_object(obj, path);
  return be;
}

VipConfig parse_vip(const Json& obj, const std::string& path) {
  jf::check_object(obj, {"vip", "proto", "sched", "mode", "ring_size", "stateless", "backends", "health"}, path);
  VipConfig vip;
  std::string text = jf::req_string(obj, "vip", path);
  vip.vip = jf::at(jf::join(path, "vip"), [&] { return Endpoint::parse(text); });
  // lbd's own addresses are checked when the config is applied.
  jf::at(jf::join(path, "vip"), [&] { check_vip_address(vip.vip.ip, {}); });
  text = jf::req_string(obj, "proto", path);
  vip.proto = jf::at(jf::join(path, "proto"), [&] { return parse_proto(text); });
  if (auto s = jf::opt_string(obj, "sched", path))
    vip.sched = jf::at(jf::join(path, "sched"), [&] { return parse_sched(*s); });
  if (auto m = jf::opt_string(obj, "mode", path))
    vip.mode = jf::at(jf::join(path, "mode"), [&] { return parse_mode(*m); });
  if (auto r = jf::opt_uint(obj, "ring_size", path, 0, UINT32_MAX)) {
    jf::at(jf::join(path, "ring_size"), [&] { check_ring_size(*r); });
    vip.ring_size = static_cast<uint32_t>(*r);
  }
  if (auto st = jf::opt_bool(obj, "stateless", path)) {
    vip.stateless = *st;
    if (vip.stateless) jf::at(jf::join(path, "stateless"), [&] { check_stateless(vip.sched, vip.mode); });
  }
  vip.health = health_object(obj, path);
  if (obj.contains("backends")) {
    const Json& list = obj["backends"];
    std::string lpath = jf::join(path, "backends");
    if (!list.is_array()) throw InputError(lpath + ": must be an array");
    // Identity is (address, port); no port means the VIP's, so "port": 80
    // on a VIP of port 80 is the same backend as no port.
    std::set<std::pair<IpAddr, uint16_t>> seen;
    for (size_t i = 0; i < list.size(); i++) {
      std::string bpath = jf::index(lpath, i);
      BackendConfig be = parse_backend(list[i], bpath, vip);
      if (!seen.insert({be.address, be.port ? be.port : vip.vip.port}).second)
        throw InputError(bpath + ": duplicate backend " + backend_name(be.address, be.port));
      vip.backends.push_back(be);
    }
  }
  return vip;
}

Timeouts parse_timeouts(const Json& obj, const std::string& path) {
  jf::check_object(obj, {"tcp_established", "tcp_half_open", "tcp_closing", "udp"}, path);
  Timeouts t;
  auto field = [&](const char* key, uint32_t& out) {
    if (auto v = jf::opt_uint(obj, key, path, 1, kMaxTimeoutS)) out = static_cast<uint32_t>(*v);
  };
  field("tcp_established", t.tcp_established);
  field("tcp_half_open", t.tcp_half_open);
  field("tcp_closing", t.tcp_closing);
  field("udp", t.udp);
  return t;
}

}  // namespace

void check_fullnat(const FullnatConfig& f) {
  if (f.source_v4 && !f.source_v4->is_v4()) throw InputError("fullnat.source_v4: must be an IPv4 address");
  if (f.source_v6 && f.source_v6->is_v4()) throw InputError("fullnat.source_v6: must be an IPv6 address");
  if (f.port_min == 0 || f.port_max == 0) throw InputError("fullnat: ports must be 1..65535");
  if (f.port_min > f.port_max)
    throw InputError("fullnat.port_min: must not exceed port_max (" + std::to_string(f.port_min) + " > " +
                     std::to_string(f.port_max) + ")");
}

void check_reaper_settings(const Timeouts& t, uint32_t reap_interval_ms) {
  auto check = [](const char* field, uint64_t v, uint64_t lo, uint64_t hi) {
    if (v < lo || v > hi)
      throw InputError(std::string(field) + ": must be " + std::to_string(lo) + ".." + std::to_string(hi));
  };
  check("timeouts.tcp_established", t.tcp_established, 1, kMaxTimeoutS);
  check("timeouts.tcp_half_open", t.tcp_half_open, 1, kMaxTimeoutS);
  check("timeouts.tcp_closing", t.tcp_closing, 1, kMaxTimeoutS);
  check("timeouts.udp", t.udp, 1, kMaxTimeoutS);
  check("reap_interval_ms", reap_interval_ms, kMinReapIntervalMs, kMaxReapIntervalMs);
}

Config parse_config(const Json& json) {
  jf::check_object(json, {"encap", "fullnat", "hash_seed", "unserved", "icmp_echo", "flood_threshold", "timeouts",
                          "reap_interval_ms", "vips"},
                   "");
  Config config;
  if (json.contains("encap")) config.encap = parse_encap(json["encap"], "encap");
  if (json.contains("fullnat")) config.fullnat = parse_fullnat(json["fullnat"], "fullnat");
  if (auto seed = jf::opt_uint(json, "hash_seed", "", 0, UINT32_MAX)) config.hash_seed = static_cast<uint32_t>(*seed);
  if (auto unserved = jf::opt_string(json, "unserved", "")) {
    if (*unserved != "drop" && *unserved != "pass") throw InputError("unserved: must be drop or pass");
    config.pass_unserved = *unserved == "pass";
  }
  if (auto echo = jf::opt_string(json, "icmp_echo", "")) {
    if (*echo != "reply" && *echo != "off") throw InputError("icmp_echo: must be reply or off");
    config.icmp_echo = *echo == "reply";
  }
  config.flood_threshold = static_cast<uint32_t>(
      jf::opt_uint(json, "flood_threshold", "", 0, kMaxFloodThreshold).value_or(XLB_FLOOD_DEFAULT_RATE));
  if (json.contains("timeouts")) config.timeouts = parse_timeouts(json["timeouts"], "timeouts");
  config.reap_interval_ms = static_cast<uint32_t>(
      jf::opt_uint(json, "reap_interval_ms", "", kMinReapIntervalMs, kMaxReapIntervalMs)
          .value_or(kDefaultReapIntervalMs));
  if (json.contains("vips")) {
    const Json& list = json["vips"];
    if (!list.is_array()) throw InputError("vips: must be an array");
    std::set<std::pair<Endpoint, uint8_t>> seen;
    for (size_t i = 0; i < list.size(); i++) {
      std::string path = jf::index("vips", i);
      VipConfig vip = parse_vip(list[i], path);
      if (!seen.insert({vip.vip, vip.proto}).second)
        throw InputError(path + ": duplicate VIP " + vip_name(vip.vip, vip.proto));
      config.vips.push_back(std::move(vip));
    }
  }
  return config;
}

Config parse_config_text(const std::string& text, const std::string& origin) {
  Json json;
  try {
    json = Json::parse(text);
  } catch (const Json::exception& e) {
    throw InputError(origin + ": invalid JSON: " + e.what());
  }
  return parse_config(json);
}

std::string unserved_name(bool pass_unserved) { return pass_unserved ? "pass" : "drop"; }
std::string icmp_echo_name(bool icmp_echo) { return icmp_echo ? "reply" : "off"; }

std::string encap_source_str(const IpPrefix& prefix) {
  uint8_t full = prefix.ip.is_v4() ? 32 : 128;
  return prefix.len == full ? prefix.ip.str() : prefix.ip.str() + "/" + std::to_string(prefix.len);
}

Json config_to_json(const Config& config) {
  Json encap = Json::object();
  if (config.encap.source_v4) encap["source_v4"] = encap_source_str(*config.encap.source_v4);
  if (config.encap.source_v6) encap["source_v6"] = encap_source_str(*config.encap.source_v6);
  Json vips = Json::array();
  for (const auto& v : config.vips) {
    Json backends = Json::array();
    for (const auto& b : v.backends) {
      Json be = {{"address", b.address.str()}, {"weight", b.weight}};
      if (b.port) be["port"] = b.port;
      if (!b.health.is_null()) be["health"] = b.health;
      backends.push_back(be);
    }
    Json vip = {{"vip", v.vip.str()},
                {"proto", proto_name(v.proto)},
                {"sched", sched_name(v.sched)},
                {"mode", mode_name(v.mode)},
                {"ring_size", v.ring_size},
                {"backends", backends}};
    if (v.stateless) vip["stateless"] = true;
    if (!v.health.is_null()) vip["health"] = v.health;
    vips.push_back(vip);
  }
  Json out = {{"encap", encap},
              {"fullnat", fullnat_json(config.fullnat)},
              {"unserved", unserved_name(config.pass_unserved)},
              {"icmp_echo", icmp_echo_name(config.icmp_echo)},
              {"flood_threshold", config.flood_threshold},
              {"timeouts", timeouts_json(config.timeouts)},
              {"reap_interval_ms", config.reap_interval_ms},
              {"vips", vips}};
  // Unset stays unset: applying the output keeps the running seed.
  if (config.hash_seed) out["hash_seed"] = *config.hash_seed;
  return out;
}

Json fullnat_json(const FullnatConfig& f) {
  Json out = Json::object();
  if (f.source_v4) out["source_v4"] = f.source_v4->str();
  if (f.source_v6) out["source_v6"] = f.source_v6->str();
  out["port_min"] = f.port_min;
  out["port_max"] = f.port_max;
  return out;
}

Json timeouts_json(const Timeouts& t) {
  return {{"tcp_established", t.tcp_established},
          {"tcp_half_open", t.tcp_half_open},
          {"tcp_closing", t.tcp_closing},
          {"udp", t.udp}};
}

}  // namespace xlb
