// See allow.h.
#include "allow.h"

#include <arpa/inet.h>

#include <cstring>

namespace xlb::decap {

std::string parse_allow(const std::string& text, xlb_decap_allow_key* key) {
  std::memset(key, 0, sizeof *key);
  const size_t slash = text.find('/');
  const std::string addr = text.substr(0, slash);
  unsigned max_len;
  if (inet_pton(AF_INET, addr.c_str(), key->addr) == 1) {
    key->family = XLB_AF_INET;
    max_len = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), key->addr) == 1) {
    key->family = XLB_AF_INET6;
    max_len = 128;
  } else {
    std::memset(key, 0, sizeof *key);
    return "not an IPv4 or IPv6 address or prefix";
  }
  unsigned len = max_len;
  if (slash != std::string::npos) {
    const std::string digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos ||
        (len = static_cast<unsigned>(std::stoul(digits))) > max_len) {
      std::memset(key, 0, sizeof *key);
      return "prefix length must be 0.." + std::to_string(max_len);
    }
  }
  // Host bits must be zero: "198.18.0.1/24" is more likely a typo than a
  // wish for 198.18.0.0/24.
  for (unsigned bit = len; bit < max_len; bit++) {
    if (key->addr[bit / 8] & (0x80u >> (bit % 8))) {
      xlb_decap_allow_key masked = *key;
      for (unsigned b = len; b < max_len; b++) masked.addr[b / 8] &= static_cast<uint8_t>(~(0x80u >> (b % 8)));
      masked.prefixlen = 8 + len;
      std::memset(key, 0, sizeof *key);
      return "host bits set (did you mean " + allow_str(masked) + "?)";
    }
  }
  key->prefixlen = 8 + len;
  return "";
}

std::string allow_str(const xlb_decap_allow_key& key) {
  char buf[INET6_ADDRSTRLEN] = "?";
  inet_ntop(key.family == XLB_AF_INET ? AF_INET : AF_INET6, key.addr, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(key.prefixlen >= 8 ? key.prefixlen - 8 : 0);
}

}  // namespace xlb::decap
