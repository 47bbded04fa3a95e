// The node's drain flag on disk, <state-dir>/<iface>.node.json, so that a
// restart during maintenance does not announce again:
//
//   {"version": 1, "drained": true}
//
// Kept apart from the running-config state file (state/state_file.h): it is
// about the node, not the data path, and `lbctl detach` keeps it.
#pragma once
#include <string>

namespace xlb::announce {

// false if the file does not exist; throws InputError (naming the file) if
// it exists but is not one this code wrote.
bool read_drained(const std::string& path);
// Atomically (core/atomic_file.h); throws SystemError.
void write_drained(const std::string& path, bool drained);
std::string node_state_text(bool drained);

}  // namespace xlb::announce
