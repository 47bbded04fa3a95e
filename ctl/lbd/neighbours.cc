#include "neighbours.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace xlb {

namespace {
constexpr uint16_t kDiscardPort = 9;
}

void prime_neighbours(const std::vector<IpAddr>& addrs) {
  int fd4 = -1, fd6 = -1;
  for (const auto& a : addrs) {
    if (a.is_v4()) {
      if (fd4 < 0) fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd4 < 0) continue;
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(kDiscardPort);
      sa.sin_addr.s_addr = a.addr.v4;
      (void)sendto(fd4, "", 0, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
      if (fd6 < 0) fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd6 < 0) continue;
      sockaddr_in6 sa{};
      sa.sin6_family = AF_INET6;
      sa.sin6_port = htons(kDiscardPort);
      std::memcpy(&sa.sin6_addr, a.addr.v6, 16);
      (void)sendto(fd6, "", 0, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
  }
  if (fd4 >= 0) close(fd4);
  if (fd6 >= 0) close(fd6);
}

}  // namespace xlb
