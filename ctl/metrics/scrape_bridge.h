// How a scrape reaches lbd's main thread. lbd's Balancer, health monitor
// and API are single-threaded (lbd/server.h: one poll loop), so the HTTP
// threads never touch them: a scrape asks, and waits (bounded) while the
// main loop's next tick (every 100 ms) builds the views and hands them
// back. Scrapes that wait at once share one build, so however many come,
// the main thread builds at most once per tick, and only while someone
// asks: an idle endpoint costs nothing.
//
// Chosen over a snapshot the tick refreshes every N ms: a scrape always
// gets the state of the moment (what `lbctl stats` would say), and nothing
// is built that nobody reads. Builds are at least min_interval apart, so a
// client that scrapes in a loop costs the main thread one build per
// min_interval, not one per tick: a scrape within it of the last build
// waits for the next (still fresh, just later).
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "collector.h"

namespace xlb::metrics {

class ScrapeBridge {
 public:
  explicit ScrapeBridge(std::chrono::milliseconds min_interval = std::chrono::milliseconds(0))
      : min_interval_(min_interval) {}

  enum class Outcome {
    kOk,       // views filled
    kFailed,   // the build threw: error says why
    kTimeout,  // the main loop did not answer in time (busy: a long apply)
    kClosed,   // lbd is stopping
  };

  // HTTP thread: waits up to timeout for views built after this call.
  Outcome request(std::chrono::milliseconds timeout, Views* views, std::string* error);

  // Main thread, every tick: builds the views if a scrape waits (and the
  // last build is min_interval old). Returns whether it built.
  bool serve(const std::function<Views()>& build);

  // Wakes every waiter with kClosed, now and from now on.
  void close();

 private:
  const std::chrono::milliseconds min_interval_;
  std::chrono::steady_clock::time_point last_build_{};  // main thread only
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t asked_ = 0;   // generation the newest waiter needs
  uint64_t started_ = 0;  // generation of the build under way, or of the last one
  uint64_t served_ = 0;   // generation of result_
  bool closed_ = false;
  Views result_;
  std::string error_;
};

}  // namespace xlb::metrics
