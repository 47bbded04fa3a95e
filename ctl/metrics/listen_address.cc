#include "listen_address.h"

#include <arpa/inet.h>

#include <stdexcept>

namespace xlb::metrics {

std::string ListenAddress::str() const { return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port); }

ListenAddress parse_listen_address(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("'" + text + "': " + why + " (expected ADDR:PORT, e.g. 127.0.0.1:9466 or [::1]:9466)");
  };
  ListenAddress a;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) throw bad("no ']' after the IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') throw bad("no port");
    a.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    a.v6 = true;
    in6_addr buf;
    if (inet_pton(AF_INET6, a.host.c_str(), &buf) != 1) throw bad("'" + a.host + "' is not an IPv6 address");
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) throw bad("no port");
    a.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (a.host.find(':') != std::string::npos) throw bad("an IPv6 address goes in brackets");
    in_addr buf;
    if (inet_pton(AF_INET, a.host.c_str(), &buf) != 1) throw bad("'" + a.host + "' is not an IPv4 address");
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    throw bad("no port");
  unsigned long p = std::stoul(port);
  if (p < 1 || p > 65535) throw bad("port out of range 1-65535");
  a.port = static_cast<uint16_t>(p);
  return a;
}

}  // namespace xlb::metrics
