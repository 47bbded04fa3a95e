// What lbd starts from: the pinned maps, the state file, the --config file.
#include "state/start_plan.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "core/error.h"
#include "state/state_file.h"

namespace xlb::state {
namespace {

TEST(StartPlan, ARestartKeepsThePinnedMaps) {
  StartPlan p = plan_start({true, true, std::nullopt, std::nullopt});
  EXPECT_FALSE(p.apply_state);
  EXPECT_FALSE(p.apply_config);
}

TEST(StartPlan, AfterARebootTheStateFileRebuildsTheRunningState) {
  StartPlan p = plan_start({false, true, std::nullopt, std::nullopt});
  EXPECT_TRUE(p.apply_state);
  EXPECT_FALSE(p.apply_config);
}

TEST(StartPlan, TheConfigLastAppliedDoesNotUndoLbctlChanges) {
  for (bool maps : {true, false}) {
    StartPlan p = plan_start({maps, true, std::string("aa"), std::string("aa")});
    EXPECT_FALSE(p.apply_config) << maps;
    EXPECT_EQ(p.apply_state, !maps);
  }
}

TEST(StartPlan, AnEditedConfigIsApplied) {
  StartPlan p = plan_start({true, true, std::string("aa"), std::string("bb")});
  EXPECT_TRUE(p.apply_config);
  EXPECT_NE(p.why.find("changed"), std::string::npos);
}

TEST(StartPlan, AConfigNeverAppliedIsApplied) {
  EXPECT_TRUE(plan_start({true, true, std::nullopt, std::string("aa")}).apply_config);
  EXPECT_TRUE(plan_start({false, false, std::nullopt, std::string("aa")}).apply_config);
  StartPlan fresh = plan_start({false, false, std::nullopt, std::nullopt});
  EXPECT_FALSE(fresh.apply_state || fresh.apply_config);
}

TEST(StartPlan, TheHashTellsFilesApart) {
  EXPECT_EQ(content_hash(""), "cbf29ce484222325");
  EXPECT_NE(content_hash("{\"vips\": []}"), content_hash("{\"vips\": [] }"));
  EXPECT_EQ(content_hash("x"), content_hash("x"));
}

TEST(StateFile, RoundTripsAndRefusesWhatItDidNotWrite) {
  std::string path = ::testing::TempDir() + "xlb-state-" + std::to_string(getpid()) + ".json";
  EXPECT_FALSE(read_state(path));
  Saved s{nlohmann::json::parse(R"({"vips": [], "hash_seed": 3})"), std::string("0123456789abcdef")};
  write_state(path, s);
  auto back = read_state(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->config, s.config);
  EXPECT_EQ(back->config_applied, s.config_applied);
  std::ofstream(path) << R"({"version": 9, "config": {}})";
  EXPECT_THROW(read_state(path), InputError);
  std::ofstream(path) << "{";
  EXPECT_THROW(read_state(path), InputError);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace xlb::state
