#include "health/http.h"

namespace xlb::health {

std::string default_host(const Probe& p) {
  std::string host = p.dst.ip.is_v4() ? p.dst.ip.str() : "[" + p.dst.ip.str() + "]";
  uint16_t scheme_port = p.https ? 443 : 80;
  if (p.dst.port != scheme_port) host += ":" + std::to_string(p.dst.port);
  return host;
}

std::string http_request(const Probe& p) {
  std::string path = p.http_path.empty() ? "/" : p.http_path;
  std::string host = p.http_host.empty() ? default_host(p) : p.http_host;
  return "GET " + path + " HTTP/1.1\r\nHost: " + host +
         "\r\nConnection: close\r\nUser-Agent: xlb-health\r\nAccept: */*\r\n\r\n";
}

StatusLine parse_status_line(std::string_view in) {
  StatusLine r;
  // The fixed part first, so garbage is known before a line ending arrives.
  static constexpr std::string_view kProto = "HTTP/1.";
  size_t fixed = std::min(in.size(), kProto.size());
  if (in.substr(0, fixed) != kProto.substr(0, fixed)) return {StatusLine::kGarbage, 0};
  size_t eol = in.find('\n');
  if (eol == std::string_view::npos) {
    if (in.size() > kMaxStatusLine) return {StatusLine::kGarbage, 0};
    return r;
  }
  std::string_view line = in.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // "HTTP/1.x NNN" then end or a space and the reason phrase.
  if (line.size() < 12 || (line[7] != '0' && line[7] != '1') || line[8] != ' ')
    return {StatusLine::kGarbage, 0};
  uint16_t status = 0;
  for (size_t i = 9; i < 12; i++) {
    if (line[i] < '0' || line[i] > '9') return {StatusLine::kGarbage, 0};
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ') return {StatusLine::kGarbage, 0};
  if (status < 100) return {StatusLine::kGarbage, 0};
  return {StatusLine::kStatus, status};
}

}  // namespace xlb::health
