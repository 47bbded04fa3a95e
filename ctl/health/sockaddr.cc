#include "health/sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace xlb::health {

SockAddr to_sockaddr(const IpAddr& ip, uint16_t port) {
  SockAddr a;
  if (ip.is_v4()) {
    auto* s = reinterpret_cast<sockaddr_in*>(&a.ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    std::memcpy(&s->sin_addr, &ip.addr, 4);
    a.len = sizeof(*s);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&a.ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    std::memcpy(&s->sin6_addr, &ip.addr, 16);
    a.len = sizeof(*s);
  }
  return a;
}

SockAddr to_sockaddr(const Endpoint& ep) { return to_sockaddr(ep.ip, ep.port); }

}  // namespace xlb::health
