// lbctl doctor against a fake lbd: the request, the text, --json, the exit
// code, and the second sample taken only when a drop counter is non-zero.
#include <gtest/gtest.h>

#include "cli_runner.h"

namespace xlb::lbctl::testing {
namespace {

using nlohmann::json;

json checks(const std::string& problem_check = "", const std::string& note_check = "") {
  json out = json::array();
  for (std::string name : {"forwarding", "xdp_mode", "mtu", "reachability", "decap", "sync", "data_path", "reaper",
                           "health_state", "drops"})
    out.push_back({{"name", name},
                   {"status", name == problem_check ? "problem" : name == note_check ? "note" : "ok"}});
  return out;
}

json healthy_answer() {
  return {{"ok", true},        {"healthy", true},   {"checks", checks()},
          {"findings", json::array()}, {"counters", {{"rx", 5}, {"drop_mtu", 0}}}, {"sampled_ms", 1000}};
}

TEST(DoctorTest, HealthyExitsZeroWithOneRequest) {
  FakeLbd lbd = FakeLbd::answering(healthy_answer());
  CliResult r = run_cli(lbd, {"doctor"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "ok      forwarding\nok      xdp_mode\nok      mtu\nok      reachability\nok      decap\nok      sync\n"
            "ok      data_path\nok      reaper\nok      health_state\nok      drops\n\n"
            "no problems (docs/troubleshooting.md explains each check)\n");
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0], json({{"cmd", "doctor"}}));
}

json sick_answer() {
  return {{"ok", true},
          {"healthy", false},
          {"checks", checks("forwarding", "decap")},
          {"findings",
           {{{"check", "forwarding"},
             {"level", "problem"},
             {"subject", "eth0"},
             {"what", "net.ipv4.conf.eth0.forwarding is 0"},
             {"fix", "sysctl -w net.ipv4.conf.all.forwarding=1"}},
            {{"check", "decap"},
             {"level", "note"},
             {"subject", "198.18.100.1:80/tcp backend 198.19.0.11"},
             {"what", "not verified"},
             {"fix", "add a health check to verify"}}}},
          {"counters", {{"drop_fwd_disabled", 3}}},
          {"sampled_ms", 1000}};
}

TEST(DoctorTest, ProblemsArePrintedWithTheirFixAndExitOne) {
  FakeLbd lbd = FakeLbd::answering(sick_answer());
  CliResult r = run_cli(lbd, {"doctor", "--interval", "0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("PROBLEM forwarding\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("note    decap\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PROBLEM [forwarding] eth0\n  net.ipv4.conf.eth0.forwarding is 0\n"
                       "  fix: sysctl -w net.ipv4.conf.all.forwarding=1\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("note [decap] 198.18.100.1:80/tcp backend 198.19.0.11\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 problem, 1 note"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "lbctl: doctor found problems (see above)\n");
  EXPECT_EQ(lbd.requests().size(), 1u);  // --interval 0: one sample
}

TEST(DoctorTest, ANonZeroDropCounterTakesASecondSampleWithTheFirstAsBaseline) {
  FakeLbd lbd = FakeLbd::answering(sick_answer());
  CliResult r = run_cli(lbd, {"doctor", "--interval", "0.01"});
  EXPECT_EQ(r.code, 1);
  auto requests = lbd.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1], json({{"cmd", "doctor"}, {"baseline", {{"counters", {{"drop_fwd_disabled", 3}}}}}}));
}

TEST(DoctorTest, JsonPrintsTheAnswer) {
  FakeLbd lbd = FakeLbd::answering(healthy_answer());
  CliResult r = run_cli(lbd, {"doctor", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  json shown = json::parse(r.out);
  EXPECT_TRUE(shown["healthy"].get<bool>());
  EXPECT_FALSE(shown.contains("ok"));
}

TEST(DoctorTest, BadUsageAndMalformedAnswers) {
  EXPECT_EQ(run_cli({"doctor", "--interval", "-1"}).code, 2);
  EXPECT_EQ(run_cli({"doctor", "extra"}).code, 2);
  FakeLbd lbd = FakeLbd::answering({{"ok", true}, {"healthy", true}});
  CliResult r = run_cli(lbd, {"doctor"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("malformed answer from lbd"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace xlb::lbctl::testing
