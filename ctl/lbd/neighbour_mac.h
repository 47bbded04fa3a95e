// A backend's MAC address from the kernel's neighbour table: what an l2dsr
// health check is addressed to (health/monitor.h). lbd primes the entries
// (neighbours.h); this only reads them.
#pragma once
#include <array>
#include <cstdint>
#include <map>

#include "core/endpoint.h"

namespace xlb {

// The link-layer address of every resolved (reachable, stale, delay, probe
// or permanent) IPv4 and IPv6 entry, on any interface. Throws SystemError if
// rtnetlink fails.
std::map<IpAddr, std::array<uint8_t, 6>> neighbour_macs();

}  // namespace xlb
