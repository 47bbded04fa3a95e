// What one health probe is, and what it answers. Plain data shared by the
// prober (prober.h), the checker thread (checker.h) and, later, lbd's health
// state machine: a probe is one attempt; rise/fall counting is not here.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/endpoint.h"

namespace xlb::health {

enum class ProbeKind : uint8_t { kTcp, kHttp, kUdp };

// How a udp probe judges the reply.
enum class UdpMatch : uint8_t {
  kAny,     // any datagram back proves the service answers
  kExact,   // the reply must equal udp_expect
  kPrefix,  // the reply must begin with udp_expect (a DNS-like check
            // comparing the transaction id and flags, not the answer)
};

struct Probe {
  uint64_t id = 0;  // the caller's; results carry it back
  ProbeKind kind = ProbeKind::kTcp;
  Endpoint dst;                 // IPv4 or IPv6 address and port
  std::optional<IpAddr> src;    // bind to this source address (port 0)
  // SO_MARK on the socket (0: not set). The integrator uses it to steer
  // ipip/l2dsr checks, addressed to the VIP, through a tc program that
  // encapsulates them toward one backend. Needs CAP_NET_ADMIN.
  uint32_t mark = 0;
  uint32_t timeout_ms = 1000;  // the whole probe: connect, TLS, request, reply

  // http (kind kHttp)
  std::string http_path = "/";
  std::string http_host;           // empty: the destination address (and port if not 80/443)
  uint16_t http_status_min = 200;  // accepted range, inclusive (HAProxy's
  uint16_t http_status_max = 399;  // default: 2xx and 3xx)
  bool https = false;              // TLS, no certificate verification...
  bool verify_cert = false;        // ...unless set: the system's CAs, and the Host name (or address)

  // udp (kind kUdp)
  std::string udp_payload;  // sent as one datagram (may be empty)
  UdpMatch udp_match = UdpMatch::kAny;
  std::string udp_expect;
};

struct ProbeResult {
  uint64_t id = 0;
  bool ok = false;
  // From submit to the verdict. For a timeout, the timeout.
  std::chrono::microseconds latency{0};
  // When the verdict was reached (steady clock): a state machine that takes
  // results late still knows when each happened ("down 12s").
  std::chrono::steady_clock::time_point finished{};
  // Why it failed, in words fit for a log line and `lbctl list`:
  // "connect refused", "connect timeout after 1000 ms", "http status 500",
  // "no udp reply within 1000 ms", "udp reply differs". Empty when ok, except
  // that an ok http probe says its status ("http status 200").
  std::string reason;
};

}  // namespace xlb::health
