#include "neighbour_mac.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

#include "netwatch/rtnl.h"

namespace xlb {

namespace {

using Macs = std::map<IpAddr, std::array<uint8_t, 6>>;

constexpr uint16_t kResolved = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;

struct Attrs {
  const nlattr* dst = nullptr;
  const nlattr* lladdr = nullptr;
};

int neigh_attr(const nlattr* a, void* data) {
  auto* out = static_cast<Attrs*>(data);
  if (mnl_attr_get_type(a) == NDA_DST) out->dst = a;
  if (mnl_attr_get_type(a) == NDA_LLADDR) out->lladdr = a;
  return MNL_CB_OK;
}

int neigh_msg(const nlmsghdr* h, void* data) {
  auto* macs = static_cast<Macs*>(data);
  auto* nd = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(h));
  if (!(nd->ndm_state & kResolved)) return MNL_CB_OK;
  Attrs attrs;
  mnl_attr_parse(h, sizeof(*nd), neigh_attr, &attrs);
  if (!attrs.dst || !attrs.lladdr || mnl_attr_get_payload_len(attrs.lladdr) != 6) return MNL_CB_OK;
  IpAddr a;
  size_t len = mnl_attr_get_payload_len(attrs.dst);
  if (nd->ndm_family == AF_INET && len == 4)
    a.family = XLB_AF_INET;
  else if (nd->ndm_family == AF_INET6 && len == 16)
    a.family = XLB_AF_INET6;
  else
    return MNL_CB_OK;
  std::memcpy(&a.addr, mnl_attr_get_payload(attrs.dst), len);
  std::array<uint8_t, 6> mac;
  std::memcpy(mac.data(), mnl_attr_get_payload(attrs.lladdr), 6);
  (*macs)[a] = mac;
  return MNL_CB_OK;
}

}  // namespace

Macs neighbour_macs() {
  Macs macs;
  for (uint8_t family : {AF_INET, AF_INET6})
    rtnl_dump(RTM_GETNEIGH, family, sizeof(ndmsg), neigh_msg, &macs, "read the neighbour table");
  return macs;
}

}  // namespace xlb
