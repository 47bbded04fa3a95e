// lbd's side of lbctl doctor: the "doctor" request over the fake maps, and
// the facts gathered from lbd's views (ctl/lbd/doctor_facts.h). The kernel
// facts come from this host: only those every Linux host has are checked
// (the route to 127.0.0.2 goes out of lo, which has no neighbours).
#include <gtest/gtest.h>

#include <string>

#include "balancer_fixture.h"
#include "lbd/api.h"
#include "lbd/doctor_facts.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using Json = nlohmann::json;

class DoctorApiTest : public BalancerTest {
 protected:
  Json call(const std::string& request) { return Json::parse(api.handle(request)); }
  Api api{*lb, DaemonInfo{}, [] {}};
};

std::string status_of(const Json& answer, const std::string& check) {
  for (const auto& c : answer["checks"])
    if (c["name"] == check) return c["status"];
  return "<missing>";
}

TEST_F(DoctorApiTest, AnswersEveryCheckAndNamesMapsOutOfSync) {
  ASSERT_TRUE(call(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"tcp"})")["ok"]);
  Json j = call(R"({"cmd":"doctor"})");
  ASSERT_TRUE(j["ok"]) << j.dump();
  EXPECT_TRUE(j["healthy"]) << j.dump();
  EXPECT_EQ(j["checks"].size(), 10u);
  EXPECT_EQ(status_of(j, "sync"), "ok");
  EXPECT_TRUE(j["counters"].contains("drop_no_backend"));
  EXPECT_TRUE(j["sampled_ms"].is_number_unsigned());
  maps->vips.clear();  // behind lbd's back
  j = call(R"({"cmd":"doctor"})");
  EXPECT_FALSE(j["healthy"]);
  EXPECT_EQ(status_of(j, "sync"), "problem");
  bool named = false;
  for (const auto& f : j["findings"])
    named |= f["what"].get<std::string>().find("is missing from xlb_vips") != std::string::npos;
  EXPECT_TRUE(named) << j.dump();
}

TEST_F(DoctorApiTest, ABaselineMustBeAnEarlierAnswersCounters) {
  Json j = call(R"({"cmd":"doctor","baseline":{"counters":{"drop_mtu":0}}})");
  EXPECT_TRUE(j["ok"]) << j.dump();
  for (const char* bad : {R"({"cmd":"doctor","baseline":5})", R"({"cmd":"doctor","baseline":{}})",
                          R"({"cmd":"doctor","baseline":{"counters":{"drop_mtu":-1}}})",
                          R"({"cmd":"doctor","extra":1})"}) {
    j = call(bad);
    EXPECT_FALSE(j["ok"]) << bad;
  }
}

TEST(DoctorFacts, LbdsViewsBecomeFacts) {
  Json status = {{"ifaces", {{{"name", "lo"}, {"xdp_mode", "native"}}}},
                 {"in_sync", false},
                 {"data_path_error", "the pins vanished"},
                 {"reaper", {{"error", "cannot read xlb_flows"}}},
                 {"health", {{"state_file", "/var/lib/xlb/lo.health.json"}, {"state_file_error", "disk full"}}}};
  Json vips = Json::array();
  vips.push_back({{"vip", "198.18.100.1:80"},
                  {"proto", "tcp"},
                  {"mode", "l2dsr"},
                  {"backends",
                   {{{"address", "127.0.0.2"},
                     {"state", "active"},
                     {"health", {{"check", "tcp"}, {"state", "down"}, {"reason", "refused"}, {"not_checked", nullptr}}}},
                    {{"address", "127.0.0.3"}, {"state", "removed"}, {"health", nullptr}}}}});
  Json global = {{"rx", {{"packets", 7}, {"bytes", 700}}}, {"drop_mtu", {{"packets", 2}, {"bytes", 3000}}}};
  doctor::Facts f = gather_doctor_facts(status, vips, global, {"a difference"});
  ASSERT_EQ(f.ifaces.size(), 1u);
  EXPECT_EQ(f.ifaces[0].name, "lo");
  EXPECT_EQ(f.ifaces[0].xdp_mode, "native");
  EXPECT_GT(f.ifaces[0].mtu, 0);
  EXPECT_TRUE(f.uses_v4);
  EXPECT_FALSE(f.uses_v6);
  ASSERT_EQ(f.backends.size(), 1u);  // the removed one left out
  const doctor::BackendFacts& b = f.backends[0];
  EXPECT_EQ(b.vip, "198.18.100.1:80");
  EXPECT_EQ(b.mode, "l2dsr");
  EXPECT_EQ(b.address, "127.0.0.2");
  EXPECT_TRUE(b.route.found) << b.route.error;
  EXPECT_EQ(b.route.dev, "lo");
  EXPECT_EQ(b.route.gateway, "");
  EXPECT_GT(b.route.dev_mtu, 0);
  EXPECT_TRUE(b.health.checked);
  EXPECT_EQ(b.health.state, "down");
  EXPECT_EQ(b.health.reason, "refused");
  EXPECT_EQ(b.health.not_checked, "");
  if (f.neighbours_error.empty()) {
    ASSERT_TRUE(b.next_hop_resolved.has_value());
    EXPECT_FALSE(*b.next_hop_resolved);  // lo has no neighbours
  }
  EXPECT_FALSE(f.in_sync);
  EXPECT_EQ(f.verify_differences, std::vector<std::string>{"a difference"});
  EXPECT_EQ(f.data_path_error, "the pins vanished");
  EXPECT_EQ(f.reaper_error, "cannot read xlb_flows");
  EXPECT_EQ(f.health_state_file, "/var/lib/xlb/lo.health.json");
  EXPECT_EQ(f.health_state_error, "disk full");
  EXPECT_EQ(f.counters.at("rx"), 7u);
  EXPECT_EQ(f.counters.at("drop_mtu"), 2u);
}

}  // namespace
}  // namespace xlb
