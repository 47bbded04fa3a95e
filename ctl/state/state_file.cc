#include "state_file.h"

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_file.h"

namespace xlb::state {

using Json = nlohmann::json;

constexpr int kVersion = 1;

std::string state_text(const Saved& saved) {
  Json out = {{"version", kVersion},
              {"config_applied", saved.config_applied ? Json(*saved.config_applied) : Json(nullptr)},
              {"config", saved.config}};
  return out.dump(1) + "\n";
}

std::optional<Saved> read_state(const std::string& path) {
  std::optional<Json> file = read_json_file(path);
  if (!file) return std::nullopt;
  const Json& j = *file;
  if (!j.is_object() || j.value("version", 0) != kVersion || !j.contains("config") || !j["config"].is_object())
    throw InputError(path + " is not an xlb state file of version " + std::to_string(kVersion));
  Saved s;
  s.config = j.at("config");
  if (j.contains("config_applied") && j.at("config_applied").is_string())
    s.config_applied = j.at("config_applied").get<std::string>();
  return s;
}

void write_state(const std::string& path, const Saved& saved) { write_file_atomically(path, state_text(saved), 0600); }

}  // namespace xlb::state
