// nat VIPs that send to one backend address, port and protocol (their reply
// tuples can clash): the pure finder, and the Balancer's view of its VIPs.
#include <gtest/gtest.h>

#include "balancer_fixture.h"
#include "core/nat_clash.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using testing::ep;
using testing::ip;
using testing::TCP;
using testing::UDP;

const std::string kExpected =
    "nat VIPs 198.18.100.1:80/tcp and 198.18.100.1:8080/tcp all send to backend 198.19.0.11:8080/tcp: a client "
    "using one source port for two of them at once is refused (a RST, nat_conflict_rst); make them fullnat, or "
    "give them different backend ports (docs/operations.md, \"NAT modes\")";

TEST(NatClash, TwoNatVipsOnOneBackendPortWarnOnce) {
  std::vector<NatVipBackends> vips = {
      {ep("198.18.100.1:8080"), TCP, XLB_MODE_NAT, {{ip("198.19.0.11"), 8080}, {ip("198.19.0.12"), 8080}}},
      {ep("198.18.100.1:80"), TCP, XLB_MODE_NAT, {{ip("198.19.0.11"), 8080}, {ip("198.19.0.12"), 9090}}},
  };
  EXPECT_EQ(nat_clash_warnings(vips), std::vector<std::string>{kExpected});
}

TEST(NatClash, NoWarningWhereTuplesCanNotClash) {
  // Other backend port, other protocol, fullnat or ipip: no shared reply tuple.
  std::vector<NatVipBackends> vips = {
      {ep("198.18.100.1:80"), TCP, XLB_MODE_NAT, {{ip("198.19.0.11"), 8080}}},
      {ep("198.18.100.1:81"), TCP, XLB_MODE_NAT, {{ip("198.19.0.11"), 8081}}},
      {ep("198.18.100.1:80"), UDP, XLB_MODE_NAT, {{ip("198.19.0.11"), 8080}}},
      {ep("198.18.100.1:82"), TCP, XLB_MODE_FULLNAT, {{ip("198.19.0.11"), 8080}}},
      {ep("198.18.100.1:83"), TCP, XLB_MODE_IPIP, {{ip("198.19.0.11"), 83}}},
  };
  EXPECT_TRUE(nat_clash_warnings(vips).empty());
}

class NatClashBalancerTest : public BalancerTest {
 protected:
  void nat_vip(const std::string& vip, uint8_t mode = XLB_MODE_NAT) {
    VipSpec s;
    s.vip = ep(vip);
    s.proto = TCP;
    s.ring_size = testing::kSmallRing;
    s.mode = mode;
    lb->add_vip(s);
  }
};

TEST_F(NatClashBalancerTest, TheBalancerReportsItsClashingVips) {
  nat_vip("198.18.100.1:80");
  nat_vip("198.18.100.1:8080");
  lb->add_backend(ep("198.18.100.1:8080"), TCP, ip("198.19.0.11"), 1);  // the VIP's port: 8080
  EXPECT_TRUE(lb->nat_clash_warnings().empty());
  lb->add_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.11"), 1, 8080);
  EXPECT_EQ(lb->nat_clash_warnings(), std::vector<std::string>{kExpected});
}

TEST_F(NatClashBalancerTest, FullnatNeverClashes) {
  nat_vip("198.18.100.1:80", XLB_MODE_FULLNAT);
  nat_vip("198.18.100.1:8080", XLB_MODE_FULLNAT);
  lb->add_backend(ep("198.18.100.1:8080"), TCP, ip("198.19.0.11"), 1);
  lb->add_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.11"), 1, 8080);
  EXPECT_TRUE(lb->nat_clash_warnings().empty());
}

}  // namespace
}  // namespace xlb
