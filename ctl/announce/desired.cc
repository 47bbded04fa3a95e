#include "desired.h"

#include <algorithm>
#include <iterator>

namespace xlb::announce {

std::set<IpAddr> served_addresses(const std::vector<VipView>& vips) {
  std::set<IpAddr> out;
  for (const auto& v : vips)
    for (const auto& b : v.backends)
      if (b.state == BackendStatus::kActive && b.weight > 0) {
        out.insert(v.vip.ip);
        break;
      }
  return out;
}

std::set<IpAddr> desired_routes(const std::set<IpAddr>& served, bool attached, bool drained) {
  if (!attached || drained) return {};
  return served;
}

RouteDiff diff_routes(const std::set<IpAddr>& desired, const std::set<IpAddr>& present) {
  RouteDiff d;
  std::set_difference(desired.begin(), desired.end(), present.begin(), present.end(), std::back_inserter(d.add));
  std::set_difference(present.begin(), present.end(), desired.begin(), desired.end(), std::back_inserter(d.remove));
  return d;
}

}  // namespace xlb::announce
