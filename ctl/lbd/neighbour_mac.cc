#include "neighbour_mac.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"

namespace xlb {

namespace {

struct Search {
  const IpAddr* want;
  std::optional<std::array<uint8_t, 6>> mac;
};

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
  auto* s = static_cast<Search*>(data);
  auto* nd = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(h));
  if (!(nd->ndm_state & kResolved)) return MNL_CB_OK;
  Attrs attrs;
  mnl_attr_parse(h, sizeof(*nd), neigh_attr, &attrs);
  const nlattr* dst = attrs.dst;
  const nlattr* lladdr = attrs.lladdr;
  if (!dst || !lladdr || mnl_attr_get_payload_len(lladdr) != 6) return MNL_CB_OK;
  size_t len = s->want->is_v4() ? 4 : 16;
  if (mnl_attr_get_payload_len(dst) != len) return MNL_CB_OK;
  if (std::memcmp(mnl_attr_get_payload(dst), &s->want->addr, len) != 0) return MNL_CB_OK;
  std::array<uint8_t, 6> mac;
  std::memcpy(mac.data(), mnl_attr_get_payload(lladdr), 6);
  s->mac = mac;
  return MNL_CB_OK;
}

[[noreturn]] void fail(const char* what) {
  throw SystemError(std::string("cannot read the neighbour table (rtnetlink ") + what + "): " + std::strerror(errno));
}

}  // namespace

std::optional<std::array<uint8_t, 6>> neighbour_mac(const IpAddr& addr) {
  std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC),
                                                       mnl_socket_close);
  if (!nl) fail("socket");
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) fail("bind");
  std::vector<char> buf(32768);  // as list_links(): a dump message never spans two reads
  nlmsghdr* h = mnl_nlmsg_put_header(buf.data());
  h->nlmsg_type = RTM_GETNEIGH;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  h->nlmsg_seq = 1;
  auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ndmsg)));
  nd->ndm_family = addr.is_v4() ? AF_INET : AF_INET6;
  if (mnl_socket_sendto(nl.get(), h, h->nlmsg_len) < 0) fail("send");
  Search s{&addr, std::nullopt};
  unsigned portid = mnl_socket_get_portid(nl.get());
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("receive");
    }
    int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), 1, portid, neigh_msg, &s);
    if (rc == MNL_CB_STOP) return s.mac;
    if (rc < 0) fail("dump");
  }
}

}  // namespace xlb
