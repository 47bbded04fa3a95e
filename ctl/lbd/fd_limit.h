// lbd holds a file descriptor per VIP ring, per control client and per map,
// so the usual soft limit of 1,024 open files is too low for 1,024 VIPs.
#pragma once
#include <string>

namespace xlb {

// Raises the soft RLIMIT_NOFILE to the hard limit. Returns the line to log:
// the new limit, or why it could not be raised (lbd goes on either way).
std::string raise_fd_limit();

}  // namespace xlb
