// Which next hops lbd keeps resolved, and what it does about them.
#include "netwatch/neighbour_plan.h"

#include <gtest/gtest.h>
#include <linux/neighbour.h>

namespace xlb::netwatch {
namespace {

BackendRoute on_link(const std::string& backend, int oif) {
  BackendRoute r;
  r.backend = IpAddr::parse(backend);
  r.found = true;
  r.oif = oif;
  return r;
}

BackendRoute via(const std::string& backend, const std::string& gateway, int oif) {
  BackendRoute r = on_link(backend, oif);
  r.gateway = IpAddr::parse(gateway);
  return r;
}

Nexthop hop(const std::string& addr, int ifindex) { return {ifindex, IpAddr::parse(addr)}; }

NeighbourMsg entry(const std::string& addr, int ifindex, bool managed) {
  NeighbourMsg n;
  n.addr = IpAddr::parse(addr);
  n.ifindex = ifindex;
  n.ext_flags = managed ? NTF_EXT_MANAGED : 0;
  n.protocol = kXlbRtProto;
  return n;
}

TEST(NeighbourPlanTest, NexthopIsTheBackendOnLinkElseTheGateway) {
  std::set<Nexthop> hops = nexthops_of({on_link("198.18.0.12", 2), via("198.18.64.5", "198.18.0.1", 2),
                                        via("198.18.64.6", "198.18.0.1", 2), on_link("fd00::12", 2)});
  EXPECT_EQ(hops, (std::set<Nexthop>{hop("198.18.0.12", 2), hop("198.18.0.1", 2), hop("fd00::12", 2)}));
}

TEST(NeighbourPlanTest, UnreachableAndLocalBackendsNeedNothing) {
  BackendRoute unreachable;
  unreachable.backend = IpAddr::parse("198.18.9.9");
  BackendRoute local = on_link("198.18.0.1", 1);
  local.loopback = true;
  EXPECT_TRUE(nexthops_of({unreachable, local}).empty());
}

TEST(NeighbourPlanTest, SameAddressOnTwoDevicesIsTwoNexthops) {
  EXPECT_EQ(nexthops_of({via("198.18.64.5", "198.18.0.1", 2), via("198.18.65.5", "198.18.0.1", 3)}).size(), 2u);
}

TEST(NeighbourPlanTest, ManagedAddsMissingAndRemovesUnneeded) {
  std::set<Nexthop> want{hop("198.18.0.12", 2), hop("198.18.0.13", 2)};
  NeighbourPlan p = plan_managed(want, {entry("198.18.0.12", 2, true), entry("198.18.0.99", 2, true)});
  EXPECT_EQ(p.add, (std::vector<Nexthop>{hop("198.18.0.13", 2)}));
  EXPECT_EQ(p.remove, (std::vector<Nexthop>{hop("198.18.0.99", 2)}));
}

TEST(NeighbourPlanTest, EntryThatLostItsManagedFlagIsAddedAgain) {
  NeighbourPlan p = plan_managed({hop("198.18.0.12", 2)}, {entry("198.18.0.12", 2, false)});
  EXPECT_EQ(p.add, (std::vector<Nexthop>{hop("198.18.0.12", 2)}));
  EXPECT_TRUE(p.remove.empty());
}

TEST(NeighbourPlanTest, SameAddressOnAnotherDeviceIsNotTheSameEntry) {
  NeighbourPlan p = plan_managed({hop("198.18.0.12", 2)}, {entry("198.18.0.12", 3, true)});
  EXPECT_EQ(p.add, (std::vector<Nexthop>{hop("198.18.0.12", 2)}));
  EXPECT_EQ(p.remove, (std::vector<Nexthop>{hop("198.18.0.12", 3)}));
}

TEST(NeighbourPlanTest, NothingWantedRemovesEverythingOfOurs) {
  NeighbourPlan p = plan_managed({}, {entry("198.18.0.12", 2, true), entry("fd00::12", 2, false)});
  EXPECT_TRUE(p.add.empty());
  EXPECT_EQ(p.remove.size(), 2u);
}

// A static entry somebody set (nud permanent, or noarp) is theirs: never
// replaced by a managed one, never deleted, even with lbd's protocol tag
// (`ip neigh replace ... nud permanent` keeps the tag of the entry it
// replaces). A dynamic entry of somebody else's becomes a managed one.
TEST(NeighbourPlanTest, StaticEntriesAreLeftAlone) {
  NeighbourMsg pinned = entry("198.18.0.12", 2, false);
  pinned.protocol = 0;
  pinned.state = NUD_PERMANENT;
  NeighbourMsg replaced_ours = entry("198.18.0.13", 2, false);
  replaced_ours.state = NUD_PERMANENT;
  NeighbourMsg noarp = entry("198.18.0.14", 2, false);
  noarp.protocol = 0;
  noarp.state = NUD_NOARP;
  NeighbourMsg learnt = entry("198.18.0.15", 2, false);
  learnt.protocol = 0;
  learnt.state = NUD_REACHABLE;
  std::set<Nexthop> want{hop("198.18.0.12", 2), hop("198.18.0.13", 2), hop("198.18.0.14", 2), hop("198.18.0.15", 2)};
  NeighbourPlan p = plan_managed(want, {pinned, replaced_ours, noarp, learnt});
  EXPECT_EQ(p.add, (std::vector<Nexthop>{hop("198.18.0.15", 2)}));
  EXPECT_TRUE(p.remove.empty());
  // Not wanted any more: still not lbd's to delete; a managed one of ours is.
  NeighbourPlan gone = plan_managed({}, {pinned, replaced_ours, noarp, learnt, entry("198.18.0.16", 2, true)});
  EXPECT_TRUE(gone.add.empty());
  EXPECT_EQ(gone.remove, (std::vector<Nexthop>{hop("198.18.0.16", 2)}));
  EXPECT_TRUE(static_entry(pinned));
  EXPECT_FALSE(static_entry(learnt));
}

TEST(NeighbourPlanTest, KernelWithoutManagedEntriesIsDetected) {
  EXPECT_TRUE(kernel_manages({entry("198.18.0.12", 2, true)}));
  EXPECT_FALSE(kernel_manages({entry("198.18.0.12", 2, true), entry("198.18.0.13", 2, false)}));
}

TEST(NeighbourPlanTest, RefreshWhenDeletedFailedStaleOrNone) {
  NeighbourMsg n = entry("198.18.0.12", 2, false);
  n.state = NUD_REACHABLE;
  EXPECT_FALSE(needs_refresh(n));
  n.state = NUD_INCOMPLETE;  // being resolved
  EXPECT_FALSE(needs_refresh(n));
  n.state = NUD_PROBE;
  EXPECT_FALSE(needs_refresh(n));
  for (uint16_t s : {NUD_STALE, NUD_FAILED, NUD_NONE}) {
    n.state = s;
    EXPECT_TRUE(needs_refresh(n)) << s;
  }
  n.state = NUD_REACHABLE;
  n.deleted = true;
  EXPECT_TRUE(needs_refresh(n));
}

TEST(NeighbourPlanTest, ManagementLostWhenDeletedOrReplaced) {
  NeighbourMsg n = entry("198.18.0.12", 2, true);
  n.state = NUD_FAILED;  // the kernel keeps trying a managed entry itself
  EXPECT_FALSE(lost_management(n));
  n.deleted = true;
  EXPECT_TRUE(lost_management(n));
  EXPECT_TRUE(lost_management(entry("198.18.0.12", 2, false)));
}

TEST(NeighbourPlanTest, ModeNames) {
  EXPECT_EQ(parse_neighbour_mode("managed"), NeighbourMode::kManaged);
  EXPECT_EQ(parse_neighbour_mode("use"), NeighbourMode::kUse);
  EXPECT_THROW(parse_neighbour_mode("auto"), InputError);
  EXPECT_EQ(neighbour_mode_name(NeighbourMode::kUse), "use");
}

}  // namespace
}  // namespace xlb::netwatch
