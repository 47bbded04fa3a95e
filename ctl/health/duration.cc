#include "duration.h"

#include "core/error.h"

namespace xlb::health {

namespace {

constexpr const char* kShape = "must be a duration like \"2s\" or \"500ms\" (a number: milliseconds)";

uint32_t in_range(uint64_t ms, uint32_t lo, uint32_t hi) {
  if (ms < lo || ms > hi)
    throw InputError("must be " + format_duration(lo) + ".." + format_duration(hi));
  return static_cast<uint32_t>(ms);
}

}  // namespace

uint32_t parse_duration_ms(const std::string& text, uint32_t lo_ms, uint32_t hi_ms) {
  size_t digits = 0;
  uint64_t n = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    n = n * 10 + static_cast<uint64_t>(text[digits] - '0');
    if (n > UINT32_MAX) throw InputError(kShape);  // also stops overflow below
    digits++;
  }
  if (digits == 0) throw InputError(kShape);
  std::string unit = text.substr(digits);
  uint64_t scale;
  if (unit.empty() || unit == "ms") scale = 1;
  else if (unit == "s") scale = 1000;
  else if (unit == "m") scale = 60000;
  else throw InputError(kShape);
  return in_range(n * scale, lo_ms, hi_ms);
}

uint32_t parse_duration_ms(const nlohmann::json& value, uint32_t lo_ms, uint32_t hi_ms) {
  if (value.is_string()) return parse_duration_ms(value.get<std::string>(), lo_ms, hi_ms);
  if (value.is_number_integer()) {  // parsed text gives unsigned; a built json(1500) signed
    int64_t v = value.get<int64_t>();
    if (v < 0) throw InputError("must be " + format_duration(lo_ms) + ".." + format_duration(hi_ms));
    return in_range(static_cast<uint64_t>(v), lo_ms, hi_ms);
  }
  throw InputError(kShape);
}

std::string format_duration(uint32_t ms) {
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace xlb::health
