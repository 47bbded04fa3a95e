// The kernel's route to one address (`ip route get`), over rtnetlink: what
// lbctl doctor checks backends' reachability and path MTU with.
#pragma once
#include <string>

#include "core/endpoint.h"

namespace xlb {

struct RouteToHost {
  bool found = false;
  std::string error;    // why not, when !found (e.g. "Network is unreachable")
  int oif = 0;          // egress ifindex
  std::string dev;      // its name
  int dev_mtu = 0;      // its MTU
  int route_mtu = 0;    // RTAX_MTU of the route (0: none)
  IpAddr gateway{};     // family 0: on-link
  IpAddr src{};         // preferred source (family 0: none)
};

// Throws SystemError only if rtnetlink itself fails.
RouteToHost route_get(const IpAddr& dst);

// An interface's MTU in lbd's netns (0 if unknown).
int interface_mtu(const std::string& ifname);

}  // namespace xlb
