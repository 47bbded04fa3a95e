// Bad usage is exit 2 with one line naming the problem, found before lbd is
// contacted.
#include <gtest/gtest.h>

#include <fstream>

#include "cli_runner.h"
#include "core/request_limits.h"

namespace xlb::lbctl::testing {
namespace {

struct UsageCase {
  const char* name;
  std::vector<std::string> args;
  std::string named_in_message;  // what the message must mention
};

class UsageTest : public ::testing::TestWithParam<UsageCase> {};

TEST_P(UsageTest, ExitsTwoWithOneLineAndSendsNothing) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  CliResult result = run_cli(lbd, GetParam().args);
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err.rfind("lbctl: ", 0), 0u) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_NE(result.err.find(GetParam().named_in_message), std::string::npos) << result.err;
  EXPECT_TRUE(lbd.requests().empty());
}

const UsageCase kCases[] = {
    {"bad_vip_address", {"add-vip", "198.18.100.300:80", "--proto", "tcp"}, "198.18.100.300"},
    {"vip_port_zero", {"add-vip", "198.18.100.1:0", "--proto", "tcp"}, "198.18.100.1:0"},
    {"vip_port_too_big", {"add-vip", "198.18.100.1:65536", "--proto", "tcp"}, "65536"},
    {"vip_without_port", {"del-vip", "198.18.100.1", "--proto", "tcp"}, "VIP"},
    {"v6_vip_without_brackets", {"add-vip", "fd00:100::1:80", "--proto", "tcp"}, "fd00:100::1:80"},
    {"missing_proto", {"add-vip", "198.18.100.1:80"}, "--proto"},
    {"unknown_proto", {"add-vip", "198.18.100.1:80", "--proto", "sctp"}, "sctp"},
    {"unknown_sched", {"add-vip", "198.18.100.1:80", "--proto", "tcp", "--sched", "lc"}, "--sched"},
    // The API's spelling is least-conn; the enum's underscore is not accepted.
    {"sched_with_underscore", {"add-vip", "198.18.100.1:80", "--proto", "tcp", "--sched", "least_conn"}, "least_conn"},
    {"drain_backend_without_proto", {"drain-backend", "198.18.100.1:80", "198.19.0.11"}, "--proto"},
    {"drain_backend_without_backend", {"drain-backend", "198.18.100.1:80", "--proto", "tcp"}, "ADDR"},
    {"drain_backend_bad_address",
     {"drain-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.256"},
     "198.19.0.256"},
    {"drain_backend_takes_no_weight",
     {"drain-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--weight", "0"},
     "--weight"},
    {"unknown_mode", {"add-vip", "198.18.100.1:80", "--proto", "tcp", "--mode", "dsr"}, "--mode"},
    {"ring_size_not_prime", {"add-vip", "198.18.100.1:80", "--proto", "tcp", "--ring-size", "65536"}, "65536"},
    {"ring_size_too_big", {"add-vip", "198.18.100.1:80", "--proto", "tcp", "--ring-size", "2000003"}, "2000003"},
    {"bad_backend_address", {"add-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0"}, "198.19.0"},
    {"backend_with_port", {"add-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11:80"}, "198.19.0.11:80"},
    {"missing_backend", {"add-backend", "198.18.100.1:80", "--proto", "tcp"}, "ADDR"},
    {"weight_zero_on_add",
     {"add-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--weight", "0"},
     "--weight"},
    {"weight_too_big",
     {"set-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--weight", "65536"},
     "65536"},
    {"weight_not_a_number",
     {"set-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--weight", "ten"},
     "ten"},
    {"weight_negative",
     {"add-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--weight", "-1"},
     "--weight"},
    {"set_backend_without_weight", {"set-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11"}, "--weight"},
    {"flows_vip_without_proto", {"flows", "--vip", "198.18.100.1:80"}, "--proto"},
    {"flows_limit_zero", {"flows", "--limit", "0"}, "--limit"},
    {"unknown_command", {"frobnicate"}, "frobnicate"},
    {"no_command", {}, "command"},
    {"unknown_option", {"list", "--verbose"}, "--verbose"},
    {"apply_without_file", {"apply"}, "--file"},
    {"mode_in_capitals", {"add-vip", "198.18.100.1:80", "--proto", "tcp", "--mode", "NAT"}, "NAT"},
    {"port_zero", {"add-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--port", "0"}, "--port"},
    {"port_too_big",
     {"del-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--port", "65536"},
     "65536"},
    {"port_not_a_number",
     {"set-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--port", "http", "--weight", "1"},
     "http"},
    {"drain_backend_port_negative",
     {"drain-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--port", "-1"},
     "--port"},
    {"flows_backend_port_without_backend", {"flows", "--backend-port", "8080"}, "--backend"},
    {"flows_backend_port_zero", {"flows", "--backend", "198.19.0.11", "--backend-port", "0"}, "--backend-port"},
    {"timeout_zero", {"--timeout", "0", "status"}, "--timeout"},
    {"timeout_negative", {"--timeout", "-1", "status"}, "--timeout"},
    {"timeout_not_a_number", {"--timeout", "soon", "status"}, "--timeout"},
};

