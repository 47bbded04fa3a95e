#include "metrics/scrape_bridge.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

namespace xlb::metrics {
namespace {

using namespace std::chrono_literals;
using Outcome = ScrapeBridge::Outcome;

Views numbered(int n) {
  Views v;
  v.status = {{"n", n}};
  return v;
}

// Runs the main thread's side until the waiter is done: serve() on every
// round, as lbd's tick does.
void serve_until(ScrapeBridge& b, const std::atomic<bool>& done, const std::function<Views()>& build) {
  while (!done) {
    b.serve(build);
    std::this_thread::sleep_for(1ms);
  }
}

TEST(ScrapeBridgeTest, NothingIsBuiltWhileNobodyAsks) {
  ScrapeBridge b;
  int builds = 0;
  EXPECT_FALSE(b.serve([&] {
    builds++;
    return numbered(1);
  }));
  EXPECT_EQ(builds, 0);
}

TEST(ScrapeBridgeTest, AScrapeGetsTheMainThreadsViews) {
  ScrapeBridge b;
  std::atomic<bool> done{false};
  Views got;
  std::string error;
  Outcome outcome = Outcome::kClosed;
  std::thread scraper([&] {
    outcome = b.request(60s, &got, &error);
    done = true;
  });
  int builds = 0;
  serve_until(b, done, [&] { return numbered(++builds); });
  scraper.join();
  EXPECT_EQ(outcome, Outcome::kOk);
  EXPECT_EQ(got.status["n"], 1);
  EXPECT_EQ(builds, 1);
  // Served: nothing more to build.
  EXPECT_FALSE(b.serve([&] { return numbered(++builds); }));
}

TEST(ScrapeBridgeTest, ScrapesWaitingTogetherShareOneBuild) {
  ScrapeBridge b;
  constexpr int kScrapers = 4;
  std::atomic<int> waiting{0}, finished{0};
  std::vector<Views> got(kScrapers);
  std::vector<std::thread> scrapers;
  for (int i = 0; i < kScrapers; i++)
    scrapers.emplace_back([&, i] {
      std::string error;
      waiting++;
      EXPECT_EQ(b.request(60s, &got[i], &error), Outcome::kOk);
      finished++;
    });
  // All four are about to wait or waiting; give them the time to enter
  // request() (not a timing assertion: a late one just gets a later build).
  while (waiting < kScrapers) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);
  int builds = 0;
  std::atomic<bool> done{false};
  std::thread main_loop([&] { serve_until(b, done, [&] { return numbered(++builds); }); });
  while (finished < kScrapers) std::this_thread::sleep_for(1ms);
  done = true;
  main_loop.join();
  for (auto& t : scrapers) t.join();
  EXPECT_GE(builds, 1);
  EXPECT_LE(builds, kScrapers);
  for (const auto& v : got) EXPECT_GE(v.status["n"].get<int>(), 1);
}

TEST(ScrapeBridgeTest, AScrapeDuringABuildWaitsForTheNextOne) {
  // The build under way may have read the state before the scrape asked.
  ScrapeBridge b;
  std::atomic<bool> first_done{false};
  Views first, second;
  std::string error;
  std::thread s1([&] {
    EXPECT_EQ(b.request(60s, &first, &error), Outcome::kOk);
    first_done = true;
  });
  std::atomic<bool> in_build{false}, release{false};
  std::thread s2;
  std::atomic<bool> second_done{false};
  std::thread main_loop([&] {
    int n = 0;
    // The first build: blocks until the second scrape has asked.
    while (!b.serve([&] {
      in_build = true;
      while (!release) std::this_thread::sleep_for(1ms);
      return numbered(++n);
    }))
      std::this_thread::sleep_for(1ms);
    while (!second_done) {
      b.serve([&] { return numbered(++n); });
      std::this_thread::sleep_for(1ms);
    }
  });
  while (!in_build) std::this_thread::sleep_for(1ms);
  s2 = std::thread([&] {
    std::string e;
    EXPECT_EQ(b.request(60s, &second, &e), Outcome::kOk);
    second_done = true;
  });
  std::this_thread::sleep_for(20ms);  // s2 is (most likely) waiting; either way it must get build 2
  release = true;
  s1.join();
  s2.join();
  main_loop.join();
  // The first scrape gets build 1, or build 2 if it woke only after that
  // one (newer views are fine); the second never gets build 1.
  EXPECT_GE(first.status["n"].get<int>(), 1);
  EXPECT_EQ(second.status["n"], 2);
}

TEST(ScrapeBridgeTest, BuildsAreMinIntervalApart) {
  ScrapeBridge b(std::chrono::hours(1));
  std::atomic<bool> done{false};
  Views v;
  std::string error;
  std::thread scraper([&] {
    EXPECT_EQ(b.request(60s, &v, &error), Outcome::kOk);
    done = true;
  });
  int builds = 0;
  serve_until(b, done, [&] { return numbered(++builds); });  // the first build: at once
  scraper.join();
  EXPECT_EQ(builds, 1);
  // A scrape within the hour is not built for: it waits (here: times out).
  std::thread again([&] { EXPECT_EQ(b.request(50ms, &v, &error), Outcome::kTimeout); });
  for (int i = 0; i < 20; i++) {
    EXPECT_FALSE(b.serve([&] { return numbered(++builds); }));
    std::this_thread::sleep_for(1ms);
  }
  again.join();
  EXPECT_EQ(builds, 1);
}

TEST(ScrapeBridgeTest, AMainLoopThatDoesNotAnswerTimesOut) {
  ScrapeBridge b;
  Views v;
  std::string error;
  EXPECT_EQ(b.request(10ms, &v, &error), Outcome::kTimeout);
}

TEST(ScrapeBridgeTest, AFailedBuildIsReported) {
  ScrapeBridge b;
  std::atomic<bool> done{false};
  Views v;
  std::string error;
  Outcome outcome = Outcome::kOk;
  std::thread scraper([&] {
    outcome = b.request(60s, &v, &error);
    done = true;
  });
  serve_until(b, done, []() -> Views { throw std::runtime_error("maps gone"); });
  scraper.join();
  EXPECT_EQ(outcome, Outcome::kFailed);
  EXPECT_EQ(error, "maps gone");
}

TEST(ScrapeBridgeTest, CloseWakesWaitersAndRefusesNewOnes) {
  ScrapeBridge b;
  Outcome outcome = Outcome::kOk;
  std::atomic<bool> started{false};
  std::thread scraper([&] {
    Views v;
    std::string error;
    started = true;
    outcome = b.request(600s, &v, &error);
  });
  while (!started) std::this_thread::sleep_for(1ms);
  b.close();
  scraper.join();  // returns at once, not after 600 s
  EXPECT_EQ(outcome, Outcome::kClosed);
  Views v;
  std::string error;
  EXPECT_EQ(b.request(600s, &v, &error), Outcome::kClosed);
  EXPECT_FALSE(b.serve([] { return numbered(1); }));
}

}  // namespace
}  // namespace xlb::metrics
