// lbd --metrics ADDR:PORT: the Prometheus endpoint (metrics/endpoint.h),
// fed by the main loop.
//
// Threads: the endpoint's threads never touch the Balancer, the health
// monitor or the API, all single-threaded. A scrape waits on the bridge
// (metrics/scrape_bridge.h) for the main loop's next tick (lbd ticks every
// 100 ms) to build the `stats`, `list` and `status` views; if the main loop
// does not answer within kScrapeWaitMs (busy with a long apply), the scrape
// gets 503. The one costly figure, the flow-table count (it reads the whole
// table), is taken in the scrape's own thread over map fds of its own, as
// the reaper does, so a scrape never holds up lbctl.
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api.h"
#include "core/map_io.h"
#include "metrics/endpoint.h"
#include "metrics/scrape_bridge.h"

namespace xlb {

constexpr int kScrapeWaitMs = 5000;
// Builds at least this far apart: scraping in a loop costs the main thread
// one build a second (Prometheus scrapes every 15 s or so).
constexpr int kScrapeMinIntervalMs = 1000;

class MetricsService {
 public:
  // Binds: throws std::runtime_error (busy port, no such address) before
  // lbd touches anything. Scrapes get 503 until start().
  explicit MetricsService(const metrics::ListenAddress& at);
  ~MetricsService();  // stops the endpoint first: its threads may be waiting on the bridge
  MetricsService(const MetricsService&) = delete;
  MetricsService& operator=(const MetricsService&) = delete;

  // Serves scrapes from now on, counting flows over flows_io (lbd: a
  // BpfMapIo of its own on the pin directory).
  void start(std::unique_ptr<MapIo> flows_io);
  // Main thread, every tick: answers the scrapes that wait.
  void tick(Api& api);
  uint16_t port() const { return endpoint_->port(); }

 private:
  metrics::Reply scrape();  // an endpoint thread

  metrics::ScrapeBridge bridge_{std::chrono::milliseconds(kScrapeMinIntervalMs)};
  std::mutex flows_mu_;  // scrapes may run in parallel
  std::unique_ptr<MapIo> flows_io_;
  std::optional<uint64_t> flows_;  // the last count, taken at flows_at_
  std::chrono::steady_clock::time_point flows_at_;
  std::unique_ptr<metrics::Endpoint> endpoint_;
};

}  // namespace xlb
