// The example config the package installs (scripts/packaging/config/example.json,
// /etc/xlb/example.json) is one lbd accepts, health checks included.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/config.h"
#include "health/health_config.h"

namespace xlb {
namespace {

TEST(ExampleConfig, Parses) {
  std::ifstream in(XLB_EXAMPLE_CONFIG);
  ASSERT_TRUE(in) << XLB_EXAMPLE_CONFIG;
  std::stringstream ss;
  ss << in.rdbuf();
  Config c = parse_config_text(ss.str(), XLB_EXAMPLE_CONFIG);
  ASSERT_EQ(c.vips.size(), 1u);
  EXPECT_EQ(c.vips[0].backends.size(), 3u);
  health::ChecksByVip checks = health::config_checks(c);
  EXPECT_EQ(checks.size(), 1u);
}

}  // namespace
}  // namespace xlb
