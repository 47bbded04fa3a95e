// What the read commands print: lbd's answer as JSON with --json, aligned
// tables without.
#include <gtest/gtest.h>

#include <sstream>

#include "cli_runner.h"

namespace xlb::lbctl::testing {
namespace {

using nlohmann::json;

json list_answer() {
  return json::parse(R"({"ok": true, "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "sched": "maglev", "mode": "ipip", "ring_size": 65537,
     "backends": [
       {"address": "198.19.0.11", "weight": 2, "state": "active", "ring_slots": 43691},
       {"address": "fd00:19::12", "weight": 1, "state": "active", "ring_slots": 21846},
       {"address": "198.19.0.13", "weight": 0, "state": "draining", "ring_slots": 0}]},
    {"vip": "[fd00:100::1]:53", "proto": "udp", "sched": "maglev", "mode": "ipip", "ring_size": 251,
     "backends": []}]})");
}

// A least-conn lbd (issue 3): connection counts per backend, and a backend
// removed by del-backend that still has flows.
json list_answer_with_counts() {
  return json::parse(R"({"ok": true, "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "sched": "least-conn", "mode": "ipip", "ring_size": 65537,
     "backends": [
       {"address": "198.19.0.11", "weight": 1, "state": "active", "ring_slots": 32769, "active": 1250,
        "half_open": 3},
       {"address": "198.19.0.12", "weight": 1, "state": "active", "ring_slots": 32768, "active": 1249,
        "half_open": 0},
       {"address": "198.19.0.13", "weight": 0, "state": "draining", "ring_slots": 0, "active": 7, "half_open": 0},
       {"address": "198.19.0.14", "weight": 1, "state": "removed", "ring_slots": 0, "active": 50,
        "half_open": 0}]},
    {"vip": "198.18.100.1:53", "proto": "udp", "sched": "rr", "mode": "ipip", "ring_size": 251,
     "backends": [{"address": "198.19.0.11", "weight": 1, "state": "active", "ring_slots": 251, "active": 0,
                   "half_open": 0}]}]})");
}

json status_answer_with_reaper() {
  json answer = json::parse(R"({"ok": true, "iface": "eth0", "ifindex": 2, "xdp_mode": "native", "prog_id": 41,
    "pin_dir": "/sys/fs/bpf/xlb/eth0", "vips": 1, "backends": 2, "flows": 20, "flow_table_size": 1048576,
    "uptime_s": 60, "version": "0.2.0", "encap": {"source_v4": "198.18.0.1", "source_v6": null},
    "reaper": {"error": null, "interval_ms": 500, "running": true, "sweeps": 120, "reconciled_total": 4,
               "backends_freed": 1, "expired_total": 9,
               "last_sweep": {"scanned": 20, "expired": 2, "restored": 0, "reconciled": 0, "complete": true,
                              "unix_ms": 1700000000000, "age_ms": 120, "duration_ms": 1}},
    "timeouts": {"udp": 30, "tcp_closing": 2, "tcp_half_open": 3, "tcp_established": 60}})");
  return answer;
}

json stats_answer() {
  return json::parse(R"({"ok": true,
    "global": {"rx": {"packets": 1200, "bytes": 88800}, "pass_not_ip": {"packets": 0, "bytes": 0},
               "new_flow": {"packets": 20, "bytes": 1480}, "drop_mtu": {"packets": 0, "bytes": 0},
               "tx": {"packets": 1190, "bytes": 134470}},
    "vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "packets": 1190, "bytes": 88060,
              "backends": [{"address": "198.19.0.11", "packets": 800, "bytes": 59200},
                           {"address": "198.19.0.12", "packets": 390, "bytes": 28860}]}]})");
}

json flows_answer() {
  return json::parse(R"({"ok": true, "total": 5000, "truncated": true, "flows": [
    {"proto": "tcp", "src": "198.18.0.2:40112", "dst": "198.18.100.1:80", "backend": "198.19.0.11",
     "state": "established", "idle_ms": 120},
    {"proto": "udp", "src": "[fd00::2]:5353", "dst": "[fd00:100::1]:53", "backend": "fd00:19::11",
     "state": "udp", "idle_ms": 200500}]})");
}

