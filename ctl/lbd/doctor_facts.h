// lbctl doctor's facts (doctor/facts.h), gathered by lbd: its own views
// (the `status`, annotated `list` and `stats` answers) and the kernel's
// tables on the LB host (sysctls, MTUs, routes, neighbours).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "doctor/facts.h"

namespace xlb {

// status: Api::status()'s answer (ifaces with xdp_mode, in_sync, reaper,
// health, data_path_error); vips: the annotated `list` answer's "vips";
// global: the `stats` answer's "global"; differences: Balancer::verify().
doctor::Facts gather_doctor_facts(const nlohmann::json& status, const nlohmann::json& vips,
                                  const nlohmann::json& global, const std::vector<std::string>& differences);

}  // namespace xlb
