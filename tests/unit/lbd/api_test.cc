// lbd's JSON API (ctl/lbd/api.h) over a Balancer on the fake maps: what a
// hostile or careless client sends gets {"ok": false, "error": ...} and
// changes nothing; requests that succeed reach the maps; a failing map write
// becomes an error answer, never an exception out of handle().
#include <gtest/gtest.h>

#include <string>

#include "balancer_fixture.h"
#include "lbd/api.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using Json = nlohmann::json;

class ApiTest : public BalancerTest {
 protected:
  Json call(const std::string& request) {
    std::string answer = api.handle(request);
    // Every answer is one valid JSON object on one line.
    EXPECT_EQ(answer.find('\n'), std::string::npos) << answer;
    Json j = Json::parse(answer, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << answer;
    return j;
  }
  // The error of a refused request, after checking that nothing changed.
  std::string refused(const std::string& request) {
    std::string before = snapshot();
    Json j = call(request);
    EXPECT_EQ(j.value("ok", true), false) << request;
    EXPECT_EQ(snapshot(), before) << "a refused request changed the maps: " << request;
    return j.value("error", std::string("<no error>"));
  }
  bool detached = false;
  Api api{*lb, DaemonInfo{}, [this] { detached = true; }};
};

TEST_F(ApiTest, MalformedRequestsAreRefusedWithAReason) {
  EXPECT_EQ(refused("{not json").rfind("invalid JSON", 0), 0u);
  EXPECT_EQ(refused("").rfind("invalid JSON", 0), 0u);
  EXPECT_EQ(refused("[1,2]"), "request must be a JSON object");
  EXPECT_EQ(refused(R"({"cmd":"reboot"})"), "unknown cmd 'reboot'");
  EXPECT_NE(refused(R"({"cmd":42})"), "");
  EXPECT_NE(refused(R"({"cmd":"list","extra":1})").find("extra"), std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"add-vip","vip":"198.18.100.1","proto":"tcp"})"), "");  // no port
  EXPECT_NE(refused(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"sctp"})"), "");
  EXPECT_NE(refused(R"({"cmd":"add-backend","vip":"198.18.100.1:80","proto":"tcp","backend":"x"})"), "");
}

TEST_F(ApiTest, InvalidUtf8EchoedBackStillMakesValidJson) {
  // Bytes that are not UTF-8, in a string the error message may quote.
  std::string req = "{\"cmd\":\"add-vip\",\"vip\":\"\xff\xfe:80\",\"proto\":\"tcp\"}";
  Json j = call(req);
  EXPECT_EQ(j.value("ok", true), false);
  req = "{\"cmd\":\"\xc3\x28\"}";
  j = call(req);
  EXPECT_EQ(j.value("ok", true), false);
}

TEST_F(ApiTest, ARequestThatSucceedsReachesTheMaps) {
  EXPECT_TRUE(call(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"tcp","sched":"least-conn"})")["ok"]);
  EXPECT_TRUE(call(R"({"cmd":"add-backend","vip":"198.18.100.1:80","proto":"tcp","backend":"198.19.0.11","weight":3})")["ok"]);
  EXPECT_EQ(maps->vips.size(), 1u);
  Json list = call(R"({"cmd":"list"})");
  ASSERT_TRUE(list["ok"]);
  ASSERT_EQ(list["vips"].size(), 1u);
  EXPECT_EQ(list["vips"][0]["sched"], "least-conn");
  ASSERT_EQ(list["vips"][0]["backends"].size(), 1u);
  EXPECT_EQ(list["vips"][0]["backends"][0]["address"], "198.19.0.11");
  EXPECT_EQ(list["vips"][0]["backends"][0]["weight"], 3);
  EXPECT_EQ(list["vips"][0]["backends"][0]["state"], "active");

  // The same VIP again is an error, and changes nothing.
  EXPECT_NE(refused(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"tcp"})"), "");
  Json status = call(R"({"cmd":"status"})");
  EXPECT_EQ(status["vips"], 1);
  EXPECT_EQ(status["backends"], 1);
  EXPECT_TRUE(status["reaper"].is_null());  // this Api was given no reaper
  EXPECT_EQ(status["flows"], 0);
  // Without the flow count (the metrics endpoint counts in its own thread).
  Json quick = api.status(false);
  EXPECT_TRUE(quick["flows"].is_null());
  EXPECT_EQ(quick["vips"], 1);
}

