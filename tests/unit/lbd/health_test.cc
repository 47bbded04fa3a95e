// DaemonInfo::health (api.h): once the data path's pins are gone, every
// request that changes the maps fails with the reason and changes nothing,
// reads still answer, and status shows the reason. Failed requests are
// logged with the request, on one line.
#include <gtest/gtest.h>

#include <string>

#include "balancer_fixture.h"
#include "lbd/api.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using Json = nlohmann::json;

class HealthTest : public BalancerTest {
 protected:
  Json call(const std::string& request) { return Json::parse(api.handle(request)); }
  std::string problem;
  DaemonInfo info() {
    DaemonInfo i;
    i.health = [this] { return problem; };
    return i;
  }
  Api api{*lb, info(), [] {}};
};

TEST_F(HealthTest, ChangesAreRefusedOnceThePinsAreGoneAndStatusSaysWhy) {
  EXPECT_TRUE(call(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"tcp"})").value("ok", false));
  EXPECT_TRUE(call(R"({"cmd":"status"})")["data_path_error"].is_null());

  problem = "the data path's maps were removed (pins under /x are gone): restart lbd";
  std::string before = snapshot();
  for (const char* req :
       {R"({"cmd":"add-vip","vip":"198.18.100.2:80","proto":"tcp"})",
        R"({"cmd":"del-vip","vip":"198.18.100.1:80","proto":"tcp"})",
        R"({"cmd":"add-backend","vip":"198.18.100.1:80","proto":"tcp","backend":"198.18.0.11"})",
        R"({"cmd":"set-backend","vip":"198.18.100.1:80","proto":"tcp","backend":"198.18.0.11","weight":2})",
        R"({"cmd":"drain-backend","vip":"198.18.100.1:80","proto":"tcp","backend":"198.18.0.11"})",
        R"({"cmd":"del-backend","vip":"198.18.100.1:80","proto":"tcp","backend":"198.18.0.11"})",
        R"({"cmd":"apply","config":{"vips":[]}})"}) {
    Json j = call(req);
    EXPECT_FALSE(j.value("ok", true)) << req;
    EXPECT_EQ(j.value("error", std::string()), problem) << req;
  }
  EXPECT_EQ(snapshot(), before);
  Json status = call(R"({"cmd":"status"})");
  EXPECT_TRUE(status.value("ok", false));
  EXPECT_EQ(status["data_path_error"], problem);
  EXPECT_TRUE(call(R"({"cmd":"list"})").value("ok", false));
}

TEST_F(HealthTest, AFailedRequestIsLoggedWithTheRequestOnOneLine) {
  ::testing::internal::CaptureStderr();
  call("{\"cmd\":\"add-vip\",\n\"vip\":\"198.18.100.1\",\"proto\":\"tcp\"}");
  call("{\"cmd\":\"del-vip\",\"vip\":\"198.18.100.9:80\",\"proto\":\"tcp\",\"pad\":\"" + std::string(500, 'x') +
       "\"}");
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("request failed: {\"cmd\":\"add-vip\", \"vip\":\"198.18.100.1\",\"proto\":\"tcp\"}: "),
            std::string::npos)
      << log;
  size_t second = log.find("request failed: {\"cmd\":\"del-vip\"");
  ASSERT_NE(second, std::string::npos) << log;
  std::string line = log.substr(second, log.find('\n', second) - second);
  EXPECT_LT(line.size(), 400u) << line;
  EXPECT_NE(line.find("(5"), std::string::npos) << "says how long the request was: " << line;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;
}

}  // namespace
}  // namespace xlb
