// Strict reading of JSON objects (config file and API requests): unknown
// keys are errors, types are checked, and every message starts with the
// path of the offending field, e.g. "vips[1].backends[0].weight: must be
// 1..65535".
#pragma once
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "error.h"

namespace xlb::json_fields {

using Json = nlohmann::json;

// "a.b", or "b" at top level.
std::string join(const std::string& path, const std::string& key);
std::string index(const std::string& path, size_t i);  // "a[3]"

// Throws unless obj is an object whose keys are all in `allowed`.
void check_object(const Json& obj, std::initializer_list<const char*> allowed,
                  const std::string& path);

std::optional<std::string> opt_string(const Json& obj, const char* key, const std::string& path);
std::string req_string(const Json& obj, const char* key, const std::string& path);
// An integer in [lo, hi]; message "must be lo..hi" otherwise.
std::optional<uint64_t> opt_uint(const Json& obj, const char* key, const std::string& path,
                                 uint64_t lo, uint64_t hi);
std::optional<bool> opt_bool(const Json& obj, const char* key, const std::string& path);

// Runs fn(); an InputError it throws is rethrown as "path: message".
template <typename Fn>
auto at(const std::string& path, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const InputError& e) {
    throw InputError(path.empty() ? std::string(e.what()) : path + ": " + e.what());
  }
}

}  // namespace xlb::json_fields
