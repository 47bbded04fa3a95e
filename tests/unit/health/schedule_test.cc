// The schedule: targets spread over their interval, no drift, no bursts.
#include <gtest/gtest.h>

#include <algorithm>

#include "health/schedule.h"

namespace xlb::health {
namespace {

using Ms = std::chrono::milliseconds;
using Clock = Schedule::Clock;

TEST(Schedule, PhasesAreTheVanDerCorputSequence) {
  EXPECT_DOUBLE_EQ(Schedule::phase(0), 0.0);
  EXPECT_DOUBLE_EQ(Schedule::phase(1), 0.5);
  EXPECT_DOUBLE_EQ(Schedule::phase(2), 0.25);
  EXPECT_DOUBLE_EQ(Schedule::phase(3), 0.75);
  EXPECT_DOUBLE_EQ(Schedule::phase(4), 0.125);
  EXPECT_DOUBLE_EQ(Schedule::phase(5), 0.625);
}

// The widest gap between consecutive due times, the wrap-around included.
Clock::duration widest_gap(const Schedule& s, const std::vector<uint64_t>& ids, Clock::time_point t0,
                           Ms interval) {
  std::vector<Clock::duration> due;
  for (uint64_t id : ids) due.push_back(*s.due_of(id) - t0);
  std::sort(due.begin(), due.end());
  Clock::duration widest = due.front() + (interval - due.back());
  for (size_t i = 1; i < due.size(); i++) widest = std::max(widest, due[i] - due[i - 1]);
  return widest;
}

TEST(Schedule, SpreadsTargetsOverTheInterval) {
  for (size_t n : {1u, 3u, 10u, 1000u, 1337u}) {
    Schedule s;
    Clock::time_point t0{};
    std::vector<uint64_t> ids;
    for (uint64_t id = 0; id < n; id++) {
      s.set(id + 100, Ms(1000), t0);
      ids.push_back(id + 100);
    }
    // Never more than twice the even gap, whatever n.
    EXPECT_LE(widest_gap(s, ids, t0, Ms(1000)), 2 * Clock::duration(Ms(1000)) / n) << n;
  }
}

TEST(Schedule, EachTargetOncePerIntervalWithoutDrift) {
  Schedule s;
  Clock::time_point t0{};
  for (uint64_t id = 1; id <= 4; id++) s.set(id, Ms(100), t0);
  std::map<uint64_t, std::vector<Clock::time_point>> fired;
  // Step in uneven strides, as a loop that wakes late would.
  for (Clock::time_point now = t0; now < t0 + Ms(1000); now += Ms(7))
    for (uint64_t id : s.take_due(now)) fired[id].push_back(now);
  for (auto& [id, times] : fired) {
    EXPECT_EQ(times.size(), 10u) << id;
    // The k-th round is never later than its slot plus one stride: lateness
    // does not accumulate.
    for (size_t k = 0; k < times.size(); k++)
      EXPECT_LT(times[k] - (t0 + Ms(100) * k), Ms(100)) << id << " round " << k;
  }
}

TEST(Schedule, AStallSkipsRoundsInsteadOfBursting) {
  Schedule s;
  Clock::time_point t0{};
  s.set(1, Ms(100), t0);
  EXPECT_EQ(s.take_due(t0), std::vector<uint64_t>{1});
  // Ten intervals late: one probe now, the next on the original grid.
  EXPECT_EQ(s.take_due(t0 + Ms(1050)), std::vector<uint64_t>{1});
  EXPECT_EQ(*s.due_of(1), t0 + Ms(1100));
  EXPECT_TRUE(s.take_due(t0 + Ms(1099)).empty());
}

TEST(Schedule, KeepsAPhaseAcrossSetsAndRephasesANewInterval) {
  Schedule s;
  Clock::time_point t0{};
  s.set(1, Ms(1000), t0);
  s.set(2, Ms(1000), t0);
  auto due2 = *s.due_of(2);
  EXPECT_EQ(due2, t0 + Ms(500));
  s.set(2, Ms(1000), t0 + Ms(300));  // unchanged: stays
  EXPECT_EQ(*s.due_of(2), due2);
  s.set(3, Ms(1000), t0);  // another target does not move it
  EXPECT_EQ(*s.due_of(2), due2);
  s.set(2, Ms(2000), t0 + Ms(300));  // changed: a new phase from now
  EXPECT_EQ(*s.due_of(2), t0 + Ms(300) + Ms(2000) * 3 / 4);
  s.remove(2);
  EXPECT_FALSE(s.contains(2));
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(*s.next_due(), t0);
}

}  // namespace
}  // namespace xlb::health
