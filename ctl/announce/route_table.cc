#include "route_table.h"

#include <string>

#include "core/error.h"

namespace xlb::announce {

uint32_t parse_table(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 10 && text.find_first_not_of("0123456789") == std::string::npos;
  uint64_t n = digits ? std::stoull(text) : 0;
  if (!digits || n < 1 || n > (1ull << 31))
    throw InputError("'" + text + "' is not a routing table number (1 to 2147483648)");
  if (n >= 253 && n <= 255)
    throw InputError(text +
                     " is one of the kernel's own tables (253 default, 254 main, 255 local); use a table of its own, "
                     "such as 100");
  return static_cast<uint32_t>(n);
}

}  // namespace xlb::announce
