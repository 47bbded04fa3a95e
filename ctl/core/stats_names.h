// Names of the data plane's counters and flow states as the API shows them:
// enum xlb_stat in lower case without the XLB_STAT_ prefix, and
// enum xlb_flow_state as udp/syn/established/closing/reset.
#pragma once
#include <cstdint>
#include <string>

#include "xlb/abi.h"

namespace xlb {

// XLB_STAT_MAX entries, indexed by enum xlb_stat.
extern const char* const xlb_stat_names[];

std::string flow_state_name(uint8_t state);

}  // namespace xlb
