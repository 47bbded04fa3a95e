#include "reaper_thread.h"

#include <algorithm>

#include "log.h"

namespace xlb {

ReaperThread::ReaperThread(std::unique_ptr<MapIo> io)
    : io_(std::move(io)), reaper_(*io_), thread_([this] { run(); }) {}

ReaperThread::~ReaperThread() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ReaperThread::configure(const Timeouts& timeouts, uint32_t interval_ms) {
  // Called by the main thread, like tick(): a shorter interval applies at once.
  next_start_ = std::min(next_start_, last_start_ + std::chrono::milliseconds(interval_ms));
  std::lock_guard<std::mutex> lk(mu_);
  status_.timeouts = timeouts;
  status_.interval_ms = interval_ms;
}

ReaperStatus ReaperThread::status() const {
  std::lock_guard<std::mutex> lk(mu_);
  return status_;
}

void ReaperThread::tick(Balancer& lb) {
  std::optional<Done> done;
  Timeouts timeouts;
  uint32_t interval_ms;
  bool busy;
  {
    std::lock_guard<std::mutex> lk(mu_);
    done.swap(done_);
    busy = status_.running;
    timeouts = status_.timeouts;
    interval_ms = status_.interval_ms;
  }
  if (done) {
    // Sweeps start every interval, but never sooner after the last one
    // ended than it lasted: on a huge table the reaper then works at most
    // half the time (of one core) instead of back to back.
    auto took = std::chrono::milliseconds(done->ok ? done->result.stats.duration_ms : 0);
    next_start_ = std::max(last_start_ + std::chrono::milliseconds(interval_ms),
                           std::chrono::steady_clock::now() + took);
  }
  if (done && done->ok && done->result.stats.complete) {
    std::vector<std::string> notes;
    try {
      notes = lb.free_removed(done->result.referenced, done->generation);
    } catch (const std::exception& e) {
      log_warn(std::string("freeing removed backends: ") + e.what());
    }
    for (const auto& n : notes) log_line(n);
    std::lock_guard<std::mutex> lk(mu_);
    status_.backends_freed += notes.size();
  }

  auto now = std::chrono::steady_clock::now();
  if (busy || now < next_start_) return;
  last_start_ = now;
  next_start_ = now + std::chrono::milliseconds(interval_ms);
  Job job{lb.identities(), lb.removal_generation(), timeouts};
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = std::move(job);
    status_.running = true;
  }
  cv_.notify_all();
}

void ReaperThread::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return stopping_ || job_; });
      if (stopping_) return;
      job = std::move(*job_);
      job_.reset();
    }
    reaper_.set_timeouts(job.timeouts);
    Done done;
    done.generation = job.generation;
    std::string error;
    try {
      done.result = reaper_.sweep(job.identities, [this] { return stopping_.load(); });
      done.ok = true;
    } catch (const std::exception& e) {
      error = e.what();
    }

    std::lock_guard<std::mutex> lk(mu_);
    // One line per change of state, not one per sweep, every second.
    if (!error.empty() && error != status_.last_error) log_warn("reaper: " + error);
    if (done.ok && !status_.last_error.empty()) log_line("reaper: sweeping again");
    if (done.ok && done.result.stats.reconciled)
      log_line("reaper: corrected the connection counts of " + std::to_string(done.result.stats.reconciled) +
               " backends (drift seen on two sweeps)");
    status_.running = false;
    status_.sweeps++;
    status_.last_error = error;
    if (done.ok) {
      status_.last = done.result.stats;
      status_.last_end = std::chrono::system_clock::now();
      status_.expired_total += done.result.stats.expired;
      status_.reconciled_total += done.result.stats.reconciled;
      status_.nat_rev_reaped_total += done.result.stats.nat_rev_reaped;
    }
    done_ = std::move(done);
  }
}

}  // namespace xlb
