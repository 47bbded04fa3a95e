#include "health_config.h"

#include "core/error.h"
#include "core/json_fields.h"
#include "core/rules.h"
#include "spec_json.h"

namespace xlb::health {

namespace jf = json_fields;

VipChecks parse_vip_checks(const nlohmann::json& obj, const std::string& path) {
  VipChecks c;
  if (obj.is_null()) return c;
  c.spec = parse_health(obj, path);
  // {"check": "none"} says what no object says: store it as none.
  if (c.spec.check != CheckKind::kNone) c.json = obj;
  return c;
}

HealthSpec backend_spec(const VipChecks& c, const BackendKey& backend, const std::string& path) {
  auto it = c.overrides.find(backend);
  if (it == c.overrides.end()) return c.spec;
  return parse_health(it->second, path, &c.spec);
}

void check_overrides(const VipChecks& c, const std::string& path) {
  for (const auto& [key, obj] : c.overrides)
    backend_spec(c, key, path + " (backend " + backend_name(key.first, key.second) + ")");
}

ChecksByVip config_checks(const Config& config) {
  ChecksByVip out;
  for (size_t i = 0; i < config.vips.size(); i++) {
    const VipConfig& v = config.vips[i];
    std::string vpath = jf::index("vips", i);
    VipChecks c = parse_vip_checks(v.health, jf::join(vpath, "health"));
    for (size_t j = 0; j < v.backends.size(); j++) {
      const BackendConfig& b = v.backends[j];
      if (b.health.is_null()) continue;
      BackendKey key{b.address, own_port(v.vip, b.port)};
      c.overrides[key] = b.health;
      backend_spec(c, key, jf::join(jf::index(jf::join(vpath, "backends"), j), "health"));
    }
    if (!c.json.is_null() || !c.overrides.empty()) out[{v.vip, v.proto}] = std::move(c);
  }
  return out;
}

}  // namespace xlb::health
