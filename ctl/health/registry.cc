#include "registry.h"

namespace xlb::health {

std::vector<std::string> Registry::sync(const std::map<std::string, Wanted>& wanted, TimeMs now) {
  std::vector<std::string> touched;
  for (auto it = tracked_.begin(); it != tracked_.end();)
    it = wanted.count(it->first) ? std::next(it) : tracked_.erase(it);
  for (const auto& [id, w] : wanted) {
    const HealthSpec& s = w.spec;
    auto it = tracked_.find(id);
    if (it != tracked_.end()) {
      it->second.admin_weight = w.admin_weight;
      if (it->second.spec == s) continue;
      it->second.spec = s;
      it->second.tracker.set_params(s.rise, s.fall, s.hold_down_ms);
      if (s.check == CheckKind::kNone) it->second.tracker.restore(State::kUnchecked, now, "check none");
      touched.push_back(id);
      continue;
    }
    Tracked t{s, w.admin_weight, Tracker(s.rise, s.fall, s.hold_down_ms, now)};
    auto saved = saved_.find(id);
    if (saved != saved_.end()) {
      const SavedHealth& h = saved->second;
      if (s.check != CheckKind::kNone) t.tracker.restore(h.state, h.since, h.reason);
      saved_.erase(saved);
    }
    tracked_.emplace(id, std::move(t));
    touched.push_back(id);
  }
  return touched;
}

Tracked* Registry::find(const std::string& identity) {
  auto it = tracked_.find(identity);
  return it == tracked_.end() ? nullptr : &it->second;
}

const Tracked* Registry::find(const std::string& identity) const {
  auto it = tracked_.find(identity);
  return it == tracked_.end() ? nullptr : &it->second;
}

SavedStates Registry::save() const {
  SavedStates out;
  for (const auto& [id, t] : tracked_)
    out[id] = {t.tracker.state(), t.tracker.since(), t.admin_weight, t.tracker.reason()};
  return out;
}

}  // namespace xlb::health
