#include "neighbour_table.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "netwatch/rtnl.h"

namespace xlb {

namespace {

using netwatch::Nexthop;
using netwatch::NeighbourMsg;

// RTM_NEWNEIGH / RTM_DELNEIGH for one next hop, as `ip neigh` sends them.
int neighbour_change(uint16_t type, uint16_t flags, const Nexthop& hop, uint16_t state, uint8_t ntf, bool managed,
                     const char* what) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* h = mnl_nlmsg_put_header(buf);
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ndmsg)));
  bool v6 = hop.addr.family == XLB_AF_INET6;
  nd->ndm_family = v6 ? AF_INET6 : AF_INET;
  nd->ndm_ifindex = hop.ifindex;
  nd->ndm_state = state;
  nd->ndm_flags = ntf;
  mnl_attr_put(h, NDA_DST, v6 ? 16 : 4, &hop.addr.addr);
  // The tag makes the entries lbd asked for findable (status, clean-up).
  if (type == RTM_NEWNEIGH) mnl_attr_put_u8(h, NDA_PROTOCOL, netwatch::kXlbRtProto);
  if (managed) mnl_attr_put_u32(h, NDA_FLAGS_EXT, NTF_EXT_MANAGED);
  return rtnl_request(h, what);
}

int collect_ours(const nlmsghdr* h, void* data) {
  NeighbourMsg n = netwatch::parse_neighbour(h);
  if (n.addr.family && n.protocol == netwatch::kXlbRtProto) static_cast<std::vector<NeighbourMsg>*>(data)->push_back(n);
  return MNL_CB_OK;
}

int collect_all(const nlmsghdr* h, void* data) {
  NeighbourMsg n = netwatch::parse_neighbour(h);
  if (n.addr.family) static_cast<std::vector<NeighbourMsg>*>(data)->push_back(n);
  return MNL_CB_OK;
}

std::vector<NeighbourMsg> dump_neighbours(mnl_cb_t collect) {
  std::vector<NeighbourMsg> out;
  for (uint8_t family : {AF_INET, AF_INET6})
    rtnl_dump(RTM_GETNEIGH, family, sizeof(ndmsg), collect, &out, "read the neighbour table");
  return out;
}

}  // namespace

int neighbour_manage(const Nexthop& hop) {
  // NUD_NONE: the kernel keeps what it knows and resolves the rest.
  return neighbour_change(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, hop, NUD_NONE, NTF_EXT_LEARNED, true,
                          "add a managed neighbour entry");
}

int neighbour_use(const Nexthop& hop) {
  // NUD_NONE, unlike `ip neigh ... use`'s default of permanent, leaves a
  // new entry an ordinary one the kernel may collect when unused.
  return neighbour_change(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, hop, NUD_NONE, NTF_USE, false,
                          "refresh a neighbour entry");
}

int neighbour_forget(const Nexthop& hop) {
  return neighbour_change(RTM_DELNEIGH, 0, hop, 0, 0, false, "delete a neighbour entry");
}

std::vector<NeighbourMsg> xlb_neighbour_entries() { return dump_neighbours(collect_ours); }

std::vector<NeighbourMsg> neighbour_entries() { return dump_neighbours(collect_all); }

}  // namespace xlb
