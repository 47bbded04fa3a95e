// The JSON answers of list, stats and flows (docs/api.md), from the
// balancer's views. Only the payload: the caller adds "ok".
#pragma once
#include <nlohmann/json.hpp>

#include "balancer.h"
#include "config.h"

namespace xlb {

nlohmann::json list_json(const std::vector<VipView>& vips);          // the "vips" array
nlohmann::json stats_json(const StatsView& stats);                   // {"global", "vips"}
nlohmann::json flows_json(const FlowsView& flows);                   // {"total", "truncated", "flows"}
nlohmann::json encap_json(const EncapConfig& encap);                 // as in the config
// A VIP's fingerprint as "ring_fingerprint" (maglev, src-hash) or
// "backends_fingerprint" (the other schedulers): 16 hex digits.
void add_fingerprint(nlohmann::json& vip, const VipFingerprint& fp);
// The answer of "pick" (docs/api.md); src as the request gave it.
nlohmann::json pick_json(const PickView& pick, const Endpoint& src);
// status's "fingerprints": [{"vip", "proto", "sched", "<kind>_fingerprint"}]
nlohmann::json fingerprints_json(const std::vector<VipView>& vips);

}  // namespace xlb
