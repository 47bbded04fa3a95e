#include "net_events.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace xlb {

NetEvents::NetEvents() : nl_(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK), mnl_socket_close) {
  auto fail = [](const char* step) {
    throw SystemError(std::string("cannot watch the network (rtnetlink ") + step + "): " + std::strerror(errno));
  };
  if (!nl_) fail("socket");
  // A burst (a device going down takes its routes and neighbours with it)
  // must not overflow the default buffer between two ticks; if it does
  // anyway, ENOBUFS says so and lbd looks at everything.
  int size = 1 << 20;
  setsockopt(mnl_socket_get_fd(nl_.get()), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  unsigned groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                    RTMGRP_IPV6_ROUTE;
  if (mnl_socket_bind(nl_.get(), groups, MNL_SOCKET_AUTOPID) < 0) fail("bind");
}

netwatch::NetChanges NetEvents::take() {
  netwatch::NetChanges changes;
  std::vector<char> buf(32768);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        changes.overrun = true;
        continue;
      }
      break;  // EAGAIN: nothing more for now
    }
    netwatch::parse_notifications(buf.data(), static_cast<size_t>(n), &changes);
  }
  return changes;
}

}  // namespace xlb
