// The per-backend state machine (ctl/health/tracker.h): rise, fall,
// hold-down, reasons and restore. Time is a plain number passed in.
#include <gtest/gtest.h>

#include "health/tracker.h"
#include "health/view.h"

namespace xlb::health {
namespace {

const CheckResult kOk{true, "connected", 300};
const CheckResult kTimeout{false, "connect timeout after 1000 ms", 1000000};

TEST(HealthTracker, StartsUncheckedAndOneSuccessConfirmsUp) {
  Tracker t(2, 3, 0, 1000);
  EXPECT_EQ(t.state(), State::kUnchecked);
  EXPECT_EQ(t.since(), 1000);
  EXPECT_FALSE(t.last());
  auto tr = t.record(kOk, 2000);
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->from, State::kUnchecked);
  EXPECT_EQ(tr->to, State::kUp);
  EXPECT_FALSE(tr->serving_changed());
  EXPECT_EQ(tr->reason, "connected (1/1)");
  EXPECT_EQ(t.since(), 2000);
}

TEST(HealthTracker, FallConsecutiveFailuresTakeItDown) {
  Tracker t(2, 3, 0, 0);
  t.record(kOk, 1);
  EXPECT_FALSE(t.record(kTimeout, 2));
  EXPECT_FALSE(t.record(kTimeout, 3));
  EXPECT_EQ(t.failures(), 2u);
  auto tr = t.record(kTimeout, 4);
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->from, State::kUp);
  EXPECT_EQ(tr->to, State::kDown);
  EXPECT_EQ(tr->at, 4);
  EXPECT_TRUE(tr->serving_changed());
  EXPECT_EQ(tr->reason, "connect timeout after 1000 ms (3/3)");
  EXPECT_EQ(t.state(), State::kDown);
  EXPECT_EQ(t.reason(), tr->reason);
  EXPECT_EQ(t.last()->latency_us, 1000000u);
  EXPECT_EQ(t.last_at(), 4);
  EXPECT_EQ(transition_line("198.19.0.12:8080", *tr), "198.19.0.12:8080 down: connect timeout after 1000 ms (3/3)");
}

TEST(HealthTracker, ASuccessResetsTheFailureCount) {
  Tracker t(2, 2, 0, 0);
  t.record(kOk, 1);
  t.record(kTimeout, 2);
  t.record(kOk, 3);
  EXPECT_FALSE(t.record(kTimeout, 4));
  EXPECT_EQ(t.state(), State::kUp);
  EXPECT_TRUE(t.record(kTimeout, 5));
  EXPECT_EQ(t.state(), State::kDown);
}

TEST(HealthTracker, UncheckedGoesDownAfterFall) {
  Tracker t(2, 2, 0, 0);
  EXPECT_FALSE(t.record(kTimeout, 1));
  auto tr = t.record(kTimeout, 2);
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->from, State::kUnchecked);
  EXPECT_EQ(tr->to, State::kDown);
  EXPECT_TRUE(tr->serving_changed());
}

TEST(HealthTracker, RiseConsecutiveSuccessesBringItBack) {
  Tracker t(3, 1, 0, 0);
  t.record(kTimeout, 1);
  ASSERT_EQ(t.state(), State::kDown);
  EXPECT_FALSE(t.record(kOk, 2));
  EXPECT_FALSE(t.record(kOk, 3));
  EXPECT_FALSE(t.record(kTimeout, 4));  // resets the successes
  EXPECT_FALSE(t.record(kOk, 5));
  EXPECT_FALSE(t.record(kOk, 6));
  auto tr = t.record(kOk, 7);
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->to, State::kUp);
  EXPECT_EQ(tr->reason, "connected (3/3)");
}

TEST(HealthTracker, HoldDownDelaysTheNextTransitionWhileCountingGoesOn) {
  Tracker t(1, 1, 10000, 0);
  t.record(kOk, 0);
  ASSERT_TRUE(t.record(kTimeout, 1000));  // down at 1000: hold-down until 11000
  EXPECT_FALSE(t.held_until());
  EXPECT_FALSE(t.record(kOk, 2000));      // would rise, held
  EXPECT_EQ(t.state(), State::kDown);
  EXPECT_EQ(t.held_until(), std::optional<TimeMs>(11000));
  EXPECT_FALSE(t.record(kOk, 3000));
  EXPECT_EQ(t.successes(), 2u);
  EXPECT_FALSE(t.poll(10999));
  auto tr = t.poll(11000);
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->to, State::kUp);
  EXPECT_EQ(tr->at, 11000);
  EXPECT_EQ(tr->reason, "connected (2/1), held by hold-down");
  EXPECT_FALSE(t.poll(11001));
  // And the other way: up at 11000, a failure at 12000 waits until 21000.
  EXPECT_FALSE(t.record(kTimeout, 12000));
  EXPECT_EQ(t.held_until(), std::optional<TimeMs>(21000));
  auto down = t.record(kTimeout, 21500);  // taken by the next result after it ends
  ASSERT_TRUE(down);
  EXPECT_EQ(down->to, State::kDown);
  EXPECT_EQ(down->reason, "connect timeout after 1000 ms (2/1), held by hold-down");
}

