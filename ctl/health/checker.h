// The checker: a thread of its own that checks every target every interval
// with one Prober, and hands the results to lbd's main thread.
//
// Why a thread, not lbd's poll loop: lbd's main loop (lbd/server.h) runs
// each API request and its tick to the end before it polls again, and a
// request that rebuilds rings or a restart's recovery holds it for tens to
// hundreds of milliseconds. A probe driven from that loop would be timed with
// those pauses in it, reading a busy lbd as a slow backend (a false "connect
// timeout"), and its schedule would jitter by as much. In a thread of its
// own, a probe's latency is the network's and its start is on time. The
// thread touches nothing of lbd's: like the reaper (lbd/reaper_thread.h) it
// shares only a target list and a result queue under one mutex, and an
// eventfd that lbd may poll to learn that results wait. The Prober itself
// stays loop-agnostic (fd() + process()), so a daemon without such pauses
// could drive it from its own loop instead.
//
// Scheduling is Schedule's (schedule.h): each target at a fixed phase of
// its interval, no drift, no bursts. Starts are grouped in rounds at least
// batch_ms apart: a thousand targets a second would otherwise wake the
// thread a thousand times a second, and on this VM each wakeup (a context
// switch) costs more than the probe it starts. A probe then starts up to
// batch_ms after its slot, but slots stay on their grid (no drift), and
// replies still wake the thread at once, so latencies stay exact. A target has at most one probe in
// flight: one that is due while its previous probe runs is skipped and
// counted (skipped_busy), which only happens when the timeout is longer than
// the interval.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "health/probe.h"
#include "health/prober.h"
#include "health/schedule.h"

namespace xlb::health {

struct Target {
  Probe probe;  // probe.id is the target's id
  uint32_t interval_ms = 1000;
};

struct CheckerStats {
  size_t targets = 0;
  size_t in_flight = 0;
  uint64_t started = 0;
  uint64_t skipped_busy = 0;     // due while its previous probe still ran
  uint64_t results_dropped = 0;  // the queue was full (nobody took results)
  uint64_t wakeups = 0;          // turns of the thread's loop
  ProberStats prober;
  std::chrono::nanoseconds cpu{0};  // the checker thread's CPU time so far
};

struct CheckerOptions {
  // The shortest time between two rounds of probe starts (0: start each
  // probe in its exact slot, one wakeup each).
  uint32_t batch_ms = 10;
};

class Checker {
 public:
  // Results waiting beyond this many are dropped, oldest kept: a main thread
  // that takes none for a long while must not grow memory without bound.
  static constexpr size_t kMaxQueued = 1 << 16;

  // Starts the thread; throws SystemError without epoll or eventfd.
  explicit Checker(CheckerOptions options = {});
  ~Checker();  // stops it (probes in flight are dropped) and joins
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // Any thread. Replaces the whole target set, by probe.id. A target kept
  // with the same interval keeps its phase; its new probe settings apply
  // from its next round. Probes in flight of removed targets are dropped.
  void set_targets(std::vector<Target> targets);

  // Readable (an eventfd) while results wait to be taken.
  int notify_fd() const { return notify_fd_; }
  // Any thread: the results since the last call, in the order they ended.
  std::vector<ProbeResult> take_results();

  CheckerStats stats() const;

 private:
  void run();
  void apply_targets(Prober::Clock::time_point now);
  void wake();

  CheckerOptions options_;
  Prober prober_;  // the thread's only
  Schedule schedule_;  // the thread's only
  int wake_fd_ = -1;    // eventfd: set_targets and the destructor wake the thread
  int notify_fd_ = -1;  // eventfd: results wait
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::optional<std::vector<Target>> pending_;  // set, not yet applied
  std::vector<ProbeResult> results_;
  CheckerStats stats_;

  std::map<uint64_t, Target> targets_;  // the thread's only
  std::set<uint64_t> busy_;             // ids with a probe in flight
  std::thread thread_;
};

}  // namespace xlb::health
