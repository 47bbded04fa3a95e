// An operation that fails is exit 1 with one line on stderr saying why.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>

#include "cli_runner.h"
#include "core/error.h"
#include "lbctl/client.h"
#include "lbctl/commands.h"

namespace xlb::lbctl::testing {
namespace {

using nlohmann::json;

TEST(FailureTest, DaemonRefusalShowsItsMessage) {
  FakeLbd lbd = FakeLbd::answering({{"ok", false}, {"error", "unknown VIP 198.18.100.9:80/tcp"}});
  CliResult result = run_cli(lbd, {"del-vip", "198.18.100.9:80", "--proto", "tcp"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "lbctl: unknown VIP 198.18.100.9:80/tcp\n");
}

TEST(FailureTest, NothingListeningAsksWhetherLbdRuns) {
  std::string path;
  {
    FakeLbd gone(std::nullopt);  // its socket path, after it is removed
    path = gone.path();
  }
  CliResult result = run_cli({"--socket", path, "status"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "lbctl: cannot connect to lbd at " + path + ": No such file or directory (is lbd running?)\n");
}

TEST(FailureTest, ConnectionClosedWithoutAnswer) {
  FakeLbd lbd("");
  CliResult result = run_cli(lbd, {"list"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "lbctl: lbd closed the connection without answering\n");
}

TEST(FailureTest, AnswerThatIsNotJson) {
  FakeLbd lbd("<html>\n");
  CliResult result = run_cli(lbd, {"list"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "lbctl: malformed answer from lbd: not JSON: <html>\n");
}

TEST(FailureTest, AnswerWithoutOk) {
  FakeLbd lbd = FakeLbd::answering({{"vips", json::array()}});
  CliResult result = run_cli(lbd, {"list"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find("malformed answer from lbd: no boolean \"ok\""), std::string::npos) << result.err;
}

TEST(FailureTest, AnswerLackingAFieldThatIsShownPrintsOnlyTheError) {
  json vip = {{"vip", "198.18.100.1:80"}, {"proto", "tcp"}, {"sched", "maglev"}, {"mode", "ipip"}};  // no ring_size
  FakeLbd lbd = FakeLbd::answering({{"ok", true}, {"vips", json::array({vip})}});
  CliResult result = run_cli(lbd, {"list"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("malformed answer from lbd: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("ring_size"), std::string::npos) << result.err;
}

TEST(FailureTest, UnreadableConfigFileIsAnOperationFailure) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  std::string path = lbd.path() + ".missing.json";
  CliResult result = run_cli(lbd, {"apply", "-f", path});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "lbctl: cannot read config file " + path + ": No such file or directory\n");
  EXPECT_TRUE(lbd.requests().empty());
}

TEST(FailureTest, ConfigPathThatIsADirectoryIsAnOperationFailure) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  CliResult result = run_cli(lbd, {"apply", "-f", "/"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "lbctl: cannot read config file /: Is a directory\n");
  EXPECT_TRUE(lbd.requests().empty());
}

TEST(FailureTest, SilentDaemonTimesOut) {
  FakeLbd lbd(std::nullopt);
  try {
    call_lbd(lbd.path(), Json{{"cmd", "status"}}, std::chrono::milliseconds(200));
    FAIL() << "no timeout";
  } catch (const SystemError& e) {
    EXPECT_EQ(std::string(e.what()), "lbd at " + lbd.path() +
                                         " did not answer within 200 ms (a long request may keep it busy: try "
                                         "again, or raise --timeout)");
  }
}

// A change that times out may still be carried out (a 100-VIP apply took
// lbd 12.2 s against lbctl's 10): lbctl says the outcome is unknown and how
// to learn it.
TEST(FailureTest, AChangeThatTimesOutSaysItMayStillComplete) {
  FakeLbd lbd(std::nullopt);
  CliResult result = run_cli(lbd, {"--timeout", "0.2", "add-vip", "198.18.100.1:80", "--proto", "tcp"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "lbctl: lbd at " + lbd.path() +
                            " did not answer within 200 ms: the request may still complete; check with 'lbctl "
                            "list' before retrying (--timeout gives lbd longer)\n");
  EXPECT_EQ(lbd.requests().size(), 1u);
}

TEST(FailureTest, TimeoutMayFollowTheCommandAndTakesWholeSeconds) {
  FakeLbd lbd(std::nullopt);
  CliResult result = run_cli(lbd, {"list", "--timeout", "1"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find("did not answer within 1 s (a long request"), std::string::npos) << result.err;
}

// lbd answers a client it has no room for at once and closes, unread. A
// request larger than the socket's buffer then fails to send, and lbctl
// shows lbd's answer rather than "Broken pipe".
TEST(FailureTest, AnAnswerBeforeTheRequestIsSentIsShown) {
  FakeLbd lbd = FakeLbd::answering_at_once({{"ok", false}, {"error", "lbd is busy: 64 clients connected; try again"}});
  std::string path = lbd.path() + ".json";
  std::ofstream(path) << "{\"vips\": [], \"padding\": \"" << std::string(4u << 20, 'x') << "\"}";
  CliResult result = run_cli(lbd, {"apply", "-f", path});
  ::unlink(path.c_str());
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "lbctl: lbd is busy: 64 clients connected; try again\n");
}

TEST(FailureTest, TheDefaultTimeoutIsTenSeconds) {
  Context ctx{"", std::cout, std::cerr};
  EXPECT_EQ(ctx.timeout, std::chrono::seconds(10));
}

TEST(FailureTest, AnswerEndedByEofInsteadOfNewlineIsAccepted) {
  FakeLbd lbd(R"({"ok": true, "vips": []})");
  CliResult result = run_cli(lbd, {"list"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "no VIPs\n");
}

}  // namespace
}  // namespace xlb::lbctl::testing
