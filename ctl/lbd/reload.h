// SIGHUP: lbd re-reads its --config file and applies it, as `lbctl apply`
// would, after logging what it changes (the lines of `apply --dry-run`). A
// file that can't be read or is invalid changes nothing, and the log says
// where it is wrong.
#pragma once
#include <optional>
#include <string>

#include "api.h"

namespace xlb {

// Returns the applied file's content hash (state/start_plan.h), nullopt if
// nothing was applied; every outcome is logged.
std::optional<std::string> reload_config(Api& api, const std::string& path);

}  // namespace xlb
