// The journal entry built from one of lbd's log lines: its priority and
// xlb's fields (ctl/service/journal.h).
#include "service/journal.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include "core/endpoint.h"
#include "core/rules.h"
#include "health/tracker.h"
#include "health/view.h"

namespace xlb::service {
namespace {

std::string field(const JournalEntry& e, const std::string& name) {
  for (const auto& [n, v] : e.fields)
    if (n == name) return v;
  return "<absent>";
}

TEST(JournalEntry, PriorityFollowsThePrefix) {
  EXPECT_EQ(journal_entry("listening on /run/xlb/lbd.sock", "eth0").priority, Priority::kInfo);
  EXPECT_EQ(journal_entry("warning: forwarding is off", "eth0").priority, Priority::kWarning);
  EXPECT_EQ(journal_entry("error: no such interface", "eth0").priority, Priority::kErr);
  // Only a prefix counts.
  EXPECT_EQ(journal_entry("recovery: warning: none", "eth0").priority, Priority::kInfo);
}

TEST(JournalEntry, MessageIsTheLineAsLogged) {
  JournalEntry e = journal_entry("warning: forwarding is off", "eth0");
  EXPECT_EQ(e.message, "warning: forwarding is off");
  EXPECT_EQ(field(e, "SYSLOG_IDENTIFIER"), "lbd");
  EXPECT_EQ(field(e, "XLB_IFACE"), "eth0");
  EXPECT_EQ(field(e, "XLB_BACKEND"), "<absent>");
}

TEST(JournalEntry, NoIfaceNoField) {
  EXPECT_EQ(field(journal_entry("x", ""), "XLB_IFACE"), "<absent>");
}

// The line is built the way lbd builds it (main.cc prefixes the monitor's
// lines with "health: ", and a transition to down is a warning), so a change
// of health::transition_line's shape fails here.
std::string transition(const std::string& vip, const std::string& backend, health::State to) {
  health::Transition t;
  t.to = to;
  t.reason = "3 consecutive failures (connect refused)";
  return "health: " + health::transition_line(vip + " " + backend, t);
}

TEST(JournalEntry, HealthTransitionNamesVipBackendAndState) {
  Endpoint vip4{IpAddr::parse("198.18.100.1"), 80};
  std::string vip = vip_name(vip4, IPPROTO_TCP);
  std::string backend = backend_name(IpAddr::parse("198.18.0.11"), 8080);
  JournalEntry up = journal_entry(transition(vip, backend, health::State::kUp), "eth0");
  EXPECT_EQ(up.priority, Priority::kInfo);
  EXPECT_EQ(field(up, "XLB_VIP"), vip);
  EXPECT_EQ(field(up, "XLB_BACKEND"), "198.18.0.11:8080");
  EXPECT_EQ(field(up, "XLB_HEALTH"), "up");

  JournalEntry down = journal_entry("warning: " + transition(vip, backend, health::State::kDown), "eth0");
  EXPECT_EQ(down.priority, Priority::kWarning);
  EXPECT_EQ(field(down, "XLB_BACKEND"), "198.18.0.11:8080");
  EXPECT_EQ(field(down, "XLB_HEALTH"), "down");
}

TEST(JournalEntry, HealthTransitionIpv6) {
  Endpoint vip6{IpAddr::parse("fd00:100::1"), 443};
  std::string vip = vip_name(vip6, IPPROTO_UDP);
  std::string backend = backend_name(IpAddr::parse("fd00:18::11"), 0);
  JournalEntry e = journal_entry(transition(vip, backend, health::State::kUp), "eth0");
  EXPECT_EQ(field(e, "XLB_VIP"), vip);
  EXPECT_EQ(field(e, "XLB_BACKEND"), "fd00:18::11");
}

TEST(JournalEntry, OtherHealthLinesHaveNoBackendField) {
  JournalEntry e = journal_entry("health: restored the checks of 2 VIPs and 4 backends", "eth0");
  EXPECT_EQ(field(e, "XLB_BACKEND"), "<absent>");
}

}  // namespace
}  // namespace xlb::service
