#include "egress.h"

#include <arpa/inet.h>

#include <map>

namespace xlb {

bool can_transmit_xdp(const LinkInfo& link) {
  if (link.loopback) return false;
  if (link.kind == "veth") return true;
  // No kind: a device of a driver, not one made with `ip link add`.
  return link.kind.empty() && link.ether;
}

std::vector<EgressEntry> egress_entries(const std::vector<LinkInfo>& links, std::vector<std::string>* warnings) {
  std::map<int, const LinkInfo*> by_index;
  for (const auto& l : links) by_index[l.ifindex] = &l;
  auto warn = [&](const std::string& w) {
    if (warnings) warnings->push_back(w);
  };

  std::vector<EgressEntry> out;
  for (const auto& link : links) {
    if (link.kind != "vlan") continue;
    // Walk down to the real device, collecting one tag per VLAN device:
    // the lowest VLAN device's tag is the outermost on the wire.
    std::vector<xlb_vlan_tag> tags;  // innermost first
    const LinkInfo* cur = &link;
    bool ok = true;
    while (cur->kind == "vlan") {
      if (tags.size() == XLB_EGRESS_MAX_TAGS) {
        // Three tags, or a loop (which would go on forever).
        warn(link.name + ": more than " + std::to_string(XLB_EGRESS_MAX_TAGS) +
             " VLAN tags (or a loop of VLAN devices): frames routed out of it are dropped (drop_egress_not_xdp)");
        ok = false;
        break;
      }
      xlb_vlan_tag t{};
      t.tpid = htons(cur->vlan_proto ? cur->vlan_proto : 0x8100);
      t.tci = htons(cur->vlan_id & 0x0fff);
      tags.push_back(t);
      auto lower = by_index.find(cur->lower);
      if (cur->lower == 0 || lower == by_index.end()) {
        warn(link.name + ": its lower device is not in this network namespace: frames routed out of it are "
                         "dropped (drop_egress_not_xdp)");
        ok = false;
        break;
      }
      cur = lower->second;
    }
    if (!ok) continue;
    EgressEntry e;
    e.ifindex = static_cast<uint32_t>(link.ifindex);
    e.value.lower_ifindex = static_cast<uint32_t>(cur->ifindex);
    e.value.ntags = static_cast<uint8_t>(tags.size());
    for (size_t i = 0; i < tags.size(); i++) e.value.tags[i] = tags[tags.size() - 1 - i];
    out.push_back(e);
  }
  return out;
}

}  // namespace xlb
