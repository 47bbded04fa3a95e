#include "links.h"

#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "fd.h"

namespace xlb {

namespace {

// The attributes of one RTM_NEWLINK message that matter here.
void parse_linkinfo(rtattr* info, int len, LinkInfo& out) {
  for (rtattr* a = info; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_INFO_KIND) {
      out.kind.assign(static_cast<const char*>(RTA_DATA(a)), strnlen(static_cast<const char*>(RTA_DATA(a)),
                                                                       RTA_PAYLOAD(a)));
    } else if (a->rta_type == IFLA_INFO_DATA) {
      int dlen = static_cast<int>(RTA_PAYLOAD(a));
      for (rtattr* d = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(d, dlen); d = RTA_NEXT(d, dlen)) {
        // IFLA_INFO_DATA's attributes are the kind's own: only read as
        // VLAN attributes once the kind is known to be "vlan" (the
        // kernel puts IFLA_INFO_KIND first).
        if (out.kind != "vlan") break;
        if (d->rta_type == IFLA_VLAN_ID && RTA_PAYLOAD(d) >= 2) {
          uint16_t v;
          std::memcpy(&v, RTA_DATA(d), 2);
          out.vlan_id = v;
        } else if (d->rta_type == IFLA_VLAN_PROTOCOL && RTA_PAYLOAD(d) >= 2) {
          uint16_t v;
          std::memcpy(&v, RTA_DATA(d), 2);
          out.vlan_proto = ntohs(v);
        }
      }
    }
  }
}

LinkInfo parse_link(nlmsghdr* h) {
  LinkInfo out;
  auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
  out.ifindex = ifi->ifi_index;
  out.loopback = ifi->ifi_type == ARPHRD_LOOPBACK;
  out.ether = ifi->ifi_type == ARPHRD_ETHER;
  bool other_netns = false;
  int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
  for (rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    switch (a->rta_type) {
      case IFLA_IFNAME:
        out.name.assign(static_cast<const char*>(RTA_DATA(a)),
                        strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
        break;
      case IFLA_LINK:
        if (RTA_PAYLOAD(a) >= 4) std::memcpy(&out.lower, RTA_DATA(a), 4);
        break;
      case IFLA_LINK_NETNSID:
        other_netns = true;
        break;
      case IFLA_LINKINFO:
        parse_linkinfo(static_cast<rtattr*>(RTA_DATA(a)), static_cast<int>(RTA_PAYLOAD(a)), out);
        break;
    }
  }
  // The index is another namespace's: no device of ours.
  if (other_netns) out.lower = 0;
  return out;
}

}  // namespace

std::vector<LinkInfo> list_links() {
  Fd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) throw SystemError(std::string("cannot open an rtnetlink socket: ") + std::strerror(errno));
  struct {
    nlmsghdr h;
    ifinfomsg ifi;
  } req{};
  req.h.nlmsg_len = sizeof(req);
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  if (send(fd.get(), &req, sizeof(req), 0) < 0)
    throw SystemError(std::string("cannot list interfaces (rtnetlink): ") + std::strerror(errno));

  std::vector<LinkInfo> out;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SystemError(std::string("cannot list interfaces (rtnetlink): ") + std::strerror(errno));
    }
    int len = static_cast<int>(n);
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        throw SystemError(std::string("cannot list interfaces (rtnetlink): ") + std::strerror(-e->error));
      }
      if (h->nlmsg_type == RTM_NEWLINK) out.push_back(parse_link(h));
    }
  }
}

}  // namespace xlb
