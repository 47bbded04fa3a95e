// How a backend's health is shown (lbctl list, stats --json, lbd's log),
// from its tracker and the current time, so every surface says the same.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "tracker.h"

namespace xlb::health {

// "up", "down 12s", "down 5m", "unchecked": how long only for down, the
// state an operator acts on.
std::string health_label(const Tracker& t, TimeMs now);
// "12s", "5m", "3h", "2d": whole units, rounded down.
std::string short_age(TimeMs ms);

// {"state": "down", "since_ms": ..., "for_ms": ..., "reason": "...",
//  "last": {"ok": false, "detail": "...", "latency_us": ..., "at_ms": ...},
//  "successes": 0, "failures": 3}; "last" is null before the first result.
nlohmann::json health_json(const Tracker& t, TimeMs now);

// The log line of a transition, as issue 12 words it:
// "198.19.0.12:8080 down: connect timeout after 1000 ms (2/2)".
std::string transition_line(const std::string& backend, const Transition& t);

}  // namespace xlb::health
