// The http check's two pure halves: the request it sends and the reading of
// the status line that answers it. Only the status line is read: headers and
// body prove nothing a status does not, and reading them costs buffers.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "health/probe.h"

namespace xlb::health {

// "GET <path> HTTP/1.1" with Host, Connection: close and a User-Agent. 1.1
// so that name-based virtual hosts route it (Host is required there);
// Connection: close so the server closes first and holds the TIME_WAIT.
std::string http_request(const Probe& p);

// The Host header's value when the probe sets none: the destination address
// ("[fd00::1]" in brackets) and ":port" unless it is the scheme's default.
std::string default_host(const Probe& p);

// What the bytes received so far say.
struct StatusLine {
  enum State { kNeedMore, kStatus, kGarbage } state = kNeedMore;
  uint16_t status = 0;  // kStatus
};
// Reads "HTTP/1.x NNN ..." from the start of a response. kNeedMore until a
// line ending arrives; kGarbage as soon as the bytes cannot be a status line
// or the line is longer than kMaxStatusLine.
constexpr size_t kMaxStatusLine = 1024;
StatusLine parse_status_line(std::string_view in);

}  // namespace xlb::health
