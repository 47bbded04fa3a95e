// xlb-decap --allow: the outer source prefixes the decap program accepts
// tunnelled packets from (the load balancers' encapsulation sources). Pure
// parsing and formatting, no libbpf, so the unit tests cover it.
#pragma once
#include <string>

#include "xlb/abi.h"

namespace xlb::decap {

// "198.18.0.0/24", "fd00:18::/64", or a bare address (a /32 or /128) ->
// the xlb_decap_allow LPM key (zeroed; prefixlen counts the family byte,
// so it is 8 + the prefix length). Returns "" on success, else why the text
// is not a prefix (bad address, length out of range, host bits set).
std::string parse_allow(const std::string& text, xlb_decap_allow_key* key);

// The key as "198.18.0.0/24" / "fd00:18::/64".
std::string allow_str(const xlb_decap_allow_key& key);

}  // namespace xlb::decap
