#include "tracker.h"

#include "core/error.h"

namespace xlb::health {

std::string state_name(State s) {
  switch (s) {
    case State::kUnchecked: return "unchecked";
    case State::kUp: return "up";
    case State::kDown: return "down";
  }
  return "?";
}

State parse_state(const std::string& text) {
  if (text == "unchecked") return State::kUnchecked;
  if (text == "up") return State::kUp;
  if (text == "down") return State::kDown;
  throw InputError("must be unchecked, up or down");
}

Tracker::Tracker(uint32_t rise, uint32_t fall, uint32_t hold_down_ms, TimeMs now)
    : rise_(rise ? rise : 1), fall_(fall ? fall : 1), hold_down_ms_(hold_down_ms), since_(now) {}

void Tracker::set_params(uint32_t rise, uint32_t fall, uint32_t hold_down_ms) {
  rise_ = rise ? rise : 1;
  fall_ = fall ? fall : 1;
  hold_down_ms_ = hold_down_ms;
}

State Tracker::wanted() const {
  switch (state_) {
    case State::kUnchecked:
      if (successes_ >= 1) return State::kUp;
      if (failures_ >= fall_) return State::kDown;
      break;
    case State::kUp:
      if (failures_ >= fall_) return State::kDown;
      break;
    case State::kDown:
      if (successes_ >= rise_) return State::kUp;
      break;
  }
  return state_;
}

bool Tracker::in_hold_down(TimeMs now) const {
  if (!last_serving_change_ || hold_down_ms_ == 0) return false;
  TimeMs start = *last_serving_change_;
  if (now < start) return false;  // the clock stepped back: end it
  return now - start < static_cast<TimeMs>(hold_down_ms_);
}

std::optional<Transition> Tracker::step(TimeMs now, bool after_hold) {
  State to = wanted();
  if (to == state_) return std::nullopt;
  Transition t{state_, to, now, {}};
  if (t.serving_changed() && in_hold_down(now)) return std::nullopt;
  const bool up = to == State::kUp;
  uint32_t count = up ? successes_ : failures_;
  uint32_t threshold = state_ == State::kUnchecked && up ? 1 : up ? rise_ : fall_;
  std::string detail = last_ ? last_->detail : std::string(up ? "check passed" : "check failed");
  t.reason = detail + " (" + std::to_string(count) + "/" + std::to_string(threshold) + ")";
  if (after_hold) t.reason += ", held by hold-down";
  if (t.serving_changed()) last_serving_change_ = now;
  state_ = to;
  since_ = now;
  reason_ = t.reason;
  return t;
}

std::optional<Transition> Tracker::record(const CheckResult& result, TimeMs now) {
  // A transition the counts already called for, held back until now.
  bool was_held = held_until().has_value();
  if (result.ok) {
    successes_++;
    failures_ = 0;
  } else {
    failures_++;
    successes_ = 0;
  }
  // The counts saturate far above any threshold (kMaxCount) instead of
  // wrapping on a backend that fails for years.
  if (successes_ > 1000000) successes_ = 1000000;
  if (failures_ > 1000000) failures_ = 1000000;
  last_ = result;
  last_at_ = now;
  return step(now, was_held);
}

std::optional<TimeMs> Tracker::held_until() const {
  State to = wanted();
  if (to == state_ || serving(to) == serving(state_) || !last_serving_change_ || hold_down_ms_ == 0)
    return std::nullopt;
  return *last_serving_change_ + static_cast<TimeMs>(hold_down_ms_);
}

std::optional<Transition> Tracker::poll(TimeMs now) {
  if (!held_until()) return std::nullopt;
  return step(now, true);
}

void Tracker::restore(State state, TimeMs since, const std::string& reason) {
  state_ = state;
  since_ = since;
  reason_ = reason;
  last_serving_change_ = state == State::kUnchecked ? std::nullopt : std::optional<TimeMs>(since);
  last_.reset();
  last_at_ = 0;
  successes_ = failures_ = 0;
}

}  // namespace xlb::health
