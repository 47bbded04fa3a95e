#include "conn_key.h"

#include <arpa/inet.h>

namespace xlb {

xlb_backend_key make_backend_key(const xlb_vip_key& vip, const IpAddr& addr, uint16_t port) {
  xlb_backend_key key;
  std::memset(&key, 0, sizeof key);
  key.vip = vip;
  key.addr = addr.addr;
  key.port = htons(port);
  key.family = addr.family;
  return key;
}

xlb_backend_key flow_identity(const xlb_flow_key& flow, const xlb_backend_key& backend) {
  xlb_backend_key key = backend;
  std::memset(&key.vip, 0, sizeof key.vip);
  key.vip.addr = flow.dst;
  key.vip.port = flow.dport;
  key.vip.proto = flow.proto;
  key.vip.family = flow.family;
  return key;
}

std::string backend_key_str(const xlb_backend_key& key) {
  try {
    Endpoint vip{IpAddr::from_abi(key.vip.family, key.vip.addr), ntohs(key.vip.port)};
    std::string out = vip.str() + "/" + proto_name(key.vip.proto) + " -> " +
                      IpAddr::from_abi(key.family, key.addr).str();
    if (key.port) out += " port " + std::to_string(ntohs(key.port));
    return out;
  } catch (const InputError&) {
    return "(malformed identity)";
  }
}

}  // namespace xlb
