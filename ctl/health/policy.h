// From health and administrative state to the weight each backend of a VIP
// should have in its ring. Stateless: the integrator passes the VIP's
// backends as they are and gets back only the weights that must change,
// each with its reason, so it calls Balancer::set_backend() for those and
// nothing else (an unchanged weight never rewrites a ring).
//
// Rules, in order:
//   removed                  left alone (the balancer owns its end of life);
//   drained by the operator  0 whatever health says (admin weight 0, or
//                            admin state draining): health never undrains;
//   all down                 every administratively active backend has
//                            health down (and there is at least one):
//                              fail-open   the admin weight of each, as if
//                                          none were checked ("all down:
//                                          failing open");
//                              fail-closed 0 for each ("all down: failing
//                                          closed");
//   health down              0, like a drain: no new flows; with on_down
//                            purge the change asks for the backend's flows
//                            to be dropped too;
//   up or unchecked          the admin weight.
// A backend whose VIP or itself has check "none" is always unchecked, so a
// VIP with any such active backend is never "all down".
//
// The admin weight is the operator's (config, set-backend), kept by the
// integrator apart from the weight in the ring: in the maps a health-down
// backend and a drained one both have weight 0, and only the admin weight
// tells them apart (and is saved across restarts, persist.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "spec.h"
#include "tracker.h"

namespace xlb::health {

enum class Admin : uint8_t { kActive, kDraining, kRemoved };

struct PolicyBackend {
  std::string id;              // the integrator's name for it (persist.h's identity, say)
  uint32_t admin_weight = 1;   // the operator's weight; 0 means drained
  Admin admin = Admin::kActive;
  State health = State::kUnchecked;
  std::string health_reason;   // the tracker's last transition reason
  uint32_t weight = 0;         // in the ring now
};

struct WeightChange {
  std::string id;
  uint32_t from = 0;
  uint32_t to = 0;
  // Drop the backend's existing flows (on_down purge, as it leaves the ring
  // for health). Never set for an operator's drain.
  bool purge = false;
  std::string reason;  // "health down: connect timeout after 1000 ms (3/3)"
};

struct PolicyResult {
  std::vector<WeightChange> changes;  // in input order, only weights that differ
  bool all_down = false;
  // Set when all_down differs from the caller's previous value: the line
  // to log (and count), "all down: failing open" or "no longer all down:
  // 1 of 3 up".
  std::string event;
};

// `was_all_down`: the previous result's all_down for this VIP (false at
// first), so that the event is reported once per change.
PolicyResult apply_policy(const std::vector<PolicyBackend>& backends, OnDown on_down, AllDown all_down,
                          bool was_all_down);

}  // namespace xlb::health
