// Tolerant reads of the API's JSON views for the collector: a field that is
// missing, null or of another type reads as nullopt, and its metric is
// left out (a scrape never fails on a view that lacks something).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace xlb::metrics {

// j[key] if j is an object holding a non-null key; else null.
const nlohmann::json* field(const nlohmann::json& j, const char* key);
std::optional<uint64_t> get_u64(const nlohmann::json& j, const char* key);  // non-negative integers
std::optional<int64_t> get_i64(const nlohmann::json& j, const char* key);
std::optional<double> get_number(const nlohmann::json& j, const char* key);
std::optional<bool> get_bool(const nlohmann::json& j, const char* key);
std::optional<std::string> get_string(const nlohmann::json& j, const char* key);

}  // namespace xlb::metrics
