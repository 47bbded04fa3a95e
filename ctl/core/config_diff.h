// What applying one config over another changes, in words: `lbctl apply
// --dry-run` and the log of a reload (SIGHUP) print it. Pure: the caller
// passes the running config (Balancer::current_config, with the health
// monitor's admin weights and checks) and, optionally, how many connections
// each VIP and backend holds, so removals say what they cut or drain.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config.h"

namespace xlb {

struct ConfigDiff {
  // One line per change, in config order: "+ VIP ...", "- VIP ...",
  // "~ VIP ...: sched maglev -> least-conn", "+ backend ... of VIP ...",
  // "- backend ...", "~ backend ...: weight 1 -> 2", "~ hash_seed: 0 -> 7".
  std::vector<std::string> lines;
  uint32_t added = 0;    // VIPs and backends
  uint32_t removed = 0;  // VIPs and backends
  uint32_t changed = 0;  // VIP settings, backend weights and checks, global settings
  bool empty() const { return lines.empty(); }
};

// Connections a VIP (backend nullopt) or one of its backends holds now;
// nullopt if unknown.
using ConnectionsOf = std::function<std::optional<uint64_t>(const Endpoint& vip, uint8_t proto,
                                                            const std::optional<std::pair<IpAddr, uint16_t>>& backend)>;

ConfigDiff diff_configs(const Config& running, const Config& wanted, const ConnectionsOf& connections = {});

}  // namespace xlb
