// SIGHUP: lbd re-reads its --config file and applies it, as `lbctl apply`
// would, after logging what it changes (the lines of `apply --dry-run`). A
// file that can't be read or is invalid changes nothing, and the log says
// where it is wrong.
#pragma once
#include <string>

#include "api.h"

namespace xlb {

// Returns whether the config was applied; every outcome is logged.
bool reload_config(Api& api, const std::string& path);

}  // namespace xlb