json status_answer() {
  return json::parse(R"({"ok": true, "iface": "eth0", "ifindex": 2, "xdp_mode": "native", "prog_id": 41,
    "pin_dir": "/sys/fs/bpf/xlb/eth0", "vips": 2, "backends": 3, "flows": 20, "flow_table_size": 1048576,
    "uptime_s": 3600, "version": "0.1.0", "encap": {"source_v4": "198.18.0.1", "source_v6": "fd00::1"}})");
}

json without_ok(json answer) {
  answer.erase("ok");
  return answer;
}

struct JsonCase {
  const char* command;  // an underscore starts a variant's name: "status_reaper" runs status
  json answer;
};

class JsonOutputTest : public ::testing::TestWithParam<JsonCase> {};

TEST_P(JsonOutputTest, PrintsTheAnswerWithoutOk) {
  FakeLbd lbd = FakeLbd::answering(GetParam().answer);
  std::string command = GetParam().command;
  CliResult result = run_cli(lbd, {command.substr(0, command.find('_')), "--json"});
  ASSERT_EQ(result.code, 0) << result.err;
  ASSERT_TRUE(json::accept(result.out)) << result.out;
  EXPECT_EQ(json::parse(result.out), without_ok(GetParam().answer));
}

INSTANTIATE_TEST_SUITE_P(ReadCommands, JsonOutputTest,
                         ::testing::Values(JsonCase{"status", status_answer()}, JsonCase{"list", list_answer()},
                                           JsonCase{"stats", stats_answer()}, JsonCase{"flows", flows_answer()},
                                           JsonCase{"status_reaper", status_answer_with_reaper()},
                                           JsonCase{"list_counts", list_answer_with_counts()}),
                         [](const auto& info) { return std::string(info.param.command); });

