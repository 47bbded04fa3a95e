// Durations in health settings (docs/health.md, "Durations"): one
// convention everywhere, in the config file, the API and lbctl flags.
//   JSON number     milliseconds: 1500
//   string          digits with a unit: "500ms", "2s", "1m"; bare digits
//                   ("1500") are milliseconds too, so a flag typed without
//                   a unit means what the JSON number means.
// No fractions ("1.5s": write "1500ms") and no compound forms ("1m30s"), so
// every accepted text has one obvious value. Written back as "Ns" when a
// whole number of seconds, "Nms" otherwise: always a string with a unit.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace xlb::health {

// Throws InputError("must be a duration like \"2s\" or \"500ms\"") or
// ("must be lo_ms..hi_ms ms") without a field path: callers wrap it with
// json_fields::at().
uint32_t parse_duration_ms(const std::string& text, uint32_t lo_ms, uint32_t hi_ms);
uint32_t parse_duration_ms(const nlohmann::json& value, uint32_t lo_ms, uint32_t hi_ms);
std::string format_duration(uint32_t ms);

}  // namespace xlb::health
