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

}  // namespace xlb
