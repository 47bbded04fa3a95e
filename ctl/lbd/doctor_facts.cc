#include "doctor_facts.h"

#include <fstream>
#include <map>
#include <set>

#include "core/endpoint.h"
#include "neighbour_mac.h"
#include "route_get.h"

namespace xlb {
namespace {

using Json = nlohmann::json;

// A /proc/sys value (in lbd's netns); nullopt if unreadable.
std::optional<bool> sysctl_on(const std::string& key) {
  std::ifstream f("/proc/sys/" + key);
  int v = 0;
  if (!(f >> v)) return std::nullopt;
  return v != 0;
}

std::string str_or(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

bool endpoint_v6(const std::string& text) { return !text.empty() && text[0] == '['; }

}  // namespace

doctor::Facts gather_doctor_facts(const Json& status, const Json& vips, const Json& global,
                                  const std::vector<std::string>& differences) {
  doctor::Facts f;
  for (const auto& i : status.value("ifaces", Json::array())) {
    doctor::IfaceFacts iface;
    iface.name = str_or(i, "name");
    iface.xdp_mode = str_or(i, "xdp_mode");
    iface.mtu = interface_mtu(iface.name);
    iface.ipv4_forwarding = sysctl_on("net/ipv4/conf/" + iface.name + "/forwarding");
    f.ifaces.push_back(iface);
  }
  f.ipv6_forwarding = sysctl_on("net/ipv6/conf/all/forwarding");

  std::map<IpAddr, std::array<uint8_t, 6>> macs;
  bool have_macs = true;
  try {
    macs = neighbour_macs();
  } catch (const std::exception& e) {
    f.neighbours_error = e.what();
    have_macs = false;
  }
  std::map<IpAddr, RouteToHost> routes;  // one lookup per address
  for (const auto& v : vips) {
    std::string vip = str_or(v, "vip");
    bool vip_v6 = endpoint_v6(vip);
    (vip_v6 ? f.uses_v6 : f.uses_v4) = true;
    for (const auto& b : v.value("backends", Json::array())) {
      if (str_or(b, "state") == "removed") continue;
      doctor::BackendFacts be;
      be.vip = vip;
      be.proto = str_or(v, "proto");
      be.mode = str_or(v, "mode");
      be.vip_v6 = vip_v6;
      be.address = str_or(b, "address");
      IpAddr addr;
      try {
        addr = IpAddr::parse(be.address);
      } catch (const std::exception&) {
        continue;
      }
      be.v6 = !addr.is_v4();
      (be.v6 ? f.uses_v6 : f.uses_v4) = true;
      auto it = routes.find(addr);
      if (it == routes.end()) {
        try {
          it = routes.emplace(addr, route_get(addr)).first;
        } catch (const std::exception& e) {
          RouteToHost failed;
          failed.error = e.what();
          it = routes.emplace(addr, failed).first;
        }
      }
      const RouteToHost& r = it->second;
      be.route.found = r.found;
      be.route.error = r.error;
      be.route.dev = r.dev;
      be.route.dev_mtu = r.dev_mtu;
      be.route.route_mtu = r.route_mtu;
      if (r.gateway.family) be.route.gateway = r.gateway.str();
      if (r.src.family) be.route.src = r.src.str();
      if (have_macs && r.found) be.next_hop_resolved = macs.count(r.gateway.family ? r.gateway : addr) > 0;
      if (b.contains("health") && b["health"].is_object()) {
        const Json& h = b["health"];
        be.health.checked = true;
        be.health.check = str_or(h, "check");
        be.health.state = str_or(h, "state");
        be.health.not_checked = str_or(h, "not_checked");
        be.health.reason = str_or(h, "reason");
      }
      f.backends.push_back(be);
    }
  }

  f.in_sync = status.value("in_sync", true);
  f.verify_differences = differences;
  f.data_path_error = str_or(status, "data_path_error");
  if (status.contains("reaper") && status["reaper"].is_object()) f.reaper_error = str_or(status["reaper"], "error");
  if (status.contains("health") && status["health"].is_object()) {
    f.health_state_file = str_or(status["health"], "state_file");
    f.health_state_error = str_or(status["health"], "state_file_error");
  }
  for (const auto& [name, c] : global.items())
    if (c.is_object()) f.counters[name] = c.value("packets", uint64_t{0});
  return f;
}

}  // namespace xlb
