#include "rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "error.h"
#include "maglev.h"

namespace xlb {

uint8_t parse_sched(const std::string& text) {
  for (uint8_t s = XLB_SCHED_MAGLEV; s <= XLB_SCHED_SRC_HASH; s++)
    if (text == sched_name(s)) return s;
  throw InputError("unsupported scheduler '" + text +
                   "' (supported: maglev, least-conn, rr, wrr, random, src-hash)");
}

std::string sched_name(uint8_t sched) {
  switch (sched) {
    case XLB_SCHED_MAGLEV: return "maglev";
    case XLB_SCHED_LEAST_CONN: return "least-conn";
    case XLB_SCHED_RR: return "rr";
    case XLB_SCHED_WRR: return "wrr";
    case XLB_SCHED_RANDOM: return "random";
    case XLB_SCHED_SRC_HASH: return "src-hash";
  }
  return "sched" + std::to_string(sched);
}

uint8_t parse_mode(const std::string& text) {
  for (uint8_t m = XLB_MODE_IPIP; m <= XLB_MODE_L2DSR; m++)
    if (text == mode_name(m)) return m;
  throw InputError("unsupported mode '" + text + "' (supported: ipip, nat, fullnat, l2dsr)");
}

bool mode_translates(uint8_t mode) { return mode == XLB_MODE_NAT || mode == XLB_MODE_FULLNAT; }

std::string mode_name(uint8_t mode) {
  switch (mode) {
    case XLB_MODE_IPIP: return "ipip";
    case XLB_MODE_NAT: return "nat";
    case XLB_MODE_FULLNAT: return "fullnat";
    case XLB_MODE_L2DSR: return "l2dsr";
  }
  return "mode" + std::to_string(mode);
}

void check_sched(uint8_t sched) {
  if (sched > XLB_SCHED_SRC_HASH) parse_sched(sched_name(sched));
}

bool sched_uses_list(uint8_t sched) {
  return sched == XLB_SCHED_LEAST_CONN || sched == XLB_SCHED_RR || sched == XLB_SCHED_WRR;
}

void check_list_capacity(uint8_t sched, size_t active) {
  if (sched_uses_list(sched) && active > XLB_VIP_LIST_MAX)
    throw InputError("scheduler " + sched_name(sched) + " takes at most " + std::to_string(XLB_VIP_LIST_MAX) +
                     " backends with a weight (use maglev for larger pools)");
}

void check_mode(uint8_t mode) {
  if (mode > XLB_MODE_L2DSR) parse_mode(mode_name(mode));
}

void check_stateless(uint8_t sched, uint8_t mode) {
  if (sched != XLB_SCHED_MAGLEV && sched != XLB_SCHED_SRC_HASH)
    throw InputError("stateless: needs sched maglev or src-hash, whose pick is a function of the flow (not " +
                     sched_name(sched) + ")");
  if (mode_translates(mode))
    throw InputError("stateless: needs mode ipip or l2dsr; " + mode_name(mode) +
                     " keeps per-flow state for the replies");
}

void check_ring_size(uint64_t ring_size) {
  if (ring_size < 2 || ring_size > XLB_MAX_RING_SIZE ||
      !maglev::is_prime(static_cast<uint32_t>(ring_size)))
    throw InputError("must be a prime number, at most " + std::to_string(XLB_MAX_RING_SIZE) +
                     " (got " + std::to_string(ring_size) + ")");
}

void check_weight(uint64_t weight, bool allow_zero) {
  if (weight > kMaxWeight || (weight == 0 && !allow_zero))
    throw InputError(std::string("must be ") + (allow_zero ? "0" : "1") + ".." +
                     std::to_string(kMaxWeight));
}

void check_backend_family(uint8_t mode, const Endpoint& vip, const IpAddr& backend) {
  check_mode(mode);
  auto family = [](const IpAddr& a) { return a.is_v4() ? std::string("IPv4") : std::string("IPv6"); };
  if (mode == XLB_MODE_IPIP) {
    // ipip encapsulates in the backend's family: IPv4 and IPv6 fit in IPv6,
    // but an IPv6 packet cannot be carried in IPv4 (that would be 6in4).
    if (!vip.ip.is_v4() && backend.is_v4())
      throw InputError("IPv4 backend " + backend.str() + " cannot serve IPv6 VIP " + vip.str() +
                       " (ipip carries IPv6 only in IPv6)");
    return;
  }
  // nat and fullnat rewrite addresses in place, l2dsr only the MACs: the
  // packet keeps its family, so the backend must have the VIP's.
  if (vip.ip.is_v4() != backend.is_v4())
    throw InputError(family(backend) + " backend " + backend.str() + " cannot serve " + family(vip.ip) + " VIP " +
                     vip.str() + " (mode " + mode_name(mode) + " keeps the packet's family)");
}

void check_backend_port(uint8_t mode, uint16_t port) {
  check_mode(mode);
  if (port != 0 && !mode_translates(mode))
    throw InputError("mode " + mode_name(mode) +
                     " cannot remap ports: the backend gets the VIP's port (only nat and fullnat can)");
}

std::string special_address_class(const IpAddr& addr) {
  if (addr.is_v4()) {
    uint32_t a = ntohl(addr.addr.v4);
    if ((a >> 24) == 0) return "an unspecified address (0.0.0.0/8)";
    if (a == 0xffffffffu) return "the broadcast address";
    if ((a >> 28) == 0xe) return "a multicast address (224.0.0.0/4)";
    if ((a >> 24) == 127) return "a loopback address (127.0.0.0/8)";
    return "";
  }
  uint8_t b[16];
  std::memcpy(b, addr.addr.v6, sizeof b);
  static const uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 15) == 0 && b[15] <= 1)
    return b[15] ? "the loopback address (::1)" : "the unspecified address (::)";
  if (b[0] == 0xff) return "a multicast address (ff00::/8)";
  if (std::memcmp(b, kZero, 10) == 0 && b[10] == 0xff && b[11] == 0xff)
    return "an IPv4-mapped address (::ffff:0:0/96; write the IPv4 address instead)";
  return "";
}