TEST(TableOutputTest, ListShowsEachVipWithItsBackends) {
  FakeLbd lbd = FakeLbd::answering(list_answer());
  CliResult result = run_cli(lbd, {"list"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "198.18.100.1:80/tcp  sched maglev  mode ipip  ring 65537\n"
            "  BACKEND      WEIGHT  STATE     RING SHARE\n"
            "  198.19.0.11       2  active         66.7%\n"
            "  fd00:19::12       1  active         33.3%\n"
            "  198.19.0.13       0  draining        0.0%\n"
            "\n"
            "[fd00:100::1]:53/udp  sched maglev  mode ipip  ring 251\n"
            "  no backends\n");
}

TEST(TableOutputTest, ListShowsConnectionCountsWhenLbdHasThem) {
  FakeLbd lbd = FakeLbd::answering(list_answer_with_counts());
  CliResult result = run_cli(lbd, {"list"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "198.18.100.1:80/tcp  sched least-conn  mode ipip  ring 65537\n"
            "  BACKEND      WEIGHT  STATE     ACTIVE  HALF-OPEN  RING SHARE\n"
            "  198.19.0.11       1  active      1250          3       50.0%\n"
            "  198.19.0.12       1  active      1249          0       50.0%\n"
            "  198.19.0.13       0  draining       7          0        0.0%\n"
            "  198.19.0.14       1  removed       50          0        0.0%\n"
            "\n"
            "198.18.100.1:53/udp  sched rr  mode ipip  ring 251\n"
            "  BACKEND      WEIGHT  STATE   ACTIVE  HALF-OPEN  RING SHARE\n"
            "  198.19.0.11       1  active       0          0      100.0%\n");
}

TEST(TableOutputTest, ListShowsADashForACountOneBackendLacks) {
  json answer = list_answer_with_counts();
  answer["vips"][0]["backends"][1].erase("active");
  answer["vips"][0]["backends"][1].erase("half_open");
  FakeLbd lbd = FakeLbd::answering(answer);
  CliResult result = run_cli(lbd, {"list"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.out.find("  198.19.0.12       1  active         -          -       50.0%\n"), std::string::npos)
      << result.out;
}

TEST(TableOutputTest, StatusShowsTimeoutsAndReaperInAFixedOrder) {
  FakeLbd lbd = FakeLbd::answering(status_answer_with_reaper());
  CliResult result = run_cli(lbd, {"status"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "iface:                         eth0\n"
            "ifindex:                       2\n"
            "xdp_mode:                      native\n"
            "prog_id:                       41\n"
            "pin_dir:                       /sys/fs/bpf/xlb/eth0\n"
            "vips:                          1\n"
            "backends:                      2\n"
            "flows:                         20\n"
            "flow_table_size:               1048576\n"
            "uptime_s:                      60\n"
            "version:                       0.2.0\n"
            "encap.source_v4:               198.18.0.1\n"
            "encap.source_v6:               -\n"
            "timeouts.tcp_established:      60\n"
            "timeouts.tcp_half_open:        3\n"
            "timeouts.tcp_closing:          2\n"
            "timeouts.udp:                  30\n"
            "reaper.running:                true\n"
            "reaper.interval_ms:            500\n"
            "reaper.sweeps:                 120\n"
            "reaper.last_sweep.unix_ms:     1700000000000\n"
            "reaper.last_sweep.age_ms:      120\n"
            "reaper.last_sweep.duration_ms: 1\n"
            "reaper.last_sweep.scanned:     20\n"
            "reaper.last_sweep.expired:     2\n"
            "reaper.last_sweep.restored:    0\n"
            "reaper.last_sweep.reconciled:  0\n"
            "reaper.last_sweep.complete:    true\n"
            "reaper.expired_total:          9\n"
            "reaper.reconciled_total:       4\n"
            "reaper.backends_freed:         1\n"
            "reaper.error:                  -\n");
}

// The value on the "key: value" line of `key`, or "(no line)".
std::string status_value(const std::string& out, const std::string& key) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::string value = line.substr(key.size() + 1);
    return value.substr(value.find_first_not_of(' '));
  }
  return "(no line)";
}

TEST(TableOutputTest, StatusBeforeTheFirstSweepAndWithoutAReaper) {
  json answer = status_answer_with_reaper();
  answer["reaper"]["last_sweep"] = nullptr;
  FakeLbd lbd = FakeLbd::answering(answer);
  CliResult result = run_cli(lbd, {"status"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(status_value(result.out, "reaper.last_sweep"), "-") << result.out;
  EXPECT_EQ(status_value(result.out, "reaper.sweeps"), "120") << result.out;

  answer["reaper"] = nullptr;
  FakeLbd plain = FakeLbd::answering(answer);
  result = run_cli(plain, {"status"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(status_value(result.out, "reaper"), "-") << result.out;
  EXPECT_EQ(status_value(result.out, "timeouts.tcp_half_open"), "3") << result.out;
}

TEST(TableOutputTest, StatsShowsVipsBackendsAndTheNonZeroGlobalCounters) {
  FakeLbd lbd = FakeLbd::answering(stats_answer());
  CliResult result = run_cli(lbd, {"stats"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "VIP / BACKEND        PACKETS  BYTES\n"
            "198.18.100.1:80/tcp     1190  88060\n"
            "  198.19.0.11            800  59200\n"
            "  198.19.0.12            390  28860\n"
            "\n"
            "COUNTER   PACKETS   BYTES\n"
            "rx           1200   88800\n"
            "new_flow       20    1480\n"
            "tx           1190  134470\n");
}

TEST(TableOutputTest, FlowsShowsOneRowPerFlowAndSaysWhenTruncated) {
  FakeLbd lbd = FakeLbd::answering(flows_answer());
  CliResult result = run_cli(lbd, {"flows"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "PROTO  SRC               DST               BACKEND      STATE         IDLE\n"
            "tcp    198.18.0.2:40112  198.18.100.1:80   198.19.0.11  established  120ms\n"
            "udp    [fd00::2]:5353    [fd00:100::1]:53  fd00:19::11  udp          3m20s\n"
            "showing 2 of 5000 flows (raise --limit to see more)\n");
}

TEST(TableOutputTest, StatusIsKeyValueLines) {
  FakeLbd lbd = FakeLbd::answering(status_answer());
  CliResult result = run_cli(lbd, {"status"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "iface:           eth0\n"
            "ifindex:         2\n"
            "xdp_mode:        native\n"
            "prog_id:         41\n"
            "pin_dir:         /sys/fs/bpf/xlb/eth0\n"
            "vips:            2\n"
            "backends:        3\n"
            "flows:           20\n"
            "flow_table_size: 1048576\n"
            "uptime_s:        3600\n"
            "version:         0.1.0\n"
            "encap.source_v4: 198.18.0.1\n"
            "encap.source_v6: fd00::1\n");
}

TEST(TableOutputTest, EmptyAnswersSaySo) {
  FakeLbd lbd = FakeLbd::answering(json::parse(
      R"({"ok": true, "vips": [], "global": {"rx": {"packets": 0, "bytes": 0}}, "flows": [], "total": 0,
          "truncated": false})"));
  EXPECT_EQ(run_cli(lbd, {"list"}).out, "no VIPs\n");
  EXPECT_EQ(run_cli(lbd, {"stats"}).out, "no VIPs\n\nall global counters are zero\n");
  EXPECT_EQ(run_cli(lbd, {"flows"}).out, "no flows\n");
}

TEST(WriteOutputTest, RemovalsReportTheFlowsRemoved) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}, {"flows_removed", 3}});
  CliResult result = run_cli(lbd, {"del-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--purge"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "flows removed: 3\n");
}

// status --verify (issue 11): lbd's comparison of what it shows with the
// maps, one line per difference, and exit 1 when there are any.
TEST(TableOutputTest, StatusVerifyAsksForItAndPassesWhenTheyAgree) {
  json answer = status_answer();
  answer["in_sync"] = true;
  answer["verify"] = {{"ok", true}, {"differences", json::array()}};
  FakeLbd lbd = FakeLbd::answering(answer);
  CliResult result = run_cli(lbd, {"status", "--verify"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.out.find("verify.ok:"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("verify.differences: none\n"), std::string::npos) << result.out;
  ASSERT_EQ(lbd.requests().size(), 1u);
  EXPECT_EQ(lbd.requests()[0], (json{{"cmd", "status"}, {"verify", true}}));
}

TEST(TableOutputTest, StatusVerifyListsDifferencesAndExitsOne) {
  json answer = status_answer();
  answer["verify"] = {{"ok", false},
                      {"differences", {"VIP 198.18.100.1:80/tcp is missing from xlb_vips",
                                       "backend id 7 is missing from xlb_backends"}}};
  FakeLbd lbd = FakeLbd::answering(answer);
  CliResult result = run_cli(lbd, {"status", "--verify"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.out.find("verify.difference: VIP 198.18.100.1:80/tcp is missing from xlb_vips\n"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("verify.difference: backend id 7 is missing from xlb_backends\n"), std::string::npos);
  EXPECT_NE(result.err.find("lbd and the maps disagree (2 differences)"), std::string::npos) << result.err;
}

TEST(TableOutputTest, PlainStatusDoesNotAskToVerify) {
  FakeLbd lbd = FakeLbd::answering(status_answer());
  CliResult result = run_cli(lbd, {"status"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(lbd.requests()[0], (json{{"cmd", "status"}}));
}

}  // namespace
}  // namespace xlb::lbctl::testing

namespace xlb::lbctl::testing {
namespace {

// status's "announce" (issue 14) is one readable line.
TEST(TableOutputTest, StatusShowsAnnounceOnOneLine) {
  json answer = status_answer();
  answer["announce"] = {{"table", 100}, {"drained", false}, {"announced", {"198.18.100.1", "fd00:100::1"}}};
  FakeLbd lbd = FakeLbd::answering(answer);
  CliResult result = run_cli(lbd, {"status"});
  EXPECT_EQ(status_value(result.out, "announce"), "table 100: 198.18.100.1 fd00:100::1") << result.out;

  answer["announce"] = {{"table", 100}, {"drained", true}, {"announced", json::array()}, {"error", "EPERM"}};
  FakeLbd drained = FakeLbd::answering(answer);
  result = run_cli(drained, {"status"});
  EXPECT_EQ(status_value(result.out, "announce"),
            "table 100, node drained: nothing announced; last write failed: EPERM")
      << result.out;

  answer["announce"] = {{"table", nullptr}, {"drained", true}, {"announced", json::array()}};
  FakeLbd off = FakeLbd::answering(answer);
  result = run_cli(off, {"status"});
  EXPECT_EQ(status_value(result.out, "announce"), "off (lbd runs without --announce-table); node drained")
      << result.out;
}

TEST(WriteOutputTest, NodeDrainSaysWhatIsAnnounced) {
  FakeLbd lbd = FakeLbd::answering(
      {{"ok", true}, {"announce", {{"table", 100}, {"drained", true}, {"announced", json::array()}}}});
  CliResult result = run_cli(lbd, {"node", "drain"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "node drained; announce: table 100, node drained: nothing announced\n");
}

}  // namespace
}  // namespace xlb::lbctl::testing
