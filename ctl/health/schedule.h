// When each target is checked: every interval, at a fixed phase of its own,
// so a thousand targets on a 1 s interval make a steady trickle of probes,
// not a burst of a thousand once a second. Pure: time is passed in.
//
// Jitter-free:
// - A target's due times are start + phase + k * interval: the next one is
//   the previous one plus the interval, never "when the last probe ended plus
//   the interval", so probe latency and loop delays never drift it.
// - A late loop (a stall longer than an interval) skips the rounds it
//   missed; it never fires them all at once to catch up.
// - Phases: the k-th target ever added gets phase vdc(k) * interval, where
//   vdc is the base-2 van der Corput sequence (0, 1/2, 1/4, 3/4, 1/8, ...).
//   Any n consecutive targets then leave no gap wider than 2 * interval / n,
//   however many are added later, and adding one never moves the others.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace xlb::health {

class Schedule {
 public:
  using Clock = std::chrono::steady_clock;
  using Ms = std::chrono::milliseconds;

  // Adds a target, or updates one: an unchanged interval keeps its phase and
  // next due time; a changed one starts afresh with a new phase.
  void set(uint64_t id, Ms interval, Clock::time_point now);
  void remove(uint64_t id);
  bool contains(uint64_t id) const { return entries_.count(id) != 0; }
  size_t size() const { return entries_.size(); }

  // The targets due at or before now, earliest first. Each moves on to its
  // first due time after now.
  std::vector<uint64_t> take_due(Clock::time_point now);
  // The earliest due time, if any target is scheduled.
  std::optional<Clock::time_point> next_due() const;
  std::optional<Clock::time_point> due_of(uint64_t id) const;

  // vdc(k) in [0, 1): bit-reversed k.
  static double phase(uint64_t k);

 private:
  struct Entry {
    Ms interval{0};
    Clock::time_point next;
  };
  std::map<uint64_t, Entry> entries_;
  std::set<std::pair<Clock::time_point, uint64_t>> queue_;
  uint64_t added_ = 0;  // targets ever added: the next phase's index
};

}  // namespace xlb::health
