// The tracked set (ctl/health/registry.h): sync with the config, restore
// after a restart, save.
#include <gtest/gtest.h>

#include "health/registry.h"

namespace xlb::health {
namespace {

HealthSpec tcp(uint32_t fall = 2) {
  HealthSpec s;
  s.check = CheckKind::kTcp;
  s.fall = fall;
  return s;
}

TEST(HealthRegistry, SyncCreatesKeepsAndDrops) {
  Registry r;
  auto touched = r.sync({{"a", {tcp(), 1}}, {"b", {tcp(), 2}}}, 100);
  EXPECT_EQ(touched, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(r.find("a"));
  EXPECT_EQ(r.find("a")->tracker.state(), State::kUnchecked);
  r.find("a")->tracker.record({false, "refused", 0}, 200);
  r.find("a")->tracker.record({false, "refused", 0}, 300);
  ASSERT_EQ(r.find("a")->tracker.state(), State::kDown);
  // Same specs: nothing touched; b gone; a's new fall keeps its state.
  EXPECT_TRUE(r.sync({{"a", {tcp(), 1}}}, 400).empty());
  EXPECT_FALSE(r.find("b"));
  EXPECT_EQ(r.sync({{"a", {tcp(5), 3}}}, 500), std::vector<std::string>{"a"});
  EXPECT_EQ(r.find("a")->tracker.state(), State::kDown);
  EXPECT_EQ(r.find("a")->admin_weight, 3u);
  // Check none: unchecked, so it serves again.
  HealthSpec none;
  r.sync({{"a", {none, 3}}}, 600);
  EXPECT_EQ(r.find("a")->tracker.state(), State::kUnchecked);
}

TEST(HealthRegistry, RestartRestoresSavedStatesOnce) {
  const std::string kA = "198.18.100.1:80/tcp/198.19.0.11:80", kB = "198.18.100.1:80/tcp/198.19.0.12:80";
  Registry before;
  before.sync({{kA, {tcp(1), 4}}, {kB, {tcp(1), 1}}}, 0);
  before.find(kA)->tracker.record({false, "refused", 0}, 1000);
  std::string text = encode_states(before.save());

  Registry after;
  after.restore(decode_states(text));
  after.sync({{kA, {tcp(1), 0}}, {kB, {tcp(1), 1}}}, 5000);
  EXPECT_EQ(after.find(kA)->tracker.state(), State::kDown);
  EXPECT_EQ(after.find(kA)->tracker.since(), 1000);
  EXPECT_EQ(after.find(kA)->tracker.reason(), "refused (1/1)");
  EXPECT_EQ(after.find(kB)->tracker.state(), State::kUnchecked);
  EXPECT_EQ(decode_states(text).at(kA).admin_weight, 4u);
  // Deleted and added again: a fresh start, not the saved state.
  after.sync({{kB, {tcp(1), 1}}}, 6000);
  after.sync({{kA, {tcp(1), 4}}, {kB, {tcp(1), 1}}}, 7000);
  EXPECT_EQ(after.find(kA)->tracker.state(), State::kUnchecked);
}

TEST(HealthRegistry, ABackendWithoutACheckIsNeverRestoredDown) {
  Registry r;
  r.restore({{"a", {State::kDown, 1, 2, "refused (2/2)"}}});
  r.sync({{"a", {HealthSpec(), 2}}}, 10);
  EXPECT_EQ(r.find("a")->tracker.state(), State::kUnchecked);
}

}  // namespace
}  // namespace xlb::health
