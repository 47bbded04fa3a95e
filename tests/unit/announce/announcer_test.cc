// The reconciler (ctl/announce/announcer.h) over a fake routing table, the
// drain flag's file, and --announce-table's validation.
#include "announce/announcer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "announce/node_state.h"
#include "core/error.h"

namespace xlb::announce {
namespace {

IpAddr ip(const char* s) { return IpAddr::parse(s); }

struct FakeTable : RouteTable {
  std::set<IpAddr> routes;
  int adds = 0, removes = 0, lists = 0;
  bool failing = false;
  std::set<IpAddr> list() override {
    lists++;
    if (failing) throw SystemError("cannot list routing table 100 (rtnetlink dump): Operation not permitted");
    return routes;
  }
  void add(const IpAddr& a) override {
    if (failing) throw SystemError("cannot add the route");
    adds++;
    routes.insert(a);
  }
  void remove(const IpAddr& a) override {
    if (failing) throw SystemError("cannot delete the route");
    removes++;
    routes.erase(a);
  }
};

struct AnnouncerTest : ::testing::Test {
  std::string dir;
  FakeTable* table = nullptr;
  std::vector<std::string> logs, warns;
  void SetUp() override {
    char tmpl[] = "/tmp/xlb-announce-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string node_path() const { return dir + "/eth0.node.json"; }
  std::unique_ptr<Announcer> make(std::optional<uint32_t> n = 100, std::set<IpAddr> present = {}) {
    auto t = std::make_unique<FakeTable>();
    t->routes = std::move(present);
    table = t.get();
    auto a = std::make_unique<Announcer>(n, std::move(t), node_path(),
                                         AnnouncerHooks{[this](const std::string& l) { logs.push_back(l); },
                                                        [this](const std::string& l) { warns.push_back(l); }});
    a->load();
    return a;
  }
};

TEST_F(AnnouncerTest, AnnouncesServedAndWithdrawsTheRest) {
  auto a = make(100, {ip("198.18.100.9")});  // a stale route of an earlier run
  a->set_served({ip("198.18.100.1"), ip("fd00:100::1")}, 0);
  EXPECT_EQ(table->routes, (std::set<IpAddr>{ip("198.18.100.1"), ip("fd00:100::1")}));
  a->set_served({ip("fd00:100::1")}, 10);
  EXPECT_EQ(table->routes, (std::set<IpAddr>{ip("fd00:100::1")}));
  EXPECT_EQ(a->status()["announced"], nlohmann::json::array({"fd00:100::1"}));
  EXPECT_EQ(a->status()["table"], 100);
  EXPECT_FALSE(a->status().contains("error"));
}

TEST_F(AnnouncerTest, RestartWritesOnlyTheDifference) {
  // A restarted lbd finds its routes in place: nothing is removed and
  // added again (no flush), so no route ever disappears.
  auto a = make(100, {ip("198.18.100.1"), ip("198.18.100.2")});
  a->set_served({ip("198.18.100.1"), ip("198.18.100.2")}, 0);
  EXPECT_EQ(table->adds, 0);
  EXPECT_EQ(table->removes, 0);
  EXPECT_EQ(a->announced().size(), 2u);
}

TEST_F(AnnouncerTest, TickIsCheapAndRedumpsToRepair) {
  auto a = make();
  a->set_served({ip("198.18.100.1")}, 0);
  int lists = table->lists;
  a->tick(100);
  a->tick(kRedumpMs - 1);
  EXPECT_EQ(table->lists, lists);  // nothing changed: no dump
  table->routes.clear();            // `ip route del` by hand
  a->tick(kRedumpMs);
  EXPECT_EQ(table->routes, (std::set<IpAddr>{ip("198.18.100.1")}));
  EXPECT_NE(logs.back().find("again"), std::string::npos) << logs.back();
}

TEST_F(AnnouncerTest, DrainWithdrawsAllUndrainAnnouncesAgainAndPersists) {
  auto a = make();
  a->set_served({ip("198.18.100.1"), ip("198.18.100.2")}, 0);
  a->set_drained(true, 1);
  EXPECT_TRUE(table->routes.empty());
  EXPECT_TRUE(read_drained(node_path()));
  EXPECT_EQ(a->status()["drained"], true);
  // Served changes while drained announce nothing.
  a->set_served({ip("198.18.100.3")}, 2);
  EXPECT_TRUE(table->routes.empty());

  // A restart keeps the node drained.
  auto b = make(100, {});
  EXPECT_TRUE(b->drained());
  b->set_served({ip("198.18.100.3")}, 0);
  EXPECT_TRUE(table->routes.empty());
  b->set_drained(false, 1);
  EXPECT_EQ(table->routes, (std::set<IpAddr>{ip("198.18.100.3")}));
  EXPECT_FALSE(read_drained(node_path()));
}

TEST_F(AnnouncerTest, DetachWithdrawsEverything) {
  auto a = make();
  a->set_served({ip("198.18.100.1")}, 0);
  a->set_attached(false, 1);
  EXPECT_TRUE(table->routes.empty());
  a->set_served({ip("198.18.100.1"), ip("198.18.100.2")}, 2);
  a->tick(kRedumpMs * 2);
  EXPECT_TRUE(table->routes.empty());
  a->set_attached(true, kRedumpMs * 2 + 1);  // detaching failed: the program still forwards
  EXPECT_EQ(table->routes.size(), 2u);
}

TEST_F(AnnouncerTest, FailuresAreLoggedOnceShownAndRetried) {
  auto a = make();
  table->failing = true;
  a->set_served({ip("198.18.100.1")}, 0);  // never throws
  EXPECT_EQ(warns.size(), 1u);
  EXPECT_NE(a->status().value("error", ""), "");
  a->tick(kRetryMs / 2);
  int lists = table->lists;
  for (int64_t t = kRetryMs; t <= 10 * kRetryMs; t += kRetryMs) a->tick(t);
  EXPECT_EQ(table->lists, lists + 10);  // retried every kRetryMs
  EXPECT_EQ(warns.size(), 1u);          // but said once
  table->failing = false;
  a->tick(11 * kRetryMs);
  EXPECT_EQ(table->routes, (std::set<IpAddr>{ip("198.18.100.1")}));
  EXPECT_FALSE(a->status().contains("error"));
  EXPECT_NE(logs.back().find("written again"), std::string::npos);
}

TEST_F(AnnouncerTest, WithoutATableOnlyTheFlagIsKept) {
  auto a = make(std::nullopt);
  a->set_served({ip("198.18.100.1")}, 0);
  a->set_drained(true, 1);
  a->tick(kRedumpMs * 3);
  EXPECT_TRUE(table->routes.empty());
  EXPECT_EQ(table->lists, 0);
  EXPECT_TRUE(read_drained(node_path()));
  auto s = a->status();
  EXPECT_TRUE(s["table"].is_null());
  EXPECT_EQ(s["drained"], true);
  EXPECT_EQ(s["announced"], nlohmann::json::array());
}

TEST_F(AnnouncerTest, DrainFailsWhenTheFlagCannotBeSaved) {
  std::filesystem::create_directory(node_path());  // the rename onto it fails
  auto a = make();
  a->set_served({ip("198.18.100.1")}, 0);
  EXPECT_THROW(a->set_drained(true, 1), SystemError);
  EXPECT_FALSE(a->drained());
  EXPECT_EQ(table->routes.size(), 1u);
}

TEST(NodeState, ReadWrite) {
  char tmpl[] = "/tmp/xlb-node-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string path = dir + "/eth0.node.json";
  EXPECT_FALSE(read_drained(path));  // no file: not drained
  write_drained(path, true);
  EXPECT_TRUE(read_drained(path));
  write_drained(path, false);
  EXPECT_FALSE(read_drained(path));
  std::ofstream(path) << "{\"drained\": 1}";
  EXPECT_THROW(read_drained(path), InputError);
  std::filesystem::remove_all(dir);
}

TEST(ParseTable, AcceptsOwnTablesOnly) {
  EXPECT_EQ(parse_table("100"), 100u);
  EXPECT_EQ(parse_table("1"), 1u);
  EXPECT_EQ(parse_table("252"), 252u);
  EXPECT_EQ(parse_table("256"), 256u);
  EXPECT_EQ(parse_table("2147483648"), 2147483648u);
  for (const char* bad : {"0", "253", "254", "255", "2147483649", "99999999999", "-1", "abc", "", "10x", " 100"})
    EXPECT_THROW(parse_table(bad), InputError) << bad;
  try {
    parse_table("254");
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("main"), std::string::npos);
  }
}

}  // namespace
}  // namespace xlb::announce
