// The API's views as lbd answers them (docs/api.md), for the collector's
// tests: two VIPs, a checked backend, a backend with a port of its own.
#pragma once
#include "metrics/collector.h"

namespace xlb::metrics::test {

inline Views sample_views() {
  Views v;
  v.stats = nlohmann::json::parse(R"({
    "ok": true,
    "global": {"rx": {"packets": 120, "bytes": 9000}, "drop_no_backend": {"packets": 3, "bytes": 180},
               "tx": {"packets": 110, "bytes": 8800}},
    "vips": [
      {"vip": "198.18.100.1:80", "proto": "tcp", "packets": 100, "bytes": 8000, "all_down_events": 1,
       "backends": [{"address": "198.18.0.11", "packets": 60, "bytes": 4800, "health": null},
                    {"address": "198.18.0.12", "port": 8080, "packets": 40, "bytes": 3200, "health": null}]},
      {"vip": "[fd00:100::1]:53", "proto": "udp", "packets": 7, "bytes": 700, "all_down_events": 0,
       "backends": [{"address": "fd00:18::11", "port": 5353, "packets": 7, "bytes": 700, "health": null}]}]
  })");
  v.vips = nlohmann::json::parse(R"([
    {"vip": "198.18.100.1:80", "proto": "tcp", "sched": "maglev", "mode": "ipip", "ring_size": 65537,
     "health": {"check": "tcp"}, "all_down": false,
     "backends": [
       {"address": "198.18.0.11", "weight": 1, "admin_weight": 1, "state": "active", "ring_slots": 32769,
        "active": 5, "half_open": 1,
        "health": {"state": "up", "since_ms": 1767225600123, "for_ms": 1000, "reason": "",
                   "last": {"ok": true, "detail": "connected", "latency_us": 250, "at_ms": 1767225601000},
                   "successes": 4, "failures": 0, "check": "tcp", "label": "up", "not_checked": null}},
       {"address": "198.18.0.12", "port": 8080, "weight": 0, "admin_weight": 2, "state": "draining",
        "ring_slots": 0, "active": 0, "half_open": 0,
        "health": {"state": "down", "since_ms": 1767225500000, "for_ms": 100123, "reason": "refused",
                   "last": null, "successes": 0, "failures": 3, "check": "tcp", "label": "down 1m",
                   "not_checked": "the backend's MAC is not resolved yet"}}]},
    {"vip": "[fd00:100::1]:53", "proto": "udp", "sched": "least_conn", "mode": "nat", "ring_size": 0,
     "health": null, "all_down": false,
     "backends": [{"address": "fd00:18::11", "port": 5353, "weight": 1, "admin_weight": 1, "state": "active",
                   "ring_slots": 0, "active": 2, "half_open": 0, "health": null}]}
  ])");
  v.status = nlohmann::json::parse(R"({
    "ok": true, "iface": "xl1", "ifindex": 7, "xdp_mode": "native", "prog_id": 41,
    "ifaces": [{"name": "xl1", "ifindex": 7, "xdp_mode": "native", "prog_id": 41},
               {"name": "xl2", "ifindex": 8, "xdp_mode": null, "prog_id": 0}],
    "pin_dir": "/sys/fs/bpf/xlb/xl1", "in_sync": true, "vips": 2, "backends": 3, "flows": 12,
    "flow_table_size": 1048576, "uptime_s": 3600, "version": "0.1.0",
    "timeouts": {"tcp_established": 900, "tcp_half_open": 10, "tcp_closing": 30, "udp": 120},
    "reaper": {"interval_ms": 1000, "sweeps": 4711, "running": false, "error": null, "expired_total": 81234,
               "reconciled_total": 2, "backends_freed": 1, "nat_rev_reaped_total": 5310,
               "last_sweep": {"unix_ms": 1767225600123, "age_ms": 412, "duration_ms": 301, "scanned": 500000,
                              "expired": 1200, "restored": 0, "reconciled": 0, "nat_rev_entries": 48000,
                              "nat_rev_reaped": 410, "complete": true}},
    "health": {"checked": 2, "up": 1, "down": 1, "unchecked": 0, "not_run": 1, "vips_all_down": 0, "steered": 2,
               "transitions": 12, "state_file": "/var/lib/xlb/xl1.health.json", "state_file_error": null,
               "targets": 2, "in_flight": 1, "probes_started": 48211, "skipped_busy": 3, "checker_cpu_ms": 1530,
               "steering_packets": {"steered": 48000, "no_target": 2}},
    "announce": {"table": 100, "drained": false, "announced": ["198.18.100.1", "fd00:100::1"]},
    "data_path_error": null
  })");
  return v;
}

}  // namespace xlb::metrics::test
