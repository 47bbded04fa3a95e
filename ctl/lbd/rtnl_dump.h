// One rtnetlink dump (RTM_GETLINK, RTM_GETNEIGH, ...) or one acknowledged
// request (RTM_NEWNEIGH, ...) over libmnl, shared by the readers and
// writers of the kernel's tables (links.h, neighbour_mac.h,
// neighbour_table.h).
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

// Sends `request` (its flags get NLM_F_REQUEST | NLM_F_ACK added) and waits
// for the kernel's answer: 0, or the errno it refused the request with.
// Throws SystemError("cannot <what> (rtnetlink <step>): ...") if the socket
// itself fails.
int rtnl_request(nlmsghdr* request, const std::string& what);

}  // namespace xlb
