// Reading the small JSON files lbd keeps in its state directory (the
// running state, the node's drain flag); they are written with
// atomic_file.h.
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace xlb {

// The file's JSON, or nullopt if there is no such file. Throws InputError
// ("cannot read PATH: ...", "PATH is not valid JSON").
std::optional<nlohmann::json> read_json_file(const std::string& path);

}  // namespace xlb
