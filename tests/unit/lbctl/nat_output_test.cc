// What the read commands print for nat, fullnat and l2dsr VIPs: backends
// with ports of their own as ADDR:PORT, fullnat flows' source ports, and
// the interfaces, fullnat settings and reply-table reaping in status.
#include <gtest/gtest.h>

#include "cli_runner.h"

namespace xlb::lbctl::testing {
namespace {

using nlohmann::json;

TEST(NatOutputTest, ListShowsModesAndBackendPorts) {
  FakeLbd lbd = FakeLbd::answering(json::parse(R"({"ok": true, "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "sched": "maglev", "mode": "fullnat", "ring_size": 251,
     "backends": [
       {"address": "198.19.0.11", "port": 8080, "weight": 1, "state": "active", "ring_slots": 126,
        "active": 3, "half_open": 0},
       {"address": "198.19.0.11", "port": 8081, "weight": 1, "state": "active", "ring_slots": 125,
        "active": 2, "half_open": 1},
       {"address": "198.19.0.12", "weight": 0, "state": "draining", "ring_slots": 0, "active": 0, "half_open": 0}]},
    {"vip": "[fd00:100::1]:80", "proto": "tcp", "sched": "rr", "mode": "nat", "ring_size": 251,
     "backends": [{"address": "fd00:19::11", "port": 8080, "weight": 1, "state": "active", "ring_slots": 251,
                   "active": 0, "half_open": 0}]},
    {"vip": "198.18.100.2:80", "proto": "tcp", "sched": "maglev", "mode": "l2dsr", "ring_size": 251,
     "backends": []}]})"));
  CliResult result = run_cli(lbd, {"list"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "198.18.100.1:80/tcp  sched maglev  mode fullnat  ring 251\n"
            "  BACKEND           WEIGHT  STATE     ACTIVE  HALF-OPEN  RING SHARE\n"
            "  198.19.0.11:8080       1  active         3          0       50.2%\n"
            "  198.19.0.11:8081       1  active         2          1       49.8%\n"
            "  198.19.0.12            0  draining       0          0        0.0%\n"
            "\n"
            "[fd00:100::1]:80/tcp  sched rr  mode nat  ring 251\n"
            "  BACKEND             WEIGHT  STATE   ACTIVE  HALF-OPEN  RING SHARE\n"
            "  [fd00:19::11]:8080       1  active       0          0      100.0%\n"
            "\n"
            "198.18.100.2:80/tcp  sched maglev  mode l2dsr  ring 251\n"
            "  no backends\n");
}

TEST(NatOutputTest, FlowsShowBackendPortsAndNatPorts) {
  FakeLbd lbd = FakeLbd::answering(json::parse(R"({"ok": true, "total": 3, "truncated": false, "flows": [
    {"proto": "tcp", "src": "198.18.0.2:40112", "dst": "198.18.100.1:80", "backend": "198.19.0.11",
     "backend_port": 8080, "nat_port": 1024, "state": "established", "idle_ms": 120},
    {"proto": "tcp", "src": "198.18.0.2:40113", "dst": "198.18.100.3:80", "backend": "198.19.0.12",
     "state": "syn", "idle_ms": 5},
    {"proto": "tcp", "src": "[fd00::2]:5", "dst": "[fd00:100::1]:80", "backend": "fd00:19::11",
     "backend_port": 8080, "nat_port": 32767, "state": "closing", "idle_ms": 1500}]})"));
  CliResult result = run_cli(lbd, {"flows"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "PROTO  SRC               DST               BACKEND             NAT PORT  STATE         IDLE\n"
            "tcp    198.18.0.2:40112  198.18.100.1:80   198.19.0.11:8080        1024  established  120ms\n"
            "tcp    198.18.0.2:40113  198.18.100.3:80   198.19.0.12                -  syn            5ms\n"
            "tcp    [fd00::2]:5       [fd00:100::1]:80  [fd00:19::11]:8080     32767  closing       1.5s\n"
            "3 flows\n");
}

TEST(NatOutputTest, FlowsWithoutNatPortsHaveNoSuchColumn) {
  FakeLbd lbd = FakeLbd::answering(json::parse(R"({"ok": true, "total": 1, "truncated": false, "flows": [
    {"proto": "tcp", "src": "198.18.0.2:40112", "dst": "198.18.100.1:80", "backend": null,
     "state": "established", "idle_ms": 120}]})"));
  CliResult result = run_cli(lbd, {"flows"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "PROTO  SRC               DST              BACKEND  STATE         IDLE\n"
            "tcp    198.18.0.2:40112  198.18.100.1:80  -        established  120ms\n"
            "1 flow\n");
}

TEST(NatOutputTest, StatsNameBackendPorts) {
  FakeLbd lbd = FakeLbd::answering(json::parse(R"({"ok": true,
    "global": {"rx": {"packets": 5, "bytes": 500}, "nat_reply": {"packets": 2, "bytes": 200}},
    "vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "packets": 3, "bytes": 300,
              "backends": [{"address": "198.19.0.11", "port": 8080, "packets": 3, "bytes": 300},
                           {"address": "198.19.0.11", "packets": 0, "bytes": 0}]}]})"));
  CliResult result = run_cli(lbd, {"stats"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "VIP / BACKEND        PACKETS  BYTES\n"
            "198.18.100.1:80/tcp        3    300\n"
            "  198.19.0.11:8080         3    300\n"
            "  198.19.0.11              0      0\n"
            "\n"
            "COUNTER    PACKETS  BYTES\n"
            "rx               5    500\n"
            "nat_reply        2    200\n");
}

TEST(NatOutputTest, StatusShowsInterfacesFullnatAndReplyReaping) {
  FakeLbd lbd = FakeLbd::answering(json::parse(R"({"ok": true, "iface": "eth0", "ifindex": 2,
    "xdp_mode": "native", "prog_id": 41,
    "ifaces": [{"name": "eth0", "ifindex": 2, "xdp_mode": "native", "prog_id": 41},
               {"name": "eth1", "ifindex": 3, "xdp_mode": "skb", "prog_id": 41}],
    "pin_dir": "/sys/fs/bpf/xlb/eth0",
    "fullnat": {"port_max": 32767, "port_min": 1024, "source_v4": "198.18.3.1"},
    "unserved": "pass", "icmp_echo": "off", "flood_threshold": 0,
    "reaper": {"nat_rev_reaped_total": 12, "sweeps": 3,
               "last_sweep": {"nat_rev_reaped": 2, "nat_rev_entries": 40, "scanned": 41}}})"));
  CliResult result = run_cli(lbd, {"status"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "iface:                             eth0\n"
            "ifindex:                           2\n"
            "xdp_mode:                          native\n"
            "prog_id:                           41\n"
            "ifaces:                            eth0 (native, prog 41), eth1 (skb, prog 41)\n"
            "pin_dir:                           /sys/fs/bpf/xlb/eth0\n"
            "fullnat.source_v4:                 198.18.3.1\n"
            "fullnat.port_min:                  1024\n"
            "fullnat.port_max:                  32767\n"
            "unserved:                          pass\n"
            "icmp_echo:                         off\n"
            "flood_threshold:                   0\n"
            "reaper.sweeps:                     3\n"
            "reaper.last_sweep.scanned:         41\n"
            "reaper.last_sweep.nat_rev_entries: 40\n"
            "reaper.last_sweep.nat_rev_reaped:  2\n"
            "reaper.nat_rev_reaped_total:       12\n");
}

}  // namespace
}  // namespace xlb::lbctl::testing
