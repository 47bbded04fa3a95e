// lbd's metrics (docs/operations.md, "Metrics"): the JSON views the control
// API answers with turned into the Prometheus text format. Pure: the views
// in, text out. Whatever a view lacks (no health monitor, a reaper that has
// not swept yet, a flow count not taken) is left out, not made up.
//
// Taking the API's views rather than the balancer itself keeps one source
// for every surface: a metric says what `lbctl stats --json`, `lbctl list
// --json` and `lbctl status --json` say, under the same names.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "exposition.h"

namespace xlb::metrics {

struct Views {
  // The `stats` answer: {"global": {name: {"packets", "bytes"}}, "vips": [...]},
  // with the health monitor's annotations (all_down_events) if any.
  nlohmann::json stats;
  // The `list` answer's "vips" array, with the monitor's annotations
  // (all_down, admin_weight, health).
  nlohmann::json vips;
  // The `status` answer. Its "flows" may be null: the flow count not taken.
  nlohmann::json status;
};

// Adds every metric to out (families declared here, in a fixed order).
void collect(const Views& views, Exposition& out);
// The whole scrape body.
std::string render(const Views& views);

// The backend label: "198.18.0.11", or with a port of its own
// "198.18.0.11:8080" / "[fd00::11]:8080", as lbctl names it.
std::string backend_label(const nlohmann::json& backend);

}  // namespace xlb::metrics
