#include "spec.h"

#include "core/error.h"
#include "duration.h"

namespace xlb::health {

std::string check_kind_name(CheckKind k) {
  switch (k) {
    case CheckKind::kNone: return "none";
    case CheckKind::kTcp: return "tcp";
    case CheckKind::kHttp: return "http";
    case CheckKind::kUdp: return "udp";
  }
  return "?";
}

CheckKind parse_check_kind(const std::string& text) {
  if (text == "none") return CheckKind::kNone;
  if (text == "tcp") return CheckKind::kTcp;
  if (text == "http") return CheckKind::kHttp;
  if (text == "udp") return CheckKind::kUdp;
  throw InputError("must be none, tcp, http or udp");
}

std::string on_down_name(OnDown o) { return o == OnDown::kPurge ? "purge" : "keep"; }

OnDown parse_on_down(const std::string& text) {
  if (text == "keep") return OnDown::kKeep;
  if (text == "purge") return OnDown::kPurge;
  throw InputError("must be keep or purge");
}

std::string all_down_name(AllDown a) { return a == AllDown::kFailClosed ? "fail-closed" : "fail-open"; }

AllDown parse_all_down(const std::string& text) {
  if (text == "fail-open") return AllDown::kFailOpen;
  if (text == "fail-closed") return AllDown::kFailClosed;
  throw InputError("must be fail-open or fail-closed");
}

bool HttpCheck::operator==(const HttpCheck& o) const {
  return path == o.path && status_min == o.status_min && status_max == o.status_max && host == o.host &&
         https == o.https && verify_cert == o.verify_cert;
}

bool HealthSpec::operator==(const HealthSpec& o) const {
  if (check != o.check || interval_ms != o.interval_ms || timeout_ms != o.timeout_ms || rise != o.rise ||
      fall != o.fall || port != o.port || hold_down_ms != o.hold_down_ms || on_down != o.on_down ||
      all_down != o.all_down)
    return false;
  if (check == CheckKind::kHttp) return http == o.http;
  if (check == CheckKind::kUdp) return udp == o.udp;
  return true;
}

void check_spec(const HealthSpec& s) {
  auto range = [](const char* field, uint64_t v, uint64_t lo, uint64_t hi) {
    if (v < lo || v > hi)
      throw InputError(std::string(field) + ": must be " + std::to_string(lo) + ".." + std::to_string(hi));
  };
  auto dur = [](const char* field, uint32_t v, uint32_t lo, uint32_t hi) {
    if (v < lo || v > hi)
      throw InputError(std::string(field) + ": must be " + format_duration(lo) + ".." + format_duration(hi));
  };
  dur("interval", s.interval_ms, kMinIntervalMs, kMaxIntervalMs);
  dur("timeout", s.timeout_ms, kMinTimeoutMs, kMaxIntervalMs);
  if (s.timeout_ms > s.interval_ms)
    throw InputError("timeout: must not exceed interval (" + format_duration(s.timeout_ms) + " > " +
                     format_duration(s.interval_ms) + ")");
  range("rise", s.rise, 1, kMaxCount);
  range("fall", s.fall, 1, kMaxCount);
  dur("hold_down", s.hold_down_ms, 0, kMaxHoldDownMs);
  if (s.check == CheckKind::kHttp) {
    const HttpCheck& h = s.http;
    if (h.path.empty() || h.path[0] != '/' || h.path.size() > kMaxHttpField)
      throw InputError("path: must start with / and be at most " + std::to_string(kMaxHttpField) + " bytes");
    // The path and Host go into the request line and a header as they are.
    auto plain = [](const char* field, const std::string& v) {
      for (char c : v)
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
          throw InputError(std::string(field) + ": must not contain spaces or control characters");
    };
    plain("path", h.path);
    plain("host", h.host);
    if (h.host.size() > kMaxHttpField)
      throw InputError("host: must be at most " + std::to_string(kMaxHttpField) + " bytes");
    if (h.status_min < 100 || h.status_max > 599 || h.status_min > h.status_max)
      throw InputError("expect_status: must be a status or range within 100-599, like \"200-399\"");
    if (h.verify_cert && !h.https) throw InputError("verify_cert: only with https");
  }
  if (s.check == CheckKind::kUdp) {
    if (s.udp.payload.size() > kMaxUdpPayload)
      throw InputError("send: must be at most " + std::to_string(kMaxUdpPayload) + " bytes");
    if (s.udp.expect && (s.udp.expect->empty() || s.udp.expect->size() > kMaxUdpPayload))
      throw InputError("expect: must be 1.." + std::to_string(kMaxUdpPayload) + " bytes");
  }
}

bool http_status_ok(const HttpCheck& http, int status) {
  return status >= http.status_min && status <= http.status_max;
}

bool udp_reply_ok(const UdpCheck& udp, const std::string& reply) {
  if (!udp.expect) return true;
  return reply.compare(0, udp.expect->size(), *udp.expect) == 0 && reply.size() >= udp.expect->size();
}

}  // namespace xlb::health
