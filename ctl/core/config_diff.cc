#include "config_diff.h"

#include <map>

#include "rules.h"

namespace xlb {

namespace {

using Json = nlohmann::json;
using BackendKey = std::pair<IpAddr, uint16_t>;  // address, own port (0: the VIP's)

BackendKey key_of(const VipConfig& v, const BackendConfig& b) {
  return {b.address, b.port == v.vip.port ? uint16_t(0) : b.port};
}

std::string conns_note(const std::optional<uint64_t>& n, const char* what) {
  if (!n) return "";
  return " (" + std::to_string(*n) + (*n == 1 ? " connection " : " connections ") + what + ")";
}

std::string dump(const Json& j) { return j.is_null() ? "none" : j.dump(); }

class Differ {
 public:
  Differ(ConfigDiff& out, const ConnectionsOf& connections) : out_(out), connections_(connections) {}

  void settings(const Config& a, const Config& b) {
    Json ja = config_to_json(a), jb = config_to_json(b);
    for (auto& [key, value] : jb.items()) {
      if (key == "vips" || ja[key] == value) continue;
      line("~ " + key + ": " + dump(ja[key]) + " -> " + dump(value));
      out_.changed++;
    }
  }

  void vips(const Config& a, const Config& b) {
    std::map<std::pair<Endpoint, uint8_t>, const VipConfig*> running;
    for (const auto& v : a.vips) running[{v.vip, v.proto}] = &v;
    for (const auto& v : b.vips) {
      auto it = running.find({v.vip, v.proto});
      if (it == running.end()) {
        added(v);
        continue;
      }
      const VipConfig& r = *it->second;
      running.erase(it);
      if (r.mode != v.mode) {
        // A VIP whose mode changes is replaced (Balancer::apply).
        line("- VIP " + vip_name(v.vip, v.proto) + ": replaced, mode " + mode_name(r.mode) + " -> " +
             mode_name(v.mode) + conns_note(conns(r, std::nullopt), "cut"));
        out_.removed += 1 + static_cast<uint32_t>(r.backends.size());
        added(v);
        continue;
      }
      changed(r, v);
    }
    for (const auto& [key, r] : running) {
      line("- VIP " + vip_name(r->vip, r->proto) + conns_note(conns(*r, std::nullopt), "cut"));
      out_.removed += 1 + static_cast<uint32_t>(r->backends.size());
    }
  }

 private:
  void line(std::string text) { out_.lines.push_back(std::move(text)); }

  std::optional<uint64_t> conns(const VipConfig& v, const std::optional<BackendKey>& b) {
    return connections_ ? connections_(v.vip, v.proto, b) : std::nullopt;
  }

  void added(const VipConfig& v) {
    line("+ VIP " + vip_name(v.vip, v.proto) + " (" + sched_name(v.sched) + ", " + mode_name(v.mode) + ", " +
         (v.stateless ? "stateless, " : "") +
         std::to_string(v.backends.size()) + (v.backends.size() == 1 ? " backend" : " backends") +
         (v.health.is_null() ? "" : ", checks " + v.health.value("check", std::string("tcp"))) + ")");
    out_.added += 1 + static_cast<uint32_t>(v.backends.size());
  }

  void changed(const VipConfig& r, const VipConfig& v) {
    std::string name = "VIP " + vip_name(v.vip, v.proto);
    auto setting = [&](const std::string& what, const std::string& from, const std::string& to) {
      if (from == to) return;
      line("~ " + name + ": " + what + " " + from + " -> " + to);
      out_.changed++;
    };
    setting("sched", sched_name(r.sched), sched_name(v.sched));
    setting("ring_size", std::to_string(r.ring_size), std::to_string(v.ring_size));
    setting("stateless", r.stateless ? "on" : "off", v.stateless ? "on" : "off");
    setting("health", dump(r.health), dump(v.health));

    std::map<BackendKey, const BackendConfig*> running;
    for (const auto& b : r.backends) running[key_of(r, b)] = &b;
    for (const auto& b : v.backends) {
      BackendKey key = key_of(v, b);
      std::string bname = "backend " + backend_name(key.first, key.second) + " of " + name;
      auto it = running.find(key);
      if (it == running.end()) {
        line("+ " + bname + " (weight " + std::to_string(b.weight) + ")");
        out_.added++;
        continue;
      }
      const BackendConfig& rb = *it->second;
      running.erase(it);
      if (rb.weight != b.weight) {
        std::string note = b.weight == 0 ? conns_note(conns(v, key), "drain") : "";
        line("~ " + bname + ": weight " + std::to_string(rb.weight) + " -> " + std::to_string(b.weight) + note);
        out_.changed++;
      }
      if (rb.health != b.health) {
        line("~ " + bname + ": health " + dump(rb.health) + " -> " + dump(b.health));
        out_.changed++;
      }
    }
    for (const auto& [key, rb] : running) {
      line("- backend " + backend_name(key.first, key.second) + " of " + name +
           conns_note(conns(r, key), "drain"));
      out_.removed++;
    }
  }

  ConfigDiff& out_;
  const ConnectionsOf& connections_;
};

}  // namespace

ConfigDiff diff_configs(const Config& running, const Config& wanted, const ConnectionsOf& connections) {
  ConfigDiff out;
  Differ d(out, connections);
  d.settings(running, wanted);
  d.vips(running, wanted);
  return out;
}

}  // namespace xlb