TEST_F(ApiTest, ChangesThatMakeNatVipsShareABackendPortCarryWarnings) {
  ASSERT_TRUE(call(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"tcp","mode":"nat"})")["ok"]);
  ASSERT_TRUE(call(R"({"cmd":"add-vip","vip":"198.18.100.1:8080","proto":"tcp","mode":"nat"})")["ok"]);
  Json first = call(R"({"cmd":"add-backend","vip":"198.18.100.1:8080","proto":"tcp","backend":"198.19.0.11"})");
  EXPECT_TRUE(first["ok"]);
  EXPECT_FALSE(first.contains("warnings"));
  Json second =
      call(R"({"cmd":"add-backend","vip":"198.18.100.1:80","proto":"tcp","backend":"198.19.0.11","port":8080})");
  EXPECT_TRUE(second["ok"]);
  ASSERT_EQ(second["warnings"].size(), 1u);
  EXPECT_EQ(second["warnings"][0].get<std::string>().rfind("nat VIPs 198.18.100.1:80/tcp and 198.18.100.1:8080/tcp", 0),
            0u);
  // Read commands carry none.
  EXPECT_FALSE(call(R"({"cmd":"list"})").contains("warnings"));
}

TEST_F(ApiTest, BackendsOutnumberingTheRingCarryAWarning) {
  ASSERT_TRUE(call(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"tcp","ring_size":2})")["ok"]);
  for (const char* be : {"198.19.0.11", "198.19.0.12"}) {
    Json a = call(std::string(R"({"cmd":"add-backend","vip":"198.18.100.1:80","proto":"tcp","backend":")") + be +
                  R"("})");
    EXPECT_TRUE(a["ok"]);
    EXPECT_FALSE(a.contains("warnings"));
  }
  Json third = call(R"({"cmd":"add-backend","vip":"198.18.100.1:80","proto":"tcp","backend":"198.19.0.13"})");
  EXPECT_TRUE(third["ok"]);
  ASSERT_EQ(third["warnings"].size(), 1u);
  EXPECT_EQ(third["warnings"][0],
            "VIP 198.18.100.1:80/tcp: 3 active backends but ring_size 2: at least 1 get no ring slot (no new "
            "flows); raise ring_size");
  // apply answers carry it too.
  Json applied = call(R"({"cmd":"apply","config":{"vips":[{"vip":"198.18.100.1:80","proto":"tcp","ring_size":2,
      "backends":[{"address":"198.19.0.11"},{"address":"198.19.0.12"},{"address":"198.19.0.13"}]}]}})");
  EXPECT_TRUE(applied["ok"]);
  ASSERT_EQ(applied["warnings"].size(), 1u);
}

TEST_F(ApiTest, RefusedAddressesAreErrorAnswers) {
  ASSERT_TRUE(call(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"tcp"})")["ok"]);
  EXPECT_EQ(refused(R"({"cmd":"add-vip","vip":"127.0.0.1:80","proto":"tcp"})"),
            "127.0.0.1 cannot be a VIP: it is a loopback address (127.0.0.0/8)");
  EXPECT_EQ(refused(R"({"cmd":"add-backend","vip":"198.18.100.1:80","proto":"tcp","backend":"198.18.100.1"})"),
            "198.18.100.1 cannot be a backend of its own VIP: packets would loop back to the load balancer");
}

TEST_F(ApiTest, AFailingMapWriteIsAnErrorAnswer) {
  maps->fail_after = 1;
  Json j = call(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"tcp"})");
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"], "injected map failure (nothing was changed)");
  EXPECT_TRUE(call(R"({"cmd":"list"})")["vips"].empty());
}

TEST_F(ApiTest, StatusVerifyComparesTheModelWithTheMaps) {
  ASSERT_TRUE(call(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"tcp"})")["ok"]);
  Json j = call(R"({"cmd":"status","verify":true})");
  EXPECT_EQ(j["in_sync"], true);
  EXPECT_EQ(j["verify"]["ok"], true);
  EXPECT_TRUE(j["verify"]["differences"].empty());
  EXPECT_FALSE(call(R"({"cmd":"status"})").contains("verify"));
  maps->vips.clear();  // behind lbd's back
  j = call(R"({"cmd":"status","verify":true})");
  EXPECT_EQ(j["verify"]["ok"], false);
  ASSERT_EQ(j["verify"]["differences"].size(), 1u);
  EXPECT_EQ(j["verify"]["differences"][0], "VIP 198.18.100.1:80/tcp is missing from xlb_vips");
}

TEST_F(ApiTest, DetachRunsTheCallbackAndAsksTheDaemonToExit) {
  EXPECT_FALSE(api.exit_requested());
  EXPECT_NE(refused(R"({"cmd":"detach","now":true})"), "");
  EXPECT_FALSE(detached);
  EXPECT_TRUE(call(R"({"cmd":"detach"})")["ok"]);
  EXPECT_TRUE(detached);
  EXPECT_TRUE(api.exit_requested());
}

}  // namespace
}  // namespace xlb
