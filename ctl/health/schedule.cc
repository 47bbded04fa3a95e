#include "schedule.h"

namespace xlb::health {

uint32_t check_phase(const std::string& identity, uint32_t interval_ms) {
  if (interval_ms == 0) return 0;
  uint64_t h = 1469598103934665603ull;  // FNV-1a, 64-bit
  for (unsigned char c : identity) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<uint32_t>(h % interval_ms);
}

TimeMs first_check_at(const std::string& identity, uint32_t interval_ms, TimeMs now) {
  return now + check_phase(identity, interval_ms);
}

TimeMs next_check_at(TimeMs started, uint32_t interval_ms, TimeMs now) {
  TimeMs next = started + static_cast<TimeMs>(interval_ms);
  return next > now ? next : now;
}

}  // namespace xlb::health
