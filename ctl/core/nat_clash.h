// nat VIPs that share a reply tuple space. nat keeps the client's address and
// port, so the backend's reply (backend:port -> client:cport) names its flow
// only by the backend's address and port. Two nat VIPs (two ports of one
// address, or two addresses) that send to the same backend address, port and
// protocol give a client that uses one source port for both at once two flows
// with one reply tuple: the data path refuses the second (a RST to its SYN,
// `nat_conflict_rst`), and takes a finished flow's tuple over (docs/design.md,
// "nat reply tuples"). lbd serves such a configuration, because clients
// rarely reuse a port while the first connection is open, and a refused one
// retries from another port; but it warns, and points to fullnat, whose own
// source ports can never clash.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "endpoint.h"

namespace xlb {

struct NatVipBackends {
  Endpoint vip;
  uint8_t proto = 0;
  uint8_t mode = 0;  // only XLB_MODE_NAT VIPs are looked at
  // Each backend's address and the port it is sent to (its own, or the VIP's).
  std::vector<std::pair<IpAddr, uint16_t>> destinations;
};

// One message per backend destination that two or more nat VIPs send to, in
// a stable order (by destination).
std::vector<std::string> nat_clash_warnings(const std::vector<NatVipBackends>& vips);

}  // namespace xlb
