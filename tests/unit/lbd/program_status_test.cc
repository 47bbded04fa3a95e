// status's "program" (api.h DaemonInfo::meta and build_id): the pins' ABI
// version and the running build from xlb_meta, lbd's own, and whether they
// match (docs/api.md).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "balancer_fixture.h"
#include "lbd/api.h"
#include "upgrade/decide.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using Json = nlohmann::json;

class ProgramStatusTest : public BalancerTest {
 protected:
  Json program() { return Json::parse(api.handle(R"({"cmd":"status"})")).at("program"); }
  std::optional<xlb_meta> meta = upgrade::make_meta(XLB_ABI_VERSION, 0xabc);
  DaemonInfo info() {
    DaemonInfo i;
    i.meta = [this] { return meta; };
    i.build_id = 0xabc;
    return i;
  }
  Api api{*lb, info(), [] {}};
};

TEST_F(ProgramStatusTest, TheSameBuildMatches) {
  Json p = program();
  EXPECT_EQ(p["abi_version"], XLB_ABI_VERSION);
  EXPECT_EQ(p["lbd_abi_version"], XLB_ABI_VERSION);
  EXPECT_EQ(p["build_id"], "0000000000000abc");
  EXPECT_EQ(p["lbd_build_id"], "0000000000000abc");
  EXPECT_EQ(p["build_matches"], true);
}

TEST_F(ProgramStatusTest, AnOlderBuildKeptDoesNotMatch) {
  meta->build_id = 0x123;
  Json p = program();
  EXPECT_EQ(p["build_id"], "0000000000000123");
  EXPECT_EQ(p["lbd_build_id"], "0000000000000abc");
  EXPECT_EQ(p["build_matches"], false);
}

TEST_F(ProgramStatusTest, AnUnreadableMetaIsNullNotAMatch) {
  meta.reset();
  Json p = program();
  EXPECT_TRUE(p["abi_version"].is_null());
  EXPECT_TRUE(p["build_id"].is_null());
  EXPECT_EQ(p["lbd_abi_version"], XLB_ABI_VERSION);
  EXPECT_EQ(p["build_matches"], false);
}

}  // namespace
}  // namespace xlb
