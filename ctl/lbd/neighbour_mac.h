// A backend's MAC address from the kernel's neighbour table: what an l2dsr
// health check is addressed to (health/monitor.h). lbd primes the entries
// (neighbours.h); this only reads them.
#pragma once
#include <array>
#include <cstdint>
#include <optional>

#include "core/endpoint.h"

namespace xlb {

// The link-layer address of a resolved (reachable, stale, delay, probe or
// permanent) entry for addr on any interface; nullopt if there is none.
// Throws SystemError if rtnetlink fails.
std::optional<std::array<uint8_t, 6>> neighbour_mac(const IpAddr& addr);

}  // namespace xlb
