#include "json_read.h"

namespace xlb::metrics {

const nlohmann::json* field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<uint64_t> get_u64(const nlohmann::json& j, const char* key) {
  const nlohmann::json* v = field(j, key);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer() && v->get<int64_t>() >= 0) return static_cast<uint64_t>(v->get<int64_t>());
  return std::nullopt;
}

std::optional<int64_t> get_i64(const nlohmann::json& j, const char* key) {
  const nlohmann::json* v = field(j, key);
  if (!v || !v->is_number_integer()) return std::nullopt;
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)) return std::nullopt;
  return v->get<int64_t>();
}

std::optional<double> get_number(const nlohmann::json& j, const char* key) {
  const nlohmann::json* v = field(j, key);
  if (!v || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

std::optional<bool> get_bool(const nlohmann::json& j, const char* key) {
  const nlohmann::json* v = field(j, key);
  if (!v || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

std::optional<std::string> get_string(const nlohmann::json& j, const char* key) {
  const nlohmann::json* v = field(j, key);
  if (!v || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

}  // namespace xlb::metrics
