// One backend's health: a state machine over check results, with time
// passed in (never read here), so tests drive it with plain numbers.
//
// States: unchecked (no verdict yet: a new backend, or one whose VIP has
// no check), up, down. unchecked and up serve; down does not.
//   - `fall` consecutive failures take up or unchecked to down;
//   - `rise` consecutive successes take down to up;
//   - one success takes unchecked to up: the backend already serves, the
//     check only confirms it, so nothing waits on it.
// A success resets the failure count and a failure the success count
// (HAProxy's consecutive counting, not a sliding window).
//
// Hold-down: after a transition that changes whether the backend serves
// (up <-> down, unchecked -> down), the next such transition is not taken
// before hold_down_ms have passed. Results keep counting meanwhile; when
// the hold-down ends and the count still calls for the transition, it is
// taken by the next record() or by poll(), whichever comes first, so the
// integrator's timer can take it on time without waiting for a check.
// A clock that steps backwards ends the hold-down rather than stretching it.
//
// Every transition carries the time and a reason that ends with the count,
// e.g. "connect timeout after 1000 ms (2/2)".
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace xlb::health {

// Milliseconds on the integrator's clock. lbd passes wall-clock time
// (CLOCK_REALTIME) so that `since` still means something after a restart
// (persist.h); nothing here needs it to be monotonic.
using TimeMs = int64_t;

enum class State : uint8_t { kUnchecked, kUp, kDown };
std::string state_name(State s);  // "unchecked", "up", "down"
State parse_state(const std::string& text);  // throws InputError
inline bool serving(State s) { return s != State::kDown; }

// One check's outcome, as a checker reports it. `detail` says what was
// seen, without the count: "connect timeout after 1000 ms", "http 200".
struct CheckResult {
  bool ok = false;
  std::string detail;
  uint32_t latency_us = 0;  // request sent to verdict
};

struct Transition {
  State from = State::kUnchecked;
  State to = State::kUnchecked;
  TimeMs at = 0;
  std::string reason;
  bool serving_changed() const { return serving(from) != serving(to); }
};

class Tracker {
 public:
  // `now`: when the backend started being tracked (the unchecked state's since).
  Tracker(uint32_t rise, uint32_t fall, uint32_t hold_down_ms, TimeMs now);

  // New settings (a changed spec) keep the state and the counts; a count
  // already past a lowered threshold takes effect at the next record().
  void set_params(uint32_t rise, uint32_t fall, uint32_t hold_down_ms);

  // Counts one result; returns the transition it causes, if any.
  std::optional<Transition> record(const CheckResult& result, TimeMs now);
  // Takes a transition that the hold-down held back, once it has ended.
  std::optional<Transition> poll(TimeMs now);
  // When poll() may next return a transition; nullopt when none is held.
  std::optional<TimeMs> held_until() const;

  // Starts from a saved state (persist.h) instead of unchecked; the
  // hold-down counts from `since`. Counts and the last result are cleared.
  void restore(State state, TimeMs since, const std::string& reason);

  State state() const { return state_; }
  TimeMs since() const { return since_; }
  const std::string& reason() const { return reason_; }  // of the last transition; "" before any
  const std::optional<CheckResult>& last() const { return last_; }
  TimeMs last_at() const { return last_at_; }
  uint32_t successes() const { return successes_; }  // consecutive
  uint32_t failures() const { return failures_; }    // consecutive

 private:
  // The state the counts call for (state_ when none).
  State wanted() const;
  bool in_hold_down(TimeMs now) const;
  std::optional<Transition> step(TimeMs now, bool after_hold);

  uint32_t rise_, fall_, hold_down_ms_;
  State state_ = State::kUnchecked;
  TimeMs since_;
  std::optional<TimeMs> last_serving_change_;  // start of the hold-down
  std::string reason_;
  std::optional<CheckResult> last_;
  TimeMs last_at_ = 0;
  uint32_t successes_ = 0, failures_ = 0;
};

}  // namespace xlb::health
