// When to check: pure arithmetic for the integrator's checker loop.
//
// 1,000 backends on a 1 s interval started together would open 1,000
// connections in one tick every second, and their timeouts would fire
// together too. HAProxy spreads its checks with `spread-checks` (random);
// here each backend gets a fixed phase within its interval from a hash of
// its identity (persist.h), so the spread is even, the same after a
// restart, and testable.
#pragma once
#include <cstdint>
#include <string>

#include "tracker.h"

namespace xlb::health {

// 0..interval_ms-1, from the identity alone (FNV-1a).
uint32_t check_phase(const std::string& identity, uint32_t interval_ms);
// A backend's first check: now plus its phase.
TimeMs first_check_at(const std::string& identity, uint32_t interval_ms, TimeMs now);
// The check after one that started at `started`: one interval later, on
// the same cadence; `now` if the loop fell behind, so missed checks are
// skipped, never queued. Since timeout <= interval (spec.h), a backend has
// at most one check in flight.
TimeMs next_check_at(TimeMs started, uint32_t interval_ms, TimeMs now);

}  // namespace xlb::health
