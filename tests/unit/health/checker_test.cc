// The checker thread: schedules targets, hands results over, follows changes.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "health/checker.h"
#include "servers.h"

namespace xlb::health {
namespace {

// Takes results until each of the ids has at least n, waiting on the
// checker's notify fd (a hang guard of 30 s fails the test).
std::map<uint64_t, std::vector<ProbeResult>> take_until(Checker& c, const std::vector<uint64_t>& ids,
                                                        size_t n) {
  std::map<uint64_t, std::vector<ProbeResult>> got;
  auto enough = [&] {
    for (uint64_t id : ids)
      if (got[id].size() < n) return false;
    return true;
  };
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!enough() && std::chrono::steady_clock::now() < give_up) {
    pollfd p{c.notify_fd(), POLLIN, 0};
    poll(&p, 1, 100);
    for (auto& r : c.take_results()) got[r.id].push_back(r);
  }
  EXPECT_TRUE(enough()) << "the checker did not deliver";
  return got;
}

TEST(CheckerThread, ChecksEveryTargetRepeatedly) {
  uint16_t up_port, down_port;
  int up = test::bound_socket(AF_INET, SOCK_STREAM, &up_port, 64);
  int down = test::bound_socket(AF_INET, SOCK_STREAM, &down_port);
  ASSERT_GE(up, 0);
  ASSERT_GE(down, 0);
  test::UdpServer udp(AF_INET, [](const std::string& in) { return std::optional<std::string>(in); });

  Checker checker;
  std::vector<Target> targets(3);
  targets[0].probe.id = 10;
  targets[0].probe.dst = test::loopback(AF_INET, up_port);
  targets[1].probe.id = 11;
  targets[1].probe.dst = test::loopback(AF_INET, down_port);
  targets[2].probe.id = 12;
  targets[2].probe.kind = ProbeKind::kUdp;
  targets[2].probe.dst = udp.endpoint();
  targets[2].probe.udp_payload = "hi";
  for (auto& t : targets) t.interval_ms = 20;
  checker.set_targets(targets);

  auto got = take_until(checker, {10, 11, 12}, 3);
  for (auto& r : got[10]) EXPECT_TRUE(r.ok) << r.reason;
  for (auto& r : got[11]) EXPECT_EQ(r.reason, "connect refused");
  for (auto& r : got[12]) EXPECT_TRUE(r.ok) << r.reason;

  // Drop one target, keep the others: the checker follows.
  targets.erase(targets.begin() + 1);
  checker.set_targets(targets);
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (checker.stats().targets != 2 && std::chrono::steady_clock::now() < give_up)
    take_until(checker, {10}, 1);
  EXPECT_EQ(checker.stats().targets, 2u);
  // From now on no result of the removed target comes.
  take_until(checker, {10, 12}, 1);  // one full round after the change
  auto later = take_until(checker, {10, 12}, 2);
  EXPECT_EQ(later.count(11), 0u);

  CheckerStats s = checker.stats();
  EXPECT_GE(s.started, 9u);
  EXPECT_EQ(s.results_dropped, 0u);
  close(up);
  close(down);
}

TEST(CheckerThread, NewProbeSettingsApplyFromTheNextRound) {
  uint16_t up_port, down_port;
  int up = test::bound_socket(AF_INET, SOCK_STREAM, &up_port, 64);
  int down = test::bound_socket(AF_INET, SOCK_STREAM, &down_port);
  ASSERT_GE(up, 0);
  ASSERT_GE(down, 0);
  Checker checker;
  Target t;
  t.probe.id = 42;
  t.probe.dst = test::loopback(AF_INET, down_port);
  t.interval_ms = 10;
  checker.set_targets({t});
  auto got = take_until(checker, {42}, 1);
  EXPECT_EQ(got[42][0].reason, "connect refused");
  // The same target (same id, same interval) now pointed at a listener: its
  // results turn ok, with no other change.
  t.probe.dst = test::loopback(AF_INET, up_port);
  checker.set_targets({t});
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool turned_ok = false;
  while (!turned_ok && std::chrono::steady_clock::now() < give_up)
    for (auto& r : take_until(checker, {42}, 1)[42]) turned_ok |= r.ok;
  EXPECT_TRUE(turned_ok);
  EXPECT_EQ(checker.stats().targets, 1u);
  close(up);
  close(down);
}

TEST(CheckerThread, ABusyTargetIsSkippedNotDoubled) {
  // A probe that outlives its interval: the rounds that come due meanwhile
  // are skipped, so a target never has two probes in flight.
  test::UdpServer silent(AF_INET, [](const std::string&) { return std::optional<std::string>(); });
  Checker checker;
  Target t;
  t.probe.id = 1;
  t.probe.kind = ProbeKind::kUdp;
  t.probe.dst = silent.endpoint();
  t.probe.timeout_ms = 100;
  t.interval_ms = 10;
  checker.set_targets({t});
  auto got = take_until(checker, {1}, 2);
  for (auto& r : got[1]) EXPECT_EQ(r.reason, "no udp reply within 100 ms");
  CheckerStats s = checker.stats();
  EXPECT_LE(s.in_flight, 1u);
  EXPECT_GT(s.skipped_busy, 0u);
}

TEST(CheckerThread, StopsWithProbesInFlight) {
  test::UdpServer silent(AF_INET, [](const std::string&) { return std::optional<std::string>(); });
  auto checker = std::make_unique<Checker>();
  Target t;
  t.probe.id = 1;
  t.probe.kind = ProbeKind::kUdp;
  t.probe.dst = silent.endpoint();
  t.probe.timeout_ms = 60000;
  checker->set_targets({t});
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (checker->stats().in_flight == 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
  EXPECT_EQ(checker->stats().in_flight, 1u);
  checker.reset();  // returns without waiting for the minute-long timeout
}

}  // namespace
}  // namespace xlb::health
