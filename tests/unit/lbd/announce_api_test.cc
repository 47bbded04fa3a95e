// The API's side of announcing VIPs (issue 14): the "node" request and
// status's "announce", over an Announcer on a fake routing table.
#include <gtest/gtest.h>

#include "announce/announcer.h"
#include "announce/desired.h"
#include "balancer_fixture.h"
#include "lbd/api.h"
#include "netwatch/rtnl_messages.h"

namespace xlb {
namespace {

using Json = nlohmann::json;

// lbd's route-change watcher ignores the announcer's routes by this number.
static_assert(announce::kProto == netwatch::kXlbRtProto, "one protocol number for xlb's routes");

struct FakeTable : announce::RouteTable {
  std::set<IpAddr> routes;
  std::set<IpAddr> list() override { return routes; }
  void add(const IpAddr& a) override { routes.insert(a); }
  void remove(const IpAddr& a) override { routes.erase(a); }
};

class AnnounceApiTest : public testing::BalancerTest {
 protected:
  FakeTable* table = new FakeTable;
  announce::Announcer announcer{100, std::unique_ptr<FakeTable>(table), "", {}};
  DaemonInfo info() {
    DaemonInfo i;
    i.announce = [this] { return announcer.status(); };
    i.set_drained = [this](bool d) { announcer.set_drained(d, 0); };
    i.after_change = [this] { announcer.set_served(announce::served_addresses(lb->list()), 0); };
    return i;
  }
  Api api{*lb, info(), [] {}};
  Json call(const std::string& r) { return Json::parse(api.handle(r)); }
};

TEST_F(AnnounceApiTest, NodeDrainAndUndrain) {
  ASSERT_TRUE(call(R"({"cmd":"add-vip","vip":"198.18.100.1:80","proto":"tcp"})")["ok"]);
  EXPECT_TRUE(table->routes.empty());  // no backend yet
  ASSERT_TRUE(call(R"({"cmd":"add-backend","vip":"198.18.100.1:80","proto":"tcp","backend":"198.19.0.11"})")["ok"]);
  EXPECT_EQ(call(R"({"cmd":"status"})")["announce"],
            (Json{{"table", 100}, {"drained", false}, {"announced", {"198.18.100.1"}}}));

  Json drained = call(R"({"cmd":"node","action":"drain"})");
  ASSERT_TRUE(drained["ok"]) << drained;
  EXPECT_EQ(drained["announce"]["drained"], true);
  EXPECT_TRUE(table->routes.empty());
  EXPECT_EQ(maps->vips.size(), 1u);  // forwarding is untouched

  ASSERT_TRUE(call(R"({"cmd":"node","action":"undrain"})")["ok"]);
  EXPECT_EQ(table->routes.size(), 1u);
}

TEST_F(AnnounceApiTest, BadNodeRequestsAreRefused) {
  EXPECT_FALSE(call(R"({"cmd":"node"})")["ok"]);
  EXPECT_FALSE(call(R"({"cmd":"node","action":"reboot"})")["ok"]);
  EXPECT_FALSE(call(R"({"cmd":"node","action":"drain","extra":1})")["ok"]);
  EXPECT_FALSE(announcer.drained());
}

TEST_F(AnnounceApiTest, WithoutAnAnnouncerStatusSaysNullAndDrainFails) {
  Api bare{*lb, DaemonInfo{}, [] {}};
  Json status = Json::parse(bare.handle(R"({"cmd":"status"})"));
  EXPECT_TRUE(status.contains("announce"));
  EXPECT_TRUE(status["announce"].is_null());
  EXPECT_FALSE(Json::parse(bare.handle(R"({"cmd":"node","action":"drain"})"))["ok"]);
}

}  // namespace
}  // namespace xlb
