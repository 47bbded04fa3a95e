// Balancer::set_interface_addresses: the default sources follow the
// interfaces' addresses (ctl/lbd/neighbours.h watches them).
#include <algorithm>
#include <cstring>

#include "balancer.h"

namespace xlb {

namespace {

bool same(const xlb_addr& a, const xlb_addr& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool listed(const std::vector<IpAddr>& list, const IpAddr& a) {
  return std::find(list.begin(), list.end(), a) != list.end();
}

// Moves one source that is the default of its family from `was` to `now`.
void follow(xlb_addr* source, const EncapDefaults& was, const EncapDefaults& now, bool v6, const std::string& what,
            std::vector<std::string>* lines) {
  const std::optional<IpAddr>& old_default = v6 ? was.v6 : was.v4;
  const std::optional<IpAddr>& new_default = v6 ? now.v6 : now.v4;
  if (!old_default || !same(*source, old_default->addr)) return;  // the config's, or none
  if (!new_default) {
    // Said once: when the address leaves the interfaces.
    if (listed(was.local, *old_default) && !listed(now.local, *old_default))
      lines->push_back(what + " stays " + old_default->str() +
                       ", no longer an address of the interfaces: they have no other of its family");
    return;
  }
  if (*new_default == *old_default) return;
  *source = new_default->addr;
  lines->push_back(what + " follows the interfaces' address: " + old_default->str() + " -> " + new_default->str());
}

}  // namespace

std::vector<std::string> Balancer::set_interface_addresses(EncapDefaults found) {
  std::vector<std::string> lines;
  xlb_config cfg = config_;
  // The IPv6 encapsulation source is the default only as a /128; a prefix
  // was the config's.
  if (cfg.encap_src_v6_plen == 128) follow(&cfg.encap_src_v6, defaults_, found, true, "IPv6 encap source", &lines);
  follow(&cfg.snat_src_v4, defaults_, found, false, "fullnat IPv4 source", &lines);
  follow(&cfg.snat_src_v6, defaults_, found, true, "fullnat IPv6 source", &lines);
  if (std::memcmp(&cfg, &config_, sizeof cfg) != 0) atomically([&] { write_config(cfg); });
  // A family with no address left keeps its old default, so that the
  // sources still following it move to the next address of that family.
  if (!found.v4) found.v4 = defaults_.v4;
  if (!found.v6) found.v6 = defaults_.v6;
  defaults_ = std::move(found);
  return lines;
}

}  // namespace xlb
