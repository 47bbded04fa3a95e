// Neighbour priming: makes the kernel resolve the next hop of every backend.
//
// Why: the data plane forwards with bpf_fib_lookup, which only returns a
// next hop's MAC address if the kernel's neighbour table already has it
// resolved; otherwise the packet is dropped (counted as drop_no_neigh). XDP
// cannot trigger ARP/ND itself. A datagram sent from a normal socket to the
// backend makes the kernel resolve the next hop (and keeps the entry fresh),
// so lbd sends one empty UDP datagram to backend:9 (the discard port) when a
// backend is added, and again every 30 s for all backends.
#pragma once
#include <vector>

#include "core/endpoint.h"

namespace xlb {

constexpr int kNeighbourPrimeIntervalMs = 30000;

// Sends one empty UDP datagram to port 9 of each address; errors ignored.
void prime_neighbours(const std::vector<IpAddr>& addrs);

}  // namespace xlb
