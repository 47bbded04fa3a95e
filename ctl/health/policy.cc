#include "policy.h"

namespace xlb::health {

namespace {

bool active(const PolicyBackend& b) { return b.admin == Admin::kActive && b.admin_weight > 0; }

}  // namespace

PolicyResult apply_policy(const std::vector<PolicyBackend>& backends, OnDown on_down, AllDown all_down,
                          bool was_all_down) {
  PolicyResult r;
  size_t n_active = 0, n_serving = 0;
  for (const auto& b : backends) {
    if (!active(b)) continue;
    n_active++;
    if (serving(b.health)) n_serving++;
  }
  r.all_down = n_active > 0 && n_serving == 0;
  const bool closed = all_down == AllDown::kFailClosed;
  if (r.all_down && !was_all_down)
    r.event = closed ? "all down: failing closed" : "all down: failing open";
  else if (!r.all_down && was_all_down)
    r.event = "no longer all down: " + std::to_string(n_serving) + " of " + std::to_string(n_active) + " up";

  for (const auto& b : backends) {
    if (b.admin == Admin::kRemoved) continue;
    WeightChange c{b.id, b.weight, 0, false, {}};
    if (!active(b)) {
      c.reason = "drained by operator";
    } else if (r.all_down) {
      c.to = closed ? 0 : b.admin_weight;
      c.reason = closed ? "all down: failing closed" : "all down: failing open";
      c.purge = closed && on_down == OnDown::kPurge;
    } else if (!serving(b.health)) {
      c.reason = "health down" + (b.health_reason.empty() ? std::string() : ": " + b.health_reason);
      c.purge = on_down == OnDown::kPurge;
    } else {
      c.to = b.admin_weight;
      c.reason = b.health == State::kUp ? "health up" : "unchecked";
      if (b.health == State::kUp && !b.health_reason.empty()) c.reason += ": " + b.health_reason;
    }
    if (c.to == c.from) continue;
    // Purging only makes sense as the backend leaves the ring.
    c.purge = c.purge && c.to == 0 && c.from > 0;
    r.changes.push_back(std::move(c));
  }
  return r;
}

}  // namespace xlb::health
