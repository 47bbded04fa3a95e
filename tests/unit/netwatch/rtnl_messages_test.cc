// Parsing of rtnetlink notifications and neighbour entries, from messages
// built in memory the way the kernel lays them out.
#include "netwatch/rtnl_messages.h"

#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <vector>

namespace xlb::netwatch {
namespace {

// A buffer of several messages, appended one after another.
class Batch {
 public:
  Batch() : buf_(16384) {}
  nlmsghdr* add(uint16_t type) {
    auto* h = mnl_nlmsg_put_header(buf_.data() + used_);
    h->nlmsg_type = type;
    last_ = h;
    return h;
  }
  // Call after filling the message added last.
  void done() { used_ += last_->nlmsg_len; }
  const char* data() const { return buf_.data(); }
  size_t size() const { return used_; }

 private:
  std::vector<char> buf_;
  size_t used_ = 0;
  nlmsghdr* last_ = nullptr;
};

nlmsghdr* neighbour(Batch& b, uint16_t type, const std::string& addr, int ifindex, uint16_t state,
                    const std::vector<uint8_t>& mac = {}, uint32_t ext = 0, uint8_t proto = 0) {
  nlmsghdr* h = b.add(type);
  auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ndmsg)));
  IpAddr ip = IpAddr::parse(addr);
  nd->ndm_family = ip.is_v4() ? AF_INET : AF_INET6;
  nd->ndm_ifindex = ifindex;
  nd->ndm_state = state;
  mnl_attr_put(h, NDA_DST, ip.is_v4() ? 4 : 16, &ip.addr);
  if (!mac.empty()) mnl_attr_put(h, NDA_LLADDR, mac.size(), mac.data());
  if (ext) mnl_attr_put_u32(h, NDA_FLAGS_EXT, ext);
  if (proto) mnl_attr_put_u8(h, NDA_PROTOCOL, proto);
  b.done();
  return h;
}

void route(Batch& b, uint16_t type, uint8_t table, uint8_t proto, uint32_t flags = 0) {
  nlmsghdr* h = b.add(type);
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(rtmsg)));
  rt->rtm_family = AF_INET;
  rt->rtm_table = table;
  rt->rtm_protocol = proto;
  rt->rtm_flags = flags;
  b.done();
}

void bare(Batch& b, uint16_t type, size_t header) {
  nlmsghdr* h = b.add(type);
  mnl_nlmsg_put_extra_header(h, header);
  b.done();
}

NetChanges parse(const Batch& b) {
  NetChanges c;
  parse_notifications(b.data(), b.size(), &c);
  return c;
}

TEST(RtnlMessagesTest, NeighbourFieldsAreRead) {
  Batch b;
  nlmsghdr* h = neighbour(b, RTM_NEWNEIGH, "198.18.0.12", 7, NUD_REACHABLE, {2, 0, 0, 0, 0, 0x12}, NTF_EXT_MANAGED,
                          kXlbRtProto);
  NeighbourMsg n = parse_neighbour(h);
  EXPECT_FALSE(n.deleted);
  EXPECT_EQ(n.ifindex, 7);
  EXPECT_EQ(n.addr, IpAddr::parse("198.18.0.12"));
  EXPECT_EQ(n.state, NUD_REACHABLE);
  EXPECT_EQ(n.ext_flags, static_cast<uint32_t>(NTF_EXT_MANAGED));
  EXPECT_EQ(n.protocol, kXlbRtProto);
  ASSERT_TRUE(n.has_mac);
  EXPECT_EQ(n.mac, (MacAddr{2, 0, 0, 0, 0, 0x12}));
}

TEST(RtnlMessagesTest, Ipv6AndDeletion) {
  Batch b;
  nlmsghdr* h = neighbour(b, RTM_DELNEIGH, "fd00::12", 3, NUD_FAILED);
  NeighbourMsg n = parse_neighbour(h);
  EXPECT_TRUE(n.deleted);
  EXPECT_EQ(n.addr, IpAddr::parse("fd00::12"));
  EXPECT_FALSE(n.has_mac);
  EXPECT_EQ(n.protocol, 0);
}

