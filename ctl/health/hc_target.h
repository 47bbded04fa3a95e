// Health-check steering targets: what lbd writes into xlb_hc_targets (the
// map of bpf/hc.bpf.c) for one check mark. Pure: no kernel, unit-tested.
//
// A check in ipip or l2dsr mode is a socket to the VIP with SO_MARK = mark;
// the tc egress program looks the mark up and steers the packet to the
// target backend (docs/health.md). nat and fullnat checks go to
// backend:port directly and need no target.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "core/endpoint.h"
#include "xlb/abi.h"

namespace xlb::health {

using MacAddr = std::array<uint8_t, 6>;

struct HcTargetSpec {
  uint8_t mode = XLB_MODE_IPIP;  // enum xlb_mode: only IPIP and L2DSR are steerable
  IpAddr backend;                // ipip: the outer destination
  IpAddr source;                 // ipip: the outer source (the LB's encap source)
  uint32_t ifindex = 0;          // ipip: device to send out of; 0 = the hooked one
  MacAddr mac{};                 // l2dsr: the backend's MAC
};

// The map value for spec; throws InputError when spec cannot be steered:
// a mode other than ipip/l2dsr, an ipip target without backend or source or
// with families that differ, an l2dsr target whose MAC is zero or multicast.
// Every byte of the result is defined (padding zeroed).
xlb_hc_target make_hc_target(const HcTargetSpec& spec);

// The inverse, for listing the map.
HcTargetSpec hc_target_spec(const xlb_hc_target& t);

// "02:00:00:00:00:0c" (also with '-'); throws InputError otherwise.
MacAddr parse_mac(const std::string& text);
std::string mac_str(const MacAddr& mac);

// Name of an xlb_hc_stats index ("rx", "pass", "ipip4", ...), "" if none.
const char* hc_stat_name(uint32_t stat);

// Whether an IPv4/IPv6 inner packet can use the target: an IPv6 check
// cannot ride in an IPv4 tunnel (the program drops it).
bool hc_target_carries(const xlb_hc_target& t, uint8_t inner_family);

}  // namespace xlb::health
