#include "neighbours.h"

#include <linux/neighbour.h>
#include <net/if.h>

#include <cstring>

#include "neighbour_table.h"
#include "route_get.h"

namespace xlb {

using netwatch::NeighbourMode;
using netwatch::NeighbourMsg;
using netwatch::Nexthop;
using Clock = std::chrono::steady_clock;

namespace {

// A next hop that keeps failing is refreshed at most this often (use mode);
// the kernel spends about 3 s failing one anyway.
constexpr auto kRefreshGap = std::chrono::seconds(1);

std::string hop_name(const Nexthop& hop) {
  char name[IF_NAMESIZE] = {};
  std::string dev = if_indextoname(static_cast<unsigned>(hop.ifindex), name) ? name : std::to_string(hop.ifindex);
  return hop.addr.str() + " dev " + dev;
}

std::string state_name(uint16_t state) {
  static const std::pair<uint16_t, const char*> names[] = {
      {NUD_INCOMPLETE, "incomplete"}, {NUD_REACHABLE, "reachable"}, {NUD_STALE, "stale"},
      {NUD_DELAY, "delay"},           {NUD_PROBE, "probe"},         {NUD_FAILED, "failed"},
      {NUD_NOARP, "noarp"},           {NUD_PERMANENT, "permanent"}};
  for (const auto& [bit, name] : names)
    if (state & bit) return name;
  return "none";
}

}  // namespace

NeighbourKeeper::NeighbourKeeper(std::optional<NeighbourMode> mode, Hooks hooks)
    : mode_(mode.value_or(NeighbourMode::kManaged)), mode_decided_(mode.has_value()), hooks_(std::move(hooks)) {
  try {
    events_.emplace();
  } catch (const std::exception& e) {
    // Without notifications the periodic look still keeps entries right,
    // only later.
    warn_once("events", std::string(e.what()) + "; network changes are picked up every " +
                            std::to_string(netwatch::kNeighbourLookMs / 1000) + " s instead");
  }
  look(Clock::now());
}

void NeighbourKeeper::warn_once(const std::string& key, const std::string& text) {
  if (warned_.insert(key).second && hooks_.warn) hooks_.warn(text);
}

void NeighbourKeeper::look(Clock::time_point now) {
  look_due_ = false;
  last_look_ = now;
  std::vector<netwatch::BackendRoute> routes;
  std::vector<IpAddr> backends = hooks_.backends ? hooks_.backends() : std::vector<IpAddr>{};
  for (const IpAddr& b : backends) {
    netwatch::BackendRoute r;
    r.backend = b;
    try {
      RouteToHost rt = route_get(b);
      r.found = rt.found;
      r.oif = rt.oif;
      r.loopback = rt.dev == "lo";
      r.gateway = rt.gateway;
    } catch (const std::exception& e) {
      warn_once("route", e.what());
    }
    routes.push_back(r);
  }
  wanted_ = netwatch::nexthops_of(routes);
  for (auto it = macs_.begin(); it != macs_.end();) it = wanted_.count(it->first) ? std::next(it) : macs_.erase(it);
  if (mode_ == NeighbourMode::kManaged) {
    keep_managed();
  } else {
    if (!looked_once_) forget_managed();  // a managed run's leftovers
    for (const Nexthop& hop : wanted_) refresh(hop, now);
  }
  looked_once_ = true;
}

void NeighbourKeeper::forget_managed() {
  try {
    for (const NeighbourMsg& n : xlb_neighbour_entries())
      if (n.ext_flags & NTF_EXT_MANAGED) neighbour_forget({n.ifindex, n.addr});
  } catch (const std::exception& e) {
    warn_once("dump", e.what());
  }
}

void NeighbourKeeper::release() {
  wanted_.clear();
  forget_managed();
}

void NeighbourKeeper::keep_managed() {
  std::vector<NeighbourMsg> entries;
  try {
    entries = neighbour_entries();
  } catch (const std::exception& e) {
    warn_once("dump", e.what());
    return;
  }
  netwatch::NeighbourPlan plan = netwatch::plan_managed(wanted_, entries);
  for (const Nexthop& hop : plan.remove) {
    int err = neighbour_forget(hop);
    if (err && err != ENOENT) warn_once("forget " + hop_name(hop), "cannot delete the neighbour entry of " +
                                                                    hop_name(hop) + ": " + std::strerror(err));
  }
  std::set<Nexthop> added;
  for (const Nexthop& hop : plan.add) {
    if (int err = neighbour_manage(hop))
      warn_once("manage " + hop_name(hop), "cannot add a managed neighbour entry for " + hop_name(hop) + ": " +
                                               std::strerror(err));
    else
      added.insert(hop);
  }
  if (mode_decided_ || added.empty()) return;
  // Auto: did the kernel keep them managed? One that predates managed
  // entries (5.16) makes plain ones that nothing would resolve.
  std::vector<NeighbourMsg> created;
  try {
    for (const NeighbourMsg& n : xlb_neighbour_entries())
      if (added.count({n.ifindex, n.addr})) created.push_back(n);
  } catch (const std::exception& e) {
    warn_once("dump", e.what());
    return;
  }
  mode_decided_ = true;
  if (netwatch::kernel_manages(created)) {
    if (hooks_.log) hooks_.log("neighbours: the kernel keeps managed entries for backends' next hops");
    return;
  }
  if (hooks_.log)
    hooks_.log("neighbours: this kernel has no managed neighbour entries (Linux 5.16+); refreshing them with NTF_USE");
  for (const Nexthop& hop : added) neighbour_forget(hop);
  mode_ = NeighbourMode::kUse;
  for (const Nexthop& hop : wanted_) refresh(hop, Clock::now());
}

void NeighbourKeeper::refresh(const Nexthop& hop, Clock::time_point now) {
  refreshed_[hop] = now;
  if (int err = neighbour_use(hop))
    warn_once("use " + hop_name(hop), "cannot refresh the neighbour entry of " + hop_name(hop) + ": " +
                                          std::strerror(err));
}

void NeighbourKeeper::note_neighbour(const NeighbourMsg& n, Clock::time_point now) {
  Nexthop hop{n.ifindex, n.addr};
  if (!wanted_.count(hop)) return;
  if (n.has_mac && !n.deleted) {
    auto [it, fresh] = macs_.emplace(hop, n.mac);
    if (!fresh && it->second != n.mac) {
      it->second = n.mac;
      if (hooks_.macs_changed) hooks_.macs_changed();
    }
  }
  if (mode_ == NeighbourMode::kManaged) {
    if (netwatch::lost_management(n)) look_due_ = true;
  } else if (netwatch::needs_refresh(n)) {
    auto last = refreshed_.find(hop);
    if (last == refreshed_.end() || now - last->second >= kRefreshGap)
      refresh(hop, now);
    else
      refresh_due_.insert(hop);  // once the gap has passed (tick)
  }
}

void NeighbourKeeper::tick(Clock::time_point now) {
  if (events_) {
    netwatch::NetChanges changes = events_->take();
    if (changes.links || changes.overrun) {
      if (hooks_.links_changed) hooks_.links_changed();
    }
    if (changes.addresses || changes.overrun) {
      if (hooks_.addresses_changed) hooks_.addresses_changed();
    }
    if (changes.links || changes.addresses || changes.routes || changes.overrun) look_due_ = true;
    for (const NeighbourMsg& n : changes.neighbours) note_neighbour(n, now);
  }
  for (auto it = refresh_due_.begin(); it != refresh_due_.end();) {
    auto last = refreshed_.find(*it);
    if (mode_ != NeighbourMode::kUse || !wanted_.count(*it)) {
      it = refresh_due_.erase(it);
    } else if (last == refreshed_.end() || now - last->second >= kRefreshGap) {
      refresh(*it, now);
      it = refresh_due_.erase(it);
    } else {
      ++it;
    }
  }
  if (now - last_look_ >= std::chrono::milliseconds(netwatch::kNeighbourLookMs)) {
    // Whatever the notifications said (or failed to say, or a change that
    // failed to follow them): look at everything again.
    if (hooks_.links_changed) hooks_.links_changed();
    if (hooks_.addresses_changed) hooks_.addresses_changed();
    look_due_ = true;
  }
  if (look_due_) look(now);
}

nlohmann::json NeighbourKeeper::status() const {
  std::map<Nexthop, uint16_t> states;
  try {
    for (const NeighbourMsg& n : neighbour_entries()) states[{n.ifindex, n.addr}] = n.state;
  } catch (const std::exception&) {
  }
  nlohmann::json hops = nlohmann::json::array();
  for (const Nexthop& hop : wanted_) {
    char name[IF_NAMESIZE] = {};
    auto st = states.find(hop);
    hops.push_back({{"address", hop.addr.str()},
                    {"dev", if_indextoname(static_cast<unsigned>(hop.ifindex), name) ? name : ""},
                    {"state", st != states.end() ? nlohmann::json(state_name(st->second)) : nlohmann::json(nullptr)}});
  }
  return {{"mode", netwatch::neighbour_mode_name(mode_)},
          {"mode_decided", mode_decided_},
          {"watching", events_.has_value()},
          {"next_hops", hops}};
}

}  // namespace xlb
