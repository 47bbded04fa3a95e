#include "view.h"

namespace xlb::health {

std::string short_age(TimeMs ms) {
  if (ms < 0) ms = 0;
  TimeMs s = ms / 1000;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 120 * 60) return std::to_string(s / 60) + "m";
  if (s < 48 * 3600) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string health_label(const Tracker& t, TimeMs now) {
  if (t.state() == State::kDown) return "down " + short_age(now - t.since());
  return state_name(t.state());
}

nlohmann::json health_json(const Tracker& t, TimeMs now) {
  nlohmann::json last = nullptr;
  if (t.last())
    last = {{"ok", t.last()->ok},
            {"detail", t.last()->detail},
            {"latency_us", t.last()->latency_us},
            {"at_ms", t.last_at()}};
  return {{"state", state_name(t.state())},
          {"since_ms", t.since()},
          {"for_ms", now > t.since() ? now - t.since() : 0},
          {"reason", t.reason()},
          {"last", last},
          {"successes", t.successes()},
          {"failures", t.failures()}};
}

std::string transition_line(const std::string& backend, const Transition& t) {
  return backend + " " + state_name(t.to) + ": " + t.reason;
}

}  // namespace xlb::health
