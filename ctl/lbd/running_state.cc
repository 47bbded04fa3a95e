#include "running_state.h"

#include <unistd.h>

#include "log.h"

namespace xlb {

std::optional<state::Saved> RunningState::read() {
  if (path_.empty()) return std::nullopt;
  try {
    std::optional<state::Saved> s = state::read_state(path_);
    if (s) applied_ = s->config_applied;
    return s;
  } catch (const std::exception& e) {
    log_warn(std::string("state file: ") + e.what() + "; ignored (it is rewritten at the next change)");
    return std::nullopt;
  }
}

void RunningState::save(const nlohmann::json& config) {
  if (path_.empty()) return;
  try {
    state::write_state(path_, {config, applied_});
    if (!error_.empty()) log_line("state file " + path_ + " written again");
    error_.clear();
  } catch (const std::exception& e) {
    if (error_.empty()) log_warn(std::string("state file: ") + e.what() + "; lbctl changes will not survive a reboot");
    error_ = e.what();
  }
}

void forget_state(const std::string& state_dir, const std::string& iface) {
  if (state_dir.empty()) return;
  for (const char* suffix : {".json", ".health.json"}) {
    std::string path = state_dir + "/" + iface + suffix;
    if (::unlink(path.c_str()) == 0) log_line("removed " + path);
  }
}

}  // namespace xlb
