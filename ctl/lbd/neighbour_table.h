// lbd's writes to the kernel's neighbour table, and the entries it owns
// there (netwatch/neighbour_plan.h says which and why).
#pragma once
#include <vector>

#include "netwatch/neighbour_plan.h"

namespace xlb {

// Creates or converts the entry for `hop` into a managed one tagged with
// xlb's protocol number; the kernel starts resolving it at once. Returns 0
// or the kernel's errno.
int neighbour_manage(const netwatch::Nexthop& hop);
// NTF_USE: has the kernel resolve the entry, or refresh it if it has one.
int neighbour_use(const netwatch::Nexthop& hop);
// Deletes the entry (ENOENT if there is none).
int neighbour_forget(const netwatch::Nexthop& hop);

// The IPv4 and IPv6 entries tagged with xlb's protocol number. Throws
// SystemError if rtnetlink fails.
std::vector<netwatch::NeighbourMsg> xlb_neighbour_entries();

// Every IPv4 and IPv6 entry, whoever made it. Throws SystemError.
std::vector<netwatch::NeighbourMsg> neighbour_entries();

}  // namespace xlb
