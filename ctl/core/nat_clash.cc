#include "nat_clash.h"

#include <map>
#include <set>
#include <tuple>

#include "rules.h"
#include "xlb/abi.h"

namespace xlb {

std::vector<std::string> nat_clash_warnings(const std::vector<NatVipBackends>& vips) {
  // (backend address, port, proto) -> the nat VIPs sending there.
  using Destination = std::tuple<IpAddr, uint16_t, uint8_t>;
  std::map<Destination, std::set<Endpoint>> senders;
  for (const auto& v : vips) {
    if (v.mode != XLB_MODE_NAT) continue;
    for (const auto& [addr, port] : v.destinations) senders[{addr, port, v.proto}].insert(v.vip);
  }
  std::vector<std::string> out;
  for (const auto& [dest, vip_set] : senders) {
    if (vip_set.size() < 2) continue;
    const auto& [addr, port, proto] = dest;
    std::string names;
    for (const auto& vip : vip_set) names += (names.empty() ? "" : " and ") + vip_name(vip, proto);
    out.push_back("nat VIPs " + names + " all send to backend " + backend_name(addr, port) + "/" +
                  proto_name(proto) +
                  ": a client using one source port for two of them at once is refused (a RST, "
                  "nat_conflict_rst); make them fullnat, or give them different backend ports "
                  "(docs/operations.md, \"NAT modes\")");
  }
  return out;
}

}  // namespace xlb
