// The round trip with lbd over its control socket (docs/api.md): connect,
// write one JSON object and a newline, read one JSON object back.
#pragma once
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace xlb::lbctl {

// Ordered, so requests go out with "cmd" first, a config file keeps the key
// order its author chose, and --json shows an answer in the order lbd wrote it.
using Json = nlohmann::ordered_json;

inline constexpr const char* kDefaultSocket = "/run/xlb/lbd.sock";
inline constexpr std::chrono::milliseconds kDefaultTimeout{10000};

// Sends request and returns lbd's answer, which has "ok": true. Throws
// std::runtime_error carrying lbd's own message when it answers "ok": false,
// SystemError when lbd cannot be reached, does not answer within timeout
// (covering the whole exchange) or answers something that is not an API
// answer, and InputError when socket_path cannot be a socket address.
Json call_lbd(const std::string& socket_path, const Json& request, std::chrono::milliseconds timeout = kDefaultTimeout);

}  // namespace xlb::lbctl
