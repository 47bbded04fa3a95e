#include "netwatch/rtnl.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "core/error.h"

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace xlb {

namespace {

using Socket = std::unique_ptr<mnl_socket, int (*)(mnl_socket*)>;

Socket open_bound(const std::function<void(const char*)>& fail) {
  Socket nl(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC), mnl_socket_close);
  if (!nl) fail("socket");
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) fail("bind");
  return nl;
}

}  // namespace

void rtnl_dump(uint16_t type, uint8_t family, size_t header_size, mnl_cb_t cb, void* data, const std::string& what) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* h = mnl_nlmsg_put_header(buf.data());
  h->nlmsg_type = type;
  auto* header = static_cast<uint8_t*>(mnl_nlmsg_put_extra_header(h, header_size));
  header[0] = family;
  if (int err = rtnl_dump_request(h, false, cb, data, what))
    throw SystemError("cannot " + what + " (rtnetlink dump): " + std::strerror(err));
}

int rtnl_dump_request(nlmsghdr* request, bool strict, mnl_cb_t cb, void* data, const std::string& what) {
  auto fail = [&](const char* step) {
    throw SystemError("cannot " + what + " (rtnetlink " + step + "): " + std::strerror(errno));
  };
  Socket nl = open_bound(fail);
  if (strict) {
    int one = 1;
    setsockopt(mnl_socket_get_fd(nl.get()), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  }
  request->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
  request->nlmsg_seq = 1;
  if (mnl_socket_sendto(nl.get(), request, request->nlmsg_len) < 0) fail("send");

  // 32 KiB, as later libmnl's MNL_SOCKET_DUMP_SIZE: a dump message never
  // spans two reads, and a page-sized buffer could truncate one.
  std::vector<char> buf(32768);
  unsigned portid = mnl_socket_get_portid(nl.get());
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("receive");
    }
    int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), 1, portid, cb, data);
    if (rc == MNL_CB_STOP) return 0;  // NLMSG_DONE
    if (rc < 0) return errno;         // NLMSG_ERROR sets errno
  }
}

int rtnl_request(nlmsghdr* request, const std::string& what) {
  auto fail = [&](const char* step) {
    throw SystemError("cannot " + what + " (rtnetlink " + step + "): " + std::strerror(errno));
  };
  Socket nl = open_bound(fail);
  request->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  request->nlmsg_seq = 1;
  if (mnl_socket_sendto(nl.get(), request, request->nlmsg_len) < 0) fail("send");
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("receive");
    }
    // The acknowledgement is an NLMSG_ERROR: error 0 makes mnl_cb_run
    // return MNL_CB_STOP, a refusal -1 with errno set to it.
    int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), 1, mnl_socket_get_portid(nl.get()), nullptr, nullptr);
    if (rc == MNL_CB_STOP) return 0;
    if (rc < 0) return errno;
  }
}

}  // namespace xlb
