// The bounds on one control-API request, shared by lbd (which enforces them
// on its socket, ctl/lbd/server.h) and lbctl (which checks a config file
// against them before sending it). docs/api.md, "Framing".
#pragma once
#include <cstddef>
#include <string_view>

namespace xlb {

// The longest request line lbd reads, without its newline.
constexpr size_t kMaxRequestBytes = 16u << 20;
// The deepest nesting of arrays and objects a request may have. A config is
// four levels deep; the bound keeps a hostile "[[[[..." from costing lbd
// seconds of CPU and hundreds of MB in the JSON parser.
constexpr size_t kMaxJsonDepth = 64;

// Whether text nests arrays and objects deeper than max_depth. A linear scan
// of the bytes, not a parse: brackets inside strings (escapes included) are
// skipped, and malformed JSON is left for the parser to refuse, so this only
// ever answers "too deep" for text a parser would have had to descend into.
bool json_deeper_than(std::string_view text, size_t max_depth);

}  // namespace xlb
