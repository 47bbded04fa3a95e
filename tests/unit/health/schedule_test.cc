// Check scheduling (ctl/health/schedule.h): fixed phases spread over the
// interval, and a fixed cadence that skips rather than queues.
#include <gtest/gtest.h>

#include <vector>

#include "health/persist.h"
#include "health/schedule.h"

namespace xlb::health {
namespace {

TEST(HealthSchedule, PhasesAreStableAndWithinTheInterval) {
  EXPECT_EQ(check_phase("198.18.100.1:80/tcp/198.19.0.12:80", 1000),
            check_phase("198.18.100.1:80/tcp/198.19.0.12:80", 1000));
  EXPECT_LT(check_phase("x", 1000), 1000u);
  EXPECT_EQ(check_phase("x", 0), 0u);
  EXPECT_EQ(first_check_at("x", 1000, 5000), 5000 + check_phase("x", 1000));
}

TEST(HealthSchedule, PhasesSpreadAThousandBackends) {
  // 1,000 backends of one VIP over a 1 s interval in 10 buckets of 100 ms:
  // deterministic input, so a fixed expectation, not a chance. An even
  // spread puts 100 in each; no bucket may hold more than twice that.
  std::vector<int> buckets(10);
  Endpoint vip = Endpoint::parse("198.18.100.1:80");
  for (int i = 0; i < 1000; i++) {
    IpAddr be = IpAddr::parse("198.19." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
    buckets[check_phase(backend_identity(vip, parse_proto("tcp"), be, 0), 1000) / 100]++;
  }
  for (int n : buckets) {
    EXPECT_GT(n, 50);
    EXPECT_LT(n, 200);
  }
}

TEST(HealthSchedule, CadenceSkipsMissedChecks) {
  EXPECT_EQ(next_check_at(1000, 2000, 1500), 3000);
  EXPECT_EQ(next_check_at(1000, 2000, 3000), 3000);
  EXPECT_EQ(next_check_at(1000, 2000, 9000), 9000);  // the loop stalled: check now, once
}

}  // namespace
}  // namespace xlb::health
