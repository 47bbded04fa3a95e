#include "persist.h"

#include <sstream>

#include "core/error.h"

namespace xlb::health {

namespace {

constexpr const char* kHeader = "xlb-health 1";

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, kMaxSavedReason)) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) throw InputError("reason: ends in a lone \\");
    if (s[i] == '\\') out += '\\';
    else if (s[i] == 'n') out += '\n';
    else if (s[i] == 'r') out += '\r';
    else throw InputError(std::string("reason: unknown escape \\") + s[i]);
  }
  return out;
}

// The next space-separated field of `line` from `pos` (the last one may
// end the line).
std::string field(const std::string& line, size_t& pos, const char* name) {
  if (pos >= line.size()) throw InputError(std::string("missing ") + name);
  size_t end = line.find(' ', pos);
  if (end == std::string::npos) end = line.size();
  if (end == pos) throw InputError(std::string("missing ") + name);
  std::string f = line.substr(pos, end - pos);
  pos = end + 1;
  return f;
}

int64_t integer(const std::string& text, const char* name, bool allow_negative, uint64_t max) {
  size_t start = allow_negative && !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() == start || text.size() - start > 19 ||
      text.find_first_not_of("0123456789", start) != std::string::npos)
    throw InputError(std::string(name) + ": not a number: " + text);
  uint64_t v = std::stoull(text.substr(start));
  if (v > max) throw InputError(std::string(name) + ": out of range: " + text);
  return start ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

}  // namespace

std::string backend_identity(const Endpoint& vip, uint8_t proto, const IpAddr& backend, uint16_t port) {
  Endpoint be{backend, port ? port : vip.port};
  return vip.str() + "/" + proto_name(proto) + "/" + be.str();
}

std::string encode_states(const SavedStates& states) {
  std::string out = std::string(kHeader) + "\n";
  for (const auto& [id, s] : states) {
    out += id + " " + state_name(s.state) + " " + std::to_string(s.since) + " " + std::to_string(s.admin_weight) +
           " " + escape(s.reason) + "\n";
  }
  return out;
}

SavedStates decode_states(const std::string& text) {
  SavedStates out;
  std::istringstream in(text);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    n++;
    std::string where = "health state line " + std::to_string(n) + ": ";
    if (n == 1) {
      if (line != kHeader) throw InputError(where + "expected \"" + kHeader + "\"");
      continue;
    }
    try {
      size_t pos = 0;
      std::string id = field(line, pos, "identity");
      if (id.find('/') == std::string::npos) throw InputError("not an identity: " + id);
      SavedHealth s;
      std::string state = field(line, pos, "state");
      try {
        s.state = parse_state(state);
      } catch (const InputError& e) {
        throw InputError(std::string("state: ") + e.what());
      }
      s.since = integer(field(line, pos, "since"), "since", true, INT64_MAX);
      // The reason may be empty: the line then ends with the space after the weight.
      size_t end = pos < line.size() ? line.find(' ', pos) : std::string::npos;
      if (end == std::string::npos) throw InputError("missing admin weight or reason");
      s.admin_weight = static_cast<uint32_t>(integer(line.substr(pos, end - pos), "admin weight", false, UINT32_MAX));
      s.reason = unescape(line.substr(end + 1));
      if (!out.emplace(id, std::move(s)).second) throw InputError("duplicate " + id);
    } catch (const InputError& e) {
      throw InputError(where + e.what());
    }
  }
  if (n == 0) throw InputError(std::string("health state line 1: expected \"") + kHeader + "\"");
  return out;
}

}  // namespace xlb::health
