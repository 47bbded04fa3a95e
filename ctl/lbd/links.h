// The interfaces of lbd's network namespace with their kind and, for VLAN
// devices, lower device, VLAN id and protocol: one RTM_GETLINK dump over
// rtnetlink, with libmnl.
#pragma once
#include <vector>

#include "egress.h"

namespace xlb {

// Throws SystemError if the dump fails.
std::vector<LinkInfo> list_links();

}  // namespace xlb
