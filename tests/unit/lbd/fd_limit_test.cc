// raise_fd_limit (ctl/lbd/fd_limit.h): lbd lifts its soft open-files limit
// to the hard one at start, so 1,024 VIP rings do not exhaust it.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "lbd/fd_limit.h"

namespace xlb {
namespace {

TEST(FdLimitTest, RaisesTheSoftLimitToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_max <= 256) GTEST_SKIP() << "hard limit " << before.rlim_max << " leaves nothing to raise";
  rlimit low = before;
  low.rlim_cur = 256;  // the test process has far fewer open
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);

  std::string line = raise_fd_limit();
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
  EXPECT_EQ(line, "open files limit raised from 256 to " + std::to_string(before.rlim_max));
  // Already at the hard limit: said so, nothing changed.
  EXPECT_EQ(raise_fd_limit(), "open files limit: " + std::to_string(before.rlim_max));

  setrlimit(RLIMIT_NOFILE, &before);
}

}  // namespace
}  // namespace xlb
