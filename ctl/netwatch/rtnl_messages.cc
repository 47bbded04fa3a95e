#include "rtnl_messages.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

namespace xlb::netwatch {

namespace {

struct Parsing {
  NeighbourMsg* out;
  bool dst = false;  // an NDA_DST of the family's length
};

int neighbour_attr(const nlattr* a, void* data) {
  auto* p = static_cast<Parsing*>(data);
  NeighbourMsg* out = p->out;
  size_t len = mnl_attr_get_payload_len(a);
  switch (mnl_attr_get_type(a)) {
    case NDA_DST:
      if (out->addr.family == XLB_AF_INET ? len == 4 : len == 16) {
        std::memcpy(&out->addr.addr, mnl_attr_get_payload(a), len);
        p->dst = true;
      }
      break;
    case NDA_LLADDR:
      if (len == out->mac.size()) {
        std::memcpy(out->mac.data(), mnl_attr_get_payload(a), len);
        out->has_mac = true;
      }
      break;
    case NDA_FLAGS_EXT:
      if (len >= 4) out->ext_flags = mnl_attr_get_u32(a);
      break;
    case NDA_PROTOCOL:
      if (len >= 1) out->protocol = mnl_attr_get_u8(a);
      break;
  }
  return MNL_CB_OK;
}

int notification(const nlmsghdr* h, void* data) {
  auto* out = static_cast<NetChanges*>(data);
  switch (h->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      out->links = true;
      break;
    case RTM_NEWADDR:
    case RTM_DELADDR:
      out->addresses = true;
      break;
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
      if (mnl_nlmsg_get_payload_len(h) < sizeof(rtmsg)) break;
      auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(h));
      if (rt->rtm_table == RT_TABLE_LOCAL || (rt->rtm_flags & RTM_F_CLONED) || rt->rtm_protocol == kXlbRtProto) break;
      out->routes = true;
      break;
    }
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: {
      NeighbourMsg n = parse_neighbour(h);
      if (n.addr.family) out->neighbours.push_back(n);
      break;
    }
  }
  return MNL_CB_OK;
}

}  // namespace

NeighbourMsg parse_neighbour(const nlmsghdr* h) {
  NeighbourMsg n;
  if (mnl_nlmsg_get_payload_len(h) < sizeof(ndmsg)) return n;
  auto* nd = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(h));
  n.deleted = h->nlmsg_type == RTM_DELNEIGH;
  n.ifindex = nd->ndm_ifindex;
  n.state = nd->ndm_state;
  n.flags = nd->ndm_flags;
  if (nd->ndm_family == AF_INET)
    n.addr.family = XLB_AF_INET;
  else if (nd->ndm_family == AF_INET6)
    n.addr.family = XLB_AF_INET6;
  else
    return n;
  Parsing p{&n};
  mnl_attr_parse(h, sizeof(*nd), neighbour_attr, &p);
  if (!p.dst) n.addr = IpAddr{};
  return n;
}

void parse_notifications(const void* buf, size_t len, NetChanges* out) {
  // Notifications carry no sequence number or port id to check (0, 0).
  mnl_cb_run(buf, len, 0, 0, notification, out);
}

}  // namespace xlb::netwatch
