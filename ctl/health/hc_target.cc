#include "health/hc_target.h"

#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace xlb::health {

xlb_hc_target make_hc_target(const HcTargetSpec& spec) {
  xlb_hc_target t;
  std::memset(&t, 0, sizeof t);
  t.mode = spec.mode;
  if (spec.mode == XLB_MODE_L2DSR) {
    const MacAddr zero{};
    if (spec.mac == zero) throw InputError("l2dsr check target needs the backend's MAC");
    if (spec.mac[0] & 1) throw InputError("l2dsr check target MAC " + mac_str(spec.mac) + " is multicast");
    std::memcpy(t.mac, spec.mac.data(), sizeof t.mac);
    // The backend address is kept for listing only; the program ignores it.
    if (spec.backend.family) {
      t.family = spec.backend.family;
      t.backend = spec.backend.addr;
    }
    return t;
  }
  if (spec.mode != XLB_MODE_IPIP)
    throw InputError("only ipip and l2dsr checks are steered (mode " + std::to_string(spec.mode) + ")");
  if (!spec.backend.family) throw InputError("ipip check target needs the backend's address");
  if (!spec.source.family) throw InputError("ipip check target needs an encapsulation source");
  if (spec.backend.family != spec.source.family)
    throw InputError("ipip check target " + spec.backend.str() + ": source " + spec.source.str() +
                     " is of the other family");
  t.family = spec.backend.family;
  t.backend = spec.backend.addr;
  t.source = spec.source.addr;
  t.ifindex = spec.ifindex;
  return t;
}

HcTargetSpec hc_target_spec(const xlb_hc_target& t) {
  HcTargetSpec s;
  s.mode = t.mode;
  if (t.family == XLB_AF_INET || t.family == XLB_AF_INET6) {
    s.backend = IpAddr::from_abi(t.family, t.backend);
    if (t.mode == XLB_MODE_IPIP) s.source = IpAddr::from_abi(t.family, t.source);
  }
  s.ifindex = t.ifindex;
  std::memcpy(s.mac.data(), t.mac, s.mac.size());
  return s;
}

MacAddr parse_mac(const std::string& text) {
  MacAddr m{};
  unsigned b[6];
  char sep[5];
  char tail;
  int n = std::sscanf(text.c_str(), "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%c", &b[0], &sep[0], &b[1], &sep[1],
                      &b[2], &sep[2], &b[3], &sep[3], &b[4], &sep[4], &b[5], &tail);
  bool ok = n == 11 && text.size() == 17;
  for (int i = 0; ok && i < 5; i++) ok = sep[i] == sep[0] && (sep[0] == ':' || sep[0] == '-');
  if (!ok) throw InputError("bad MAC address '" + text + "' (want 02:00:00:00:00:0c)");
  for (int i = 0; i < 6; i++) m[static_cast<size_t>(i)] = static_cast<uint8_t>(b[i]);
  return m;
}

std::string mac_str(const MacAddr& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                mac[5]);
  return buf;
}

const char* hc_stat_name(uint32_t stat) {
  switch (stat) {
    case XLB_HC_STAT_RX: return "rx";
    case XLB_HC_STAT_PASS: return "pass";
    case XLB_HC_STAT_IPIP4: return "ipip4";
    case XLB_HC_STAT_IPIP6: return "ipip6";
    case XLB_HC_STAT_L2DSR: return "l2dsr";
    case XLB_HC_STAT_DROP_UNSUPPORTED: return "drop_unsupported";
    case XLB_HC_STAT_DROP_MTU: return "drop_mtu";
    case XLB_HC_STAT_DROP_INTERNAL: return "drop_internal";
    default: return "";
  }
}

bool hc_target_carries(const xlb_hc_target& t, uint8_t inner_family) {
  if (t.mode == XLB_MODE_L2DSR) return true;
  if (t.mode != XLB_MODE_IPIP) return false;
  return inner_family == XLB_AF_INET || t.family == XLB_AF_INET6;
}

}  // namespace xlb::health
