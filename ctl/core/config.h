// The load balancer's declarative config (docs/api.md, "Config"): parsed
// strictly from JSON into plain structs, and serialized back. Parsing
// validates everything a config can get wrong on its own (syntax, unknown
// keys, ranges, duplicates, family rules), so applying a parsed config only
// fails on capacity or the kernel.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "endpoint.h"

namespace xlb {

struct BackendConfig {
  IpAddr address;
  uint32_t weight = 1;  // 0: draining (kept, takes no new flows)
  // nat and fullnat only: the port the backend listens on. 0: the VIP's.
  // A backend's identity is (address, port), so one address may carry
  // several backends of a VIP on different ports.
  uint16_t port = 0;
  // The backend's health-check override, as written (null: none). Checked
  // and resolved by ctl/health (health_config.h), which core can't link.
  nlohmann::json health = nullptr;
};

struct VipConfig {
  Endpoint vip;
  uint8_t proto = 0;
  uint8_t sched = XLB_SCHED_MAGLEV;
  uint8_t mode = XLB_MODE_IPIP;
  uint32_t ring_size = XLB_DEFAULT_RING_SIZE;
  bool stateless = false;  // "stateless": true (rules.h check_stateless)
  std::vector<BackendConfig> backends;
  // The VIP's health checks, as written (null: none); see BackendConfig.
  nlohmann::json health = nullptr;
};

// The default IPv4 encapsulation source: a prefix, so the outer source
// varies per flow and routers' ECMP and the backends' RSS spread flows
// (bpf/lib/encap.h). Katran's default too: private (RFC 1918), outside the
// pools Docker hands out (172.17.0.0/16 and up), and never answered to (the
// backends answer the client directly), so it needs no route back. The
// backends' `xlb-decap --allow` must cover it (docs/operations.md).
constexpr const char* kDefaultEncapSourceV4 = "172.16.0.0/16";

struct EncapConfig {
  std::optional<IpPrefix> source_v4;  // unset: kDefaultEncapSourceV4 (a /32 is one fixed source)
  std::optional<IpPrefix> source_v6;  // unset: the interface's first IPv6 address
};

// fullnat's source rewriting (docs/api.md, "Config"): client flows of a
// fullnat VIP leave the load balancer from source_vN, with a source port
// from [port_min, port_max]. The default range ends below Linux's default
// ip_local_port_range (32768-60999), so when the source is one of the load
// balancer's own addresses its own connections never take a port a flow
// holds.
constexpr uint16_t kDefaultSnatPortMin = 1024;
constexpr uint16_t kDefaultSnatPortMax = 32767;

struct FullnatConfig {
  std::optional<IpAddr> source_v4;  // unset: the interface's first IPv4 address
  std::optional<IpAddr> source_v6;
  uint16_t port_min = kDefaultSnatPortMin;
  uint16_t port_max = kDefaultSnatPortMax;
};

// Idle timeouts of flow entries by state, in seconds: the reaper deletes an
// entry idle for longer and returns its connection-count units
// (docs/design.md, "The reaper").
struct Timeouts {
  uint32_t tcp_established = 900;
  uint32_t tcp_half_open = 10;  // SYN seen, handshake not completed
  uint32_t tcp_closing = 30;    // client sent FIN or RST
  uint32_t udp = 120;

  bool operator==(const Timeouts& o) const {
    return tcp_established == o.tcp_established && tcp_half_open == o.tcp_half_open &&
           tcp_closing == o.tcp_closing && udp == o.udp;
  }
  bool operator!=(const Timeouts& o) const { return !(*this == o); }
};

constexpr uint32_t kMaxTimeoutS = 7 * 24 * 3600;
constexpr uint32_t kDefaultReapIntervalMs = 1000;
constexpr uint32_t kMinReapIntervalMs = 100;  // a sweep reads the whole flow table
constexpr uint32_t kMaxReapIntervalMs = 3600 * 1000;
// A flood threshold above what one CPU can forward would never trigger;
// the bound only catches typos (and keeps the value clear of UINT32_MAX).
constexpr uint32_t kMaxFloodThreshold = 100000000;

struct Config {
  EncapConfig encap;
  FullnatConfig fullnat;
  // The flow-hash seed; nullopt (unset): keep the running one, or have lbd
  // generate one if none runs (pick/seed.h).
  std::optional<uint32_t> hash_seed;
  // "unserved": a packet for a VIP address on a port or protocol that no
  // VIP serves is dropped ("drop", the default) or passed to the kernel
  // ("pass", for a host that holds the VIP address and serves other ports).
  bool pass_unserved = false;
  // "icmp_echo": echo requests to VIP addresses are answered by the load
  // balancer ("reply", the default) or are unserved traffic ("off").
  bool icmp_echo = true;
  // "flood_threshold": new flows per second per CPU past which ipip and
  // l2dsr VIPs forward new flows by their ring without a flow entry
  // (bpf/lib/flood.h); 0 turns the guard off.
  uint32_t flood_threshold = XLB_FLOOD_DEFAULT_RATE;
  // The reaper's settings: kept in xlb_config's user-space-only fields, so
  // a restarted lbd keeps them (Balancer::timeouts()).
  Timeouts timeouts;
  uint32_t reap_interval_ms = kDefaultReapIntervalMs;
  std::vector<VipConfig> vips;
};

// Throws InputError("<field path>: <problem>").
Config parse_config(const nlohmann::json& json);
// Same, from text; `origin` (e.g. a file name) prefixes JSON syntax errors.
Config parse_config_text(const std::string& text, const std::string& origin = "config");
nlohmann::json config_to_json(const Config& config);
nlohmann::json timeouts_json(const Timeouts& timeouts);  // as in the config

// Throws InputError("<field>: <problem>") unless every timeout is
// 1..kMaxTimeoutS and the interval kMinReapIntervalMs..kMaxReapIntervalMs.
void check_reaper_settings(const Timeouts& timeouts, uint32_t reap_interval_ms);

// Throws InputError("fullnat.<field>: <problem>") unless the sources have
// their families and 1 <= port_min <= port_max.
void check_fullnat(const FullnatConfig& fullnat);

// "drop" or "pass", as "unserved" is written in a config.
std::string unserved_name(bool pass_unserved);
// "reply" or "off", as "icmp_echo" is written in a config.
std::string icmp_echo_name(bool icmp_echo);

// An encapsulation source as written in a config: a bare address for a
// full-length prefix, "a.b.c.d/len" otherwise.
std::string encap_source_str(const IpPrefix& prefix);
nlohmann::json fullnat_json(const FullnatConfig& fullnat);  // as in the config

}  // namespace xlb
