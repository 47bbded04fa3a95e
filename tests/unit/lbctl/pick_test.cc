// lbctl pick, and the fingerprints and seed in status and list (issue 14).
#include <gtest/gtest.h>

#include "cli_runner.h"

namespace xlb::lbctl::testing {
namespace {

using nlohmann::json;

json maglev_pick() {
  return json::parse(R"({"ok": true, "vip": "198.18.100.1:80", "proto": "tcp", "sched": "maglev",
    "src": "198.18.0.2:1234", "hash_seed": 7, "depends_on_state": false, "hash": 292078044, "ring_size": 65537,
    "slot": 45172, "backend": {"address": "198.19.0.13"}, "existing_flow": {"address": "198.19.0.11", "port": 8080},
    "ring_fingerprint": "2b4b0c43a62df846"})");
}

TEST(PickTest, SendsTheDocumentedRequest) {
  FakeLbd lbd = FakeLbd::answering(maglev_pick());
  CliResult result = run_cli(lbd, {"pick", "198.18.100.1:80", "--src", "198.18.0.2", "--sport", "1234"});
  ASSERT_EQ(result.code, 0) << result.err;
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0], (json{{"cmd", "pick"}, {"vip", "198.18.100.1:80"}, {"proto", "tcp"},
                                     {"src", "198.18.0.2"}, {"sport", 1234}}));
}

TEST(PickTest, VipWithoutPortAndUdp) {
  FakeLbd lbd = FakeLbd::answering(maglev_pick());
  CliResult result =
      run_cli(lbd, {"pick", "fd00:100::1", "--proto", "udp", "--src", "fd00:18::2", "--sport", "53", "--json"});
  ASSERT_EQ(result.code, 0) << result.err;
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0], (json{{"cmd", "pick"}, {"vip", "fd00:100::1"}, {"proto", "udp"},
                                     {"src", "fd00:18::2"}, {"sport", 53}}));
}

TEST(PickTest, BadArgumentsAreUsageErrors) {
  FakeLbd lbd = FakeLbd::answering(maglev_pick());
  EXPECT_EQ(run_cli(lbd, {"pick", "198.18.100.1:80", "--src", "198.18.0.2"}).code, 2);                   // no sport
  EXPECT_EQ(run_cli(lbd, {"pick", "198.18.100.1:80", "--src", "nope", "--sport", "1"}).code, 2);          // address
  EXPECT_EQ(run_cli(lbd, {"pick", "198.18.100.1:80", "--src", "198.18.0.2", "--sport", "0"}).code, 2);    // port
  EXPECT_EQ(lbd.requests().size(), 0u);
}

TEST(PickTest, TextNamesTheNewFlowsBackendAndTheExistingFlow) {
  FakeLbd lbd = FakeLbd::answering(maglev_pick());
  CliResult result = run_cli(lbd, {"pick", "198.18.100.1:80", "--src", "198.18.0.2", "--sport", "1234"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "198.18.0.2:1234 -> 198.18.100.1:80/tcp  sched maglev  hash_seed 7\n"
            "  new flow: 198.19.0.13  (slot 45172 of 65537, hash 292078044)\n"
            "  existing flow to 198.19.0.11:8080\n"
            "  ring fingerprint 2b4b0c43a62df846\n");
}

TEST(PickTest, TextSaysDependsOnState) {
  FakeLbd lbd = FakeLbd::answering(json::parse(R"({"ok": true, "vip": "198.18.100.1:80", "proto": "tcp",
    "sched": "least-conn", "src": "198.18.0.2:1234", "hash_seed": 7, "depends_on_state": true, "backend": null,
    "existing_flow": null, "backends_fingerprint": "bf1874e3233ff8cc"})"));
  CliResult result = run_cli(lbd, {"pick", "198.18.100.1:80", "--src", "198.18.0.2", "--sport", "1234"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "198.18.0.2:1234 -> 198.18.100.1:80/tcp  sched least-conn  hash_seed 7\n"
            "  new flow: depends on state (least-conn picks by counts, a cursor or chance, not by the flow)\n"
            "  no existing flow\n"
            "  backends fingerprint bf1874e3233ff8cc\n");
}

TEST(PickTest, StatusShowsTheSeedAndOneFingerprintLinePerVip) {
  FakeLbd lbd = FakeLbd::answering(json::parse(R"({"ok": true, "iface": "eth0", "hash_seed": 7,
    "fingerprints": [
      {"vip": "198.18.100.1:80", "proto": "tcp", "sched": "maglev", "ring_fingerprint": "2b4b0c43a62df846"},
      {"vip": "198.18.100.1:81", "proto": "tcp", "sched": "rr", "backends_fingerprint": "bf1874e3233ff8cc"}]})"));
  CliResult result = run_cli(lbd, {"status"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "iface:       eth0\n"
            "hash_seed:   7\n"
            "fingerprint: 198.18.100.1:80/tcp maglev ring 2b4b0c43a62df846\n"
            "fingerprint: 198.18.100.1:81/tcp rr backends bf1874e3233ff8cc\n");
}

TEST(PickTest, ListShowsTheFingerprint) {
  FakeLbd lbd = FakeLbd::answering(json::parse(R"({"ok": true, "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "sched": "maglev", "mode": "ipip", "ring_size": 251,
     "ring_fingerprint": "2b4b0c43a62df846", "backends": []}]})"));
  CliResult result = run_cli(lbd, {"list"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "198.18.100.1:80/tcp  sched maglev  mode ipip  ring 251  ring fingerprint 2b4b0c43a62df846\n"
            "  no backends\n");
}

}  // namespace
}  // namespace xlb::lbctl::testing
