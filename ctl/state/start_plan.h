// What lbd starts from (issue 13, "one source of truth"): the pinned maps,
// the state file it keeps of the running config, and the --config file.
//
//   - A restart (the maps are pinned: lbd adopts them) keeps the running
//     state as the maps hold it: what lbctl changed stays changed.
//   - After a reboot (or a detach) there are no maps: lbd rebuilds the
//     running state from its state file.
//   - The --config file is applied when it differs from the one last
//     applied (its hash is kept in the state file), or when none was: so a
//     restart never undoes a drain or re-adds a VIP removed with lbctl, and
//     an edited file still takes effect at the next start (or at SIGHUP).
// Pure: unit-tested without a kernel.
#pragma once
#include <optional>
#include <string>

namespace xlb::state {

struct StartFacts {
  bool maps_adopted = false;                 // pinned maps (running or not) were taken over
  bool state_file = false;                   // a readable state file with a config
  std::optional<std::string> applied_hash;   // the state file's record of the --config last applied
  std::optional<std::string> config_hash;    // --config's content hash; nullopt: no --config
};

struct StartPlan {
  bool apply_state = false;   // rebuild from the state file's config
  bool apply_config = false;  // apply --config
  std::string why;            // one log line
};

StartPlan plan_start(const StartFacts& facts);

// FNV-1a 64 of the bytes, as 16 hex digits: tells an edited file from the
// one applied (not a security measure).
std::string content_hash(const std::string& bytes);

}  // namespace xlb::state
