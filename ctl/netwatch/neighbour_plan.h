// Which neighbour entries lbd keeps, and when it acts on them.
//
// Why: the data plane forwards with bpf_fib_lookup, which only returns a
// next hop's MAC address if the kernel's neighbour table has it resolved;
// otherwise the packet is dropped (drop_no_neigh). XDP can't make the
// kernel resolve anything, and nothing else may send to a backend's next
// hop from this host. So lbd asks the kernel, over rtnetlink, to keep an
// entry for the next hop of every backend (the backend itself on a
// connected network, else its route's gateway):
//  - managed (kernel 5.16+): a "managed" entry (NTF_EXT_MANAGED, with
//    NTF_EXT_LEARNED, as Cilium does), which the kernel resolves at once
//    and keeps resolved by itself, re-probing every
//    neigh/*/interval_probe_time_ms, even while lbd is not running. lbd tags
//    them with its protocol number (rtnl_messages.h) and removes the ones no
//    backend needs any more;
//  - use (older kernels): NTF_USE, "resolve or refresh this entry", sent
//    for every next hop at each look and again whenever a notification says
//    one went stale or failed.
// lbd looks again (routes, then entries) when a link, an address or a
// route changes, when a backend is added or removed, and every
// kNeighbourLookMs; a device going down flushes even managed entries.
#pragma once
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "rtnl_messages.h"

namespace xlb::netwatch {

constexpr int kNeighbourLookMs = 30000;

struct Nexthop {
  int ifindex = 0;
  IpAddr addr{};
  bool operator<(const Nexthop& o) const { return ifindex != o.ifindex ? ifindex < o.ifindex : addr < o.addr; }
  bool operator==(const Nexthop& o) const { return ifindex == o.ifindex && addr == o.addr; }
};

// The kernel's route to a backend (`ip route get`), as far as planning goes.
struct BackendRoute {
  IpAddr backend{};
  bool found = false;     // false: unreachable, nothing to resolve
  int oif = 0;
  bool loopback = false;  // the route goes out of lo (a local address)
  IpAddr gateway{};       // family 0: on-link, the backend is the next hop
};

// The next hops to keep resolved: one per (device, address), whatever the
// number of backends behind it.
std::set<Nexthop> nexthops_of(const std::vector<BackendRoute>& routes);

enum class NeighbourMode { kManaged, kUse };
NeighbourMode parse_neighbour_mode(const std::string& text);  // "managed", "use"; throws InputError
std::string neighbour_mode_name(NeighbourMode mode);

struct NeighbourPlan {
  std::vector<Nexthop> add;     // (re)create as managed entries
  std::vector<Nexthop> remove;  // ours, no longer needed
};

// Whether an entry is a static one somebody set (`ip neigh add ... nud
// permanent`, or noarp): resolved for good, and not lbd's to replace or
// delete, whatever its protocol tag (`ip neigh replace` keeps the tag of the
// managed entry it replaces).
bool static_entry(const NeighbourMsg& n);

// Managed mode, over the kernel's IPv4 and IPv6 entries (all of them). A
// wanted next hop without an entry, or with a dynamic entry that is not
// managed (somebody else's, or ours that lost the flag), gets a managed
// entry; one with a static entry is left as it is. Entries tagged
// kXlbRtProto that no backend needs are removed, static ones excepted.
NeighbourPlan plan_managed(const std::set<Nexthop>& want, const std::vector<NeighbourMsg>& entries);

// Whether the kernel kept the managed flag on entries lbd just created: a
// kernel before 5.16 ignores NDA_FLAGS_EXT and makes a plain entry, which
// nothing would ever resolve. `created` are the entries as dumped after.
bool kernel_manages(const std::vector<NeighbourMsg>& created);

// Use mode: whether a notification about a wanted next hop calls for a
// refresh (NTF_USE): it was deleted, failed, or went stale.
bool needs_refresh(const NeighbourMsg& n);

// Managed mode: whether a notification about a wanted next hop says its
// entry is no longer one lbd manages (deleted, or replaced by another
// writer without the managed flag), so the next look must see to it (and
// leave it alone if it is now static).
bool lost_management(const NeighbourMsg& n);

}  // namespace xlb::netwatch
