#include "route_get.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace xlb {
namespace {

struct Parsed {
  RouteToHost* out;
  uint8_t family;
};

IpAddr addr_of(const nlattr* a, uint8_t family) {
  IpAddr ip{};
  size_t len = mnl_attr_get_payload_len(a);
  if (family == AF_INET && len == 4) ip.family = XLB_AF_INET;
  else if (family == AF_INET6 && len == 16) ip.family = XLB_AF_INET6;
  else return IpAddr{};
  std::memcpy(&ip.addr, mnl_attr_get_payload(a), len);
  return ip;
}

int metric_attr(const nlattr* a, void* data) {
  if (mnl_attr_get_type(a) == RTAX_MTU && mnl_attr_get_payload_len(a) >= 4)
    static_cast<RouteToHost*>(data)->route_mtu = static_cast<int>(mnl_attr_get_u32(a));
  return MNL_CB_OK;
}

int route_attr(const nlattr* a, void* data) {
  auto* p = static_cast<Parsed*>(data);
  switch (mnl_attr_get_type(a)) {
    case RTA_OIF: p->out->oif = static_cast<int>(mnl_attr_get_u32(a)); break;
    case RTA_GATEWAY: p->out->gateway = addr_of(a, p->family); break;
    case RTA_PREFSRC: p->out->src = addr_of(a, p->family); break;
    case RTA_METRICS: mnl_attr_parse_nested(a, metric_attr, p->out); break;
  }
  return MNL_CB_OK;
}

int route_msg(const nlmsghdr* h, void* data) {
  auto* out = static_cast<RouteToHost*>(data);
  auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(h));
  Parsed p{out, rt->rtm_family};
  mnl_attr_parse(h, sizeof(*rt), route_attr, &p);
  out->found = true;
  return MNL_CB_OK;
}

}  // namespace

int interface_mtu(const std::string& ifname) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  int mtu = ioctl(fd, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : 0;
  close(fd);
  return mtu;
}

RouteToHost route_get(const IpAddr& dst) {
  RouteToHost out;
  std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl(mnl_socket_open(NETLINK_ROUTE), mnl_socket_close);
  if (!nl) throw SystemError(std::string("cannot look a route up (rtnetlink socket): ") + std::strerror(errno));
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    throw SystemError(std::string("cannot look a route up (rtnetlink bind): ") + std::strerror(errno));
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* h = mnl_nlmsg_put_header(buf);
  h->nlmsg_type = RTM_GETROUTE;
  h->nlmsg_flags = NLM_F_REQUEST;
  h->nlmsg_seq = 1;
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(rtmsg)));
  bool v6 = dst.family == XLB_AF_INET6;
  rt->rtm_family = v6 ? AF_INET6 : AF_INET;
  rt->rtm_dst_len = v6 ? 128 : 32;
  mnl_attr_put(h, RTA_DST, v6 ? 16 : 4, &dst.addr);
  if (mnl_socket_sendto(nl.get(), h, h->nlmsg_len) < 0)
    throw SystemError(std::string("cannot look a route up (rtnetlink send): ") + std::strerror(errno));
  ssize_t n = mnl_socket_recvfrom(nl.get(), buf, sizeof buf);
  if (n < 0) throw SystemError(std::string("cannot look a route up (rtnetlink receive): ") + std::strerror(errno));
  // An unreachable destination comes back as an NLMSG_ERROR: mnl_cb_run
  // returns -1 with errno set to the kernel's error.
  if (mnl_cb_run(buf, static_cast<size_t>(n), 1, 0, route_msg, &out) < 0) {
    out.found = false;
    out.error = std::strerror(errno);
    return out;
  }
  if (out.oif) {
    char name[IF_NAMESIZE] = {};
    if (if_indextoname(static_cast<unsigned>(out.oif), name)) {
      out.dev = name;
      out.dev_mtu = interface_mtu(out.dev);
    }
  }
  return out;
}

}  // namespace xlb
