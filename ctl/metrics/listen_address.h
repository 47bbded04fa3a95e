// --metrics ADDR:PORT: an IPv4 address, or an IPv6 one in brackets, and a
// port: 127.0.0.1:9466, [::1]:9466, 0.0.0.0:9466, [::]:9466. Only literal
// addresses: a host name would make what lbd listens on depend on DNS.
#pragma once
#include <cstdint>
#include <string>

namespace xlb::metrics {

struct ListenAddress {
  std::string host;  // without brackets, as bind() takes it
  uint16_t port = 0;
  bool v6 = false;
  std::string str() const;  // as given: [::1]:9466
};

// Throws std::invalid_argument saying what is wrong.
ListenAddress parse_listen_address(const std::string& text);

}  // namespace xlb::metrics
