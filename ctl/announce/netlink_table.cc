#include "netlink_table.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "netwatch/rtnl.h"

namespace xlb::announce {
namespace {

// A refusal by the kernel, worded as the other rtnetlink errors are.
[[noreturn]] void refused(const std::string& what, int err) {
  throw SystemError("cannot " + what + " (rtnetlink answer): " + std::strerror(err));
}

int af_of(const IpAddr& a) { return a.is_v4() ? AF_INET : AF_INET6; }
size_t addr_len(const IpAddr& a) { return a.is_v4() ? 4 : 16; }

// The route message every request starts from: a host route of xlb's
// protocol in `table` (above 255 only in RTA_TABLE).
rtmsg* put_route(nlmsghdr* h, uint32_t table, int family, uint8_t dst_len) {
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(rtmsg)));
  rt->rtm_family = static_cast<uint8_t>(family);
  rt->rtm_dst_len = dst_len;
  rt->rtm_table = table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
  rt->rtm_protocol = kProto;
  mnl_attr_put_u32(h, RTA_TABLE, table);
  return rt;
}

struct DumpState {
  uint32_t table;
  std::set<IpAddr>* out;
};

// One route's attributes: its table (above 255 only here) and destination.
struct RouteAttrs {
  size_t addr_len;
  uint32_t table;
  const void* dst = nullptr;
};

int route_attr(const nlattr* a, void* data) {
  auto* r = static_cast<RouteAttrs*>(data);
  uint16_t type = mnl_attr_get_type(a);
  if (type == RTA_TABLE && mnl_attr_get_payload_len(a) >= 4) r->table = mnl_attr_get_u32(a);
  if (type == RTA_DST && mnl_attr_get_payload_len(a) >= r->addr_len) r->dst = mnl_attr_get_payload(a);
  return MNL_CB_OK;
}

int on_route(const nlmsghdr* h, void* data) {
  auto* st = static_cast<DumpState*>(data);
  const auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(h));
  if (rt->rtm_protocol != kProto || rt->rtm_type != RTN_BLACKHOLE) return MNL_CB_OK;
  bool v4 = rt->rtm_family == AF_INET;
  if (!v4 && rt->rtm_family != AF_INET6) return MNL_CB_OK;
  if (rt->rtm_dst_len != (v4 ? 32 : 128)) return MNL_CB_OK;  // not a host route: not one of ours
  RouteAttrs r{v4 ? 4u : 16u, rt->rtm_table};
  mnl_attr_parse(h, sizeof(rtmsg), route_attr, &r);
  if (r.table != st->table || !r.dst) return MNL_CB_OK;
  xlb_addr addr{};
  std::memcpy(&addr, r.dst, r.addr_len);
  st->out->insert(IpAddr::from_abi(v4 ? XLB_AF_INET : XLB_AF_INET6, addr));
  return MNL_CB_OK;
}

// One family's routes of table N. Strict checking lets the kernel dump only
// that table (a router's main table may be large); the callback filters
// again, for kernels that ignore the filter.
void dump(uint32_t table, int family, std::set<IpAddr>& out) {
  std::string what = "list routing table " + std::to_string(table);
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* h = mnl_nlmsg_put_header(buf.data());
  h->nlmsg_type = RTM_GETROUTE;
  put_route(h, table, family, 0);
  DumpState st{table, &out};
  int err = rtnl_dump_request(h, true, on_route, &st, what);
  if (err && err != ENOENT) refused(what, err);  // ENOENT: no such table yet, empty
}

}  // namespace

std::set<IpAddr> NetlinkTable::list() {
  std::set<IpAddr> out;
  dump(table_, AF_INET, out);
  dump(table_, AF_INET6, out);
  return out;
}

void NetlinkTable::add(const IpAddr& addr) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* h = mnl_nlmsg_put_header(buf.data());
  h->nlmsg_type = RTM_NEWROUTE;
  // REPLACE: a route of another protocol to the same address in table N
  // becomes ours, instead of failing every retry with EEXIST.
  h->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  rtmsg* rt = put_route(h, table_, af_of(addr), static_cast<uint8_t>(addr_len(addr) * 8));
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_BLACKHOLE;
  mnl_attr_put(h, RTA_DST, addr_len(addr), &addr.addr);
  std::string what = "add the route to " + addr.str() + " to table " + std::to_string(table_);
  if (int err = rtnl_request(h, what)) refused(what, err);
}

void NetlinkTable::remove(const IpAddr& addr) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* h = mnl_nlmsg_put_header(buf.data());
  h->nlmsg_type = RTM_DELROUTE;
  // Protocol 120 in the request: the kernel deletes only xlb's route.
  rtmsg* rt = put_route(h, table_, af_of(addr), static_cast<uint8_t>(addr_len(addr) * 8));
  rt->rtm_scope = RT_SCOPE_NOWHERE;
  mnl_attr_put(h, RTA_DST, addr_len(addr), &addr.addr);
  std::string what = "delete the route to " + addr.str() + " from table " + std::to_string(table_);
  int err = rtnl_request(h, what);
  if (err && err != ESRCH) refused(what, err);  // ESRCH: already gone
}

}  // namespace xlb::announce
