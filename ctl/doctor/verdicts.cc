#include "verdicts.h"

#include <algorithm>

#include "doctor/counter_advice.h"

namespace xlb::doctor {

const char* const kChecks[] = {"forwarding", "xdp_mode", "mtu",     "reachability", "decap",
                               "sync",       "data_path", "reaper", "health_state", "drops"};
const size_t kCheckCount = sizeof(kChecks) / sizeof(kChecks[0]);

bool Report::healthy() const {
  return std::none_of(findings.begin(), findings.end(), [](const Finding& f) { return f.level == Level::kProblem; });
}

namespace {

std::string backend_subject(const BackendFacts& b) { return b.vip + "/" + b.proto + " backend " + b.address; }

void forwarding(const Facts& f, Report& r) {
  if (f.uses_v4)
    for (const auto& i : f.ifaces)
      if (i.ipv4_forwarding && !*i.ipv4_forwarding)
        r.findings.push_back({"forwarding", Level::kProblem, i.name,
                              "net.ipv4.conf." + i.name +
                                  ".forwarding is 0: the data path's route lookup refuses IPv4 packets arriving on " +
                                  i.name + " (drop_fwd_disabled)",
                              "sysctl -w net.ipv4.conf.all.forwarding=1 net.ipv4.conf." + i.name + ".forwarding=1"});
  if (f.uses_v6 && f.ipv6_forwarding && !*f.ipv6_forwarding)
    r.findings.push_back({"forwarding", Level::kProblem, "ipv6",
                          "net.ipv6.conf.all.forwarding is 0: the data path's route lookup refuses IPv6 packets "
                          "(drop_fwd_disabled)",
                          "sysctl -w net.ipv6.conf.all.forwarding=1"});
}

void xdp_mode(const Facts& f, Report& r) {
  for (const auto& i : f.ifaces) {
    if (i.xdp_mode == "skb")
      r.findings.push_back(
          {"xdp_mode", Level::kProblem, i.name,
           "xlb_lb runs in generic (skb) mode on " + i.name +
               ": every packet gets a socket buffer first, several times slower than native XDP",
           "restart lbd with --xdp-mode native (it says why the driver refuses; check `ethtool -i " + i.name +
               "` for a driver with native XDP and a recent enough kernel)"});
    else if (i.xdp_mode.empty())
      r.findings.push_back({"xdp_mode", Level::kProblem, i.name, "no XDP program is attached to " + i.name,
                            "restart lbd (systemctl restart lbd@" + i.name + ")"});
  }
}

// ipip: the encapsulated packet must fit the path to the backend.
void mtu(const Facts& f, Report& r) {
  int client_mtu = 0;
  std::string client_if;
  for (const auto& i : f.ifaces)
    if (i.mtu > client_mtu) client_mtu = i.mtu, client_if = i.name;
  if (!client_mtu) return;
  for (const auto& b : f.backends) {
    if (b.mode != "ipip" || !b.route.found) continue;
    int path = b.route.route_mtu ? b.route.route_mtu : b.route.dev_mtu;
    if (!path) continue;
    int overhead = b.v6 ? 40 : 20;
    if (path >= client_mtu + overhead) continue;
    int mss = path - overhead - (b.vip_v6 ? 60 : 40);
    std::string where = b.route.route_mtu ? "the route's mtu " : b.route.dev + "'s MTU ";
    r.findings.push_back(
        {"mtu", Level::kProblem, backend_subject(b),
         "ipip adds " + std::to_string(overhead) + " bytes, but " + where + std::to_string(path) + " toward " +
             b.address + " is less than " + client_if + "'s MTU " + std::to_string(client_mtu) + " + " +
             std::to_string(overhead) + ": full-size client packets get ICMP too-big or are dropped (drop_mtu)",
         "ip link set dev " + b.route.dev + " mtu " + std::to_string(client_mtu + overhead) +
             " (and on the path to the backend), or on the backend advertise a smaller MSS: ip route change "
             "default via GW advmss " +
             std::to_string(mss)});
  }
}

void reachability(const Facts& f, Report& r) {
  if (!f.neighbours_error.empty())
    r.findings.push_back({"reachability", Level::kNote, "neighbours",
                          "the neighbour table could not be read: " + f.neighbours_error, "ip neigh show"});
  for (const auto& b : f.backends) {
    std::string who = backend_subject(b);
    if (!b.route.found) {
      r.findings.push_back({"reachability", Level::kProblem, who,
                            "no route from the LB to " + b.address + (b.route.error.empty() ? "" : ": " + b.route.error) +
                                " (drop_no_route)",
                            "ip route get " + b.address + "; add one: ip route add " + b.address + " via GW"});
      continue;
    }
    if (b.mode == "l2dsr" && !b.route.gateway.empty()) {
      r.findings.push_back({"reachability", Level::kProblem, who,
                            "l2dsr: " + b.address + " is reached through the gateway " + b.route.gateway +
                                ", not on the LB's segment (drop_not_on_link)",
                            "put the backend on the segment of " + b.route.dev + " (ip route get " + b.address +
                                " must show no 'via'), or serve the VIP in ipip mode"});
      continue;
    }
    std::string hop = b.route.gateway.empty() ? b.address : b.route.gateway;
    if (b.next_hop_resolved && !*b.next_hop_resolved)
      r.findings.push_back(
          {"reachability", Level::kProblem, who,
           "no resolved neighbour entry for " + (b.route.gateway.empty() ? b.address : "the gateway " + hop) +
               " on " + b.route.dev + ": the data path cannot address frames to it (drop_no_neigh)",
           "ping -c 1 " + hop + "; ip neigh show " + hop + " dev " + b.route.dev +
               " (FAILED/INCOMPLETE: the host is down or not on that segment; if it cannot answer ARP, pin it: ip "
               "neigh replace " +
               hop + " lladdr MAC dev " + b.route.dev + " nud permanent)"});
    if (b.mode == "nat")
      r.findings.push_back({"reachability", Level::kNote, who,
                            "nat: the backend's replies must come back through the LB, which the LB cannot see",
                            "on " + b.address + ": ip route get CLIENT_ADDRESS must go via " +
                                (b.route.src.empty() ? std::string("the LB") : b.route.src) +
                                " (e.g. ip route replace default via " +
                                (b.route.src.empty() ? std::string("LB_ADDRESS") : b.route.src) + ")"});
  }
}

// Whether the backends take the VIP's packets, as far as health checks say.
void decap(const Facts& f, Report& r) {
  for (const auto& b : f.backends) {
    std::string who = backend_subject(b);
    bool dsr = b.mode == "ipip" || b.mode == "l2dsr";
    const char* check = dsr ? "decap" : "reachability";
    if (!b.health.checked) {
      if (dsr)
        r.findings.push_back({check, Level::kNote, who,
                              "not verified: the VIP has no health checks, and only a check steered like its "
                              "traffic shows that the backend " +
                                  std::string(b.mode == "ipip" ? "decapsulates and " : "") + "accepts the VIP",
                              "add a health check to verify: lbctl set-health " + b.vip + " --proto " + b.proto +
                                  " --check " + (b.proto == "udp" ? "udp" : "tcp")});
      continue;
    }
    if (!b.health.not_checked.empty()) {
      r.findings.push_back({check, Level::kNote, who, "its health check cannot run: " + b.health.not_checked,
                            "see docs/troubleshooting.md, \"Health checks not running\""});
      continue;
    }
    if (b.health.state != "down") continue;
    std::string what = "fails its " + b.health.check + " health check" +
                       (b.health.reason.empty() ? "" : " (" + b.health.reason + ")");
    std::string fix;
    if (b.mode == "ipip")
      fix = "on " + b.address +
            ": decapsulate (xlb-decap attach IFACE --allow SOURCE, or modprobe ipip && ip link set tunl0 up), the VIP "
            "on lo (ip addr add VIP dev lo), rp_filter loose (sysctl -w net.ipv4.conf.all.rp_filter=2), and the "
            "service listening";
    else if (b.mode == "l2dsr")
      fix = "on " + b.address +
            ": the VIP on lo (ip addr add VIP dev lo), sysctl -w net.ipv4.conf.all.arp_ignore=1 "
            "net.ipv4.conf.all.arp_announce=2, and the service listening";
    else
      fix = "on " + b.address + ": the service listening on its port, and its firewall";
    r.findings.push_back({check, Level::kProblem, who, what, fix});
  }
}

void daemon_state(const Facts& f, Report& r) {
  if (!f.in_sync)
    r.findings.push_back({"sync", Level::kProblem, "lbd",
                          "lbd's view and the maps are out of sync (a map write failed halfway)",
                          "lbctl status --verify (lists the differences); restart lbd to rebuild its view from the "
                          "maps: systemctl restart lbd@IFACE"});
  for (const auto& d : f.verify_differences)
    r.findings.push_back({"sync", Level::kProblem, "maps", "lbd and the maps disagree: " + d,
                          "restart lbd to rebuild its view from the maps: systemctl restart lbd@IFACE"});
  if (!f.data_path_error.empty())
    r.findings.push_back({"data_path", Level::kProblem, "data path", f.data_path_error,
                          "restart lbd (systemctl restart lbd@IFACE): it attaches the program again"});
  if (!f.reaper_error.empty())
    r.findings.push_back({"reaper", Level::kProblem, "reaper", "the flow reaper failed: " + f.reaper_error,
                          "lbctl status (reaper); check lbd's log: journalctl -u lbd@IFACE"});
  if (!f.health_state_error.empty())
    r.findings.push_back({"health_state", Level::kProblem,
                          f.health_state_file.empty() ? std::string("health state file") : f.health_state_file,
                          "health states cannot be saved: " + f.health_state_error,
                          "make its directory writable with space to spare: ls -ld " +
                              (f.health_state_file.empty() ? std::string("/var/lib/xlb")
                                                           : f.health_state_file.substr(
                                                                 0, f.health_state_file.find_last_of('/'))) +
                              "; df -h /var/lib/xlb"});
}

void drops(const Facts& f, Report& r) {
  for (const auto& [name, value] : f.counters) {
    if (name.rfind("drop_", 0) != 0 || value == 0) continue;
    CounterAdvice a = counter_advice(name);
    std::string cause = std::string(a.cause);
    if (!f.baseline) {
      r.findings.push_back({"drops", Level::kNote, name,
                            std::to_string(value) + " so far (not sampled twice: rising unknown): " + cause, a.fix});
      continue;
    }
    auto it = f.baseline->find(name);
    uint64_t before = it == f.baseline->end() ? 0 : it->second;
    if (value > before)
      r.findings.push_back({"drops", Level::kProblem, name,
                            "rising: +" + std::to_string(value - before) + " in the last sample (" +
                                std::to_string(value) + " in all): " + cause,
                            a.fix});
    else
      r.findings.push_back(
          {"drops", Level::kNote, name, std::to_string(value) + " in all, not rising now: " + cause, a.fix});
  }
}

}  // namespace

Report diagnose(const Facts& f) {
  Report r;
  forwarding(f, r);
  xdp_mode(f, r);
  mtu(f, r);
  reachability(f, r);
  decap(f, r);
  daemon_state(f, r);
  drops(f, r);
  // Report order: by check, in kChecks order (stable within one).
  auto rank = [](const std::string& check) {
    for (size_t i = 0; i < kCheckCount; i++)
      if (check == kChecks[i]) return i;
    return kCheckCount;
  };
  std::stable_sort(r.findings.begin(), r.findings.end(),
                   [&](const Finding& a, const Finding& b) { return rank(a.check) < rank(b.check); });
  return r;
}

nlohmann::json report_json(const Report& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (size_t i = 0; i < kCheckCount; i++) {
    std::string status = "ok";
    for (const auto& f : report.findings) {
      if (f.check != kChecks[i]) continue;
      if (f.level == Level::kProblem) status = "problem";
      else if (status == "ok") status = "note";
    }
    checks.push_back({{"name", kChecks[i]}, {"status", status}});
  }
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : report.findings)
    findings.push_back({{"check", f.check},
                        {"level", f.level == Level::kProblem ? "problem" : "note"},
                        {"subject", f.subject},
                        {"what", f.what},
                        {"fix", f.fix}});
  return {{"healthy", report.healthy()}, {"checks", checks}, {"findings", findings}};
}

}  // namespace xlb::doctor
