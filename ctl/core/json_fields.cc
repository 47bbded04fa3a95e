#include "json_fields.h"

namespace xlb::json_fields {

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void check_object(const Json& obj, std::initializer_list<const char*> allowed,
                  const std::string& path) {
  if (!obj.is_object())
    throw InputError(path.empty() ? std::string("must be a JSON object") : path + ": must be an object");
  for (const auto& item : obj.items()) {
    bool known = false;
    for (const char* k : allowed) known = known || item.key() == k;
    if (!known) throw InputError(join(path, item.key()) + ": unknown key");
  }
}

std::optional<std::string> opt_string(const Json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (!it->is_string()) throw InputError(join(path, key) + ": must be a string");
  return it->get<std::string>();
}

std::string req_string(const Json& obj, const char* key, const std::string& path) {
  auto v = opt_string(obj, key, path);
  if (!v) throw InputError(join(path, key) + ": missing");
  return *v;
}

std::optional<uint64_t> opt_uint(const Json& obj, const char* key, const std::string& path,
                                 uint64_t lo, uint64_t hi) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  if (!it->is_number_unsigned()) {
    if (it->is_number_integer()) throw InputError(join(path, key) + ": must be " + range);
    throw InputError(join(path, key) + ": must be an integer " + range);
  }
  uint64_t v = it->get<uint64_t>();
  if (v < lo || v > hi) throw InputError(join(path, key) + ": must be " + range);
  return v;
}

std::optional<bool> opt_bool(const Json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (!it->is_boolean()) throw InputError(join(path, key) + ": must be true or false");
  return it->get<bool>();
}

}  // namespace xlb::json_fields
