// The running config on disk: lbd rewrites <state-dir>/<iface>.json after
// every change it makes (a request, a reload), atomically, with the hash of
// the --config file it last applied. start_plan.h says when it is read.
//
//   {"version": 1, "config_applied": "<hash>" | null, "config": {...}}
//
// "config" is in the config file's form (`lbctl save` writes the same).
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace xlb::state {

struct Saved {
  nlohmann::json config;                    // an object
  std::optional<std::string> config_applied;
};

// nullopt if the file does not exist; throws InputError (naming the file)
// if it exists but is not one this code wrote.
std::optional<Saved> read_state(const std::string& path);
void write_state(const std::string& path, const Saved& saved);  // throws SystemError
std::string state_text(const Saved& saved);

}  // namespace xlb::state
