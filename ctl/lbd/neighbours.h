// lbd's keeper of the kernel's neighbour entries for every backend's next
// hop, and its reactions to link, address and route changes
// (netwatch/neighbour_plan.h has the why and the rules). Kernel I/O:
// routes (route_get.h), entries (neighbour_table.h), notifications
// (net_events.h). Single-threaded: lbd's main loop calls it.
#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net_events.h"
#include "netwatch/neighbour_plan.h"

namespace xlb {

class NeighbourKeeper {
 public:
  struct Hooks {
    std::function<std::vector<IpAddr>()> backends;  // every backend address
    std::function<void()> links_changed;            // e.g. refill xlb_tx_ports
    std::function<void()> addresses_changed;        // e.g. re-read the sources
    std::function<void()> macs_changed;             // a next hop's MAC changed (l2dsr checks)
    std::function<void(const std::string&)> log;
    std::function<void(const std::string&)> warn;
  };
  // mode: nullopt for auto (managed, or use where the kernel can't manage
  // entries). Subscribes to notifications, then looks once.
  NeighbourKeeper(std::optional<netwatch::NeighbourMode> mode, Hooks hooks);

  // The backends changed (a request succeeded): look again at the next tick.
  void backends_changed() { look_due_ = true; }
  // From lbd's tick: reads the notifications and acts on them; looks again
  // when something asks for it, and every kNeighbourLookMs anyway.
  void tick(std::chrono::steady_clock::time_point now);

  // `lbctl detach`: deletes the entries lbd added (managed ones would
  // otherwise stay, resolved, for good).
  void release();

  // For `lbctl status`: the mode and each next hop with its state.
  nlohmann::json status() const;

 private:
  void look(std::chrono::steady_clock::time_point now);
  void keep_managed();
  void forget_managed();
  void refresh(const netwatch::Nexthop& hop, std::chrono::steady_clock::time_point now);
  void note_neighbour(const netwatch::NeighbourMsg& n, std::chrono::steady_clock::time_point now);
  void warn_once(const std::string& key, const std::string& text);

  netwatch::NeighbourMode mode_;
  bool mode_decided_;  // auto: until the first managed entries were read back
  Hooks hooks_;
  std::optional<NetEvents> events_;
  std::set<netwatch::Nexthop> wanted_;
  std::map<netwatch::Nexthop, netwatch::MacAddr> macs_;
  std::map<netwatch::Nexthop, std::chrono::steady_clock::time_point> refreshed_;
  std::set<netwatch::Nexthop> refresh_due_;  // asked for within kRefreshGap of the last
  std::set<std::string> warned_;
  bool look_due_ = true;
  bool looked_once_ = false;
  std::chrono::steady_clock::time_point last_look_{};
};

}  // namespace xlb
