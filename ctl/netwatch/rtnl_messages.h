// What lbd reads from rtnetlink about the network it forwards into: the
// neighbour entries it manages, and the change notifications (links,
// addresses, routes, neighbours) that make it look again. Pure parsing of
// message bytes, so it is unit-tested with messages built in memory.
#pragma once
#include <linux/netlink.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/endpoint.h"

namespace xlb::netwatch {

// rtnetlink's protocol number for what xlb writes (neighbour entries here,
// announced routes elsewhere): 0x78, "x". /etc/iproute2/rt_protos can name it.
constexpr uint8_t kXlbRtProto = 120;

using MacAddr = std::array<uint8_t, 6>;

// One RTM_NEWNEIGH / RTM_DELNEIGH, or one entry of a neighbour dump.
struct NeighbourMsg {
  bool deleted = false;   // RTM_DELNEIGH
  int ifindex = 0;
  IpAddr addr{};          // family 0: not IPv4 or IPv6 (bridge fdb, ...)
  uint16_t state = 0;     // NUD_*
  uint8_t flags = 0;      // NTF_*
  uint32_t ext_flags = 0; // NDA_FLAGS_EXT: NTF_EXT_MANAGED
  uint8_t protocol = 0;   // NDA_PROTOCOL
  bool has_mac = false;
  MacAddr mac{};
};

// Parses the message (its type must be RTM_NEWNEIGH or RTM_DELNEIGH).
NeighbourMsg parse_neighbour(const nlmsghdr* h);

// What changed since the last look, from the notifications of one or more
// reads (the group masks lbd subscribes to are in net_events.h).
struct NetChanges {
  bool links = false;      // a device came, went, or changed (up, down, MTU...)
  bool addresses = false;  // an address was added to or removed from a device
  bool routes = false;     // a route was added, removed or replaced
  bool overrun = false;    // notifications were lost (ENOBUFS): look at everything
  std::vector<NeighbourMsg> neighbours;  // IPv4 and IPv6 entries that changed

  bool any() const { return links || addresses || routes || overrun || !neighbours.empty(); }
};

// Adds what the messages in buf (one read) say to *out. Routes that cannot
// change where a backend is reached are left out: the local table's (an
// address change says that), cloned entries, and xlb's own (kXlbRtProto:
// announcements, which change nothing here).
void parse_notifications(const void* buf, size_t len, NetChanges* out);

}  // namespace xlb::netwatch
