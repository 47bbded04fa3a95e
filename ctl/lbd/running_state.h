// lbd's side of the state file (state/state_file.h): where it is, the hash
// of the --config last applied, and saving the running config after every
// change. A file that can't be written is logged once; lbd goes on.
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "state/state_file.h"

namespace xlb {

class RunningState {
 public:
  explicit RunningState(std::string path) : path_(std::move(path)) {}  // "": none kept
  const std::string& path() const { return path_; }
  // The saved state, nullopt if none (or unreadable: logged, then ignored).
  std::optional<state::Saved> read();
  void set_applied(const std::string& hash) { applied_ = hash; }
  void save(const nlohmann::json& config);

 private:
  std::string path_;
  std::optional<std::string> applied_;
  std::string error_;  // the last write's, logged once
};

// `lbctl detach` / `lbd --detach`: the data path is gone on purpose, so its
// state files go too; a later lbd starts empty (a reboot keeps them).
void forget_state(const std::string& state_dir, const std::string& iface);

}  // namespace xlb
