#include "neighbour_plan.h"

#include <linux/neighbour.h>

#include <map>

#include "core/error.h"

namespace xlb::netwatch {

std::set<Nexthop> nexthops_of(const std::vector<BackendRoute>& routes) {
  std::set<Nexthop> out;
  for (const auto& r : routes) {
    if (!r.found || r.loopback || r.oif <= 0) continue;
    out.insert({r.oif, r.gateway.family ? r.gateway : r.backend});
  }
  return out;
}

NeighbourMode parse_neighbour_mode(const std::string& text) {
  if (text == "managed") return NeighbourMode::kManaged;
  if (text == "use") return NeighbourMode::kUse;
  throw InputError("neighbour mode must be managed or use, not '" + text + "'");
}

std::string neighbour_mode_name(NeighbourMode mode) { return mode == NeighbourMode::kManaged ? "managed" : "use"; }

bool static_entry(const NeighbourMsg& n) {
  return (n.state & (NUD_PERMANENT | NUD_NOARP)) && !(n.ext_flags & NTF_EXT_MANAGED);
}

NeighbourPlan plan_managed(const std::set<Nexthop>& want, const std::vector<NeighbourMsg>& entries) {
  std::map<Nexthop, const NeighbourMsg*> held;
  for (const auto& n : entries) held[{n.ifindex, n.addr}] = &n;
  NeighbourPlan plan;
  for (const auto& hop : want) {
    auto it = held.find(hop);
    if (it == held.end() || (!static_entry(*it->second) && !(it->second->ext_flags & NTF_EXT_MANAGED)))
      plan.add.push_back(hop);
  }
  for (const auto& [hop, n] : held)
    if (n->protocol == kXlbRtProto && !static_entry(*n) && !want.count(hop)) plan.remove.push_back(hop);
  return plan;
}

bool kernel_manages(const std::vector<NeighbourMsg>& created) {
  for (const auto& n : created)
    if (!(n.ext_flags & NTF_EXT_MANAGED)) return false;
  return true;
}

bool needs_refresh(const NeighbourMsg& n) {
  return n.deleted || n.state == NUD_NONE || (n.state & (NUD_FAILED | NUD_STALE));
}

bool lost_management(const NeighbourMsg& n) { return n.deleted || !(n.ext_flags & NTF_EXT_MANAGED); }

}  // namespace xlb::netwatch
