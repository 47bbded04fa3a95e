#include "node_state.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace xlb::announce {

using Json = nlohmann::json;

constexpr int kVersion = 1;

std::string node_state_text(bool drained) { return Json{{"version", kVersion}, {"drained", drained}}.dump() + "\n"; }

bool read_drained(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return false;
  std::ifstream in(path);
  if (!in) throw InputError("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  Json j;
  try {
    j = Json::parse(ss.str());
  } catch (const Json::parse_error&) {
    throw InputError(path + " is not valid JSON");
  }
  if (!j.is_object() || j.value("version", 0) != kVersion || !j.contains("drained") || !j["drained"].is_boolean())
    throw InputError(path + " is not an xlb node state file of version " + std::to_string(kVersion));
  return j["drained"].get<bool>();
}

void write_drained(const std::string& path, bool drained) {
  write_file_atomically(path, node_state_text(drained), 0644);
}

}  // namespace xlb::announce
