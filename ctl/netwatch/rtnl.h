// rtnetlink over libmnl: one dump or one acknowledged request per call,
// shared by everything that reads or writes the kernel's tables (lbd's
// links.h, neighbour_mac.h, neighbour_table.h; announce/netlink_table.h).
// Kernel I/O, so apart from netwatch's pure parsing and planning
// (library xlb_rtnl).
#pragma once
#include <libmnl/libmnl.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace xlb {

// Sends a dump request of `type` whose family-specific header (ifinfomsg,
// ndmsg: both start with their family byte) is `header_size` bytes, zeroed
// but for `family`, and calls `cb` with `data` for each message until the
// dump ends. Throws SystemError("cannot <what> (rtnetlink <step>): ...").
void rtnl_dump(uint16_t type, uint8_t family, size_t header_size, mnl_cb_t cb, void* data, const std::string& what);

// The same for a request the caller filled in (header and attributes; its
// flags get NLM_F_REQUEST | NLM_F_DUMP added). With `strict`, the kernel
// applies the request's filters (NETLINK_GET_STRICT_CHK: one routing
// table, not all of them). Returns 0, or the errno the kernel refused the
// dump with; throws SystemError only if the socket itself fails.
int rtnl_dump_request(nlmsghdr* request, bool strict, mnl_cb_t cb, void* data, const std::string& what);

// Sends `request` (its flags get NLM_F_REQUEST | NLM_F_ACK added) and waits
// for the kernel's answer: 0, or the errno it refused the request with.
// Throws SystemError("cannot <what> (rtnetlink <step>): ...") if the socket
// itself fails.
int rtnl_request(nlmsghdr* request, const std::string& what);

}  // namespace xlb