TEST(RtnlMessagesTest, NeighbourWithoutAddressOrOfAnotherFamilyIsNotOne) {
  Batch b;
  nlmsghdr* h = b.add(RTM_NEWNEIGH);
  auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ndmsg)));
  nd->ndm_family = AF_INET;  // no NDA_DST
  b.done();
  EXPECT_EQ(parse_neighbour(h).addr.family, 0);

  nlmsghdr* fdb = b.add(RTM_NEWNEIGH);
  auto* nd2 = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(fdb, sizeof(ndmsg)));
  nd2->ndm_family = AF_BRIDGE;
  uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
  mnl_attr_put(fdb, NDA_LLADDR, 6, mac);
  b.done();
  EXPECT_EQ(parse_neighbour(fdb).addr.family, 0);

  // A 16-byte NDA_DST on an IPv4 entry is malformed: no address.
  nlmsghdr* odd = b.add(RTM_NEWNEIGH);
  auto* nd3 = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(odd, sizeof(ndmsg)));
  nd3->ndm_family = AF_INET;
  IpAddr v6 = IpAddr::parse("fd00::1");
  mnl_attr_put(odd, NDA_DST, 16, &v6.addr);
  b.done();
  EXPECT_EQ(parse_neighbour(odd).addr.family, 0);
  EXPECT_TRUE(parse(b).neighbours.empty());
}

TEST(RtnlMessagesTest, ChangesAreSortedByKind) {
  Batch b;
  bare(b, RTM_NEWLINK, sizeof(ifinfomsg));
  NetChanges c = parse(b);
  EXPECT_TRUE(c.links);
  EXPECT_FALSE(c.addresses || c.routes || c.overrun);

  Batch a;
  bare(a, RTM_DELADDR, sizeof(ifaddrmsg));
  c = parse(a);
  EXPECT_TRUE(c.addresses);
  EXPECT_FALSE(c.links || c.routes);

  Batch r;
  route(r, RTM_NEWROUTE, RT_TABLE_MAIN, RTPROT_BOOT);
  neighbour(r, RTM_NEWNEIGH, "198.18.0.1", 2, NUD_STALE);
  neighbour(r, RTM_DELNEIGH, "198.18.0.2", 2, NUD_NONE);
  c = parse(r);
  EXPECT_TRUE(c.routes);
  ASSERT_EQ(c.neighbours.size(), 2u);
  EXPECT_EQ(c.neighbours[0].addr, IpAddr::parse("198.18.0.1"));
  EXPECT_TRUE(c.neighbours[1].deleted);
  EXPECT_TRUE(c.any());
}

TEST(RtnlMessagesTest, RoutesThatMoveNoBackendAreIgnored) {
  Batch b;
  route(b, RTM_NEWROUTE, RT_TABLE_LOCAL, RTPROT_KERNEL);       // an address's local route
  route(b, RTM_NEWROUTE, RT_TABLE_MAIN, RTPROT_BOOT, RTM_F_CLONED);  // a cached exception
  route(b, RTM_NEWROUTE, 100, kXlbRtProto);                    // an announcement
  route(b, RTM_DELROUTE, 100, kXlbRtProto);
  NetChanges c = parse(b);
  EXPECT_FALSE(c.routes);
  EXPECT_FALSE(c.any());

  Batch d;
  route(d, RTM_DELROUTE, RT_TABLE_MAIN, RTPROT_STATIC);
  EXPECT_TRUE(parse(d).routes);
}

TEST(RtnlMessagesTest, TruncatedRouteIsIgnored) {
  Batch b;
  bare(b, RTM_NEWROUTE, 2);  // shorter than rtmsg
  EXPECT_FALSE(parse(b).routes);
}

}  // namespace
}  // namespace xlb::netwatch
