// What to check on a backend and what a VIP does about the answers
// (issue 12; docs/health.md has the keepalived/HAProxy mapping).
//
// A VIP carries one HealthSpec; a backend may override any of the check
// fields (not on_down / all_down, which are the VIP's). Defaults follow
// HAProxy's server `check` (inter 2s, rise 2, fall 3) because HAProxy's
// are the better-known numbers for a per-server check; keepalived's
// delay_loop 60s would leave a dead backend in the ring for minutes.
//
// The kind-specific settings (http, udp) are kept whatever the kind, so a
// backend override that switches a VIP's http check to tcp and back loses
// nothing; equality and serialisation only look at the current kind's.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace xlb::health {

enum class CheckKind : uint8_t { kNone, kTcp, kHttp, kUdp };
// A backend that goes down keeps its existing flows (kKeep, the default: a
// process failing only its health endpoint may still serve them) or has
// them dropped so their next packets pick a live backend (kPurge).
enum class OnDown : uint8_t { kKeep, kPurge };
// Every checked, administratively active backend of a VIP down: keep
// forwarding to all of them (kFailOpen, the default, Envoy's panic mode)
// or drop new flows (kFailClosed).
enum class AllDown : uint8_t { kFailOpen, kFailClosed };

std::string check_kind_name(CheckKind k);  // "none", "tcp", "http", "udp"
CheckKind parse_check_kind(const std::string& text);  // throws InputError
std::string on_down_name(OnDown o);                   // "keep", "purge"
OnDown parse_on_down(const std::string& text);
std::string all_down_name(AllDown a);                 // "fail-open", "fail-closed"
AllDown parse_all_down(const std::string& text);

// Limits. The interval floor keeps 1,000 backends at a few thousand checks
// per second at most; the timeout may not exceed the interval so that one
// backend has at most one check in flight.
constexpr uint32_t kDefaultIntervalMs = 2000;  // HAProxy inter
constexpr uint32_t kDefaultTimeoutMs = 1000;
constexpr uint32_t kDefaultRise = 2;           // HAProxy rise
constexpr uint32_t kDefaultFall = 3;           // HAProxy fall
constexpr uint32_t kMinIntervalMs = 100;
constexpr uint32_t kMaxIntervalMs = 3600 * 1000;
constexpr uint32_t kMinTimeoutMs = 10;
constexpr uint32_t kMaxCount = 100;            // rise, fall
constexpr uint32_t kMaxHoldDownMs = 3600 * 1000;
constexpr size_t kMaxUdpPayload = 512;         // one datagram, DNS-sized
constexpr size_t kMaxHttpField = 1024;         // path, Host

struct HttpCheck {
  std::string path = "/";
  // Expected status range, inclusive. HAProxy's httpchk default (2xx and
  // 3xx pass); keepalived's HTTP_GET defaults to 200-299.
  uint16_t status_min = 200;
  uint16_t status_max = 399;
  std::string host;          // empty: the address checked, as HTTP/1.1 needs one
  bool https = false;
  bool verify_cert = false;  // off by default: backends rarely carry a cert for their own address
  bool operator==(const HttpCheck& o) const;
};

struct UdpCheck {
  std::string payload;                // raw bytes sent, may be empty
  std::optional<std::string> expect;  // nullopt: any reply passes; else the reply must start with it
  bool operator==(const UdpCheck& o) const { return payload == o.payload && expect == o.expect; }
};

struct HealthSpec {
  CheckKind check = CheckKind::kNone;
  uint32_t interval_ms = kDefaultIntervalMs;
  uint32_t timeout_ms = kDefaultTimeoutMs;
  uint32_t rise = kDefaultRise;
  uint32_t fall = kDefaultFall;
  uint16_t port = 0;  // 0: the port the backend's traffic goes to
  // After a transition that changes whether the backend serves, the next
  // such transition waits until hold_down_ms have passed (tracker.h).
  uint32_t hold_down_ms = 0;
  HttpCheck http;
  UdpCheck udp;
  OnDown on_down = OnDown::kKeep;        // per VIP only
  AllDown all_down = AllDown::kFailOpen;  // per VIP only

  // Compares the common fields and only the current kind's settings.
  bool operator==(const HealthSpec& o) const;
  bool operator!=(const HealthSpec& o) const { return !(*this == o); }
};

// Throws InputError("<field>: <problem>") (field names as in the JSON,
// without a path) unless every value is within the limits above and the
// timeout does not exceed the interval.
void check_spec(const HealthSpec& spec);

// The port a check of a backend goes to.
inline uint16_t check_port(const HealthSpec& spec, uint16_t traffic_port) {
  return spec.port ? spec.port : traffic_port;
}

// The checkers' verdicts, pure so they are tested here.
bool http_status_ok(const HttpCheck& http, int status);
bool udp_reply_ok(const UdpCheck& udp, const std::string& reply);

}  // namespace xlb::health
