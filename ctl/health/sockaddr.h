// Endpoint and IpAddr (core/endpoint.h) as the socket API wants them.
#pragma once
#include <sys/socket.h>

#include "core/endpoint.h"

namespace xlb::health {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
  int family() const { return ss.ss_family; }
};

SockAddr to_sockaddr(const Endpoint& ep);
SockAddr to_sockaddr(const IpAddr& ip, uint16_t port = 0);

}  // namespace xlb::health
