#include "node_state.h"

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_file.h"

namespace xlb::announce {

using Json = nlohmann::json;

constexpr int kVersion = 1;

std::string node_state_text(bool drained) { return Json{{"version", kVersion}, {"drained", drained}}.dump() + "\n"; }

bool read_drained(const std::string& path) {
  std::optional<Json> file = read_json_file(path);
  if (!file) return false;
  const Json& j = *file;
  if (!j.is_object() || j.value("version", 0) != kVersion || !j.contains("drained") || !j["drained"].is_boolean())
    throw InputError(path + " is not an xlb node state file of version " + std::to_string(kVersion));
  return j.at("drained").get<bool>();
}

void write_drained(const std::string& path, bool drained) {
  write_file_atomically(path, node_state_text(drained), 0644);
}

}  // namespace xlb::announce
