// Runs the reaper (core/reaper.h) in a thread of its own, with a MapIo (map
// fds) of its own, so a sweep of a million-entry flow table never holds up
// the API; forwarding is never held up either, as a sweep is only batched
// map syscalls.
//
// Only the main thread touches the Balancer, so it needs no lock: on each
// tick the main thread starts a sweep (handing over a snapshot of the
// backend identities and the removal generation) once the interval has
// passed since the last start, and hands a finished sweep's result to the
// balancer, which frees the removed backends no flow uses. The two threads
// share nothing but the job and result slots below, under one mutex.
//
// Pacing: a sweep starts reap_interval_ms after the previous start, but no
// sooner after the previous end than that sweep took, so even a table too
// large to sweep within the interval costs at most half a core.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/balancer.h"
#include "core/reaper.h"

namespace xlb {

struct ReaperStatus {
  Timeouts timeouts;
  uint32_t interval_ms = kDefaultReapIntervalMs;
  uint64_t sweeps = 0;            // finished, successful or not
  bool running = false;           // a sweep is under way
  std::optional<SweepStats> last;  // the last successful sweep
  std::chrono::system_clock::time_point last_end;
  std::string last_error;         // of the last sweep, empty if it succeeded
  uint64_t expired_total = 0;     // flow entries deleted for idleness since start
  uint64_t reconciled_total = 0;  // identities corrected since start
  uint64_t backends_freed = 0;    // removed backends freed since start
  uint64_t nat_rev_reaped_total = 0;  // xlb_nat_rev entries deleted since start
};

class ReaperThread {
 public:
  explicit ReaperThread(std::unique_ptr<MapIo> io);
  ~ReaperThread();  // ends a sweep under way early, and joins
  ReaperThread(const ReaperThread&) = delete;
  ReaperThread& operator=(const ReaperThread&) = delete;

  // Main thread. Applies from the next sweep. Valid values
  // (check_reaper_settings).
  void configure(const Timeouts& timeouts, uint32_t interval_ms);
  // Main thread, often (every server tick).
  void tick(Balancer& lb);
  ReaperStatus status() const;

 private:
  struct Job {
    IdentityTable identities;
    uint64_t generation = 0;
    Timeouts timeouts;
  };
  struct Done {
    SweepResult result;
    uint64_t generation = 0;
    bool ok = false;
  };
  void run();

  std::unique_ptr<MapIo> io_;
  Reaper reaper_;  // the sweeping thread's only
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Job> job_;    // started, not yet picked up
  std::optional<Done> done_;  // finished, not yet collected
  ReaperStatus status_;

  // Main thread only.
  std::chrono::steady_clock::time_point last_start_{};
  std::chrono::steady_clock::time_point next_start_{};
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace xlb
