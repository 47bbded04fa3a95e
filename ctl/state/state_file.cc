#include "state_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

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
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return std::nullopt;
  std::ifstream in(path);
  if (!in) throw InputError("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  Json j;
  try {
    j = Json::parse(ss.str());
  } catch (const Json::parse_error& e) {
    throw InputError(path + " is not valid JSON");
  }
  if (!j.is_object() || j.value("version", 0) != kVersion || !j.contains("config") || !j["config"].is_object())
    throw InputError(path + " is not an xlb state file of version " + std::to_string(kVersion));
  Saved s;
  s.config = j["config"];
  if (j.contains("config_applied") && j["config_applied"].is_string())
    s.config_applied = j["config_applied"].get<std::string>();
  return s;
}

void write_state(const std::string& path, const Saved& saved) { write_file_atomically(path, state_text(saved), 0600); }

}  // namespace xlb::state
