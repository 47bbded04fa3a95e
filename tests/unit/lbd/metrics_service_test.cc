// lbd's metrics endpoint end to end without a kernel: an Api over a Balancer
// on the fake maps, a thread playing lbd's main loop (only it touches the
// Api), and scrapes over HTTP on loopback. What a scrape says is what the
// API says; the flow count comes from the endpoint's own map io.
//
// The fake maps are not shared between threads at once: the main loop
// reads them only while building for a scrape, and the scrape counts flows
// only after that build is handed over.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "balancer_fixture.h"
#include "lbd/api.h"
#include "lbd/metrics_service.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using testing::FakeMapIo;
using testing::TCP;

class MetricsServiceTest : public BalancerTest {
 protected:
  // Runs the "main loop" until stop: ticks every millisecond.
  void start_main_loop() {
    main_loop = std::thread([this] {
      while (!stop) {
        service.tick(api);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  void TearDown() override {
    stop = true;
    if (main_loop.joinable()) main_loop.join();
  }
  httplib::Result scrape(const std::string& path = "/metrics") {
    httplib::Client c("127.0.0.1", service.port());
    c.set_read_timeout(30, 0);
    return c.Get(path);
  }

  Api api{*lb, DaemonInfo{}, [] {}};
  MetricsService service{metrics::ListenAddress{"127.0.0.1", 0, false}};
  std::atomic<bool> stop{false};
  std::thread main_loop;
};

TEST_F(MetricsServiceTest, AScrapeSaysWhatTheApiSays) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11", 3);
  add_flow("198.18.0.2:1000", "198.18.100.1:80", TCP, 0, 0, XLB_FLOW_TCP_ESTABLISHED, 0);
  add_flow("198.18.0.2:1001", "198.18.100.1:80", TCP, 0, 0, XLB_FLOW_TCP_ESTABLISHED, 0);

  auto before = scrape();  // not started: lbd is still starting
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 503);

  service.start(std::make_unique<FakeMapIo>(maps));
  start_main_loop();
  auto r = scrape();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string& t = r->body;
  auto has = [&](const std::string& line) { return t.find("\n" + line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("xlb_vips 1")) << t;
  EXPECT_TRUE(has("xlb_backends 1")) << t;
  EXPECT_TRUE(has("xlb_flow_table_entries 2")) << t;
  EXPECT_TRUE(has(R"(xlb_vip_packets_total{vip="198.18.100.1:80",proto="tcp"} 0)")) << t;
  EXPECT_TRUE(has(R"(xlb_backend_weight{vip="198.18.100.1:80",proto="tcp",backend="198.19.0.11"} 3)")) << t;
  EXPECT_TRUE(has(R"(xlb_backend_state{vip="198.18.100.1:80",proto="tcp",backend="198.19.0.11",state="active"} 1)"))
      << t;
  EXPECT_TRUE(has(R"(xlb_packets_total{counter="rx"} 0)")) << t;

  auto missing = scrape("/status");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(MetricsServiceTest, AMainLoopThatIsGoneMeansNoAnswerNotAHang) {
  // Started, but nobody ticks (lbd stuck in a long apply): the scrape gets
  // 503 after the bounded wait (kScrapeWaitMs), not never.
  service.start(std::make_unique<FakeMapIo>(maps));
  auto r = scrape();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("did not answer"), std::string::npos) << r->body;
}

}  // namespace
}  // namespace xlb
