#include "start_plan.h"

#include <cstdint>
#include <cstdio>

namespace xlb::state {

StartPlan plan_start(const StartFacts& f) {
  StartPlan p;
  p.apply_state = !f.maps_adopted && f.state_file;
  if (!f.config_hash) {
    p.why = f.maps_adopted ? "keeping the running state of the pinned maps"
            : p.apply_state ? "no pinned maps: rebuilding the running state from the state file"
                            : "starting empty";
    return p;
  }
  bool changed = !f.applied_hash || *f.applied_hash != *f.config_hash;
  p.apply_config = changed;
  std::string base = f.maps_adopted ? "the pinned maps"
                     : p.apply_state ? "the state file (no pinned maps)"
                                     : "nothing";
  if (changed)
    p.why = f.applied_hash ? "the config file changed since it was last applied: applying it over " + base
                           : "applying the config file over " + base;
  else
    p.why = "the config file is the one last applied: keeping the running state of " + base +
            " (changes made with lbctl since stay; SIGHUP applies the file again)";
  return p;
}

std::string content_hash(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

}  // namespace xlb::state
