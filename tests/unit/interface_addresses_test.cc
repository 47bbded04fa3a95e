// Balancer::set_interface_addresses: the default sources follow the
// interfaces' addresses when they change; the config's own sources don't.
#include "balancer_fixture.h"
#include "core/config.h"

namespace xlb::testing {
namespace {

class InterfaceAddressesTest : public BalancerTest {
 protected:
  IpAddr snat_v4() const { return IpAddr::from_abi(XLB_AF_INET, maps->config.snat_src_v4); }
  IpAddr snat_v6() const { return IpAddr::from_abi(XLB_AF_INET6, maps->config.snat_src_v6); }
  IpAddr encap_v6() const { return IpAddr::from_abi(XLB_AF_INET6, maps->config.encap_src_v6); }
};

TEST_F(InterfaceAddressesTest, DefaultSourcesFollowTheNewAddresses) {
  std::vector<std::string> lines =
      lb->set_interface_addresses({ip("198.18.0.2"), ip("fd00::2"), {ip("198.18.0.2"), ip("fd00::2")}});
  EXPECT_EQ(lines.size(), 3u);
  EXPECT_EQ(snat_v4(), ip("198.18.0.2"));
  EXPECT_EQ(snat_v6(), ip("fd00::2"));
  EXPECT_EQ(encap_v6(), ip("fd00::2"));
  EXPECT_EQ(maps->config.encap_src_v6_plen, 128);
  EXPECT_EQ(maps->config.encap_src_v4_plen, 16);  // the IPv4 prefix never was an interface's
  EXPECT_TRUE(lb->verify().empty());
  // The old address is no longer the load balancer's own; the new one is.
  add_vip("198.18.0.1:80");
  EXPECT_THROW(add_vip("198.18.0.2:80"), InputError);
}

TEST_F(InterfaceAddressesTest, ConfiguredSourcesStay) {
  lb->apply(parse_config_text(R"({"encap": {"source_v6": "fd00:64::/64"},
                                  "fullnat": {"source_v4": "198.18.3.1", "source_v6": "fd00:3::1"}})"));
  maps->log.clear();
  EXPECT_TRUE(lb->set_interface_addresses({ip("198.18.0.2"), ip("fd00::2"), {}}).empty());
  EXPECT_EQ(snat_v4(), ip("198.18.3.1"));
  EXPECT_EQ(snat_v6(), ip("fd00:3::1"));
  EXPECT_EQ(maps->config.encap_src_v6_plen, 64);
  EXPECT_EQ(maps->first("write_config"), -1);  // nothing to write
}

TEST_F(InterfaceAddressesTest, SourceWithNoAddressLeftIsKeptAndSaidOnce) {
  std::vector<std::string> lines = lb->set_interface_addresses({ip("198.18.0.1"), std::nullopt, {ip("198.18.0.1")}});
  // (encap and fullnat IPv6 both said so)
  ASSERT_EQ(lines.size(), 2u);  // encap and fullnat IPv6
  EXPECT_NE(lines[0].find("stays fd00::1"), std::string::npos) << lines[0];
  EXPECT_EQ(snat_v6(), ip("fd00::1"));
  EXPECT_TRUE(lb->set_interface_addresses({ip("198.18.0.1"), std::nullopt, {ip("198.18.0.1")}}).empty());
  // An address of the family again: the sources that were the default follow it.
  lines = lb->set_interface_addresses({ip("198.18.0.1"), ip("fd00::7"), {ip("198.18.0.1"), ip("fd00::7")}});
  EXPECT_EQ(lines.size(), 2u);
  EXPECT_EQ(snat_v6(), ip("fd00::7"));
  EXPECT_EQ(encap_v6(), ip("fd00::7"));
}

TEST_F(InterfaceAddressesTest, FailedWriteChangesNothing) {
  maps->fail_after = 1;
  EXPECT_THROW(lb->set_interface_addresses({ip("198.18.0.2"), ip("fd00::2"), {}}), SystemError);
  EXPECT_EQ(snat_v4(), ip("198.18.0.1"));
  EXPECT_TRUE(lb->verify().empty());
  // The defaults stay the old ones, so the next notification tries again.
  EXPECT_EQ(lb->set_interface_addresses({ip("198.18.0.2"), ip("fd00::2"), {}}).size(), 3u);
  EXPECT_EQ(snat_v4(), ip("198.18.0.2"));
}

}  // namespace
}  // namespace xlb::testing
