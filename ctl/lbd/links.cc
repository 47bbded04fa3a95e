#include "links.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "netwatch/rtnl.h"

namespace xlb {

namespace {

std::string attr_string(const nlattr* a) {
  const char* s = static_cast<const char*>(mnl_attr_get_payload(a));
  return std::string(s, strnlen(s, mnl_attr_get_payload_len(a)));
}

// IFLA_INFO_DATA of a VLAN device: its id and protocol.
int vlan_attr(const nlattr* a, void* data) {
  auto* out = static_cast<LinkInfo*>(data);
  if (mnl_attr_get_payload_len(a) < 2) return MNL_CB_OK;
  if (mnl_attr_get_type(a) == IFLA_VLAN_ID) out->vlan_id = mnl_attr_get_u16(a);
  if (mnl_attr_get_type(a) == IFLA_VLAN_PROTOCOL) out->vlan_proto = ntohs(mnl_attr_get_u16(a));
  return MNL_CB_OK;
}

// IFLA_LINKINFO: the kind, then (for "vlan" only: IFLA_INFO_DATA's
// attributes are the kind's own, and the kernel puts the kind first) the
// VLAN attributes.
int linkinfo_attr(const nlattr* a, void* data) {
  auto* out = static_cast<LinkInfo*>(data);
  if (mnl_attr_get_type(a) == IFLA_INFO_KIND) out->kind = attr_string(a);
  if (mnl_attr_get_type(a) == IFLA_INFO_DATA && out->kind == "vlan") mnl_attr_parse_nested(a, vlan_attr, out);
  return MNL_CB_OK;
}

struct Parsed {
  LinkInfo link;
  bool other_netns = false;
};

int link_attr(const nlattr* a, void* data) {
  auto* p = static_cast<Parsed*>(data);
  switch (mnl_attr_get_type(a)) {
    case IFLA_IFNAME: p->link.name = attr_string(a); break;
    case IFLA_LINK:
      if (mnl_attr_get_payload_len(a) >= 4) p->link.lower = static_cast<int>(mnl_attr_get_u32(a));
      break;
    case IFLA_LINK_NETNSID: p->other_netns = true; break;
    case IFLA_LINKINFO: mnl_attr_parse_nested(a, linkinfo_attr, &p->link); break;
  }
  return MNL_CB_OK;
}

// One RTM_NEWLINK message of the dump.
int link_msg(const nlmsghdr* h, void* data) {
  auto* links = static_cast<std::vector<LinkInfo>*>(data);
  auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(h));
  Parsed p;
  p.link.ifindex = ifi->ifi_index;
  p.link.loopback = ifi->ifi_type == ARPHRD_LOOPBACK;
  p.link.ether = ifi->ifi_type == ARPHRD_ETHER;
  mnl_attr_parse(h, sizeof(*ifi), link_attr, &p);
  // The index is another namespace's: no device of ours.
  if (p.other_netns) p.link.lower = 0;
  links->push_back(std::move(p.link));
  return MNL_CB_OK;
}

}  // namespace

std::vector<LinkInfo> list_links() {
  std::vector<LinkInfo> links;
  rtnl_dump(RTM_GETLINK, AF_UNSPEC, sizeof(ifinfomsg), link_msg, &links, "list interfaces");
  return links;
}

}  // namespace xlb
