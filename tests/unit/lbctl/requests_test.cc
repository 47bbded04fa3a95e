// Each lbctl command sends exactly the request docs/api.md documents for it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>

#include "cli_runner.h"

namespace xlb::lbctl::testing {
namespace {

using nlohmann::json;

// Enough of every answer for every command to render it.
json universal_answer() {
  return {{"ok", true}, {"vips", json::array()}, {"global", json::object()}, {"flows", json::array()},
          {"total", 0}, {"truncated", false},    {"flows_removed", 0}};
}

struct RequestCase {
  const char* name;
  std::vector<std::string> args;
  json request;
};

class RequestTest : public ::testing::TestWithParam<RequestCase> {};

TEST_P(RequestTest, SendsTheDocumentedRequest) {
  FakeLbd lbd = FakeLbd::answering(universal_answer());
  CliResult result = run_cli(lbd, GetParam().args);
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0], GetParam().request);
}

const RequestCase kCases[] = {
    {"status", {"status"}, {{"cmd", "status"}}},
    {"list", {"list"}, {{"cmd", "list"}}},
    {"stats", {"stats", "--json"}, {{"cmd", "stats"}}},
    {"flows", {"flows"}, {{"cmd", "flows"}}},
    {"flows_filtered",
     {"flows", "--vip", "198.18.100.1:80", "--proto", "tcp", "--backend", "198.19.0.11", "--limit", "5"},
     {{"cmd", "flows"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"}, {"backend", "198.19.0.11"}, {"limit", 5}}},
    {"add_vip",
     {"add-vip", "198.18.100.1:80", "--proto", "tcp"},
     {{"cmd", "add-vip"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"}, {"sched", "maglev"}, {"mode", "ipip"}}},
    {"add_vip_v6_ring",
     {"add-vip", "[fd00:100::1]:53", "--proto", "udp", "--ring-size", "251", "--sched", "maglev", "--mode", "ipip"},
     {{"cmd", "add-vip"},
      {"vip", "[fd00:100::1]:53"},
      {"proto", "udp"},
      {"sched", "maglev"},
      {"mode", "ipip"},
      {"ring_size", 251}}},
    {"del_vip",
     {"del-vip", "198.18.100.1:80", "--proto", "tcp"},
     {{"cmd", "del-vip"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"}}},
    {"add_backend",
     {"add-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--weight", "2"},
     {{"cmd", "add-backend"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"}, {"backend", "198.19.0.11"}, {"weight", 2}}},
    {"add_backend_v6_default_weight",
     {"add-backend", "[fd00:100::1]:80", "--proto", "tcp", "fd00:19::11"},
     {{"cmd", "add-backend"}, {"vip", "[fd00:100::1]:80"}, {"proto", "tcp"}, {"backend", "fd00:19::11"}}},
    {"add_backend_v6_to_v4_vip",
     {"add-backend", "198.18.100.1:80", "--proto", "tcp", "fd00:19::11"},
     {{"cmd", "add-backend"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"}, {"backend", "fd00:19::11"}}},
    {"del_backend",
     {"del-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11"},
     {{"cmd", "del-backend"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"}, {"backend", "198.19.0.11"}}},
    {"del_backend_purge",
     {"del-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--purge"},
     {{"cmd", "del-backend"},
      {"vip", "198.18.100.1:80"},
      {"proto", "tcp"},
      {"backend", "198.19.0.11"},
      {"purge", true}}},
    {"drain_backend",
     {"drain-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11"},
     {{"cmd", "drain-backend"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"}, {"backend", "198.19.0.11"}}},
    {"drain_backend_v6",
     {"drain-backend", "[FD00:100::1]:80", "--proto", "udp", "FD00:19::0011"},
     {{"cmd", "drain-backend"}, {"vip", "[fd00:100::1]:80"}, {"proto", "udp"}, {"backend", "fd00:19::11"}}},
    {"set_backend_drain",
     {"set-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--weight", "0"},
     {{"cmd", "set-backend"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"}, {"backend", "198.19.0.11"}, {"weight", 0}}},
    {"detach", {"detach"}, {{"cmd", "detach"}}},
    {"node_drain", {"node", "drain"}, {{"cmd", "node"}, {"action", "drain"}}},
    {"node_undrain", {"node", "undrain"}, {{"cmd", "node"}, {"action", "undrain"}}},
    // nat and fullnat: backends with ports of their own.
    {"add_backend_port",
     {"add-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--port", "8080"},
     {{"cmd", "add-backend"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"}, {"backend", "198.19.0.11"}, {"port", 8080}}},
    {"add_backend_port_and_weight",
     {"add-backend", "[fd00:100::1]:80", "--proto", "udp", "fd00:19::11", "--weight", "3", "--port", "53"},
     {{"cmd", "add-backend"},
      {"vip", "[fd00:100::1]:80"},
      {"proto", "udp"},
      {"backend", "fd00:19::11"},
      {"weight", 3},
      {"port", 53}}},
    {"del_backend_port_purge",
     {"del-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--port", "8081", "--purge"},
     {{"cmd", "del-backend"},
      {"vip", "198.18.100.1:80"},
      {"proto", "tcp"},
      {"backend", "198.19.0.11"},
      {"port", 8081},
      {"purge", true}}},
    {"drain_backend_port",
     {"drain-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--port", "8081"},
     {{"cmd", "drain-backend"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"}, {"backend", "198.19.0.11"}, {"port", 8081}}},
    {"set_backend_port",
     {"set-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--port", "8081", "--weight", "4"},
     {{"cmd", "set-backend"},
      {"vip", "198.18.100.1:80"},
      {"proto", "tcp"},
      {"backend", "198.19.0.11"},
      {"port", 8081},
      {"weight", 4}}},
    {"flows_backend_port",
     {"flows", "--backend", "198.19.0.11", "--backend-port", "8080"},
     {{"cmd", "flows"}, {"backend", "198.19.0.11"}, {"backend_port", 8080}}},
};

INSTANTIATE_TEST_SUITE_P(Commands, RequestTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// Every scheduler of docs/api.md is sent under its own name.
class SchedulerTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SchedulerTest, AddVipSendsIt) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  CliResult result = run_cli(lbd, {"add-vip", "198.18.100.1:80", "--proto", "tcp", "--sched", GetParam()});
  EXPECT_EQ(result.code, 0) << result.err;
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0], json({{"cmd", "add-vip"},
                                     {"vip", "198.18.100.1:80"},
                                     {"proto", "tcp"},
                                     {"sched", GetParam()},
                                     {"mode", "ipip"}}));
}

INSTANTIATE_TEST_SUITE_P(Schedulers, SchedulerTest,
                         ::testing::Values("maglev", "least-conn", "rr", "wrr", "random", "src-hash"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Every forwarding mode is sent under its own name.
class ModeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ModeTest, AddVipSendsIt) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  CliResult result = run_cli(lbd, {"add-vip", "198.18.100.1:80", "--proto", "tcp", "--mode", GetParam()});
  EXPECT_EQ(result.code, 0) << result.err;
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0], json({{"cmd", "add-vip"},
                                     {"vip", "198.18.100.1:80"},
                                     {"proto", "tcp"},
                                     {"sched", "maglev"},
                                     {"mode", GetParam()}}));
}

INSTANTIATE_TEST_SUITE_P(Modes, ModeTest, ::testing::Values("ipip", "nat", "fullnat", "l2dsr"));

TEST(RequestTest, AnAmbiguousBackendIsRefusedWithLbdsMessage) {
  const char* message =
      "VIP 198.18.100.1:80/tcp has 2 backends at 198.19.0.11 (ports 8080, 8081): give the port (lbctl: --port)";
  FakeLbd lbd = FakeLbd::answering({{"ok", false}, {"error", message}});
  CliResult result = run_cli(lbd, {"del-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "lbctl: " + std::string(message) + "\n");
  // Without --port nothing names a port.
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_FALSE(lbd.requests()[0].contains("port"));
}

TEST(RequestTest, DrainBackendPrintsNothing) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  CliResult result = run_cli(lbd, {"drain-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "");
}

TEST(RequestTest, DrainBackendRefusedShowsLbdsMessage) {
  FakeLbd lbd = FakeLbd::answering({{"ok", false}, {"error", "unknown backend 198.19.0.99 of 198.18.100.1:80/tcp"}});
  CliResult result = run_cli(lbd, {"drain-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.99"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "lbctl: unknown backend 198.19.0.99 of 198.18.100.1:80/tcp\n");
}

TEST(RequestTest, ApplySendsTheFileAsConfig) {
  json config = json::parse(R"({"hash_seed": 7, "vips": [{"vip": "198.18.100.1:80", "proto": "tcp",
                                  "backends": [{"address": "198.19.0.11", "weight": 2}]}]})");
  FakeLbd lbd = FakeLbd::answering({{"ok", true}, {"added", 1}, {"removed", 0}, {"changed", 0}});
  std::string path = lbd.path() + ".json";  // inside the fake's temp dir
  std::ofstream(path) << config.dump(2);

  CliResult result = run_cli(lbd, {"apply", "-f", path});
  ::unlink(path.c_str());
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "added 1, removed 0, changed 0\n");
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0], json({{"cmd", "apply"}, {"config", config}}));
}

TEST(RequestTest, ApplyDryRunAsksAndPrintsTheChanges) {
  json config = json::parse(R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp"}]})");
  FakeLbd lbd = FakeLbd::answering({{"ok", true},
                                    {"dry_run", true},
                                    {"changes", {"- VIP 198.18.100.2:53/udp (4 connections cut)"}},
                                    {"added", 0},
                                    {"removed", 2},
                                    {"changed", 0}});
  std::string path = lbd.path() + ".json";
  std::ofstream(path) << config.dump(2);
  CliResult result = run_cli(lbd, {"apply", "-f", path, "--dry-run"});
  ::unlink(path.c_str());
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "- VIP 198.18.100.2:53/udp (4 connections cut)\n"
            "would add 0, remove 2, change 0 (nothing was applied)\n");
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0], json({{"cmd", "apply"}, {"config", config}, {"dry_run", true}}));
}

TEST(RequestTest, ApplyDryRunWithoutChangesSaysSo) {
  FakeLbd lbd = FakeLbd::answering(
      {{"ok", true}, {"dry_run", true}, {"changes", json::array()}, {"added", 0}, {"removed", 0}, {"changed", 0}});
  std::string path = lbd.path() + ".json";
  std::ofstream(path) << "{}";
  CliResult result = run_cli(lbd, {"apply", "-f", path, "--dry-run"});
  ::unlink(path.c_str());
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "no changes\n");
}

TEST(RequestTest, SavePrintsOrWritesTheRunningConfig) {
  json config = json::parse(R"({"hash_seed": 7, "vips": []})");
  FakeLbd lbd = FakeLbd::answering({{"ok", true}, {"config", config}});
  CliResult result = run_cli(lbd, {"save"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out), config);
  std::string path = lbd.path() + ".saved.json";
  result = run_cli(lbd, {"save", "-o", path});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "");
  std::ifstream in(path);
  EXPECT_EQ(json::parse(in), config);
  ::unlink(path.c_str());
  ASSERT_EQ(lbd.requests().size(), 2u);
  EXPECT_EQ(lbd.requests()[0], json({{"cmd", "config"}}));
}

TEST(RequestTest, ApplyPassesTimeoutsAndReapIntervalThrough) {
  json config = json::parse(R"({"timeouts": {"tcp_established": 60, "tcp_half_open": 3, "tcp_closing": 2, "udp": 30},
                                "reap_interval_ms": 500,
                                "vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "sched": "least-conn",
                                          "backends": [{"address": "198.19.0.11"}]}]})");
  FakeLbd lbd = FakeLbd::answering({{"ok", true}, {"added", 1}, {"removed", 0}, {"changed", 0}});
  std::string path = lbd.path() + ".json";
  std::ofstream(path) << config.dump(2);

  CliResult result = run_cli(lbd, {"apply", "-f", path});
  ::unlink(path.c_str());
  EXPECT_EQ(result.code, 0) << result.err;
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0], json({{"cmd", "apply"}, {"config", config}}));
}

TEST(RequestTest, AddressesAreSentInCanonicalForm) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  CliResult result = run_cli(lbd, {"add-backend", "[FD00:100:0::1]:80", "--proto", "tcp", "FD00:19:0:0::11"});
  EXPECT_EQ(result.code, 0) << result.err;
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0]["vip"], "[fd00:100::1]:80");
  EXPECT_EQ(lbd.requests()[0]["backend"], "fd00:19::11");
}

TEST(RequestTest, SocketOptionMayFollowTheCommand) {
  FakeLbd lbd = FakeLbd::answering(universal_answer());
  CliResult result = run_cli({"list", "--socket", lbd.path()});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(lbd.requests().size(), 1u);
}

TEST(RequestTest, SocketComesFromXlbSocketWhenNotGiven) {
  FakeLbd lbd = FakeLbd::answering(universal_answer());
  ::setenv("XLB_SOCKET", lbd.path().c_str(), 1);
  CliResult result = run_cli({"list"});
  ::unsetenv("XLB_SOCKET");
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(lbd.requests().size(), 1u);
}

TEST(RequestTest, SocketOptionOverridesXlbSocket) {
  FakeLbd lbd = FakeLbd::answering(universal_answer());
  ::setenv("XLB_SOCKET", "/nonexistent/lbd.sock", 1);
  CliResult result = run_cli(lbd, {"list"});
  ::unsetenv("XLB_SOCKET");
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(lbd.requests().size(), 1u);
}

}  // namespace
}  // namespace xlb::lbctl::testing
