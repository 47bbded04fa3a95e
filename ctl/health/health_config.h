// Which checks each VIP and backend has: the config's "health" objects
// (core keeps them as written, since xlb_core can't link this library),
// checked and resolved here. Kept by lbd's health monitor (monitor.h), and
// in its state file in the same form the config writes them.
#pragma once
#include <map>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/endpoint.h"
#include "spec.h"

namespace xlb::health {

using VipKey = std::pair<Endpoint, uint8_t>;     // VIP and protocol
using BackendKey = std::pair<IpAddr, uint16_t>;  // address and own port (0: the VIP's)

struct VipChecks {
  HealthSpec spec;                              // check none: the VIP's own object is absent
  nlohmann::json json;                          // the VIP's object as written (null: none)
  std::map<BackendKey, nlohmann::json> overrides;  // backends' objects as written
};

using ChecksByVip = std::map<VipKey, VipChecks>;

// A VIP's checks from its object (null: none). Throws InputError naming
// the field under `path`.
VipChecks parse_vip_checks(const nlohmann::json& obj, const std::string& path);
// A backend's resolved spec: its override over the VIP's spec. Throws
// InputError naming the field under `path`.
HealthSpec backend_spec(const VipChecks& c, const BackendKey& backend, const std::string& path = "health");
// Throws unless every override of c resolves against c's spec: what a
// changed VIP object must keep true.
void check_overrides(const VipChecks& c, const std::string& path);

// Every health object of a config, checked, by VIP; VIPs without any are
// left out. Throws InputError("vips[1].backends[0].health.fall: ...").
ChecksByVip config_checks(const Config& config);

// The stored form of a backend's port: the VIP's own port is 0.
inline uint16_t own_port(const Endpoint& vip, uint16_t port) { return port == vip.port ? 0 : port; }

}  // namespace xlb::health
