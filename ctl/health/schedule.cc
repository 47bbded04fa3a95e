#include "health/schedule.h"

namespace xlb::health {

double Schedule::phase(uint64_t k) {
  double r = 0, bit = 0.5;
  for (; k; k >>= 1, bit /= 2)
    if (k & 1) r += bit;
  return r;
}

void Schedule::set(uint64_t id, Ms interval, Clock::time_point now) {
  if (interval <= Ms::zero()) interval = Ms(1);
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    if (it->second.interval == interval) return;
    queue_.erase({it->second.next, id});
    entries_.erase(it);
  }
  auto offset = std::chrono::duration_cast<Clock::duration>(interval * phase(added_++));
  Entry e{interval, now + offset};
  entries_.emplace(id, e);
  queue_.emplace(e.next, id);
}

void Schedule::remove(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  queue_.erase({it->second.next, id});
  entries_.erase(it);
}

std::vector<uint64_t> Schedule::take_due(Clock::time_point now) {
  std::vector<uint64_t> due;
  while (!queue_.empty() && queue_.begin()->first <= now) {
    uint64_t id = queue_.begin()->second;
    queue_.erase(queue_.begin());
    Entry& e = entries_.at(id);
    // Whole intervals past now: a stall skips rounds, never bursts them.
    auto behind = now - e.next;
    e.next += e.interval * (behind / e.interval + 1);
    queue_.emplace(e.next, id);
    due.push_back(id);
  }
  return due;
}

std::optional<Schedule::Clock::time_point> Schedule::next_due() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first;
}

std::optional<Schedule::Clock::time_point> Schedule::due_of(uint64_t id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.next;
}

}  // namespace xlb::health
