// rtnetlink notifications of lbd's netns: links, IPv4 and IPv6 addresses
// and routes, neighbours. lbd reads them from its tick (non-blocking), so
// a change is acted on within a tick; see netwatch/neighbour_plan.h.
#pragma once
#include <libmnl/libmnl.h>

#include <memory>

#include "netwatch/rtnl_messages.h"

namespace xlb {

class NetEvents {
 public:
  // Throws SystemError if the socket can't be opened or subscribed.
  NetEvents();
  // Everything that arrived since the last call (overrun set if the
  // kernel dropped notifications because the socket's buffer was full).
  netwatch::NetChanges take();

 private:
  std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl_;
};

}  // namespace xlb
