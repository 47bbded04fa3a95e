#include "health/checker.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace xlb::health {

namespace {

int make_eventfd() {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw SystemError(std::string("eventfd: ") + std::strerror(errno));
  return fd;
}

void signal_fd(int fd) {
  uint64_t one = 1;
  ssize_t n = ::write(fd, &one, sizeof(one));
  (void)n;  // only fails when the counter is saturated: it is signalled
}

void drain_fd(int fd) {
  uint64_t v;
  ssize_t n = ::read(fd, &v, sizeof(v));
  (void)n;
}

}  // namespace

Checker::Checker(CheckerOptions options) : options_(options) {
  wake_fd_ = make_eventfd();
  notify_fd_ = make_eventfd();
  thread_ = std::thread([this] { run(); });
}

Checker::~Checker() {
  stopping_ = true;
  wake();
  thread_.join();
  ::close(wake_fd_);
  ::close(notify_fd_);
}

void Checker::wake() { signal_fd(wake_fd_); }

void Checker::set_targets(std::vector<Target> targets) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = std::move(targets);
  }
  wake();
}

std::vector<ProbeResult> Checker::take_results() {
  std::lock_guard<std::mutex> lock(mu_);
  drain_fd(notify_fd_);
  std::vector<ProbeResult> out;
  out.swap(results_);
  return out;
}

CheckerStats Checker::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  CheckerStats s = stats_;
  clockid_t clock;
  timespec ts{};
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &clock) == 0 &&
      clock_gettime(clock, &ts) == 0)
    s.cpu = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  return s;
}

void Checker::apply_targets(Prober::Clock::time_point now) {
  std::optional<std::vector<Target>> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending.swap(pending_);
  }
  if (!pending) return;
  std::map<uint64_t, Target> next;
  for (auto& t : *pending) next[t.probe.id] = std::move(t);
  for (auto& [id, t] : targets_) {
    if (next.count(id)) continue;
    schedule_.remove(id);
    prober_.cancel(id);
    busy_.erase(id);
  }
  for (auto& [id, t] : next) schedule_.set(id, Schedule::Ms(t.interval_ms), now);
  targets_ = std::move(next);
}

void Checker::run() {
  using Clock = Prober::Clock;
  const Clock::duration batch = std::chrono::milliseconds(options_.batch_ms);
  std::vector<ProbeResult> results;
  Clock::time_point last_round{};  // when probes were last started
  while (!stopping_) {
    auto now = Clock::now();
    apply_targets(now);
    uint64_t started = 0, skipped = 0;
    auto due = now - last_round >= batch ? schedule_.take_due(now) : std::vector<uint64_t>{};
    if (!due.empty()) last_round = now;
    for (uint64_t id : due) {
      if (busy_.count(id)) {
        skipped++;
        continue;
      }
      busy_.insert(id);
      prober_.submit(targets_.at(id).probe);
      started++;
    }
    results.clear();
    prober_.process(results);
    for (auto& r : results) busy_.erase(r.id);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.started += started;
      stats_.skipped_busy += skipped;
      stats_.wakeups++;
      for (auto& r : results) {
        if (results_.size() >= kMaxQueued) {
          stats_.results_dropped++;
          continue;
        }
        results_.push_back(std::move(r));
      }
      stats_.targets = targets_.size();
      stats_.in_flight = prober_.in_flight();
      stats_.prober = prober_.stats();
      if (!results.empty()) signal_fd(notify_fd_);
    }

    // Sleep until a probe can progress or time out, the next target is due,
    // or set_targets/the destructor wakes us.
    int wait = prober_.next_timeout_ms();
    if (auto next = schedule_.next_due()) {
      auto left = std::max(*next, last_round + batch) - Clock::now();
      int ms = left <= Clock::duration::zero()
                   ? 0
                   : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
      if (wait < 0 || ms < wait) wait = ms;
    }
    pollfd fds[2] = {{prober_.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, wait);
    if (n > 0 && (fds[1].revents & POLLIN)) drain_fd(wake_fd_);
  }
}

}  // namespace xlb::health