namespace {
bool is_local(const IpAddr& addr, const std::vector<IpAddr>& local) {
  return std::find(local.begin(), local.end(), addr) != local.end();
}
}  // namespace

void check_vip_address(const IpAddr& addr, const std::vector<IpAddr>& local) {
  std::string what = special_address_class(addr);
  if (!what.empty()) throw InputError(addr.str() + " cannot be a VIP: it is " + what);
  if (is_local(addr, local))
    throw InputError(addr.str() +
                     " cannot be a VIP: it is the load balancer's own address (on an interface lbd serves)");
}

void check_backend_address(const IpAddr& addr, const IpAddr& vip, const std::vector<IpAddr>& local) {
  std::string what = special_address_class(addr);
  if (!what.empty()) throw InputError(addr.str() + " cannot be a backend: it is " + what);
  if (addr == vip)
    throw InputError(addr.str() + " cannot be a backend of its own VIP: packets would loop back to the load balancer");
  if (is_local(addr, local))
    throw InputError(addr.str() +
                     " cannot be a backend: it is the load balancer's own address (on an interface lbd serves)");
}

std::string ring_slot_warning(const std::string& vip, uint8_t sched, size_t active, uint32_t ring_size) {
  if (active <= ring_size) return "";
  // List schedulers pick from their list; their ring only serves while the
  // flood guard forwards new flows statelessly (docs/design.md).
  std::string effect = sched_uses_list(sched) ? "no new flows while the flood guard forwards by the ring"
                                              : "no new flows";
  return "VIP " + vip + ": " + std::to_string(active) + " active backends but ring_size " +
         std::to_string(ring_size) + ": at least " + std::to_string(active - ring_size) + " get no ring slot (" +
         effect + "); raise ring_size";
}

std::string backend_name(const IpAddr& addr, uint16_t port) {
  return port ? Endpoint{addr, port}.str() : addr.str();
}

std::string vip_name(const Endpoint& vip, uint8_t proto) {
  return vip.str() + "/" + proto_name(proto);
}

}  // namespace xlb
