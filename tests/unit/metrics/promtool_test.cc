// A whole scrape of the sample views through `promtool check metrics`
// (Debian prometheus), which checks the format and Prometheus' naming
// conventions. Skipped where promtool is not installed; the netns test
// (tests/netns/test_metrics.sh) checks a real lbd's scrape the same way.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <fstream>

#include "fixture.h"

namespace xlb::metrics {
namespace {

TEST(PromtoolTest, ASampleScrapePassesPromtoolCheckMetrics) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "promtool not installed";
  std::string text = render(test::sample_views());
  ASSERT_FALSE(text.empty());
  char path[] = "/tmp/xlb-metrics-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  std::string out_path = std::string(path) + ".out";
  int rc = std::system(("promtool check metrics < " + std::string(path) + " > " + out_path + " 2>&1").c_str());
  std::ifstream in(out_path);
  std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path);
  std::remove(out_path.c_str());
  EXPECT_EQ(rc, 0) << report;
  EXPECT_EQ(report, "") << report;
}

}  // namespace
}  // namespace xlb::metrics
