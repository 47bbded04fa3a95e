#include "metrics/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace xlb::metrics {
namespace {

TEST(ExpositionTest, FamiliesWithHelpTypeAndSamples) {
  Exposition e;
  e.family("xlb_up", Type::kGauge, "Whether it is up");
  e.family("xlb_packets_total", Type::kCounter, "Packets");
  e.add("xlb_packets_total", {{"counter", "rx"}}, uint64_t(12));
  e.add("xlb_up", {}, uint64_t(1));
  e.add("xlb_packets_total", {{"counter", "tx"}}, uint64_t(7));
  EXPECT_EQ(e.render(),
            "# HELP xlb_up Whether it is up\n"
            "# TYPE xlb_up gauge\n"
            "xlb_up 1\n"
            "# HELP xlb_packets_total Packets\n"
            "# TYPE xlb_packets_total counter\n"
            "xlb_packets_total{counter=\"rx\"} 12\n"
            "xlb_packets_total{counter=\"tx\"} 7\n");
}

TEST(ExpositionTest, AFamilyWithoutSamplesIsLeftOut) {
  Exposition e;
  e.family("xlb_a", Type::kGauge, "A");
  e.family("xlb_b", Type::kGauge, "B");
  e.add("xlb_b", {}, 2.5);
  EXPECT_EQ(e.render(), "# HELP xlb_b B\n# TYPE xlb_b gauge\nxlb_b 2.5\n");
}

TEST(ExpositionTest, LabelValuesAreEscaped) {
  Exposition e;
  e.family("xlb_x", Type::kGauge, "X");
  e.add("xlb_x", {{"a", "back\\slash \"quoted\"\nnext"}, {"b", "[fd00::1]:80"}}, uint64_t(1));
  EXPECT_EQ(e.render(),
            "# HELP xlb_x X\n# TYPE xlb_x gauge\n"
            "xlb_x{a=\"back\\\\slash \\\"quoted\\\"\\nnext\",b=\"[fd00::1]:80\"} 1\n");
}

TEST(ExpositionTest, HelpIsEscaped) {
  EXPECT_EQ(escape_help("a\\b\nc \"d\""), "a\\\\b\\nc \"d\"");
  Exposition e;
  e.family("xlb_x", Type::kGauge, "two\nlines");
  e.add("xlb_x", {}, uint64_t(0));
  EXPECT_EQ(e.render(), "# HELP xlb_x two\\nlines\n# TYPE xlb_x gauge\nxlb_x 0\n");
}

TEST(ExpositionTest, Values) {
  EXPECT_EQ(format_value(0.0), "0");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1e-6), "1e-06");
  EXPECT_EQ(format_value(-3.0), "-3");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  // Integers beyond 2^53 stay exact.
  Exposition e;
  e.family("xlb_big_total", Type::kCounter, "Big");
  e.family("xlb_neg", Type::kGauge, "Negative");
  e.add("xlb_big_total", {}, uint64_t(18446744073709551615ull));
  e.add("xlb_neg", {}, int64_t(-2));
  EXPECT_EQ(e.render(),
            "# HELP xlb_big_total Big\n# TYPE xlb_big_total counter\nxlb_big_total 18446744073709551615\n"
            "# HELP xlb_neg Negative\n# TYPE xlb_neg gauge\nxlb_neg -2\n");
}

TEST(ExpositionTest, ADuplicateSampleIsDropped) {
  Exposition e;
  e.family("xlb_x", Type::kGauge, "X");
  EXPECT_TRUE(e.add("xlb_x", {{"a", "1"}}, uint64_t(1)));
  EXPECT_FALSE(e.add("xlb_x", {{"a", "1"}}, uint64_t(2)));
  EXPECT_TRUE(e.add("xlb_x", {{"a", "2"}}, uint64_t(3)));
  EXPECT_EQ(e.render(), "# HELP xlb_x X\n# TYPE xlb_x gauge\nxlb_x{a=\"1\"} 1\nxlb_x{a=\"2\"} 3\n");
}

TEST(ExpositionTest, NamesTheFormatRefusesAreTheCodesMistakes) {
  EXPECT_TRUE(valid_metric_name("xlb_a:b_1"));
  EXPECT_FALSE(valid_metric_name("1xlb"));
  EXPECT_FALSE(valid_metric_name("xlb-a"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("vip"));
  EXPECT_FALSE(valid_label_name("__name__"));
  EXPECT_FALSE(valid_label_name("a:b"));

  Exposition e;
  EXPECT_THROW(e.family("xlb-x", Type::kGauge, "X"), std::invalid_argument);
  EXPECT_THROW(e.family("xlb_packets", Type::kCounter, "no _total"), std::invalid_argument);
  e.family("xlb_x", Type::kGauge, "X");
  e.family("xlb_x", Type::kGauge, "X");  // again, the same: fine
  EXPECT_THROW(e.family("xlb_x", Type::kGauge, "other help"), std::invalid_argument);
  EXPECT_THROW(e.add("xlb_undeclared", {}, uint64_t(1)), std::invalid_argument);
  EXPECT_THROW(e.add("xlb_x", {{"bad-label", "v"}}, uint64_t(1)), std::invalid_argument);
}

}  // namespace
}  // namespace xlb::metrics
