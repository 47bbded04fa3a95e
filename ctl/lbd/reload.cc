#include "reload.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "log.h"
#include "state/start_plan.h"

namespace xlb {

using Json = nlohmann::json;

std::optional<std::string> reload_config(Api& api, const std::string& path) {
  log_line("SIGHUP: reloading " + path);
  try {
    std::ifstream in(path);
    if (!in) throw SystemError("cannot read " + path + ": " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    Json config;
    try {
      config = Json::parse(ss.str());
    } catch (const Json::parse_error& e) {
      std::string what = e.what();
      throw InputError("not valid JSON: " + what.substr(what.find("] ") + 2));
    }
    // The same checks and words as `lbctl apply --dry-run`, then the apply.
    Json preview = api.dispatch({{"cmd", "apply"}, {"config", config}, {"dry_run", true}});
    const Json& changes = preview.at("changes");
    if (changes.empty()) {
      log_line("SIGHUP: " + path + " changes nothing");
      return state::content_hash(ss.str());
    }
    for (const Json& line : changes) log_line("SIGHUP: " + line.get<std::string>());
    api.dispatch({{"cmd", "apply"}, {"config", config}});
    return state::content_hash(ss.str());
  } catch (const std::exception& e) {
    log_warn("SIGHUP: " + path + ": " + e.what() + "; nothing was changed");
    return std::nullopt;
  }
}

}  // namespace xlb
