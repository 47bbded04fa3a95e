// xlb-hc: a small operator and test tool for the health-check steering hook
// (bpf/hc.bpf.c). lbd will drive the same functions itself (hc_attach.h);
// the tool exists so the hook can be attached, fed and inspected by hand and
// by tests/netns/test_hc_steer.sh before lbd's checker does so.
//
//   xlb-hc attach IFACE --pin-dir DIR
//   xlb-hc detach IFACE --pin-dir DIR
//   xlb-hc set MARK --pin-dir DIR --mode ipip --backend ADDR --source ADDR [--ifindex N]
//   xlb-hc set MARK --pin-dir DIR --mode l2dsr --mac MAC [--backend ADDR]
//   xlb-hc del MARK --pin-dir DIR
//   xlb-hc list --pin-dir DIR            (JSON)
//   xlb-hc stats --pin-dir DIR           (JSON: counter -> {packets, bytes})
// Exit codes as lbctl's: 0 ok, 1 operation failed, 2 bad usage.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "core/error.h"
#include "health/hc_attach.h"
#include "health/hc_target.h"

using namespace xlb;
using namespace xlb::health;

int main(int argc, char** argv) {
  CLI::App app{"xlb-hc: health-check steering hook (tc egress) on the load balancer"};
  app.require_subcommand(1);
  std::string ifname, pin_dir, mode = "ipip", backend, source, mac;
  uint32_t mark = 0, ifindex = 0;

  auto* attach = app.add_subcommand("attach", "attach xlb_hc as tc egress filter on IFACE");
  auto* detach = app.add_subcommand("detach", "remove the filter and unpin its maps");
  for (auto* c : {attach, detach}) c->add_option("iface", ifname, "interface")->required();
  auto* set = app.add_subcommand("set", "steer checks marked MARK to a backend");
  set->add_option("mark", mark, "SO_MARK of the check's socket (not 0)")->required();
  set->add_option("--mode", mode, "ipip or l2dsr")->check(CLI::IsMember({"ipip", "l2dsr"}));
  set->add_option("--backend", backend, "backend address (ipip: outer destination)");
  set->add_option("--source", source, "ipip: outer source address");
  set->add_option("--ifindex", ifindex, "ipip: device to send out of (0: the hooked one)");
  set->add_option("--mac", mac, "l2dsr: the backend's MAC");
  auto* del = app.add_subcommand("del", "stop steering MARK");
  del->add_option("mark", mark, "mark")->required();
  auto* list = app.add_subcommand("list", "targets as JSON");
  auto* stats = app.add_subcommand("stats", "counters as JSON");
  for (auto* c : {attach, detach, set, del, list, stats})
    c->add_option("--pin-dir", pin_dir, "directory of the pinned maps (lbd's <pin root>/<ifname>)")
        ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  try {
    if (*attach) {
      hc_attach(ifname, pin_dir);
      std::printf("xlb_hc attached to %s egress (prog id %u), maps in %s\n", ifname.c_str(),
                  hc_attached_prog_id(ifname), pin_dir.c_str());
    } else if (*detach) {
      if (!hc_detach(ifname, pin_dir)) std::printf("nothing to detach on %s\n", ifname.c_str());
    } else if (*set) {
      HcTargetSpec s;
      s.mode = mode == "l2dsr" ? XLB_MODE_L2DSR : XLB_MODE_IPIP;
      if (!backend.empty()) s.backend = IpAddr::parse(backend);
      if (!source.empty()) s.source = IpAddr::parse(source);
      if (!mac.empty()) s.mac = parse_mac(mac);
      s.ifindex = ifindex;
      HcTargets(pin_dir).put(mark, make_hc_target(s));
    } else if (*del) {
      if (!HcTargets(pin_dir).erase(mark)) {
        std::fprintf(stderr, "xlb-hc: no target for mark %u\n", mark);
        return 1;
      }
    } else if (*list) {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& [m, t] : HcTargets(pin_dir).list()) {
        HcTargetSpec s = hc_target_spec(t);
        nlohmann::json e;
        e["mode"] = s.mode == XLB_MODE_L2DSR ? "l2dsr" : s.mode == XLB_MODE_IPIP ? "ipip" : "other";
        if (s.backend.family) e["backend"] = s.backend.str();
        if (s.source.family) e["source"] = s.source.str();
        if (s.mode == XLB_MODE_IPIP) e["ifindex"] = s.ifindex;
        if (s.mode == XLB_MODE_L2DSR) e["mac"] = mac_str(s.mac);
        j[std::to_string(m)] = e;
      }
      std::cout << j.dump(2) << "\n";
    } else if (*stats) {
      nlohmann::json j = nlohmann::json::object();
      auto sums = hc_read_stats(pin_dir);
      for (uint32_t i = 0; i < sums.size(); i++)
        j[hc_stat_name(i)] = {{"packets", sums[i].packets}, {"bytes", sums[i].bytes}};
      std::cout << j.dump(2) << "\n";
    }
  } catch (const InputError& e) {
    std::fprintf(stderr, "xlb-hc: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xlb-hc: %s\n", e.what());
    return 1;
  }
  return 0;
}