INSTANTIATE_TEST_SUITE_P(Arguments, UsageTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(UsageTest, ApplyOfAFileThatIsNotJsonIsBadUsage) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  std::string path = lbd.path() + ".json";
  std::ofstream(path) << "{\"vips\": [\n";
  CliResult result = run_cli(lbd, {"apply", "-f", path});
  ::unlink(path.c_str());
  EXPECT_EQ(result.code, 2);
  EXPECT_NE(result.err.find("config file " + path + " is not valid JSON: "), std::string::npos) << result.err;
  EXPECT_TRUE(lbd.requests().empty());
}

TEST(UsageTest, ApplyOfJsonThatIsNotAnObjectIsBadUsage) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  std::string path = lbd.path() + ".json";
  std::ofstream(path) << "[]";
  CliResult result = run_cli(lbd, {"apply", "-f", path});
  ::unlink(path.c_str());
  EXPECT_EQ(result.code, 2);
  EXPECT_NE(result.err.find("must hold a JSON object"), std::string::npos) << result.err;
  EXPECT_TRUE(lbd.requests().empty());
}

// lbd refuses requests over 16 MiB: lbctl reads one byte more and stops,
// where it read /dev/zero until memory ran out.
TEST(UsageTest, ApplyOfAFileOverLbdsRequestCapIsBadUsage) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  CliResult result = run_cli(lbd, {"apply", "-f", "/dev/zero"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "lbctl: config file /dev/zero is larger than 16 MiB, the most lbd takes in one request\n");
  EXPECT_TRUE(lbd.requests().empty());
}

TEST(UsageTest, ApplyOfAFileAtLbdsRequestCapIsSent) {
  // 16 MiB exactly, mostly blanks around a config: read whole, and the
  // request made of it (blanks dropped) is within the cap.
  FakeLbd lbd = FakeLbd::answering({{"ok", true}, {"added", 0}, {"removed", 0}, {"changed", 0}});
  std::string path = lbd.path() + ".json";
  std::string config = "{\"vips\": []}";
  std::ofstream(path) << config << std::string(kMaxRequestBytes - config.size(), ' ');
  CliResult result = run_cli(lbd, {"apply", "-f", path});
  ::unlink(path.c_str());
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(lbd.requests().size(), 1u);
}

TEST(UsageTest, ApplyOfAFileNestedDeeperThanLbdTakesIsBadUsage) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  std::string path = lbd.path() + ".json";
  std::ofstream(path) << "{\"vips\": " << std::string(100, '[') << std::string(100, ']') << "}";
  CliResult result = run_cli(lbd, {"apply", "-f", path});
  ::unlink(path.c_str());
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "lbctl: config file " + path + " nests arrays and objects deeper than 64 levels, the most lbd takes\n");
  EXPECT_TRUE(lbd.requests().empty());
}

TEST(UsageTest, HelpIsSuccessAndGoesToStdout) {
  CliResult result = run_cli({"add-backend", "--help"});
  EXPECT_EQ(result.code, 0);
  EXPECT_NE(result.out.find("--weight"), std::string::npos) << result.out;
  EXPECT_EQ(result.err, "");
}

}  // namespace
}  // namespace xlb::lbctl::testing