TEST(HealthTracker, AFlapWithinHoldDownChangesNothing) {
  Tracker t(1, 1, 5000, 0);
  t.record(kOk, 0);
  ASSERT_TRUE(t.record(kTimeout, 1000));
  // Flapping every second: nothing moves until the hold-down ends, and then
  // only as the last results say.
  for (TimeMs now = 2000; now < 6000; now += 1000) EXPECT_FALSE(t.record(now % 2000 ? kTimeout : kOk, now));
  EXPECT_EQ(t.state(), State::kDown);
  EXPECT_FALSE(t.record(kTimeout, 6000));  // last result a failure: stays down
  EXPECT_FALSE(t.poll(7000));
  EXPECT_FALSE(t.held_until());
}

TEST(HealthTracker, ConfirmingUpDoesNotStartAHoldDown) {
  Tracker t(1, 1, 60000, 0);
  ASSERT_TRUE(t.record(kOk, 0));  // unchecked -> up: serving unchanged
  auto tr = t.record(kTimeout, 1);
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->to, State::kDown);
}

TEST(HealthTracker, AClockSteppingBackEndsTheHoldDown) {
  Tracker t(1, 1, 10000, 0);
  t.record(kOk, 0);
  t.record(kTimeout, 50000);
  EXPECT_TRUE(t.record(kOk, 40000));
  EXPECT_EQ(t.state(), State::kUp);
}

TEST(HealthTracker, NewParamsKeepStateAndCounts) {
  Tracker t(2, 5, 0, 0);
  t.record(kOk, 0);
  t.record(kTimeout, 1);
  t.record(kTimeout, 2);
  t.set_params(2, 2, 0);
  EXPECT_EQ(t.state(), State::kUp);
  EXPECT_TRUE(t.record(kTimeout, 3));
  EXPECT_EQ(t.state(), State::kDown);
}

TEST(HealthTracker, RestoreStartsFromTheSavedState) {
  Tracker t(2, 2, 10000, 100000);
  t.restore(State::kDown, 95000, "connect refused (2/2)");
  EXPECT_EQ(t.state(), State::kDown);
  EXPECT_EQ(t.since(), 95000);
  EXPECT_EQ(t.reason(), "connect refused (2/2)");
  EXPECT_FALSE(t.record(kOk, 100000));
  EXPECT_FALSE(t.record(kOk, 101000));  // rise reached, but hold-down runs from since until 105000
  auto tr = t.poll(105000);
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->to, State::kUp);
}

TEST(HealthView, LabelsAndJson) {
  Tracker t(1, 1, 0, 0);
  EXPECT_EQ(health_label(t, 5000), "unchecked");
  t.record(kOk, 1000);
  EXPECT_EQ(health_label(t, 5000), "up");
  t.record(kTimeout, 10000);
  EXPECT_EQ(health_label(t, 22000), "down 12s");
  EXPECT_EQ(health_label(t, 10000 + 300000), "down 5m");
  EXPECT_EQ(short_age(3 * 3600 * 1000), "3h");
  EXPECT_EQ(short_age(int64_t(3) * 86400 * 1000), "3d");
  nlohmann::json j = health_json(t, 22000);
  EXPECT_EQ(j["state"], "down");
  EXPECT_EQ(j["since_ms"], 10000);
  EXPECT_EQ(j["for_ms"], 12000);
  EXPECT_EQ(j["reason"], "connect timeout after 1000 ms (1/1)");
  EXPECT_EQ(j["last"]["ok"], false);
  EXPECT_EQ(j["last"]["latency_us"], 1000000);
  EXPECT_EQ(j["failures"], 1);
  EXPECT_TRUE(health_json(Tracker(1, 1, 0, 0), 0)["last"].is_null());
}

}  // namespace
}  // namespace xlb::health
