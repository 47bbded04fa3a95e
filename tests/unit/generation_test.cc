// Balancer::generation(): what lbd's announcer (ctl/announce) watches to
// know when to recompute the served VIP addresses.
#include "balancer_fixture.h"

namespace xlb::testing {
namespace {

TEST_F(BalancerTest, GenerationMovesWithEveryChange) {
  uint64_t g = lb->generation();
  add_vip("198.18.100.1:80");
  EXPECT_GT(lb->generation(), g);
  g = lb->generation();
  add("198.18.100.1:80", "198.19.0.1");
  EXPECT_GT(lb->generation(), g);
  g = lb->generation();
  lb->set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.1"), 0);  // what a health check does
  EXPECT_GT(lb->generation(), g);
  g = lb->generation();
  lb->list();  // reads change nothing
  lb->current_config();
  EXPECT_EQ(lb->generation(), g);
  lb->recover();
  EXPECT_GT(lb->generation(), g);
}

}  // namespace
}  // namespace xlb::testing
