// The "health" object of the config file and API (docs/health.md,
// "JSON"), read strictly in the style of core/config.cc: unknown keys are
// errors, and every message starts with the field's path, e.g.
// "vips[0].backends[2].health.fall: must be 1..100".
//
//   "health": {"check": "http", "interval": "1s", "timeout": "500ms",
//              "rise": 2, "fall": 2, "port": 8081, "hold_down": "10s",
//              "path": "/healthz", "expect_status": "200-299",
//              "host": "www.example.org", "https": false, "verify_cert": false,
//              "send": "ping" | "send_hex": "c0ffee",
//              "expect": "pong" | "expect_hex": "beef" | null (any reply),
//              "on_down": "keep" | "purge",
//              "all_down": "fail-open" | "fail-closed"}
//
// On a VIP, absent keys take the defaults (spec.h), and "check" defaults to
// "tcp": writing a health object asks for a check. On a backend the object
// is an override: absent keys take the VIP's values, and on_down/all_down
// are refused (they decide for the whole VIP). Keys of another kind than the
// resulting check (a "path" on a tcp check) are errors, not silently ignored.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "spec.h"

namespace xlb::health {

// `path`: the object's field path ("vips[0].health"). `vip`: nullptr when
// parsing a VIP's object; the VIP's resolved spec when parsing a backend's.
HealthSpec parse_health(const nlohmann::json& obj, const std::string& path, const HealthSpec* vip = nullptr);

// A VIP's spec, every common key written (so a config dump shows the
// effective values) and the current kind's keys only.
nlohmann::json health_to_json(const HealthSpec& spec);
// A backend's override: only the keys whose value differs from the VIP's
// (an empty object when none does). parse_health(override, path, &vip)
// gives back a spec equal to `spec`.
nlohmann::json health_override_json(const HealthSpec& spec, const HealthSpec& vip);

// Bytes <-> hex ("c0ffee"), for the udp payloads.
std::string to_hex(const std::string& bytes);
std::string from_hex(const std::string& hex);  // throws InputError

}  // namespace xlb::health
