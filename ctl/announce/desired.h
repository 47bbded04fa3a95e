// Which VIP addresses this node announces (docs/design.md, "Announcing
// VIPs"), and what must change in the routing table to get there. Pure.
//
// A VIP address is announced while the program is attached, the node is not
// drained, and at least one of the address's services (VIP:port/proto) has
// a backend that can take new flows: active, with a ring weight above 0
// (health checks set a down backend's ring weight to 0).
#pragma once
#include <set>
#include <vector>

#include "core/balancer.h"
#include "core/endpoint.h"

namespace xlb::announce {

// The addresses with at least one service that takes new flows.
std::set<IpAddr> served_addresses(const std::vector<VipView>& vips);

// What table N should hold: the served addresses, or nothing while the
// program is detached or the node drained.
std::set<IpAddr> desired_routes(const std::set<IpAddr>& served, bool attached, bool drained);

struct RouteDiff {
  std::vector<IpAddr> add;     // in desired, not in the table
  std::vector<IpAddr> remove;  // in the table, not desired
  bool empty() const { return add.empty() && remove.empty(); }
};
RouteDiff diff_routes(const std::set<IpAddr>& desired, const std::set<IpAddr>& present);

}  // namespace xlb::announce
