#include "pick/flow_pick.h"

#include <arpa/inet.h>

#include <cstring>

#include "xlb/flow_hash.h"

namespace xlb::pick {

bool pick_is_stateless(uint8_t sched) { return sched == XLB_SCHED_MAGLEV || sched == XLB_SCHED_SRC_HASH; }

xlb_flow_key flow_key(uint8_t family, uint8_t proto, const xlb_addr& src, uint16_t sport, const xlb_addr& dst,
                      uint16_t dport) {
  xlb_flow_key key;
  std::memset(&key, 0, sizeof key);
  if (family == XLB_AF_INET) {
    key.src.v4 = src.v4;
    key.dst.v4 = dst.v4;
  } else {
    key.src = src;
    key.dst = dst;
  }
  key.sport = htons(sport);
  key.dport = htons(dport);
  key.proto = proto;
  key.family = family;
  return key;
}

std::optional<uint32_t> ring_hash(uint8_t sched, const xlb_flow_key& key, uint32_t seed) {
  switch (sched) {
    case XLB_SCHED_MAGLEV: return xlb_flow_hash(&key, seed);
    case XLB_SCHED_SRC_HASH: return xlb_addr_hash(&key.src, seed);
    default: return std::nullopt;
  }
}

}  // namespace xlb::pick
