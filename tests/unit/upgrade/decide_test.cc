#include "upgrade/decide.h"

#include <gtest/gtest.h>

#include <string>

#include "upgrade/build_id.h"

namespace xlb::upgrade {
namespace {

Situation base() {
  Situation s;
  s.pinned = make_meta(XLB_ABI_VERSION, 0xaaaa);
  s.running = true;
  s.own_build = 0xaaaa;
  s.iface = "eth0";
  s.pin_dir = "/sys/fs/bpf/xlb/eth0";
  return s;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(UpgradeDecide, SameBuildIsKept) { EXPECT_EQ(decide(base()).action, Action::Keep); }

TEST(UpgradeDecide, OtherBuildSameAbiIsUpgraded) {
  Situation s = base();
  s.own_build = 0xbbbb;
  Decision d = decide(s);
  EXPECT_EQ(d.action, Action::Upgrade);
  EXPECT_TRUE(d.message.empty());
}

TEST(UpgradeDecide, NoUpgradeKeepsTheOldBuildLoudly) {
  Situation s = base();
  s.own_build = 0xbbbb;
  s.allow_upgrade = false;
  Decision d = decide(s);
  EXPECT_EQ(d.action, Action::KeepOld);
  EXPECT_TRUE(has(d.message, build_id_hex(0xaaaa))) << d.message;
  EXPECT_TRUE(has(d.message, build_id_hex(0xbbbb))) << d.message;
}

TEST(UpgradeDecide, NoProgramMeansLoadOverThePins) {
  Situation s = base();
  s.running = false;
  s.own_build = 0xbbbb;
  EXPECT_EQ(decide(s).action, Action::Load);
  s.own_build = 0xaaaa;
  EXPECT_EQ(decide(s).action, Action::Load);
}

TEST(UpgradeDecide, OtherAbiIsRefusedWithWhatToDo) {
  Situation s = base();
  s.pinned->abi_version = XLB_ABI_VERSION + 1;
  for (bool running : {true, false}) {
    s.running = running;
    Decision d = decide(s);
    EXPECT_EQ(d.action, Action::Refuse);
    EXPECT_TRUE(has(d.message, "from ABI " + std::to_string(XLB_ABI_VERSION + 1))) << d.message;
    EXPECT_TRUE(has(d.message, "this lbd is ABI " + std::to_string(XLB_ABI_VERSION))) << d.message;
    EXPECT_TRUE(has(d.message, "`lbd --detach eth0`")) << d.message;
    EXPECT_TRUE(has(d.message, "drops every flow")) << d.message;
    EXPECT_EQ(has(d.message, "left untouched"), running) << d.message;
  }
}

TEST(UpgradeDecide, OtherAbiIsRefusedEvenWithTheSameBuildOrNoUpgrade) {
  Situation s = base();
  s.pinned->abi_version = XLB_ABI_VERSION + 1;
  s.allow_upgrade = false;
  EXPECT_EQ(decide(s).action, Action::Refuse);
}

TEST(UpgradeDecide, PinsOlderThanAbiVersionsAreRefused) {
  Situation s = base();
  s.pinned.reset();
  Decision d = decide(s);
  EXPECT_EQ(d.action, Action::Refuse);
  EXPECT_TRUE(has(d.message, "older than ABI versions")) << d.message;
}

TEST(UpgradeDecide, AnUnwrittenMetaIsRefused) {
  Situation s = base();
  s.pinned = xlb_meta{};
  EXPECT_EQ(decide(s).action, Action::Refuse);
}

TEST(UpgradeMeta, MakeMetaFillsEveryField) {
  xlb_meta m = make_meta(7, 0x1234);
  EXPECT_EQ(m.magic, XLB_META_MAGIC);
  EXPECT_EQ(m.abi_version, 7u);
  EXPECT_EQ(m.build_id, 0x1234u);
}

TEST(UpgradeBuildId, Fnv1aKnownValues) {
  EXPECT_EQ(build_id_of("", 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(build_id_of("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(build_id_of("foobar", 6), 0x85944171f73967e8ull);
}

TEST(UpgradeBuildId, OneByteChangesTheId) {
  std::string a(4096, 'x'), b = a;
  b[2048] = 'y';
  EXPECT_NE(build_id_of(a.data(), a.size()), build_id_of(b.data(), b.size()));
}

TEST(UpgradeBuildId, HexIsSixteenDigits) {
  EXPECT_EQ(build_id_hex(0x1f), "000000000000001f");
  EXPECT_EQ(build_id_hex(0xffffffffffffffffull), "ffffffffffffffff");
}

}  // namespace
}  // namespace xlb::upgrade
