#include "metrics/collector.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "fixture.h"
#include "metrics/families.h"

namespace xlb::metrics {
namespace {

using test::sample_views;

// The sample lines of a scrape (no comments).
std::vector<std::string> samples(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

bool has(const std::string& text, const std::string& line) {
  for (const auto& s : samples(text))
    if (s == line) return true;
  return false;
}

// Whether any sample of the family is present.
bool has_family(const std::string& text, const std::string& name) {
  for (const auto& s : samples(text))
    if (s.compare(0, name.size(), name) == 0 && (s[name.size()] == '{' || s[name.size()] == ' ')) return true;
  return false;
}

TEST(CollectorTest, EveryGlobalCounterByName) {
  std::string t = render(sample_views());
  EXPECT_TRUE(has(t, R"(xlb_packets_total{counter="rx"} 120)"));
  EXPECT_TRUE(has(t, R"(xlb_bytes_total{counter="rx"} 9000)"));
  EXPECT_TRUE(has(t, R"(xlb_packets_total{counter="drop_no_backend"} 3)"));
  EXPECT_TRUE(has(t, R"(xlb_packets_total{counter="tx"} 110)"));
  EXPECT_TRUE(has(t, R"(xlb_bytes_total{counter="tx"} 8800)"));
}

TEST(CollectorTest, PerVipAndPerBackendCounters) {
  std::string t = render(sample_views());
  EXPECT_TRUE(has(t, R"(xlb_vip_packets_total{vip="198.18.100.1:80",proto="tcp"} 100)"));
  EXPECT_TRUE(has(t, R"(xlb_vip_bytes_total{vip="198.18.100.1:80",proto="tcp"} 8000)"));
  EXPECT_TRUE(has(t, R"(xlb_vip_packets_total{vip="[fd00:100::1]:53",proto="udp"} 7)"));
  EXPECT_TRUE(has(t, R"(xlb_backend_packets_total{vip="198.18.100.1:80",proto="tcp",backend="198.18.0.11"} 60)"));
  EXPECT_TRUE(
      has(t, R"(xlb_backend_bytes_total{vip="198.18.100.1:80",proto="tcp",backend="198.18.0.12:8080"} 3200)"));
  EXPECT_TRUE(
      has(t, R"(xlb_backend_packets_total{vip="[fd00:100::1]:53",proto="udp",backend="[fd00:18::11]:5353"} 7)"));
  EXPECT_TRUE(has(t, R"(xlb_vip_all_down_events_total{vip="198.18.100.1:80",proto="tcp"} 1)"));
}

TEST(CollectorTest, BackendsWeightsStatesAndConnections) {
  std::string t = render(sample_views());
  const std::string a = R"({vip="198.18.100.1:80",proto="tcp",backend="198.18.0.11")";
  const std::string b = R"({vip="198.18.100.1:80",proto="tcp",backend="198.18.0.12:8080")";
  EXPECT_TRUE(has(t, "xlb_backend_weight" + a + "} 1"));
  EXPECT_TRUE(has(t, "xlb_backend_weight" + b + "} 0"));
  EXPECT_TRUE(has(t, "xlb_backend_admin_weight" + b + "} 2"));
  EXPECT_TRUE(has(t, "xlb_backend_ring_slots" + a + "} 32769"));
  EXPECT_TRUE(has(t, "xlb_backend_active_connections" + a + "} 5"));
  EXPECT_TRUE(has(t, "xlb_backend_half_open_connections" + a + "} 1"));
  EXPECT_TRUE(has(t, "xlb_backend_state" + a + R"(,state="active"} 1)"));
  EXPECT_TRUE(has(t, "xlb_backend_state" + a + R"(,state="draining"} 0)"));
  EXPECT_TRUE(has(t, "xlb_backend_state" + b + R"(,state="draining"} 1)"));
  EXPECT_TRUE(has(t, "xlb_backend_state" + b + R"(,state="removed"} 0)"));
  EXPECT_TRUE(has(t, R"(xlb_vip_info{vip="198.18.100.1:80",proto="tcp",sched="maglev",mode="ipip"} 1)"));
  EXPECT_TRUE(has(t, R"(xlb_vip_ring_size{vip="198.18.100.1:80",proto="tcp"} 65537)"));
  EXPECT_TRUE(has(t, R"(xlb_vip_all_down{vip="198.18.100.1:80",proto="tcp"} 0)"));
}

TEST(CollectorTest, HealthOfCheckedBackendsOnly) {
  std::string t = render(sample_views());
  const std::string a = R"({vip="198.18.100.1:80",proto="tcp",backend="198.18.0.11")";
  const std::string b = R"({vip="198.18.100.1:80",proto="tcp",backend="198.18.0.12:8080")";
  EXPECT_TRUE(has(t, "xlb_backend_health_state" + a + R"(,state="up"} 1)"));
  EXPECT_TRUE(has(t, "xlb_backend_health_state" + a + R"(,state="down"} 0)"));
  EXPECT_TRUE(has(t, "xlb_backend_health_state" + a + R"(,state="unchecked"} 0)"));
  EXPECT_TRUE(has(t, "xlb_backend_health_state" + b + R"(,state="down"} 1)"));
  EXPECT_TRUE(has(t, "xlb_backend_health_changed_timestamp_seconds" + a + "} 1767225600.123"));
  EXPECT_TRUE(has(t, "xlb_backend_health_consecutive_failures" + b + "} 3"));
  EXPECT_TRUE(has(t, "xlb_backend_health_last_check_ok" + a + "} 1"));
  EXPECT_TRUE(has(t, "xlb_backend_health_last_check_latency_seconds" + a + "} 0.00025"));
  EXPECT_TRUE(has(t, "xlb_backend_health_check_running" + a + "} 1"));
  EXPECT_TRUE(has(t, "xlb_backend_health_check_running" + b + "} 0"));
  // b has had no result yet: no last-check figures.
  EXPECT_EQ(t.find("xlb_backend_health_last_check_ok" + b), std::string::npos);
  // The unchecked VIP's backend has no health metrics at all.
  EXPECT_EQ(t.find(R"(xlb_backend_health_state{vip="[fd00:100::1]:53")"), std::string::npos);
}

TEST(CollectorTest, DaemonFlowTableHealthAndReaper) {
  std::string t = render(sample_views());
  EXPECT_TRUE(has(t, R"(xlb_build_info{version="0.1.0"} 1)"));
  EXPECT_TRUE(has(t, "xlb_uptime_seconds 3600"));
  EXPECT_TRUE(has(t, "xlb_in_sync 1"));
  EXPECT_TRUE(has(t, "xlb_data_path_ok 1"));
  EXPECT_TRUE(has(t, R"(xlb_interface_attached{interface="xl1"} 1)"));
  EXPECT_TRUE(has(t, R"(xlb_interface_attached{interface="xl2"} 0)"));
  EXPECT_TRUE(has(t, R"(xlb_interface_xdp_info{interface="xl1",xdp_mode="native",prog_id="41"} 1)"));
  EXPECT_TRUE(has(t, "xlb_vips 2"));
  EXPECT_TRUE(has(t, "xlb_backends 3"));
  EXPECT_TRUE(has(t, "xlb_flow_table_entries 12"));
  EXPECT_TRUE(has(t, "xlb_flow_table_size 1048576"));
  EXPECT_TRUE(has(t, R"(xlb_flow_timeout_seconds{state="tcp_established"} 900)"));

  EXPECT_TRUE(has(t, R"(xlb_health_backends{state="up"} 1)"));
  EXPECT_TRUE(has(t, R"(xlb_health_backends{state="down"} 1)"));
  EXPECT_TRUE(has(t, "xlb_health_transitions_total 12"));
  EXPECT_TRUE(has(t, "xlb_health_checks_started_total 48211"));
  EXPECT_TRUE(has(t, "xlb_health_checker_cpu_seconds_total 1.53"));
  EXPECT_TRUE(has(t, "xlb_health_vips_all_down 0"));
  EXPECT_TRUE(has(t, "xlb_health_state_file_ok 1"));
  EXPECT_TRUE(has(t, R"(xlb_health_steering_packets_total{counter="steered"} 48000)"));

  EXPECT_TRUE(has(t, "xlb_reaper_sweeps_total 4711"));
  EXPECT_TRUE(has(t, "xlb_reaper_interval_seconds 1"));
  EXPECT_TRUE(has(t, "xlb_reaper_running 0"));
  EXPECT_TRUE(has(t, "xlb_reaper_last_sweep_failed 0"));
  EXPECT_TRUE(has(t, "xlb_reaper_expired_total 81234"));
  EXPECT_TRUE(has(t, "xlb_reaper_last_sweep_duration_seconds 0.301"));
  EXPECT_TRUE(has(t, "xlb_reaper_last_sweep_expired_entries 1200"));
  EXPECT_TRUE(has(t, "xlb_reaper_last_sweep_scanned_entries 500000"));
  EXPECT_TRUE(has(t, "xlb_reaper_last_sweep_timestamp_seconds 1767225600.123"));
  EXPECT_TRUE(has(t, "xlb_reaper_last_sweep_complete 1"));
}

TEST(CollectorTest, FailuresShow) {
  Views v = sample_views();
  v.status["in_sync"] = false;
  v.status["data_path_error"] = "the pins of xl1 vanished";
  v.status["reaper"]["error"] = "map read failed";
  v.status["health"]["state_file_error"] = "disk full";
  v.vips[0]["all_down"] = true;
  std::string t = render(v);
  EXPECT_TRUE(has(t, "xlb_in_sync 0"));
  EXPECT_TRUE(has(t, "xlb_data_path_ok 0"));
  EXPECT_TRUE(has(t, "xlb_reaper_last_sweep_failed 1"));
  EXPECT_TRUE(has(t, "xlb_health_state_file_ok 0"));
  EXPECT_TRUE(has(t, R"(xlb_vip_all_down{vip="198.18.100.1:80",proto="tcp"} 1)"));
}

TEST(CollectorTest, WhatAViewLacksIsLeftOut) {
  Views v = sample_views();
  v.status["flows"] = nullptr;     // not counted
  v.status["health"] = nullptr;    // an lbd without health checks
  v.status["reaper"]["last_sweep"] = nullptr;  // before the first sweep
  v.vips = nullptr;                // list failed
  std::string t = render(v);
  EXPECT_FALSE(has_family(t, "xlb_flow_table_entries"));
  EXPECT_TRUE(has_family(t, "xlb_flow_table_size"));
  EXPECT_FALSE(has_family(t, "xlb_health_transitions_total"));
  EXPECT_FALSE(has_family(t, "xlb_reaper_last_sweep_duration_seconds"));
  EXPECT_TRUE(has_family(t, "xlb_reaper_sweeps_total"));
  EXPECT_FALSE(has_family(t, "xlb_backend_weight"));
  EXPECT_TRUE(has_family(t, "xlb_backend_packets_total"));

  // Nothing at all, or nonsense: an empty scrape, no exception.
  EXPECT_EQ(render(Views{}), "");
  Views junk;
  junk.stats = nlohmann::json::parse(R"({"global": [1, 2], "vips": {"a": 1}})");
  junk.vips = nlohmann::json::parse(R"([{"vip": 5}, "x", {"vip": "1.2.3.4:80", "proto": "tcp", "backends": 7}])");
  junk.status = nlohmann::json::parse(R"({"uptime_s": "long", "ifaces": 3, "reaper": {"sweeps": -1}})");
  EXPECT_EQ(render(junk), "");
}

TEST(CollectorTest, NoDuplicateSeriesAndEveryFamilyDeclaredOnce) {
  std::string t = render(sample_views());
  std::vector<std::string> s = samples(t);
  std::set<std::string> series;
  for (const auto& line : s) EXPECT_TRUE(series.insert(line.substr(0, line.rfind(' '))).second) << line;
  std::set<std::string> names;
  for (size_t i = 0; i < kFamilyCount; i++) EXPECT_TRUE(names.insert(kFamilies[i].name).second) << kFamilies[i].name;
}

TEST(CollectorTest, BackendLabel) {
  EXPECT_EQ(backend_label({{"address", "198.18.0.11"}}), "198.18.0.11");
  EXPECT_EQ(backend_label({{"address", "198.18.0.11"}, {"port", 8080}}), "198.18.0.11:8080");
  EXPECT_EQ(backend_label({{"address", "fd00::11"}, {"port", 8080}}), "[fd00::11]:8080");
  EXPECT_EQ(backend_label({{"address", "fd00::11"}}), "fd00::11");
}

}  // namespace
}  // namespace xlb::metrics

namespace xlb::metrics {
namespace {

TEST(CollectorTest, AnnouncedVipsAndTheDrainFlag) {
  std::string t = render(test::sample_views());
  EXPECT_TRUE(has(t, "xlb_node_drained 0"));
  EXPECT_TRUE(has(t, "xlb_announce_write_ok 1"));
  EXPECT_TRUE(has(t, R"(xlb_vip_announced{vip="198.18.100.1"} 1)"));
  EXPECT_TRUE(has(t, R"(xlb_vip_announced{vip="fd00:100::1"} 1)"));

  Views off = test::sample_views();
  off.status["announce"] = {{"table", nullptr}, {"drained", true}, {"announced", nlohmann::json::array()}};
  t = render(off);
  EXPECT_TRUE(has(t, "xlb_node_drained 1"));
  EXPECT_FALSE(has_family(t, "xlb_announce_write_ok"));
  EXPECT_FALSE(has_family(t, "xlb_vip_announced"));
}

}  // namespace
}  // namespace xlb::metrics
