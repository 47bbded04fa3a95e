// egress.h: which devices go to xlb_tx_ports, and the xlb_egress entries
// of VLAN devices, from interface lists as rtnetlink would give them.
#include "lbd/egress.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace xlb {
namespace {

LinkInfo nic(int ifindex, const std::string& name) {
  LinkInfo l;
  l.ifindex = ifindex;
  l.name = name;
  l.ether = true;
  return l;
}

LinkInfo of_kind(int ifindex, const std::string& name, const std::string& kind) {
  LinkInfo l = nic(ifindex, name);
  l.kind = kind;
  return l;
}

LinkInfo vlan(int ifindex, const std::string& name, int lower, uint16_t vid, uint16_t proto = 0x8100) {
  LinkInfo l = of_kind(ifindex, name, "vlan");
  l.lower = lower;
  l.vlan_id = vid;
  l.vlan_proto = proto;
  return l;
}

void expect_tag(const xlb_vlan_tag& got, uint16_t tpid, uint16_t vid) {
  EXPECT_EQ(ntohs(got.tpid), tpid);
  EXPECT_EQ(ntohs(got.tci), vid);
}

TEST(Egress, OnlyNicsAndVethTransmitXdpFrames) {
  LinkInfo lo = nic(1, "lo");
  lo.loopback = true;
  lo.ether = false;
  EXPECT_FALSE(can_transmit_xdp(lo));
  EXPECT_TRUE(can_transmit_xdp(nic(2, "eth0")));
  EXPECT_TRUE(can_transmit_xdp(of_kind(3, "veth0", "veth")));
  for (const char* kind : {"vlan", "macvlan", "bridge", "bond", "dummy", "ipip", "vxlan", "team"})
    EXPECT_FALSE(can_transmit_xdp(of_kind(4, "x", kind))) << kind;
  // A device without a kind that is not Ethernet (a raw IP tunnel driver).
  LinkInfo raw = nic(5, "wg0");
  raw.ether = false;
  EXPECT_FALSE(can_transmit_xdp(raw));
}

TEST(Egress, NoVlanDevicesNoEntries) {
  EXPECT_TRUE(egress_entries({nic(2, "eth0"), of_kind(3, "br0", "bridge")}).empty());
}

TEST(Egress, OneVlanDeviceIsOneTagOnItsLowerDevice) {
  auto e = egress_entries({nic(2, "eth0"), vlan(7, "eth0.200", 2, 200)});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].ifindex, 7u);
  EXPECT_EQ(e[0].value.lower_ifindex, 2u);
  ASSERT_EQ(e[0].value.ntags, 1);
  expect_tag(e[0].value.tags[0], 0x8100, 200);
}

TEST(Egress, AVlanOnAVlanIsQinQOuterTagFirst) {
  // The order of the dump does not matter.
  auto e = egress_entries({vlan(9, "svc.300", 8, 300), nic(2, "eth0"), vlan(8, "eth0.100", 2, 100, 0x88a8)});
  ASSERT_EQ(e.size(), 2u);
  const EgressEntry& inner = e[0].ifindex == 9 ? e[0] : e[1];
  const EgressEntry& outer = e[0].ifindex == 9 ? e[1] : e[0];
  EXPECT_EQ(inner.value.lower_ifindex, 2u);
  ASSERT_EQ(inner.value.ntags, 2);
  expect_tag(inner.value.tags[0], 0x88a8, 100);
  expect_tag(inner.value.tags[1], 0x8100, 300);
  EXPECT_EQ(outer.value.lower_ifindex, 2u);
  ASSERT_EQ(outer.value.ntags, 1);
  expect_tag(outer.value.tags[0], 0x88a8, 100);
}

TEST(Egress, AVlanOverABondOrUnknownKindIsDescribedAnyway) {
  // The data plane drops what would leave on the bond (not in
  // xlb_tx_ports: drop_egress_not_xdp) rather than lose it.
  auto e = egress_entries({of_kind(3, "bond0", "bond"), vlan(4, "bond0.5", 3, 5), of_kind(5, "x0", "weird"),
                           vlan(6, "x0.6", 5, 6)});
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].value.lower_ifindex, 3u);
  EXPECT_EQ(e[1].value.lower_ifindex, 5u);
}

TEST(Egress, ThreeTagsALoopOrAForeignLowerGetNoEntry) {
  std::vector<std::string> warnings;
  auto e = egress_entries({nic(2, "eth0"), vlan(3, "a", 2, 10), vlan(4, "b", 3, 20), vlan(5, "c", 4, 30),
                           // a loop: no device should make the walk spin
                           vlan(6, "l1", 7, 1), vlan(7, "l2", 6, 2),
                           // lower in another netns (IFLA_LINK_NETNSID): lower 0
                           vlan(8, "far", 0, 8),
                           // lower index unknown
                           vlan(9, "gone", 99, 9)},
                          &warnings);
  ASSERT_EQ(e.size(), 2u);  // a and b
  EXPECT_EQ(e[0].ifindex, 3u);
  EXPECT_EQ(e[1].ifindex, 4u);
  EXPECT_EQ(warnings.size(), 5u);  // c, l1, l2, far, gone
}

TEST(Egress, VidIsTwelveBitsAndProtocolDefaultsTo8021Q) {
  auto e = egress_entries({nic(2, "eth0"), vlan(3, "v", 2, 0xf123, 0)});
  ASSERT_EQ(e.size(), 1u);
  expect_tag(e[0].value.tags[0], 0x8100, 0x123);
}

}  // namespace
}  // namespace xlb
