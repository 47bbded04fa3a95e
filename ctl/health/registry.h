// The trackers of every checked backend, by identity (persist.h), kept in
// step with the configuration: the glue between lbd's model, the state
// machine and the restart format, pure so its rules are tested here.
//
//   sync()     makes the tracked set equal to the wanted one: a new backend
//              starts from its saved state when there is one (restore()
//              before the first sync), else unchecked; a gone one is
//              dropped; a changed spec keeps the state and counts (as
//              HAProxy keeps a server's state across a check change).
//   A backend whose check is "none" is tracked but never restored: it
//   has no check to bring it back, so a saved "down" would hold forever.
//   save()     the restart form of every tracked backend.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "persist.h"
#include "spec.h"
#include "tracker.h"

namespace xlb::health {

struct Wanted {
  HealthSpec spec;            // resolved (VIP's, with the backend's override)
  uint32_t admin_weight = 0;  // saved with the state (policy.h)
};

struct Tracked {
  HealthSpec spec;
  uint32_t admin_weight;
  Tracker tracker;
};

class Registry {
 public:
  // Saved states, used by sync() for backends it creates; a saved state
  // is used once (a backend deleted and added again starts unchecked).
  void restore(SavedStates saved) { saved_ = std::move(saved); }
  // Returns the identities whose spec changed or that were created, so
  // the checker loop (re)schedules just those.
  std::vector<std::string> sync(const std::map<std::string, Wanted>& wanted, TimeMs now);

  Tracked* find(const std::string& identity);
  const Tracked* find(const std::string& identity) const;
  const std::map<std::string, Tracked>& all() const { return tracked_; }
  SavedStates save() const;

 private:
  std::map<std::string, Tracked> tracked_;
  SavedStates saved_;
};

}  // namespace xlb::health
