// The values lbd writes into xlb_hc_targets (ctl/health/hc_target.h).
#include "health/hc_target.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"

namespace xlb::health {
namespace {

HcTargetSpec ipip(const std::string& be, const std::string& src) {
  HcTargetSpec s;
  s.mode = XLB_MODE_IPIP;
  s.backend = IpAddr::parse(be);
  s.source = IpAddr::parse(src);
  return s;
}

TEST(HcTarget, Ipip4) {
  HcTargetSpec s = ipip("198.18.0.12", "198.18.0.1");
  s.ifindex = 7;
  xlb_hc_target t = make_hc_target(s);
  EXPECT_EQ(t.mode, XLB_MODE_IPIP);
  EXPECT_EQ(t.family, XLB_AF_INET);
  EXPECT_EQ(t.backend.v4, inet_addr("198.18.0.12"));
  EXPECT_EQ(t.source.v4, inet_addr("198.18.0.1"));
  EXPECT_EQ(t.ifindex, 7u);
  // The rest of each address is zero: the value is compared bytewise by
  // tests and must not carry stack garbage into the map.
  for (int i = 1; i < 4; i++) EXPECT_EQ(t.backend.v6[i], 0u);
  for (uint8_t b : t.mac) EXPECT_EQ(b, 0);
}

TEST(HcTarget, Ipip6RoundTrip) {
  xlb_hc_target t = make_hc_target(ipip("fd00:18::12", "fd00:18::1"));
  EXPECT_EQ(t.family, XLB_AF_INET6);
  HcTargetSpec back = hc_target_spec(t);
  EXPECT_EQ(back.mode, XLB_MODE_IPIP);
  EXPECT_EQ(back.backend.str(), "fd00:18::12");
  EXPECT_EQ(back.source.str(), "fd00:18::1");
}

TEST(HcTarget, IpipNeedsBothAddressesOfOneFamily) {
  EXPECT_THROW(make_hc_target(ipip("198.18.0.12", "fd00:18::1")), InputError);
  HcTargetSpec s = ipip("198.18.0.12", "198.18.0.1");
  s.source = IpAddr{};
  EXPECT_THROW(make_hc_target(s), InputError);
  s = ipip("198.18.0.12", "198.18.0.1");
  s.backend = IpAddr{};
  EXPECT_THROW(make_hc_target(s), InputError);
}

TEST(HcTarget, OnlyIpipAndL2dsrAreSteered) {
  for (uint8_t mode : {uint8_t{XLB_MODE_NAT}, uint8_t{XLB_MODE_FULLNAT}, uint8_t{9}}) {
    HcTargetSpec s = ipip("198.18.0.12", "198.18.0.1");
    s.mode = mode;
    EXPECT_THROW(make_hc_target(s), InputError) << int(mode);
  }
}

TEST(HcTarget, L2dsr) {
  HcTargetSpec s;
  s.mode = XLB_MODE_L2DSR;
  s.mac = parse_mac("02:00:00:00:00:0c");
  s.backend = IpAddr::parse("198.18.0.12");
  xlb_hc_target t = make_hc_target(s);
  EXPECT_EQ(t.mode, XLB_MODE_L2DSR);
  const uint8_t want[6] = {0x02, 0, 0, 0, 0, 0x0c};
  EXPECT_EQ(std::memcmp(t.mac, want, 6), 0);
  EXPECT_EQ(hc_target_spec(t).backend.str(), "198.18.0.12");
  EXPECT_EQ(mac_str(hc_target_spec(t).mac), "02:00:00:00:00:0c");
}

TEST(HcTarget, L2dsrNeedsAUnicastMac) {
  HcTargetSpec s;
  s.mode = XLB_MODE_L2DSR;
  EXPECT_THROW(make_hc_target(s), InputError);
  s.mac = parse_mac("01:00:5e:00:00:01");
  EXPECT_THROW(make_hc_target(s), InputError);
}

TEST(HcTarget, ParseMac) {
  EXPECT_EQ(mac_str(parse_mac("02-AB-cd-00-00-ff")), "02:ab:cd:00:00:ff");
  for (const char* bad : {"", "02:00:00:00:00", "02:00:00:00:00:0c:", "02:00:00:00:00:0g",
                          "02:00-00:00:00:0c", "2:0:0:0:0:c", "02:00:00:00:00:0c "})
    EXPECT_THROW(parse_mac(bad), InputError) << bad;
}

TEST(HcTarget, Carries) {
  xlb_hc_target t4 = make_hc_target(ipip("198.18.0.12", "198.18.0.1"));
  xlb_hc_target t6 = make_hc_target(ipip("fd00:18::12", "fd00:18::1"));
  EXPECT_TRUE(hc_target_carries(t4, XLB_AF_INET));
  EXPECT_FALSE(hc_target_carries(t4, XLB_AF_INET6));
  EXPECT_TRUE(hc_target_carries(t6, XLB_AF_INET));
  EXPECT_TRUE(hc_target_carries(t6, XLB_AF_INET6));
}

TEST(HcTarget, StatNames) {
  for (uint32_t s = 0; s < XLB_HC_STAT_MAX; s++) EXPECT_STRNE(hc_stat_name(s), "") << s;
  EXPECT_STREQ(hc_stat_name(XLB_HC_STAT_MAX), "");
}

}  // namespace
}  // namespace xlb::health
