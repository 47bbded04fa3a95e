// docs/grafana-xlb.json: valid JSON, and every xlb_ metric it queries is one
// lbd exports (a renamed metric must not leave the dashboard blank).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "metrics/families.h"

namespace xlb::metrics {
namespace {

TEST(DashboardTest, QueriesOnlyExportedMetrics) {
  std::ifstream in(std::string(XLB_SOURCE_DIR) + "/docs/grafana-xlb.json");
  ASSERT_TRUE(in) << "docs/grafana-xlb.json";
  nlohmann::json dash = nlohmann::json::parse(in);
  std::set<std::string> known;
  for (size_t i = 0; i < kFamilyCount; i++) known.insert(kFamilies[i].name);
  std::regex name("xlb_[a-z_]+");
  size_t queries = 0;
  for (const auto& panel : dash.at("panels")) {
    if (!panel.contains("targets")) continue;
    for (const auto& t : panel["targets"]) {
      std::string expr = t.at("expr");
      queries++;
      for (std::sregex_iterator it(expr.begin(), expr.end(), name), end; it != end; ++it)
        EXPECT_TRUE(known.count(it->str())) << panel.at("title") << ": " << it->str();
    }
  }
  EXPECT_GT(queries, 20u);
}

}  // namespace
}  // namespace xlb::metrics
