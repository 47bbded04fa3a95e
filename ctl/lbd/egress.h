// Which devices the data plane may send frames out of, and with which VLAN
// tags (xlb_tx_ports and xlb_egress, docs/design.md "VLANs").
//
// The FIB names the device a next hop is on. A VLAN device cannot transmit
// XDP frames, so the data plane sends the frame out of the VLAN device's
// real (lower) device with the tags the kernel would have pushed: one per
// VLAN device on the way down (a VLAN on a VLAN is QinQ, outer tag first).
// Devices that can transmit XDP frames go to the devmap; a next hop on any
// other device is dropped and counted (drop_egress_not_xdp) rather than
// redirected into a device that would lose it.
//
// The logic is pure, a function of the interface list (links from netlink,
// links.h), so it is unit-tested without root.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "xlb/abi.h"

namespace xlb {

// One interface of lbd's netns, as rtnetlink describes it.
struct LinkInfo {
  int ifindex = 0;
  std::string name;
  std::string kind;        // IFLA_INFO_KIND: "vlan", "veth", "bridge"...; "" for a physical NIC
  int lower = 0;           // IFLA_LINK in this netns (0: none, or in another netns)
  uint16_t vlan_id = 0;    // IFLA_VLAN_ID (kind "vlan")
  uint16_t vlan_proto = 0; // IFLA_VLAN_PROTOCOL, host order: 0x8100 or 0x88a8
  bool loopback = false;   // ARPHRD_LOOPBACK
  bool ether = false;      // ARPHRD_ETHER
};

struct EgressEntry {
  uint32_t ifindex = 0;  // the VLAN device
  xlb_egress value{};    // its real device and tags
};

// Whether frames can be redirected into the device with XDP (it implements
// ndo_xdp_xmit): physical Ethernet NICs and veth. Not vlan, macvlan,
// bridge, bond, dummy, tunnels or lo.
bool can_transmit_xdp(const LinkInfo& link);

// xlb_egress's entries: one per VLAN device whose chain of VLAN devices
// ends, within two tags, on a device of this netns that is not a VLAN
// device. The real device need not be able to transmit XDP frames (a VLAN
// over a bridge or bond): the data plane then drops with
// drop_egress_not_xdp. VLAN devices that cannot be described (three tags or
// more, a lower device in another netns, a loop) get no entry, and a line
// in *warnings if given.
std::vector<EgressEntry> egress_entries(const std::vector<LinkInfo>& links,
                                        std::vector<std::string>* warnings = nullptr);

}  // namespace xlb
