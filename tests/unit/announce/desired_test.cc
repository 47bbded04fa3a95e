// Which VIP addresses are announced (ctl/announce/desired.h), and the diff
// against the table.
#include "announce/desired.h"

#include <gtest/gtest.h>

namespace xlb::announce {
namespace {

IpAddr ip(const char* s) { return IpAddr::parse(s); }

BackendView backend(const char* addr, uint32_t weight, BackendStatus state = BackendStatus::kActive) {
  BackendView b;
  b.address = ip(addr);
  b.weight = weight;
  b.state = state;
  return b;
}

VipView vip(const char* ep, std::vector<BackendView> backends, uint8_t proto = 6) {
  VipView v;
  v.vip = Endpoint::parse(ep);
  v.proto = proto;
  v.backends = std::move(backends);
  return v;
}

TEST(ServedAddresses, NoVipsNoBackends) {
  EXPECT_TRUE(served_addresses({}).empty());
  EXPECT_TRUE(served_addresses({vip("198.18.100.1:80", {})}).empty());
}

TEST(ServedAddresses, ActiveBackendServes) {
  auto s = served_addresses({vip("198.18.100.1:80", {backend("198.19.0.1", 1)})});
  EXPECT_EQ(s, (std::set<IpAddr>{ip("198.18.100.1")}));
}

TEST(ServedAddresses, AllHealthDownIsNotServed) {
  // A down backend's ring weight is 0: the monitor sets it through
  // set_backend, which makes it draining.
  auto s = served_addresses({vip("198.18.100.1:80", {backend("198.19.0.1", 0, BackendStatus::kDraining),
                                                      backend("198.19.0.2", 0, BackendStatus::kDraining)})});
  EXPECT_TRUE(s.empty());
}

TEST(ServedAddresses, WeightZeroDrainingAndRemovedBackendsDoNotServe) {
  EXPECT_TRUE(served_addresses({vip("198.18.100.1:80", {backend("198.19.0.1", 0)})}).empty());
  EXPECT_TRUE(
      served_addresses({vip("198.18.100.1:80", {backend("198.19.0.1", 5, BackendStatus::kRemoved)})}).empty());
  EXPECT_TRUE(
      served_addresses({vip("198.18.100.1:80", {backend("198.19.0.1", 0, BackendStatus::kDraining)})}).empty());
  // One of several is enough.
  auto s = served_addresses({vip("198.18.100.1:80", {backend("198.19.0.1", 0, BackendStatus::kDraining),
                                                      backend("198.19.0.2", 3)})});
  EXPECT_EQ(s.size(), 1u);
}

TEST(ServedAddresses, SeveralServicesOnOneAddressOneServing) {
  auto s = served_addresses({vip("198.18.100.1:80", {}),
                             vip("198.18.100.1:443", {backend("198.19.0.1", 0, BackendStatus::kDraining)}),
                             vip("198.18.100.1:53", {backend("198.19.0.1", 1)}, 17),
                             vip("198.18.100.2:80", {backend("198.19.0.1", 0)})});
  EXPECT_EQ(s, (std::set<IpAddr>{ip("198.18.100.1")}));
}

TEST(ServedAddresses, Ipv6) {
  auto s = served_addresses({vip("[fd00:100::1]:80", {backend("fd00:200::1", 1)}),
                             vip("198.18.100.1:80", {backend("198.19.0.1", 1)})});
  EXPECT_EQ(s, (std::set<IpAddr>{ip("198.18.100.1"), ip("fd00:100::1")}));
}

TEST(DesiredRoutes, DrainedOrDetachedAnnouncesNothing) {
  std::set<IpAddr> served{ip("198.18.100.1"), ip("fd00:100::1")};
  EXPECT_EQ(desired_routes(served, true, false), served);
  EXPECT_TRUE(desired_routes(served, true, true).empty());
  EXPECT_TRUE(desired_routes(served, false, false).empty());
  EXPECT_TRUE(desired_routes(served, false, true).empty());
}

TEST(DiffRoutes, AddsAndRemovesOnlyTheDifference) {
  RouteDiff d = diff_routes({ip("198.18.100.1"), ip("198.18.100.2"), ip("fd00:100::1")},
                            {ip("198.18.100.2"), ip("198.18.100.3")});
  EXPECT_EQ(d.add, (std::vector<IpAddr>{ip("198.18.100.1"), ip("fd00:100::1")}));
  EXPECT_EQ(d.remove, (std::vector<IpAddr>{ip("198.18.100.3")}));
  EXPECT_TRUE(diff_routes({ip("198.18.100.2")}, {ip("198.18.100.2")}).empty());
  EXPECT_EQ(diff_routes({}, {ip("198.18.100.2")}).remove.size(), 1u);
}

}  // namespace
}  // namespace xlb::announce
