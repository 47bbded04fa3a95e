// From health and admin state to ring weights (ctl/health/policy.h):
// health down drains, an operator's drain wins, all down fails open or
// closed, and only changed weights come back.
#include <gtest/gtest.h>

#include "health/policy.h"

namespace xlb::health {
namespace {

PolicyBackend be(const char* id, uint32_t admin_weight, State health, uint32_t weight,
                 Admin admin = Admin::kActive) {
  return {id, admin_weight, admin, health, health == State::kDown ? "connect refused (3/3)" : "", weight};
}

TEST(HealthPolicy, NothingChangesWhenAllIsWell) {
  auto r = apply_policy({be("a", 1, State::kUp, 1), be("b", 3, State::kUnchecked, 3)}, OnDown::kKeep,
                        AllDown::kFailOpen, false);
  EXPECT_TRUE(r.changes.empty());
  EXPECT_FALSE(r.all_down);
  EXPECT_EQ(r.event, "");
}

TEST(HealthPolicy, HealthDownDrainsAndUpRestoresTheAdminWeight) {
  auto r = apply_policy({be("a", 5, State::kDown, 5), be("b", 2, State::kUp, 2)}, OnDown::kKeep,
                        AllDown::kFailOpen, false);
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0].id, "a");
  EXPECT_EQ(r.changes[0].from, 5u);
  EXPECT_EQ(r.changes[0].to, 0u);
  EXPECT_FALSE(r.changes[0].purge);
  EXPECT_EQ(r.changes[0].reason, "health down: connect refused (3/3)");

  r = apply_policy({be("a", 5, State::kUp, 0), be("b", 2, State::kUp, 2)}, OnDown::kKeep, AllDown::kFailOpen, false);
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0].to, 5u);
  EXPECT_EQ(r.changes[0].reason, "health up");
}

TEST(HealthPolicy, OnDownPurgeAsksToDropFlowsOnlyAsItLeaves) {
  auto r = apply_policy({be("a", 1, State::kDown, 1), be("b", 1, State::kUp, 1)}, OnDown::kPurge,
                        AllDown::kFailOpen, false);
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_TRUE(r.changes[0].purge);
  // Already out of the ring: no change, so no second purge.
  r = apply_policy({be("a", 1, State::kDown, 0), be("b", 1, State::kUp, 1)}, OnDown::kPurge, AllDown::kFailOpen,
                   false);
  EXPECT_TRUE(r.changes.empty());
}

TEST(HealthPolicy, AnOperatorsDrainWinsOverHealth) {
  // Drained by weight 0 or by admin state; up or down, it stays at 0 and is never purged.
  auto r = apply_policy({be("a", 0, State::kUp, 0), be("b", 4, State::kUp, 0, Admin::kDraining),
                         be("c", 1, State::kUp, 1)},
                        OnDown::kPurge, AllDown::kFailOpen, false);
  EXPECT_TRUE(r.changes.empty());
  // A drained backend still in the ring (the operator just drained it) goes to 0.
  r = apply_policy({be("a", 4, State::kDown, 4, Admin::kDraining), be("c", 1, State::kUp, 1)}, OnDown::kPurge,
                   AllDown::kFailOpen, false);
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0].to, 0u);
  EXPECT_FALSE(r.changes[0].purge);
  EXPECT_EQ(r.changes[0].reason, "drained by operator");
}

TEST(HealthPolicy, DrainedBackendsDoNotCountTowardsAllDown) {
  // The only active backend is down; the drained one being "up" does not save the VIP.
  auto r = apply_policy({be("a", 2, State::kDown, 2), be("b", 0, State::kUp, 0)}, OnDown::kKeep,
                        AllDown::kFailOpen, false);
  EXPECT_TRUE(r.all_down);
  EXPECT_TRUE(r.changes.empty());  // failing open: a keeps its weight
  EXPECT_EQ(r.event, "all down: failing open");
}

TEST(HealthPolicy, AllDownFailsOpenWithAdminWeights) {
  std::vector<PolicyBackend> in = {be("a", 2, State::kDown, 0), be("b", 3, State::kDown, 0),
                                   be("c", 1, State::kUp, 0, Admin::kRemoved)};
  auto r = apply_policy(in, OnDown::kPurge, AllDown::kFailOpen, false);
  EXPECT_TRUE(r.all_down);
  EXPECT_EQ(r.event, "all down: failing open");
  ASSERT_EQ(r.changes.size(), 2u);  // removed: left alone
  EXPECT_EQ(r.changes[0].to, 2u);
  EXPECT_EQ(r.changes[1].to, 3u);
  EXPECT_FALSE(r.changes[0].purge);
  EXPECT_EQ(r.changes[0].reason, "all down: failing open");
  // Reported once: the next round, still all down, has no event.
  in[0].weight = 2;
  in[1].weight = 3;
  r = apply_policy(in, OnDown::kPurge, AllDown::kFailOpen, true);
  EXPECT_TRUE(r.all_down);
  EXPECT_EQ(r.event, "");
  EXPECT_TRUE(r.changes.empty());
  // One comes back: the other leaves the ring, purged as on_down says.
  in[0].health = State::kUp;
  r = apply_policy(in, OnDown::kPurge, AllDown::kFailOpen, true);
  EXPECT_FALSE(r.all_down);
  EXPECT_EQ(r.event, "no longer all down: 1 of 2 up");
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0].id, "b");
  EXPECT_EQ(r.changes[0].to, 0u);
  EXPECT_TRUE(r.changes[0].purge);
}

TEST(HealthPolicy, AllDownFailsClosed) {
  auto r = apply_policy({be("a", 2, State::kUp, 2), be("b", 3, State::kDown, 0)}, OnDown::kKeep,
                        AllDown::kFailClosed, false);
  EXPECT_FALSE(r.all_down);
  r = apply_policy({be("a", 2, State::kDown, 2), be("b", 3, State::kDown, 0)}, OnDown::kKeep, AllDown::kFailClosed,
                   false);
  EXPECT_TRUE(r.all_down);
  EXPECT_EQ(r.event, "all down: failing closed");
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0].id, "a");
  EXPECT_EQ(r.changes[0].to, 0u);
  EXPECT_FALSE(r.changes[0].purge);
  EXPECT_EQ(r.changes[0].reason, "all down: failing closed");
  r = apply_policy({be("a", 2, State::kDown, 2)}, OnDown::kPurge, AllDown::kFailClosed, false);
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_TRUE(r.changes[0].purge);
}

TEST(HealthPolicy, UncheckedBackendsPreventAllDown) {
  // A backend without a check (check none) is unchecked forever, so serving.
  auto r = apply_policy({be("a", 2, State::kDown, 2), be("b", 1, State::kUnchecked, 1)}, OnDown::kKeep,
                        AllDown::kFailClosed, false);
  EXPECT_FALSE(r.all_down);
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0].id, "a");
}

TEST(HealthPolicy, NoActiveBackendIsNotAllDown) {
  auto r = apply_policy({be("a", 0, State::kDown, 0)}, OnDown::kKeep, AllDown::kFailClosed, false);
  EXPECT_FALSE(r.all_down);
  EXPECT_TRUE(apply_policy({}, OnDown::kKeep, AllDown::kFailOpen, false).changes.empty());
}

}  // namespace
}  // namespace xlb::health
